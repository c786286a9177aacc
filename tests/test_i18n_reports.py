"""The reports, ``show``, ``who-can``, ``doctor`` and the audit views in Simplified Chinese:
Chinese throughout but for keys, paths and the ERP's own strings; their JSON and CSV the
same in every language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync import i18n
from tests.test_dormant import erpsync, project

# Three English words in a row: a sentence left untranslated (keys, codes and paths
# have no spaces between their words).
ENGLISH = re.compile(r"(?<![\w.:/'-])[A-Za-z][a-z']+(?:,? [A-Za-z][a-z']+){2,}(?![\w.:/-])")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use(i18n.ENGLISH)


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


def chinese(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out = erpsync(capsys, "--lang", "zh-CN", *args)
    assert code == 0, out
    return out


def no_english(text: str) -> None:
    left = ENGLISH.findall(re.sub(r"`[^`]*`", "", text))  # commands quoted as code stay
    assert left == [], left


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("report", "access"), ["访问权限清单", "用户 × 权限", "内置管理员，不受管理", "启用"]),
        (("report", "access", "--desired"), ["数据来源： 策略（期望状态）", "用户 × 权限"]),
        (("report", "sod"), ["职责分离", "阻断（高风险/严重风险，未缓解）", "已由例外缓解"]),
        (
            ("report", "sod", "--desired"),
            ["已缓解", "(周敏)", "例外"],
        ),
        (
            ("report", "expiring", "--days", "400"),
            ["400 天内到期或已过期", "职责分离例外", "剩余天数"],
        ),
        (("report", "expiring", "--desired"), ["用户和职责分离例外：无"]),
        (("report", "dormant"), ["休眠账号：90 天及以上未登录", "从未登录", "个受管理的启用用户"]),
        (("show", "user", "li.na"), ["用户 li.na", "通过角色 sales-clerk", "线上角色成员关系"]),
        (
            ("show", "user", "chen.xi", "--desired"),
            ["角色 employee（部门 hq 的默认角色）", "直接授予", "有效权限（13）"],
        ),
        (
            ("show", "role", "gl-reviewer", "--desired"),
            ["风险等级：       高风险", "被以下角色包含", "包含的权限", "来自包含的角色"],
        ),
        (("who-can", "system.user:read"), ["谁拥有 system.user:read", "6（1 个内置管理员）"]),
        (("who-can", "system.user:read", "--desired"), ["持有该权限的用户"]),
    ],
)
def test_reports_and_show_in_chinese(
    demo: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: list[str]
) -> None:
    out = chinese(capsys, *args)
    for text in expected:
        assert text in out
    no_english(out)


def test_html_report_in_chinese(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = chinese(capsys, "report", "sod", "--format", "html")
    assert '<html lang="zh-CN">' in out
    assert "<h1>职责分离</h1>" in out
    assert "由 erpsync" in out
    body = out[out.index("<body>") :]
    no_english(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize("kind", ["access", "sod", "expiring", "dormant"])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_json_and_csv_do_not_change_with_the_language(
    demo: Path, capsys: pytest.CaptureFixture[str], kind: str, fmt: str
) -> None:
    code, english = erpsync(capsys, "report", kind, "--format", fmt)
    assert code == 0
    code, translated = erpsync(capsys, "--lang", "zh-CN", "report", kind, "--format", fmt)
    assert STAMP.sub("", translated) == STAMP.sub("", english)


def test_show_json_does_not_change_with_the_language(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (("show", "user", "chen.xi", "--desired"), ("who-can", "system.user:read")):
        _code, english = erpsync(capsys, *args, "--format", "json")
        _code, translated = erpsync(capsys, "--lang", "zh-CN", *args, "--format", "json")
        assert STAMP.sub("", translated) == STAMP.sub("", english)
        assert "通过" not in translated
        assert "直接授予" not in translated


def test_a_report_error_is_said_in_chinese(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = erpsync(capsys, "--lang", "zh-CN", "show", "user", "nobody.here", "--desired")
    assert code != 0
    assert "未知的用户 'nobody.here'" in out
    code, out = erpsync(capsys, "--lang", "zh-CN", "report", "expiring", "--days", "-1")
    assert "--days 必须大于或等于 0" in out


@pytest.fixture
def applied(demo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, out = erpsync(capsys, "apply", "--auto-approve")
    assert code == 0, out
    return demo


def test_doctor_in_chinese(applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = chinese(capsys, "doctor")
    assert "通过  配置" in out
    assert "可连接，耗时" in out
    assert "哈希链完整，链头 1:" in out
    assert "doctor：就绪（通过 11 项）" in out
    no_english(out)


def test_doctor_before_any_apply_in_chinese(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = chinese(capsys, "doctor")
    assert "警告  自有表" in out
    assert "（修复：首次 `erpsync apply` 会创建它们）" in out
    assert "从未 apply" in out
    no_english(out)


def test_doctor_lists_each_problem_in_chinese(
    applied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{applied / 'erp.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE erpsync_audit SET actor = 'mallory' WHERE id = 1"))
    engine.dispose()
    code, out = erpsync(capsys, "--lang", "zh-CN", "doctor")
    assert code == 1
    assert "哈希链校验未通过：记录 1：已被修改：其内容与哈希不再一致" in out
    assert "doctor：发现问题（通过 10 项，失败 1 项）" in out
    no_english(out)
    code, out = erpsync(capsys, "--lang", "zh-CN", "audit", "verify")
    assert code != 0
    assert "错误：审计日志校验未通过：\n  记录 1：已被修改：" in out
    no_english(out)
    code, english = erpsync(capsys, "audit", "verify")
    assert "error: the audit trail does not verify:\n  record 1: edited: its content" in english


def test_audit_views_in_chinese(applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = chinese(capsys, "audit", "log")
    assert "应用时间（UTC）" in out
    assert "授予 5 项" in out
    no_english(out)
    out = chinese(capsys, "audit", "show", "1")
    assert "审计记录 #1" in out
    assert "创建 用户 chen.xi  （声明于 policies/users/operations.yaml:30）" in out
    assert "用户 chen.xi 现拥有角色 sales-clerk" in out
    assert "email: （无） → chen.xi@hdjm.example.com" in out
    no_english(out)
    out = chinese(capsys, "audit", "verify")
    assert "审计日志校验通过：1 条记录，哈希链完整。" in out
    assert "链头：1:" in out
    _code, out = erpsync(capsys, "--lang", "zh-CN", "audit", "show", "9")
    assert "错误：没有审计记录 9（审计日志中有记录 1 至 1）" in out


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_audit_log_as_data_does_not_change_with_the_language(
    applied: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    _code, english = erpsync(capsys, "audit", "log", "--format", fmt)
    _code, translated = erpsync(capsys, "--lang", "zh-CN", "audit", "log", "--format", fmt)
    assert translated == english
    assert "user chen.xi now holds role sales-clerk" in english
    _code, english = erpsync(capsys, "audit", "export")
    _code, translated = erpsync(capsys, "--lang", "zh-CN", "audit", "export")
    assert translated == english


def test_doctor_lines_align_by_display_width(
    applied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rich.cells import cell_len

    lines = chinese(capsys, "doctor").splitlines()[:-1]
    assert len(lines) == 11
    starts = set()
    for line in lines:
        verdict_and_name = re.match(r"^(\S+\s+\S+(?: apply)?\s+)", line)
        assert verdict_and_name is not None, line
        starts.add(cell_len(verdict_and_name.group(1)))
    assert starts == {18}  # 4 + 2 + 10 + 2 columns, whatever the characters
