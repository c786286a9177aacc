"""validate and policy loading in Simplified Chinese (erpsync.i18n): every diagnostic of
the golden cases is said in Chinese at the same file:line:col, the machine-read prefixes
stay, JSON is byte-identical in both languages, and the errors of loading, configuration,
connecting and the lock are said too while staying English as data."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from erpsync import cli, i18n
from erpsync import diagnostics as diag
from erpsync.commands import validate as validate_cmd
from erpsync.config import load_config
from erpsync.errors import ConfigError, ConnectError, PolicyError
from erpsync.i18n import said
from erpsync.lock import Holder, _row_advice, _timeout_message
from erpsync.policy.loader import load_policy
from erpsync.yamlsafe import YamlLoadError, loads
from tests.casefiles import case_dirs
from tests.test_validate_cases import run_case

CJK = re.compile(r"[\u4e00-\u9fff]")
# What may stay ASCII in a Chinese line: the machine-read prefix, quoted values, code,
# keys and paths. Left after taking those out, two English words in a row are words
# nobody translated.
_QUOTED = re.compile(r"'[^'\n]*'|`[^`\n]*`|\"[^\"\n]*\"")
_WORDS = re.compile(r"(?<![\w.:/'\[-])[A-Za-z]{2,}(?: [A-Za-z]{2,})+(?![\w.:/'\]-])")
_PREFIX = re.compile(r"^(.*?: (?:error|warning): )")


def english_left(text: str) -> list[str]:
    """The runs of two or more English words in ``text`` outside its ``file:L:C: error:``
    prefix, quotes and code."""
    return _WORDS.findall(_QUOTED.sub("''", _PREFIX.sub("", text)))


def test_english_is_found() -> None:
    assert english_left("p.yaml:1:1: warning: role x: no active user holds this role")
    assert english_left("p.yaml:1:1: warning: user x: expired 2026-01-01: planned as deactivated")
    assert english_left("p.yaml:1:1: error: 用户 x: unknown role 'y'")
    assert english_left("p.yaml:1:1: error: 角色 clerk: 未知的字段 'x'") == []


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use(i18n.ENGLISH)


def chinese(case: Path) -> tuple[int, str]:
    i18n.use(i18n.CHINESE)
    try:
        return run_case(case)
    finally:
        i18n.use(i18n.ENGLISH)


@pytest.mark.parametrize("case", case_dirs("validate"), ids=lambda p: p.name)
def test_every_golden_case_is_said_in_chinese_at_the_same_places(case: Path) -> None:
    code, english = run_case(case)
    code_zh, said_lines = chinese(case)
    assert code_zh == code
    en, zh = english.splitlines(), said_lines.splitlines()
    assert len(zh) == len(en)
    for e, z in zip(en, zh, strict=True):
        position = _PREFIX.match(e)
        if position is not None:
            assert z.startswith(position.group(1)), (e, z)  # editors and CI parse this
        assert CJK.search(z), z
        assert english_left(z) == [], z


def test_the_summary_and_counts_are_chinese() -> None:
    case = next(c for c in case_dirs("validate") if c.name == "dangling-role-refs")
    code, out = chinese(case)
    assert code == 1
    assert (
        "policy/policy.yaml:11:16: error: 角色 ap-clerk: includes[0]：未知的角色 'employe'"
        "（是否应为 'employee'？）" in out
    )
    assert (
        "policy：1 个文件，2 个部门，2 个角色，2 个用户，0 条职责分离规则："
        "无效（2 个错误，0 个警告）" in out
    )


def test_json_is_byte_identical_in_both_languages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(
        "roles:\n  clerk:\n    name: 出纳\n    permisions: {}\n    includes: [employe]\n"
        "  employee:\n    name: 员工\n    risk: extreme\n"
        "users:\n  li.na:\n    name: 李娜\n    status: disabled\n    roles: [clerk]\n"
        "  wang.fang:\n    name: 123\n    active: 'yes'\n",
        "utf-8",
    )
    (policies / "q.yaml").write_text("user:\n  x: 1\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    outputs = {}
    for lang in ("en", "zh-CN"):
        capsys.readouterr()
        code = cli.main(["--no-color", "--lang", lang, "validate", "--format", "json", "policies"])
        assert code == 1
        outputs[lang] = capsys.readouterr().out
    assert outputs["zh-CN"] == outputs["en"]
    doc = json.loads(outputs["en"])
    assert doc["errors"] == 6
    assert "unknown field 'permisions' (did you mean 'permissions'?)" in {
        d["message"] for d in doc["diagnostics"]
    }
    capsys.readouterr()
    assert cli.main(["--no-color", "--lang", "zh-CN", "validate", "policies"]) == 1
    text = capsys.readouterr().out
    assert (
        "policies/p.yaml:4:5: error: 角色 clerk: "
        "未知的字段 'permisions'（是否应为 'permissions'？）" in text
    )
    assert (
        "角色 employee: risk：无效的值 'extreme'：应为 'low', 'medium', 'high' 或 'critical'"
        in text
    )
    assert (
        "用户 li.na: 未知的字段 'status'（是否应为 'active'？已禁用或已锁定的账号请写 "
        "'active: false'（默认为 'active: true'））" in text
    )
    assert "用户 wang.fang: name：应为字符串，实际为数字" in text
    assert "用户 wang.fang: active：应为布尔值（true 或 false），实际为字符串" in text
    assert "policies/q.yaml:1:1: error: 未知的顶层键 'user'（是否应为 'users'？）" in text
    assert "policies：无效（6 个错误，0 个警告）" in text
    for line in text.splitlines():
        assert english_left(line) == [], line
    capsys.readouterr()
    assert cli.main(["--no-color", "--lang", "zh-CN", "validate", "--format", "github", "policies"])
    github = capsys.readouterr().out
    assert (
        "::error file=policies/p.yaml,line=4,col=5,title=erpsync schema::角色 clerk: "
        "未知的字段 'permisions'（是否应为 'permissions'？）\n" in github
    )
    assert github.endswith("erpsync validate: 6 个错误，0 个警告\n")


def _unknown_roles(n: int) -> list[diag.Diagnostic]:
    return [
        diag.error(
            "unknown-reference",
            diag.Position("p.yaml", i + 1, 3),
            f"user u{i}",
            diag.at_field("roles[0]", f"unknown role 'r{i}'"),
        )
        for i in range(n)
    ] + [diag.warning("unused-role", diag.Position("p.yaml", 1, 1), "role x", "no")]


def test_the_rest_of_a_flood_is_counted_in_chinese() -> None:
    found = _unknown_roles(diag.SHOWN + 1234)
    english = diag.to_text(found)
    assert english.endswith(
        "… and 1,234 more errors: 1,234 unknown role; and 1 more warning: 1 unused role\n"
    )
    i18n.use(i18n.CHINESE)
    text = diag.to_text(found)
    assert text.endswith(
        "…… 另有 1,234 个错误：未知的角色 1,234 项；另有 1 个警告：未使用的角色 1 项\n"
    )
    assert "p.yaml:1:3: error: 用户 u0: roles[0]：未知的角色 'r0'\n" in text
    github = diag.to_github(found)
    assert "::notice title=erpsync validate::…… 另有 1,234 个错误" in github
    assert "（--format json 会列出全部）" in github
    assert diag.to_text(found, say=False) == english  # data stays English
    assert diag.to_json(found) == diag.to_json(found)


def test_messages_stay_english_data_and_are_said_where_shown(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("users:\n  li.na:\n    name: 李娜\n    roles: [clerk]\n")
    i18n.use(i18n.CHINESE)
    loaded = load_policy(tmp_path)
    found, _described = validate_cmd.check(tmp_path, dt.date(2026, 1, 1), 1 << 20)
    assert [d.message for d in found] == ["roles[0]: unknown role 'clerk'"]  # English data
    assert diag.said_message(found[0].message) == "roles[0]：未知的角色 'clerk'"
    assert loaded.policy.users["li.na"].name == "李娜"
    (tmp_path / "q.yaml").write_text("roles: [a\n")
    with pytest.raises(PolicyError) as raised:
        load_policy(tmp_path)
    assert str(raised.value) == "policy is invalid: 1 error(s)"
    assert said(str(raised.value)) == "策略无效：1 个错误"
    message = raised.value.diagnostics[0].message
    assert message.startswith("invalid YAML: did not find expected ',' or ']'")
    assert (
        said(message) == "YAML 无效：未找到预期的 ',' 或 ']'（解析流式序列时，始于第 1 行第 8 列）"
    )


@pytest.mark.parametrize(
    ("text", "chinese"),
    [
        ("a: 1\na: 2\n", "重复的键 'a'（首次定义于第 1 行第 1 列）"),
        ("a: !!python/object:os.system x\n", "不允许使用 YAML 标签 '!!python/object:os.system'"),
        ("a: &x 1\nb: &x 2\n", "YAML 无效：锚点 'x' 重复定义（首次定义于第 1 行第 4 列）"),
        ("a: *nope\n", "YAML 无效：发现未定义的别名 'nope'"),
        ("a: 2026-02-30\n", "无效的日期 '2026-02-30'：日期超出该月的范围"),
    ],
)
def test_yaml_errors_are_said(text: str, chinese: str) -> None:
    with pytest.raises(YamlLoadError) as raised:
        loads(text)
    i18n.use(i18n.CHINESE)
    assert said(raised.value.message).startswith(chinese)
    assert english_left(said(raised.value.message)) == []


def test_configuration_errors_are_said(tmp_path: Path) -> None:
    config = tmp_path / "erpsync.yaml"
    config.write_text(
        "targets:\n  a:\n    adapter: reference\n    url: sqlite:///x.db\n"
        "settings:\n  max_removalz: 3\n  connect_timeout: -1\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config, env={})
    assert str(raised.value).startswith("invalid configuration:\n")
    assert len(raised.value.diagnostics) == 2
    i18n.use(i18n.CHINESE)
    assert said(str(raised.value)).startswith("配置无效：\n")  # the lines are data
    shown = diag.to_text(raised.value.diagnostics)
    assert "settings：未知的字段 'max_removalz'（是否应为 'max_removals'？）" in shown
    assert "settings.connect_timeout：应大于 0" in shown
    config.write_text("targets:\n  a:\n    url: ${NOPE}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config, env={})
    assert "环境变量 NOPE 未设置（如需默认值，请写作 ${NOPE:-default}）" in diag.to_text(
        raised.value.diagnostics
    )


def test_cli_errors_of_targets_are_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "erpsync.yaml").write_text(
        "targets:\n  prod:\n    adapter: reference\n    url: sqlite:///missing.db\n"
    )
    (tmp_path / "policies").mkdir()
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli.main(["--no-color", "--lang", "zh-CN", "plan", "--target", "prd"]) == 1
    err = capsys.readouterr().err
    assert "错误：未知的目标 'prd'（是否应为 'prod'？）；erpsync.yaml 中定义的目标：prod" in err
    assert cli.main(["--no-color", "--lang", "zh-CN", "plan", "--target", "prod"]) == 1
    err = capsys.readouterr().err
    assert "错误：目标 prod：数据库文件 missing.db 不存在（可用 `erpsync refdb init" in err


def test_connect_and_lock_messages_are_said() -> None:
    exc = ConnectError(
        "target prod: cannot connect to postgresql://erp@db/erp",
        "connection refused",
        "the host name does not resolve: check the url's host",
    )
    english = str(exc)
    assert english == (
        "target prod: cannot connect to postgresql://erp@db/erp: connection refused\n"
        "  hint: the host name does not resolve: check the url's host"
    )
    holder = Holder(
        "erpsync apply",
        "ci-7",
        42,
        dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC),
    )
    lock = _timeout_message("erpsync", 5, holder, _row_advice(holder))
    assert lock.startswith("could not take the lock 'erpsync' within 5s: it is held by")
    i18n.use(i18n.CHINESE)
    assert said(english) == (
        "目标 prod：无法连接到 postgresql://erp@db/erp：connection refused\n"
        "  提示：无法解析主机名：请检查 url 中的主机"
    )
    assert said(lock) == (
        "未能在 5 秒内获取锁 'erpsync'：持有者为主机 ci-7 上的 erpsync apply（pid 42），"
        "自 2026-12-03 09:00:00 UTC 起。如果该 apply 已不在运行，请运行 "
        "`erpsync force-unlock`。该锁将于 2026-12-03 10:00:00 UTC 过期。"
    )


def test_a_console_prints_the_chinese_lines_whole() -> None:
    """Rich neither wraps nor pads the said lines: the prefix stays on one line."""
    out = io.StringIO()
    console = Console(file=out, width=40, no_color=True, soft_wrap=True)
    i18n.use(i18n.CHINESE)
    found = _unknown_roles(1)
    validate_cmd._text(console, found, "policies", ())
    first = out.getvalue().splitlines()[0]
    assert first == "p.yaml:1:3: error: 用户 u0: roles[0]：未知的角色 'r0'"


def test_what_an_adapter_cannot_store_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_validate_target import NOWHERE, POLICY, project

    project(tmp_path, POLICY, f"  prod: {{adapter: tryton, url: '{NOWHERE}'}}\n")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli.main(["--no-color", "--lang", "zh-CN", "validate"]) == 1
    out = capsys.readouterr().out
    where = "policies/sales.yaml"
    for line in (
        f"{where}:2:3: warning: 部门 sales: tryton 适配器不存储部门：策略中的 1 个部门会为其成员"
        "提供默认角色并出现在报告中，但不会写入 ERP",
        f"{where}:6:5: error: 角色 clerks: description：tryton 适配器无法存储角色描述",
        f"{where}:7:5: error: 角色 clerks: data_scope：tryton 适配器无法存储数据权限",
        "：无效（2 个错误，1 个警告）；已按 tryton 适配器检查",
    ):
        assert line in out
    for line in out.splitlines():
        assert english_left(line) == [], line


def test_look_alike_keys_are_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "users.yaml").write_text(
        "users:\n  \u0430dmin:\n    name: Admin\n  li.na:\n    name: 李娜\n"
        "  li.n\u0430:\n    name: 李娜\n",
        encoding="utf-8",
    )
    (tmp_path / "erpsync.yaml").write_text(
        "policies: policies/\nsettings: {protected_users: [admin]}\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli.main(["--no-color", "--lang", "zh-CN", "validate"]) == 0
    out = capsys.readouterr().out
    assert (
        "policies/users.yaml:2:3: warning: 用户 \u0430dmin: 混用了 Cyrillic 和 Latin 文字"
        "（'\u0430' U+0430 CYRILLIC SMALL LETTER A）；与受保护的用户 'admin' 外观相似"
        "（以 '\u0430' U+0430 CYRILLIC SMALL LETTER A 代替了 'a' U+0061 LATIN SMALL LETTER A）"
        "：请确认这是您想要的键" in out
    )
    assert "与 policies/users.yaml:4:3 处的用户 'li.na' 外观相似" in out


def test_all_targets_json_keeps_the_diagnostics_in_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text("users:\n  li.na:\n    nmae: 李娜\n", "utf-8")
    (tmp_path / "erpsync.yaml").write_text(
        "policies: policies\ntargets:\n  a: {adapter: reference, url: 'sqlite:///a.db'}\n"
        "  b: {adapter: reference, url: 'sqlite:///b.db'}\n",
        "utf-8",
    )
    monkeypatch.chdir(tmp_path)
    outputs = {}
    for lang in ("en", "zh-CN"):
        capsys.readouterr()
        cli.main(["--no-color", "--lang", lang, "plan", "--all-targets", "--format", "json"])
        outputs[lang] = capsys.readouterr().out
    assert outputs["zh-CN"] == outputs["en"]
    assert "unknown field 'nmae' (did you mean 'name'?)" in outputs["en"]


def test_a_violation_of_a_three_way_rule_is_said_part_by_part(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "roles:\n"
        "  a: {name: A, permissions: {m1: [x]}}\n"
        "  b: {name: B, permissions: {m2: [y]}}\n"
        "  c: {name: C, permissions: {m3: [z]}, includes: [d]}\n"
        "  d: {name: D, permissions: {m4: [w]}}\n"
        "users:\n  u: {name: U, roles: [a, b, c]}\n"
        "sod_rules:\n"
        "  R3: {description: three, severity: high, conflicts: [[m1:x], [m2:y], [m4:w]]}\n",
        "utf-8",
    )
    found, _described = validate_cmd.check(tmp_path, dt.date(2026, 1, 1), 1 << 20)
    [violation] = [d for d in found if d.code == "sod-violation"]
    assert violation.message == (
        "violates high SoD rule R3: m1:x (role a); m2:y (role b); m4:w (role c, via d); "
        "change the roles or add an entry to sod_exceptions"
    )
    i18n.use(i18n.CHINESE)
    assert said(violation.message) == (
        "违反 high 级职责分离规则 R3：m1:x（角色 a）；m2:y（角色 b）；m4:w（角色 c，经由 d）；"
        "请修改角色，或在 sod_exceptions 中添加例外"
    )
