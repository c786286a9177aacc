"""The command line in Simplified Chinese: help (chosen by --lang, settings.language or
the locale, before click parses --help), click's own words, and what init, demo and import
print; English unchanged; messages that are data stay English."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from rich.cells import cell_len

from erpsync import __version__, cli, i18n
from erpsync.errors import UsageError
from erpsync.importer import storable
from erpsync.scaffold import FILES

REPO = Path(__file__).resolve().parent.parent

# Three English words in a row (a word with a lower-case letter: metavars such as
# [OPTIONS] are code) is a sentence left in English.
ENGLISH = re.compile(r"[A-Za-z]*[a-z][A-Za-z']*(?:,? +[A-Za-z]*[a-z][A-Za-z']*){2,}")
# Code a Chinese text quotes as it is: `...`, a command line, a YAML key: value.
CODE = re.compile(r"`[^`]*`|erpsync(?: [-\w:/.=*<>|\[\]]+)+|\w+: (?:false|true)")
# The ERP's own words and names that are English in any language.
ALLOWED = ("GitHub Actions", "JSON Lines", "github-actions")


@pytest.fixture(autouse=True)
def english_afterwards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    yield
    i18n.use(i18n.ENGLISH)


def english_left(text: str) -> list[str]:
    """The English sentences in ``text``, apart from code and names."""
    for name in ALLOWED:
        text = text.replace(name, "")
    return ENGLISH.findall(CODE.sub("", text))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--no-color", *args])
    shown = capsys.readouterr()
    return code, shown.out + shown.err


def every_command(
    group: click.Group = cli.cli, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    yield path
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))
        else:
            yield (*path, name)


def test_the_locale_gives_chinese_top_level_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out = run(capsys, "--help")
    assert code == 0
    assert out.startswith("用法：erpsync [OPTIONS] COMMAND [ARGS]...")
    assert "ERP 系统的权限即代码" in out
    assert "\n选项：\n" in out
    assert "\n命令：\n" in out
    assert "  -h, --help         显示此帮助并退出。" in out
    assert "  --lang [en|zh-CN]  面向人阅读的输出所用的语言" in out
    assert "  validate      校验策略（无需数据库）" in out
    assert english_left(out) == []


@pytest.mark.parametrize("command", [("plan",), ("ci",), ("review",), ("init",), ("import",)])
def test_lang_gives_chinese_command_help(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, "--lang", "zh-CN", *command, "--help")
    assert code == 0
    assert out.startswith(f"用法：erpsync {' '.join(command)} [OPTIONS]")
    assert "显示此帮助并退出。" in out
    assert english_left(out) == [], out
    if command == ("plan",):
        assert "保存计划（JSON），供 `erpsync apply FILE` 使" in out
        assert "  --detailed-exitcode            有变更时以退出码 2 退出。" in out
        assert "[默认：text]" in out
    if command == ("ci",):
        assert "`erpsync init` 生成的 GitHub 工作流或 .gitlab-ci.yml 中的各个步骤。" in out
        assert "  compare-plans  除非 NEW 的变更集与 REVIEWED 完全相同，否则以 1 退出" in out
    if command == ("review",):
        assert "权限复核：复核人确认或撤销其下属人员的权限。" in out


def test_every_help_is_chinese_and_fits_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """Every command's help, wrapped by display width: a Chinese character takes two
    columns, and no line is wider than the terminal (COLUMNS=80)."""
    for command in every_command():
        code, out = run(capsys, "--lang", "zh-CN", *command, "--help")
        assert code == 0, command
        assert english_left(out) == [], (command, out)
        assert "Usage:" not in out
        assert "Options:" not in out
        too_wide = [line for line in out.splitlines() if cell_len(line) > 80]
        assert too_wide == [], command


def test_settings_language_gives_chinese_help_and_lang_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "erpsync.yaml").write_text("settings:\n  language: zh-CN\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, "plan", "--help")
    assert code == 0
    assert out.startswith("用法：erpsync plan [OPTIONS]")
    code, out = run(capsys, "--help")
    assert "选项：" in out
    code, out = run(capsys, "--lang", "en", "plan", "--help")
    assert out.startswith("Usage: erpsync plan [OPTIONS]")
    # --config names the erpsync.yaml whose settings count
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (elsewhere / "erpsync.yaml").write_text("settings:\n  language: en\n", "utf-8")
    code, out = run(capsys, "review", "--help")
    assert out.startswith("Usage: erpsync review")
    code, out = run(capsys, "--config", str(tmp_path / "erpsync.yaml"), "review", "--help")
    assert out.startswith("用法：erpsync review")


def test_a_broken_erpsync_yaml_leaves_help_to_the_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "erpsync.yaml").write_text("settings: [unclosed\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out = run(capsys, "--help")
    assert code == 0
    assert out.startswith("用法：")


def test_english_help_is_unchanged(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    i18n.use(i18n.CHINESE)  # a run before in Chinese leaves nothing behind
    code, out = run(capsys, "plan", "--help")
    assert code == 0
    assert out.startswith(
        "Usage: erpsync plan [OPTIONS]\n\n"
        "  Show what apply would change in the live ERP (in every ERP: --all-targets).\n\n"
        "  With --all-targets the exit code is 1 when any target failed, else 2 when\n"
        "  any has changes and --detailed-exitcode is given, else 0.\n\nOptions:\n"
    )
    assert "  --format [text|json|markdown]  [default: text]\n" in out
    assert "  --jobs INTEGER RANGE           With --all-targets: targets run at once\n" in out
    assert "  -h, --help                     Show this message and exit.\n" in out
    code, out = run(capsys, "--help")
    assert "  --version          Show the version and exit.\n" in out
    assert "  apply         Make the live ERP match the policy (or apply exactly the...\n" in out
    code, out = run(capsys, "--version")
    assert out == f"erpsync, version {__version__}\n"


def test_clicks_own_words_are_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--lang", "zh-CN", "plan", "--bogus")
    assert code == 1
    assert "用法：erpsync plan [OPTIONS]" in out
    assert "运行 'erpsync plan --help' 查看帮助。" in out
    assert "错误：没有选项 '--bogus'。" in out
    code, out = run(capsys, "--lang", "zh-CN", "report", "everything")
    assert "'everything' 不在可选值 'access', 'sod', 'expiring', 'dormant', 'review' 之中" in out
    code, out = run(capsys, "--lang", "zh-CN", "audit", "show")
    assert "错误：缺少参数 'RECORD_ID'。" in out  # click's own full stop said too
    code, out = run(capsys, "--lang", "zh-CN", "report")
    assert "错误：缺少参数 '{access|sod|expiring|dormant|review}'。可选值：" in out
    code, out = run(capsys, "report")
    assert "Error: Missing argument '{access|sod|expiring|dormant|review}'. Choose from:" in out
    code, out = run(capsys, "--lang", "zh-CN", "plan", "--jobs", "x")
    assert "错误：'--jobs' 的值无效：'x' 不是有效的整数范围。" in out  # click's type named too
    code, out = run(capsys, "--lang", "zh-CN", "audit", "show", "x")
    assert "'x' 不是有效的整数。" in out
    code, out = run(capsys, "audit", "show", "x")
    assert "'x' is not a valid integer." in out
    code, out = run(capsys, "--lang", "zh-CN", "--version")
    assert out == f"erpsync，版本 {__version__}\n"
    code, out = run(capsys, "plan", "--bogus")  # and English again
    assert "Error: No such option '--bogus'" in out


def test_usage_errors_are_said_in_chinese_and_stay_english_as_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, "--lang", "zh-CN", "plan", "--jobs", "2")
    assert code == 1
    assert out.strip() == "错误：--jobs 须与 --all-targets 同用"
    code, out = run(capsys, "--lang", "zh-CN", "report", "dormant", "--deactivate")
    assert out.strip() == "错误：--expires 和 --deactivate 须与 --propose 同用"
    (tmp_path / "plans").mkdir()
    code, out = run(capsys, "--lang", "zh-CN", "--db", "sqlite:///x.db", "plan", "--out", "plans")
    assert out.strip() == "错误：--out plans 是一个目录；请指定要写入的计划文件名"
    i18n.use(i18n.CHINESE)
    with pytest.raises(UsageError, match=r"^--jobs goes with --all-targets$"):
        cli._all_targets_only(cli.Options(), None, 2, False)


def test_a_bad_erpsync_yaml_is_said_problem_by_problem_in_either_language(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "erpsync.yaml").write_text(
        "targets:\n  prod:\n    adapter: reference\n    url: sqlite:///x.db\n    bogus: 1\n",
        "utf-8",
    )
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, "validate")
    assert code == 1
    where = f"{tmp_path / 'erpsync.yaml'}:5:5: error:"
    assert out.splitlines() == [
        "error: invalid configuration:",
        f"{where} target prod: unknown field 'bogus'",
    ]
    code, out = run(capsys, "--lang", "zh-CN", "validate")
    assert code == 1
    assert out.splitlines() == ["错误：配置无效：", f"{where} 目标 prod: 未知的字段 'bogus'"]


def test_init_says_what_it_wrote_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "--lang", "zh-CN", "init", str(tmp_path / "repo"))
    assert code == 0
    assert "  已创建：" in out
    assert f"已生成 erpsync 策略仓库骨架：创建 {len(FILES)} 个。" in out
    assert "下一步：\n  erpsync validate                       # 示例策略有效\n" in out
    assert "然后按 README.md 的说明配置 secrets 和分支保护。" in out
    assert english_left(out) == [], out
    code, out = run(capsys, "--lang", "zh-CN", "init", str(tmp_path / "repo"))
    assert f"未写入任何文件：跳过 0 个，{len(FILES)} 个已是最新。" in out
    code, out = run(
        capsys,
        "--lang",
        "zh-CN",
        "init",
        "--adapter",
        "ruoyi",
        "--url",
        "mysql+pymysql://erp:pw@db/ry",
        "--ci",
        "gitlab",
        str(tmp_path / "ruoyi"),
    )
    assert "# 数据库密码；erpsync.yaml 从此处读取" in out
    assert "  erpsync import                         # 根据线上 ERP 写出 policies/" in out
    assert "然后按 README.md 的说明配置 CI/CD 变量和分支保护。" in out
    assert english_left(out) == [], out
    code, out = run(capsys, "--lang", "zh-CN", "init", "--adapter", "sap", str(tmp_path / "x"))
    assert code == 1
    assert out.startswith("错误：--adapter sap：未知（可用：")


def test_import_says_what_it_did_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from erpsync.adapters.reference.database import init_database

    monkeypatch.chdir(tmp_path)
    init_database("sqlite:///erp.db", sample=True)
    code, out = run(capsys, "--lang", "zh-CN", "--db", "sqlite:///erp.db", "import", "--out", "p")
    assert code == 0
    assert "（reference，sqlite:///erp.db）导入到 p：" in out
    assert out.startswith("已将目标 ")
    assert "  12 个部门，41 个用户，30 个角色，21 个模块，共 16 个文件" in out
    assert "推断出的部门默认角色（不在每个成员上重复声明）：" in out
    assert "未导入（erpsync 不会改动它们）：\n  - 用户 admin：受保护\n  - 角色 admin：受保护" in out
    assert "下一步：检查并提交这些文件；此时 `erpsync plan`" in out
    assert english_left(out) == [], out
    code, out = run(capsys, "--lang", "zh-CN", "--db", "sqlite:///erp.db", "import", "--out", "p")
    assert code == 1
    assert out.startswith("错误：p 不为空：erpsync import 会写出一个新的策略目录；")
    assert "Imported" not in out


def test_the_importers_warnings_are_english_data_said_in_chinese() -> None:
    from erpsync.adapters.base import Capabilities
    from erpsync.state import RoleRec, State

    state = State(roles={"clerk": RoleRec("clerk", "Clerk", "Books invoices")})
    _kept, dropped = storable(state, Capabilities(role_descriptions=False))
    assert dropped == ["role clerk: description left out (the ERP stores none)"]
    warning = i18n.N_("live data: {problem}").format(problem=dropped[0])
    i18n.use(i18n.CHINESE)
    assert i18n.said(warning) == "线上数据：角色 clerk：未导入描述（该 ERP 不存储描述）"
    key = "user 'li/na' is not a valid policy key: written as 'li-na'; the plan will show it "
    key += "as a different user until the ERP's key is 'li-na'"
    ghost = "department d1: parent 'ghost' is no department of the ERP; left out"
    assert i18n.said(ghost) == "部门 d1：上级部门 'ghost' 不是 ERP 中的部门；未导入"
    assert i18n.said(key) == (
        "用户 'li/na' 不是有效的策略键：已写为 'li-na'；在 ERP 中的键改为 'li-na' 之前，"
        "计划会将其显示为另一个用户"
    )


def test_the_demo_walks_through_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, "--lang", "zh-CN", "demo")
    assert code == 0
    assert "erpsync 演示" in out
    assert "华东精密机械是一家制造与贸易公司。" in out
    assert "阅读方法：`+` 表示创建或授予" in out
    assert "第二次计划无变更：演示用的 ERP 已与策略一致。" in out
    assert "How to read it" not in out
    assert "Your turn" not in out
