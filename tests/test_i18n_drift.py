"""Drift in Simplified Chinese (erpsync.i18n): the text, Markdown and HTML views of every
golden case and of the demo speak Chinese throughout, but for keys, paths and the ERP's
own strings; the findings stay English data (drift JSON is the same in every language)
and are said in Chinese where people read them."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from erpsync import driftignore, i18n
from erpsync.adapters.base import Attribution
from erpsync.drift import deleted_reason
from erpsync.errors import UsageError
from erpsync.render.drift_html import html_view
from erpsync.render.drift_markdown import markdown_view
from erpsync.render.drift_text import summary_sentence, text_view
from tests.test_dormant import erpsync, project
from tests.test_drift import CASES, big_report, report_of

# Three English words in a row (outside code, quoted values and tags) is a sentence left
# untranslated; a key, a path or a permission string never holds a space.
ENGLISH = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}")
CODE = re.compile(r"`[^`]*`|\"[^\"]*\"|&#34;.*?&#34;")


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use(i18n.ENGLISH)


def english_left(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The runs of English words in ``text`` (data the test put in aside)."""
    for value in allowed:
        text = text.replace(value, "")
    return ENGLISH.findall(CODE.sub("", text))


def body(page: str) -> str:
    """The visible text of an HTML page: its <body> without the tags."""
    return re.sub(r"<[^>]+>", " ", page[page.index("<body>") :])


def chinese(case: str) -> dict[str, Any]:
    """The golden case's report; the policy's own warnings (validate's, said by it) and
    the people's comments in .erpsyncignore left out: they are not drift's words."""
    doc = report_of(CASES / case).to_dict()
    doc["warnings"] = [w for w in doc["warnings"] if "matches no drift" in w]
    return doc


def comments(doc: dict[str, Any]) -> tuple[str, ...]:
    return tuple(a["reason"] for a in doc["accepted"] if a["reason"])


CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASE_NAMES)
def test_every_golden_case_reads_in_chinese_in_every_view(case: str) -> None:
    doc = chinese(case)
    i18n.use(i18n.CHINESE)
    text = text_view(doc).plain
    markdown = markdown_view(doc)
    page = html_view(doc)
    for view in (text, markdown, body(page)):
        assert english_left(view, comments(doc)) == [], view
    assert text.startswith("erpsync 漂移报告：目标 golden（适配器 memory，")
    assert "检查于 2026年11月28日 09:30 UTC" in text
    assert '<html lang="zh-CN">' in page
    assert "<h1>权限漂移报告：golden</h1>" in page
    assert summary_sentence(doc) in text.splitlines()[-1]
    assert summary_sentence(doc).startswith(("漂移：", "无漂移："))


def test_the_changed_view_says_who_when_and_whether_out_of_band() -> None:
    doc = chinese("changed")
    i18n.use(i18n.CHINESE)
    text = text_view(doc).plain
    assert "  6 项被改动 · 0 项缺失 · 0 项多出 · 0 项职责分离冲突 · 0 项已过期仍启用" in text
    assert "覆盖率：4 个线上用户中 4 个受管理（100.0%）" in text
    assert "~ 部门 finance（财务中心）  [越权改动：ui-admin，2026年11月25日 14:03 UTC]" in text
    assert "~ 用户 chen.jing（陈静）  [时间未知：ERP 未记录]" in text
    assert "[早于上次 apply：erpsync，2026年11月2日 10:00 UTC]" in text
    assert (
        "上次 apply：#7，2026年11月20日 08:00 UTC，执行人 ci:github:octocat（提交 0123456789）"
        in (text)
    )
    assert text.rstrip().endswith("漂移：6 项被改动；4 项为越权改动。")
    markdown = markdown_view(doc)
    assert "### ERP 中被改动（6）" in markdown
    assert "| 对象 | 字段 | 策略 | ERP | 最后修改 | 时间判定 |" in markdown
    assert '| 用户 `li.na`（李娜） | department | "finance" | "sales" |' in markdown
    assert "<sub>策略 `sha256:" in markdown
    page = html_view(doc)
    assert '<div class="tiles drift" aria-label="漂移">' in page
    assert "<th>策略要求</th><th>ERP 中的值</th><th>最后修改人</th>" in page


def test_extra_sod_and_unmanaged_say_the_plans_reasons_and_the_sod_notes() -> None:
    doc = chinese("sod")
    i18n.use(i18n.CHINESE)
    text = text_view(doc).plain
    assert "- 角色成员关系 old.hand/payer：apply 将撤销  [时间未知：ERP 未记录]" in text
    assert "# 用户 old.hand 将被移除：未声明" in text
    assert "! SOD-P2P-01（high）li.lei：purchasing.vendor:create + " in text
    assert "；例外已于 2026-01-31 到期" in text
    assert "另发现以下冲突，不计入漂移：" in text
    assert "# 严重级别 medium：策略允许（只有 high 和 critical 会阻断）" in text
    assert "# 用户不受管理：已忽略（settings.ignore.users：'svc-*'）" in text
    assert "有例外，至 2027-01-31  # 已有例外覆盖" in text
    markdown = markdown_view(doc)
    assert "| 规则 | 严重级别 | 用户 | 持有权限 | 例外 | 计入漂移 |" in markdown
    assert "| 无例外 | **是** |" in markdown
    assert "否：已有例外覆盖" in markdown
    page = html_view(doc)
    assert "<h2>职责分离 <span" in page


def test_expired_and_accepted_items_in_chinese() -> None:
    i18n.use(i18n.CHINESE)
    text = text_view(chinese("expired-active")).plain
    assert "x 用户 tang.lu（唐璐）：已于 2026-11-01 到期，仍持有 ap-clerk，employee" in text
    assert "# 用户 qian.bo 将被停用：已于 2026-06-30 到期" in text
    doc = chinese("ignored")
    text = text_view(doc).plain
    assert "已接受的漂移（列于 driftignore）：" in text
    assert "  被改动：用户 li.na  # 第 2 行 `user li.na`：private address" in text
    assert "  职责分离冲突：职责分离 SOD-P2P-01/zhang.wei  # 第 5 行" in text
    assert (
        "! driftignore:6：'role tmp-*' 已不匹配任何漂移；所接受的漂移解决后，请删除此条目" in text
    )
    markdown = markdown_view(doc)
    assert "<details open><summary>已接受的漂移（4）</summary>" in markdown
    assert "`user li.na`（第 2 行）" in markdown
    page = html_view(doc)
    assert "没有新的需复核项；4 项已知差异已被接受（见下文）。" in page


def test_long_reports_say_what_they_leave_out_in_chinese() -> None:
    doc = big_report(5000)
    i18n.use(i18n.CHINESE)
    fitted = markdown_view(doc)
    assert "**漂移：5,000 项多出" in fitted
    assert "行未显示；请查看 `erpsync drift --format json`。" in fitted
    page = html_view(doc)
    assert "…… 另有 3,000 行未在此显示；JSON 报告列出了全部。" in page
    assert '<span class="badge bad">5,000</span>' in page


def test_the_erps_deletions_are_english_data_said_in_chinese() -> None:
    at = dt.datetime(2026, 11, 27, 16, 40, tzinfo=dt.UTC)
    reasons = [
        deleted_reason("user", Attribution("ui-admin", at)),
        deleted_reason("user", Attribution("ui-admin", None)),
        deleted_reason("user", Attribution(None, at)),
        deleted_reason("user", Attribution()),
    ]
    assert reasons[0] == (
        "deleted in the ERP (the row is marked deleted, user left out of the live state); "
        "last recorded change by ui-admin at 2026-11-27T16:40:00Z; apply creates a new row, "
        "it does not restore the deleted one"
    )
    assert "last recorded change by someone at 2026-11-27T16:40:00Z;" in reasons[2]
    assert "; who and when not recorded by the ERP;" in reasons[3]
    i18n.use(i18n.CHINESE)
    said = [i18n.said(r) for r in reasons]
    assert said[0] == (
        "已在 ERP 中删除（该行被标记为已删除，user 不计入线上状态）；最后一次改动由 ui-admin "
        "于 2026-11-27T16:40:00Z 做出；apply 会新建一行，而不会恢复已删除的行"
    )
    assert "最后一次改动由 ui-admin 做出" in said[1]
    assert "最后一次改动记录于 2026-11-27T16:40:00Z，操作人未记录" in said[2]
    assert "ERP 未记录操作人和时间" in said[3]
    for text in said:
        assert english_left(text) == [], text


def test_driftignore_errors_are_said_in_chinese() -> None:
    with pytest.raises(UsageError) as caught:
        driftignore.parse("user li.na\nrole\n", ".erpsyncignore")
    message = str(caught.value)
    assert message == (
        ".erpsyncignore:2: expected `KIND PATTERN  # reason` with KIND one of department, "
        "role, user, permission, membership, sod; got 'role'"
    )
    i18n.use(i18n.CHINESE)
    assert i18n.said(message) == (
        ".erpsyncignore:2：格式应为 `KIND PATTERN  # reason`，KIND 取值为 department, role, "
        "user, permission, membership, sod 之一；实际为 'role'"
    )


def test_a_dormant_section_without_sign_ins_says_why_in_chinese() -> None:
    doc = chinese("changed")
    # why the ERP gives no sign-ins: an error's message (here one of drift's own), said
    doc["dormant"] = {
        "days": 90,
        "source": None,
        "notes": [],
        "unavailable": "unknown drift format 'pdf' (known: text, json, markdown, html)",
        "users": [],
    }
    i18n.use(i18n.CHINESE)
    text = text_view(doc).plain
    assert "休眠账号（90 天及以上未登录）：" in text
    assert "未检查：未知的漂移报告格式 'pdf'（支持：text, json, markdown, html）。" in text
    page = html_view(doc)
    assert "ERP 没有 erpsync 可读取的登录记录" in page


# -- the CLI on the demo company -----------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from erpsync.adapters.reference.database import init_database

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, sample=True)
    project(tmp_path, url)
    monkeypatch.chdir(tmp_path)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_demos_drift_in_chinese_and_its_json_unchanged(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, english = erpsync(capsys, "drift")
    assert code == 2
    assert "Drift: 3 changed, 6 missing, 8 extra, 1 SoD violation" in english
    assert english_left(english)  # the check finds English where there is some
    code, text = erpsync(capsys, "--lang", "zh-CN", "drift")
    assert code == 2
    assert english_left(text) == [], text
    assert "漂移：3 项被改动，6 项缺失，8 项多出，1 项职责分离冲突；" in text
    assert "休眠账号（90 天及以上未登录）：" in text
    assert "? 用户 tian.qing（田青） —— 最后登录：从未；角色：employee" in text
    assert "# 内置管理员，不受管理（ERP 授予其全部权限）：无法通过策略修正" in text
    assert "上次 apply：erpsync 从未向此 ERP 执行过 apply" in text
    code, markdown = erpsync(capsys, "--lang", "zh-CN", "drift", "--format", "markdown")
    assert code == 2
    assert english_left(markdown) == [], markdown
    assert "### 休眠账号（90 天及以上未登录）（3）" in markdown
    code, said = erpsync(
        capsys, "--lang", "zh-CN", "drift", "--format", "html", "--out", "drift.html"
    )
    assert code == 2
    assert said.startswith("已将漂移报告（html）写入 drift.html。漂移：3 项被改动")
    page = (demo / "drift.html").read_text("utf-8")
    assert '<html lang="zh-CN">' in page
    assert english_left(body(page)) == []
    assert "<th>最后登录</th>" in page

    moves = re.compile(r'"(created_at|changed_at|last_login)": "[^"]+"')  # the clock's
    code, english_json = erpsync(capsys, "drift", "--format", "json")
    code_zh, chinese_json = erpsync(capsys, "--lang", "zh-CN", "drift", "--format", "json")
    assert code == code_zh == 2
    assert moves.sub("", chinese_json) == moves.sub("", english_json)
    doc = json.loads(chinese_json)
    assert doc["sod"][1]["note"].startswith("built-in administrator, unmanaged")
    assert doc["summary"]["changed"] == 3


def test_dormant_proposals_write_english_notes_that_are_said_in_chinese(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The note --propose writes into a policy file is data (English in every language);
    a view says it, and dormant.py's reasons for leaving a user, in Chinese."""
    code, out = erpsync(capsys, "--lang", "zh-CN", "report", "dormant", "--propose")
    assert code == 0, out
    notes = [
        line.split("  # ", 1)[1]
        for path in (demo / "policies").rglob("*.yaml")
        for line in path.read_text("utf-8").splitlines()
        if "# dormant: " in line
    ]
    assert len(notes) == 3
    assert "dormant: never signed in (erpsync report dormant, " in " ".join(notes)
    i18n.use(i18n.CHINESE)
    said = sorted(i18n.said(n) for n in notes)
    assert said[0].startswith("休眠：从未登录（erpsync report dormant，")
    assert said[1].startswith("休眠：自 20")
    assert "起未登录（erpsync report dormant，" in said[1]
    assert i18n.said("already expires 2026-12-31") == "已设置于 2026-12-31 到期"
    assert i18n.said("built-in administrator: erpsync never changes it") == (
        "内置管理员：erpsync 从不修改"
    )
    assert i18n.said("not declared: the next apply deactivates it anyway") == (
        "未声明：下次 apply 会将其停用"
    )


def test_the_locale_chooses_chinese_drift(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, text = erpsync(capsys, "drift", "--format", "markdown")
    assert code == 2
    assert "**漂移：3 项被改动" in text
    code, text = erpsync(capsys, "--lang", "en", "drift", "--format", "markdown")
    assert "**Drift: 3 changed" in text
