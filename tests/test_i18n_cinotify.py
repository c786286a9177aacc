"""CI notes, notifications, review campaigns and --all-targets in Simplified Chinese
(issue #19): the sticky pull-request note and the drift issue through the fake GitHub,
a DingTalk message and its failures through the fake robot, ``drift --all-targets
--notify`` as one message, and a review sheet written and read back in Chinese.

Machine parts never change with the language: the hidden markers that find the note and
the issue again, the labels, the JSON of the webhook's counts and of the reports."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from erpsync import i18n, secrets
from erpsync.adapters.reference.database import init_database
from erpsync.ci import BOT_LOGIN, drift_issue, plan_compare, sticky_comment
from erpsync.ci.sticky_comment import Metadata
from erpsync.commands import ci_cmd
from erpsync.config import load_project
from erpsync.notify.message import drift_summary
from erpsync.plan import Plan
from tests.notify.fakes import DingTalk, Webhook, serving
from tests.notify.test_cli_notify import DING_SECRET, NOTIFY
from tests.render import plan_dict, small_plan
from tests.test_ci import FakeGitHub, ci_env, report, write_plan
from tests.test_dormant import erpsync, project

# Three or more English words in a row: a sentence left in English. Code spans, URLs and
# the platforms' own names are taken out first.
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'-]+[A-Za-z]{2,}){2,}\b")
KEPT = re.compile(
    r"`[^`]*`|https?://\S+|<!--.*?-->|\([^()]*\)\[|\[[^\]]*\]\(|\S*/\S*|DingTalk|WeCom|YYYY-MM-DD"
)


def english_left(text: str) -> list[str]:
    return ENGLISH.findall(KEPT.sub(" ", text))


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use(i18n.ENGLISH)


def quiet() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, no_color=True), out


# -- the sticky note -----------------------------------------------------------------------


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
def policy_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from erpsync.scaffold import scaffold

    monkeypatch.delenv("ERPSYNC_REFERENCE_URL", raising=False)
    repo = tmp_path / "repo"
    scaffold(repo)
    return repo


def test_a_chinese_plan_note_is_found_again_whatever_language_wrote_it(
    github: FakeGitHub, policy_repo: Path, tmp_path: Path
) -> None:
    project_ = load_project(policy_repo / "erpsync.yaml")
    policies = policy_repo / "policies"

    def push(head: str, plan: dict[str, Any], guards: list[str] | None = None) -> str:
        env = ci_env(github, tmp_path, {"pull_request": {"number": 7, "head": {"sha": head}}})
        plan_file = write_plan(tmp_path / f"plan-{head}.json", plan)
        guards_file = tmp_path / f"guards-{head}.json"
        if guards is not None:
            guards_file.write_text(json.dumps({"passed": not guards, "problems": guards}))
        console, out = quiet()
        assert (
            ci_cmd.plan_comment(
                project_, policies, plan_file, guards_file, None, None, False, console, env=env
            )
            == 0
        )
        return out.getvalue()

    i18n.use(i18n.CHINESE)
    said = push("h1", small_plan())
    assert "已在 #7 上发布计划评论（状态 ok）；标签：+removes access。" in said
    (note,) = github.comments[7]
    body = note["body"]
    assert body.startswith("<!-- erpsync:plan-comment ")  # the marker, as in English
    assert Metadata.parse(body) == Metadata(
        "ok", "h1", "77", plan_compare.changeset_digest(Plan.from_dict(small_plan()))
    )
    assert "合并后将原样应用下面的变更集。合并后 erpsync 会重新生成计划" in body
    footer = body.rsplit("---", 1)[1]
    assert "每次推送都会原地更新此评论" in footer
    assert "[工作流运行](https://github.example/" in footer
    assert english_left(footer) == []
    assert github.labels[7] == ["removes access"]  # labels are machine values

    said = push("h2", plan_dict([]))
    assert "已更新 #7 上的计划评论" in said
    assert "合并此拉取请求不会改动 ERP 中的任何内容。" in github.comments[7][0]["body"]

    i18n.use(i18n.ENGLISH)  # the next push runs in English: the same note is updated
    said = push("h3", small_plan(), guards=["guard max_removals: too many"])
    assert "Updated the plan comment on #7 (status guard)" in said
    assert len(github.comments[7]) == 1
    assert "**A guard refuses this plan**" in github.comments[7][0]["body"]

    i18n.use(i18n.CHINESE)
    push("h4", small_plan(), guards=["guard max_removals: too many"])
    (note,) = github.comments[7]
    assert "> [!CAUTION]\n> **安全检查拒绝了此计划**；apply 同样会拒绝。" in note["body"]
    assert Metadata.parse(note["body"]) == Metadata("guard", "h4", "77")


def test_a_chinese_invalid_and_failed_note() -> None:
    i18n.use(i18n.CHINESE)
    outcome = sticky_comment.Outcome(problems=("policies/users/a.yaml:3:5: bad",))
    body = sticky_comment.render_body(outcome, "abc", "9", "https://ci/run/9")
    assert "## ❌ erpsync：策略校验未通过" in body
    assert "每个错误也已标注在改动的文件上；详见[工作流运行](https://ci/run/9)。" in body
    failed = sticky_comment.render_body(sticky_comment.Outcome(), "abc", "9", "")
    assert "## ❌ erpsync 无法生成变更计划" in failed
    assert "生成计划的步骤失败；原因见工作流运行中的日志" in failed
    gitlab = sticky_comment.render_body(
        outcome, "abc", "9", "https://gl/job/9", terms=ci_cmd.GITLAB
    )
    assert "[作业](https://gl/job/9)的日志中也列出了这些错误。" in gitlab
    assert "每次推送都会原地更新此评论" in gitlab
    for text in (body, failed, gitlab):
        verdict = text.split("\n", 1)[1]
        assert english_left(verdict.replace("policies/users/a.yaml:3:5: bad", "")) == []


# -- the drift issue -----------------------------------------------------------------------


def test_a_chinese_drift_issue_is_updated_by_an_english_run_and_closed(
    github: FakeGitHub, tmp_path: Path
) -> None:
    env = ci_env(github, tmp_path)
    drifting = write_plan(tmp_path / "d1.json", report(True, "prod"))
    i18n.use(i18n.CHINESE)
    console, out = quiet()
    assert ci_cmd.drift_issue(drifting, None, None, False, console, env=env) == 0
    assert "漂移：已创建 issue #" in out.getvalue()
    (opened,) = github.issues.values()
    assert opened["title"] == "目标 prod 的 ERP 漂移：1 项被改动，2 项多出。"
    body = opened["body"]
    assert body.startswith(drift_issue.marker("prod"))  # the marker, as in English
    assert [label["name"] for label in opened["labels"]] == [drift_issue.LABEL]
    tail = body.rsplit("<sub>", 1)[1]
    assert "由 erpsync 的[定时漂移检查](" in tail
    assert "或通过拉取请求修改策略" in tail
    assert english_left(tail) == []

    i18n.use(i18n.ENGLISH)  # an English run finds the Chinese issue and updates it
    console, out = quiet()
    ci_cmd.drift_issue(drifting, None, None, False, console, env=env)
    assert "Drift: updated issue" in out.getvalue()
    assert len(github.issues) == 1
    assert opened["title"] == "ERP drift on prod: 1 changed, 2 extra."

    i18n.use(i18n.CHINESE)
    clean = write_plan(tmp_path / "d2.json", report(False, "prod"))
    console, out = quiet()
    ci_cmd.drift_issue(clean, None, None, False, console, env=env)
    assert f"无漂移：已关闭 issue #{opened['number']}。" in out.getvalue()
    assert opened["state"] == "closed"
    closing = github.comments[opened["number"]][0]["body"]
    assert closing.startswith("目标 `prod` 于 2026-11-28T06:00:00Z（[漂移检查](")
    assert "ERP 已再次与策略一致。关闭此 issue。" in closing
    assert opened["user"]["login"] == BOT_LOGIN


def test_chinese_ci_step_output_and_plan_comparison(tmp_path: Path) -> None:
    i18n.use(i18n.CHINESE)
    reviewed = write_plan(tmp_path / "reviewed.json", small_plan())
    console, out = quiet()
    assert ci_cmd.compare_plans(reviewed, reviewed, None, console) == 0
    assert "新计划与已复核的变更集完全一致" in out.getvalue()
    changed = write_plan(tmp_path / "new.json", plan_dict([]))
    console, out = quiet()
    assert ci_cmd.compare_plans(reviewed, changed, None, console) == 1
    said = out.getvalue()
    assert "::error title=erpsync::新计划与已复核的计划有" in said
    assert "新计划中没有：" in said
    console, out = quiet()
    digest = "sha256:" + "0" * 64
    assert ci_cmd.compare_plans(reviewed, reviewed, digest, console, "gitlab") == 1
    assert "但拉取请求的评论显示为 sha256:000" in out.getvalue()
    assert "ERROR erpsync: " in out.getvalue()  # the log's marker stays as it is


# -- notifications -------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, sample=True)
    project(tmp_path, url)
    config = tmp_path / "erpsync.yaml"
    config.write_text(config.read_text("utf-8").rstrip("\n") + "\n" + NOTIFY, "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI_JOB_ID", "4242")
    for name in ("ERPSYNC_DINGTALK_URL", "ERPSYNC_WECOM_URL", "ERPSYNC_FEISHU_URL", "HOOK_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/unused")
    monkeypatch.setenv("ERPSYNC_DINGTALK_SECRET", DING_SECRET)
    monkeypatch.setenv("ERPSYNC_FEISHU_SECRET", "fs-secret")
    monkeypatch.setenv("HOOK_TOKEN", "Bearer x")
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    secrets.forget()


def test_a_chinese_dingtalk_message(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(DingTalk(secret=DING_SECRET, keywords=("erpsync",))) as fake:
        monkeypatch.setenv("ERPSYNC_DINGTALK_URL", fake.url)
        code, said = erpsync(
            capsys, "--lang", "zh-CN", "drift", "--out", "d.json", "--format", "json"
        )
        assert code == 2
        code, said = erpsync(capsys, "--lang", "zh-CN", "drift", "--out", "d.md", "--notify", "ops")
    assert code == 2, said
    assert "已通知 ops（DingTalk (钉钉)）。" in said
    (message,) = fake.messages  # signed, and it holds the keyword "erpsync"
    title, text = message["markdown"]["title"], message["markdown"]["text"]
    assert title.startswith("erpsync 漂移 · demo：")
    assert title.endswith("项待处理")
    assert "个休眠账号：90 天以上未登录" in text
    assert "- 被改动的用户 deng.li (邓丽)：department" in text  # the ERP's own names
    assert (
        "[查看完整报告](https://ci.example.com/erp/-/jobs/4242/artifacts/file/drift.html)" in text
    )
    assert english_left(title + "\n" + text) == []


def test_a_refused_chinese_notification_is_said_in_chinese(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(DingTalk(secret="SEC-the-robots-real-secret")) as fake:
        monkeypatch.setenv("ERPSYNC_DINGTALK_URL", fake.url)
        code, said = erpsync(capsys, "--lang", "zh-CN", "drift", "--out", "d.md", "--notify", "ops")
    assert code == 1
    assert (
        "错误：1 条通知发送失败：\n  ops（钉钉）：钉钉机器人安全设置校验未通过（errcode 310000："
        in said
    )
    assert "请检查加签密钥（SEC…）" in said
    assert DING_SECRET not in said
    assert fake.token not in said


def test_several_failures_are_each_said() -> None:
    from erpsync.notify.errors import NotifyError

    i18n.use(i18n.CHINESE)
    error = NotifyError(
        "2 notifications failed:\n"
        "  ops (DingTalk (钉钉)): DingTalk rate limit (errcode 130101: busy): a robot takes "
        "20 messages a minute; try again in a minute\n"
        "  hook (webhook): the webhook answered HTTP 500: oops"
    )
    assert i18n.said(str(error)) == (
        "2 条通知发送失败：\n"
        "  ops（钉钉）：钉钉发送频率超限（errcode 130101：busy）：每个机器人每分钟最多接收 20 "
        "条消息；请一分钟后重试\n"
        "  hook（webhook）：webhook 返回 HTTP 500：oops"
    )


def test_the_review_progress_message_in_chinese() -> None:
    from erpsync.notify.message import ReviewerProgress, review_summary

    i18n.use(i18n.CHINESE)
    found = review_summary(
        "demo",
        "2026-12-03-department-demo",
        "open, overdue",
        "2026-12-20",
        [ReviewerProgress("zhou.min", "周敏", 3, 3), ReviewerProgress("xie.ping", "谢萍", 0, 5)],
        None,
    )
    assert found.title == "erpsync 权限复核 · demo：已决定 3/8"
    assert found.headline == (
        "权限复核 2026-12-03-department-demo（进行中，已逾期，截止 2026-12-20）："
        "2 位复核人中已有 1 位完成。"
    )
    assert found.lines == ("xie.ping (谢萍)：已决定 0/5，尚未开始",)
    assert dict(found.counts) == {"decided": 3, "lines": 8, "reviewers": 2, "reviewers_done": 1}


def test_the_webhooks_machine_fields_do_not_change_with_the_language() -> None:
    doc = report(True, "prod")
    english = drift_summary(doc, None)
    i18n.use(i18n.CHINESE)
    chinese = drift_summary(doc, None)
    assert (chinese.event, chinese.target, dict(chinese.counts)) == (
        english.event,
        english.target,
        dict(english.counts),
    )
    assert chinese.title != english.title


# -- drift --all-targets --notify ----------------------------------------------------------


def with_more_targets(root: Path) -> None:
    """Targets: demo (the sample company), copy (the same, drifting too) and gone (its
    database cannot be opened)."""
    config = root / "erpsync.yaml"
    init_database(f"sqlite:///{root / 'copy.db'}", sample=True)
    extra = (
        f"  copy:\n    adapter: reference\n    url: sqlite:///{root / 'copy.db'}\n"
        f"  gone:\n    adapter: reference\n    url: sqlite:///{root / 'nowhere' / 'x.db'}\n"
    )
    config.write_text(config.read_text("utf-8").replace("targets:\n", "targets:\n" + extra, 1))


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_drift_all_targets_notify_posts_one_summary(
    lang: str, demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with_more_targets(demo)
    with (
        serving(DingTalk(secret=DING_SECRET, keywords=("erpsync",))) as ding,
        serving(Webhook(authorization="Bearer x")) as hook,
    ):
        monkeypatch.setenv("ERPSYNC_DINGTALK_URL", ding.url)
        monkeypatch.setenv("HOOK_URL", hook.url)
        code, said = erpsync(
            capsys,
            "--lang",
            lang,
            "drift",
            "--all-targets",
            "--out",
            "reports",
            "--notify",
            "ops",
            "--notify",
            "hook",
        )
    assert code == 1, said  # a target failed
    assert (demo / "reports" / "demo.txt").is_file()  # the reports are written first
    (message,) = ding.messages  # ONE message for every target
    (sent,) = hook.messages
    assert sent["target"] == "*"
    assert sent["counts"]["targets"] == 3
    assert sent["counts"]["failed"] == 1
    assert sent["counts"]["drifting"] == 2
    text = message["markdown"]["text"]
    if lang == "en":
        assert message["markdown"]["title"] == "erpsync drift · 3 targets: 1 failed, 2 with drift"
        assert "**2 of 3 targets drift; 1 could not be checked.**" in text
        assert "- gone: could not be checked: target gone: " in text
        assert "- demo: Drift: " in text
        assert "Notified ops (DingTalk (钉钉))." in said
    else:
        assert message["markdown"]["title"] == "erpsync 漂移 · 3 个目标：1 个失败，2 个有漂移"
        assert "**3 个目标中有 2 个存在漂移；1 个无法检查。**" in text
        assert "- gone：无法检查：" in text
        assert "- demo：漂移：" in text
        assert "3 个目标：1 个失败，2 个有漂移。" in said
        assert "已通知 ops（DingTalk (钉钉)）。" in said


def test_drift_all_targets_json_is_the_same_in_chinese(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, english = erpsync(capsys, "drift", "--all-targets", "--format", "json")
    code, chinese = erpsync(capsys, "--lang", "zh-CN", "drift", "--all-targets", "--format", "json")
    assert code == 2
    moving = re.compile(r'"(created_at|checked_at)": "[^"]+"')
    assert moving.sub("", chinese) == moving.sub("", english)
    code, text = erpsync(capsys, "--lang", "zh-CN", "drift", "--all-targets")
    assert "=== 目标 demo ===" in text
    assert "1 个目标：1 个有漂移。" in text
    code, markdown = erpsync(
        capsys, "--lang", "zh-CN", "drift", "--all-targets", "--format", "markdown"
    )
    assert markdown.startswith("# erpsync 漂移：1 个目标：1 个有漂移。")
    assert "- `demo`：有漂移（退出码 2）" in markdown


# -- review campaigns ----------------------------------------------------------------------


def test_a_chinese_review_sheet_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sheets written in Chinese are read back by an English run and a Chinese one; a
    decision may be typed as the Chinese word; the pull request's description is Chinese."""

    import openpyxl

    from tests.test_review import folder

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, sample=True)
    project(tmp_path, url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERPSYNC_ACTOR", "auditor")
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    code, said = erpsync(capsys, "--lang", "zh-CN", "review", "start", "--due", "2099-12-31")
    assert code == 0, said
    assert "已开始权限复核 " in said
    assert "份复核表，位于 reviews/" in said
    assert "  zhang.wei (张伟)：12 行 → zhang.wei.*" in said
    assert "证据链头（请与本次复核一同保存）：" in said
    where = folder(tmp_path)

    chinese_sheets(where)
    fill_in_chinese(where)
    code, out = erpsync(capsys, "review", "status")  # an English run reads Chinese sheets
    assert code == 0, out
    assert "zhang.wei (张伟): 1/12 decided, started" in out
    assert "xie.ping (谢萍): 1/" in out
    code, out = erpsync(capsys, "--lang", "zh-CN", "review", "status")
    assert "  zhang.wei (张伟)：已决定 1/12，进行中" in out
    assert "已决定 2/154 行。" in out

    tampered = tmp_path / "tampered.xlsx"
    book = openpyxl.load_workbook(where / "xie.ping.xlsx")
    book["Review"]["C10"].value = "someone.else"
    book.save(tampered)
    code, said = erpsync(capsys, "--lang", "zh-CN", "review", "close", str(tampered))
    assert code == 1
    assert "第 10 行，C 列（login）：" in said
    assert "只能编辑决定、到期日和备注单元格" in said

    sheets = [str(where / "xie.ping.xlsx"), str(where / "zhang.wei.csv")]
    code, said = erpsync(
        capsys, "--lang", "zh-CN", "review", "close", *sheets, "--pr-body", "pr.md"
    )
    assert code == 0, said
    assert "已关闭权限复核 " in said
    assert "已将拉取请求的描述写入 pr.md。" in said
    chinese_pull_request(tmp_path, where)
    code, out = erpsync(capsys, "report", "review", "--format", "json")
    decided = [d for d in json.loads(out)["decisions"] if d["decision"]]
    assert [(d["login"], d["decision"]) for d in decided] == [
        ("zhang.wei2", "revoke"),
        ("li.na", "expire"),
    ]
    changes = json.loads(out)["policy_changes"]
    assert changes[0].startswith("revoke role `ap-clerk` (应付会计) from `zhang.wei2`")  # data


def chinese_sheets(where: Path) -> None:
    """The XLSX, HTML and CSV sheets of xie.ping and zhang.wei, written in Chinese."""
    import openpyxl

    from tests.test_review import COMMENT, DECISION

    book = openpyxl.load_workbook(where / "xie.ping.xlsx")
    cells = [[c.value for c in row] for row in book["Review"].iter_rows(max_row=9)]
    assert cells[0][0].startswith("权限复核 ")
    assert cells[1][0] == "复核人：谢萍（xie.ping）"
    assert cells[2][0].startswith("范围：按部门；开始于 ")
    assert cells[8][:4] == ["行号", "类型", "登录名", "姓名"]
    assert cells[8][DECISION : COMMENT + 1] == ["复核结论", "到期日", "备注"]
    for row in cells[:7]:
        assert english_left(str(row[0])) == []
    assert book["erpsync"]["A1"].value == "erpsync-review"  # the metadata stays as it is
    (validation, *_rest) = book["Review"].data_validations.dataValidation
    assert validation.formula1 == '"keep,revoke,expire"'  # the machine values
    assert validation.error == "请选择 keep, revoke 或 expire，或留空。".replace(", ", "，")
    html = (where / "xie.ping.html").read_text("utf-8")
    assert '<html lang="zh-CN">' in html
    assert "<h2>填写说明</h2>" in html
    assert "此页面仅供阅读。" in html
    csv_text = (where / "zhang.wei.csv").read_text("utf-8-sig")
    assert "# campaign," in csv_text  # the metadata keys stay as they are
    assert (
        "\n行号,类型,登录名,姓名,部门,角色,角色名称,风险等级,高风险权限,自上次复核以来,复核结论,到期日,备注"
        in (csv_text.replace("\r\n", "\n"))
    )


def fill_in_chinese(where: Path) -> None:
    """A revoke in the Chinese XLSX; an expiry typed as the Chinese word in the CSV."""
    import datetime as dt

    from tests.test_review import COMMENT, DECISION, EXPIRES, fill_xlsx

    csv_text = (where / "zhang.wei.csv").read_text("utf-8-sig")
    fill_xlsx(where / "xie.ping.xlsx", "zhang.wei2", "ap-clerk", "revoke")
    today = dt.datetime.now(dt.UTC).date()
    rows = [line.split(",") for line in csv_text.replace("\r\n", "\n").split("\n")]
    for row in rows:
        if len(row) > COMMENT and row[2] == "li.na" and row[1] == "account":
            row[DECISION], row[EXPIRES] = "到期", today.isoformat()  # the Chinese word
    (where / "zhang.wei.csv").write_text("\n".join(",".join(r) for r in rows), encoding="utf-8-sig")


def chinese_pull_request(root: Path, where: Path) -> None:
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    body = (root / "pr.md").read_text("utf-8")
    assert body.startswith(f"## 权限复核 `{where.name}`：复核决定")
    assert "已收回 2/12 份复核表。" in body
    assert "| 复核人 | 行数 | 保留 | 撤销 | 到期 | 未决定 | 复核表 |" in body
    assert "### 策略变更（包含在此拉取请求中）" in body
    assert (
        "- 撤销 `zhang.wei2` (张伟) 的角色 `ap-clerk`（应付会计）（由 谢萍 (xie.ping) 决定）"
        in body
    )
    assert f"- `li.na` (李娜) 于 {today} 到期（由 张伟 (zhang.wei) 决定）" in body
    assert english_left(body) == []


# -- GitLab --------------------------------------------------------------------------------


@pytest.fixture
def gitlab() -> Iterator[Any]:
    from tests.test_ci_gitlab import FakeGitLab

    fake = FakeGitLab()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def test_a_chinese_merge_request_note_and_drift_issue_on_gitlab(
    gitlab: Any, policy_repo: Path, tmp_path: Path
) -> None:
    from tests.test_ci_gitlab import BOT, job_env

    project_ = load_project(policy_repo / "erpsync.yaml")
    env = job_env(gitlab, CI_MERGE_REQUEST_IID="12", CI_COMMIT_SHA="h1")
    plan_file = write_plan(tmp_path / "plan.json", plan_dict([]))
    i18n.use(i18n.CHINESE)
    console, out = quiet()
    ci_cmd.plan_comment(
        project_, policy_repo / "policies", plan_file, None, None, None, False, console, env=env
    )
    assert "已在 合并请求 !12 上发布计划评论（状态 ok）；标签：+no changes。" in out.getvalue()
    (note,) = [n for n in gitlab.notes[12] if n["author"]["username"] == BOT]
    assert note["body"].startswith("<!-- erpsync:plan-comment ")
    assert "合并此合并请求不会改动 ERP 中的任何内容。" in note["body"]
    assert (
        "[作业](https://gitlab.example/acme/policies/-/jobs/9001)，产物 `plan.json`"
        in (note["body"])
    )
    assert gitlab.mr_labels[12] == ["no changes"]

    drifting = write_plan(tmp_path / "d1.json", report(True, "prod"))
    console, out = quiet()
    ci_cmd.drift_issue(drifting, None, None, False, console, env=job_env(gitlab))
    (issue,) = gitlab.issues.values()
    assert f"漂移：已创建 issue #{issue['iid']}。" in out.getvalue()
    assert issue["title"] == "目标 prod 的 ERP 漂移：1 项被改动，2 项多出。"
    assert issue["description"].startswith(drift_issue.marker("prod"))
    assert "或通过合并请求修改策略" in issue["description"]
    i18n.use(i18n.ENGLISH)  # found again by an English run
    console, out = quiet()
    ci_cmd.drift_issue(drifting, None, None, False, console, env=job_env(gitlab))
    assert f"Drift: updated issue #{issue['iid']}." in out.getvalue()
    assert len(gitlab.issues) == 1


def test_refusals_to_apply_are_english_data_said_in_chinese() -> None:
    from erpsync.ci import GITLAB
    from erpsync.ci.reviewed import NotReviewed, merged_pull

    with pytest.raises(NotReviewed) as found:
        merged_pull([{"number": 3, "merged_at": "x", "merge_commit_sha": "b"}], "a" * 40, GITLAB)
    message = str(found.value)
    assert message.startswith("commit aaaaaaaaaaaa is not the merge of a merge request (it")
    i18n.use(i18n.CHINESE)
    said = i18n.said(message)
    assert said.startswith("提交 aaaaaaaaaaaa 不是某个合并请求的合并结果（它属于 !3")
    assert english_left(said) == []


def test_a_gitlab_api_failure_is_said_in_chinese(gitlab: Any) -> None:
    from erpsync.ci.gitlab import GitLabError
    from tests.test_ci_gitlab import client

    with pytest.raises(GitLabError) as found:
        client(gitlab, token="glpat-wrong-token-0000").merge_request(12)
    message = str(found.value)
    assert ": HTTP 401" in message
    assert "check the CI/CD variable ERPSYNC_GITLAB_TOKEN" in message  # English data
    i18n.use(i18n.CHINESE)
    said = i18n.said(message)
    assert "：HTTP 401" in said
    assert "（令牌缺失、已过期或已被撤销：请检查 CI/CD 变量 ERPSYNC_GITLAB_TOKEN）" in said
    assert "glpat-wrong-token-0000" not in said


def test_plan_all_targets_in_chinese(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with_more_targets(demo)
    code, text = erpsync(capsys, "--lang", "zh-CN", "plan", "--all-targets", "--out", "plans")
    assert code == 1  # the target "gone" failed
    assert "=== 目标 demo ===" in text
    assert "=== 目标 gone ===\n错误：" in text
    assert "3 个目标：1 个失败，2 个有变更。" in text
    assert "已将每个目标的变更计划保存到 plans/<target>.json" in text
    code, markdown = erpsync(
        capsys, "--lang", "zh-CN", "plan", "--all-targets", "--format", "markdown"
    )
    assert markdown.startswith("# erpsync 变更计划：3 个目标：1 个失败，2 个有变更。")
    assert "- `gone`：失败（退出码 1）" in markdown
    assert "## erpsync 变更计划 `gone`：失败\n\n**失败：**" in markdown
    _code, english = erpsync(capsys, "plan", "--all-targets", "--format", "json")
    _code, chinese = erpsync(capsys, "--lang", "zh-CN", "plan", "--all-targets", "--format", "json")
    moving = re.compile(r'"created_at": "[^"]+"')
    assert moving.sub("", chinese) == moving.sub("", english)
