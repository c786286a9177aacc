"""The plan's views, its warnings, notes and guards, and apply's output in Simplified
Chinese (erpsync.i18n); JSON and saved plan files never change with the language, and a
plan saved in one language applies in the other."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from erpsync import cli, i18n
from erpsync.commands import catalog as catalog_cmd
from erpsync.config import RemovalShare
from erpsync.diff import DECLARED_UNMANAGED
from erpsync.guards import EARLIER, IN_WINDOW, REMOVED_OF, REMOVES_SHARE, TOUCHES_PROTECTED
from erpsync.plan import Kind
from erpsync.planner import DELETED_IN_ERP
from erpsync.render.markdown import LEVELS, markdown_view, prepare, render
from erpsync.render.text import text_view
from tests.test_cli_apply import demo_project, rows
from tests.test_i18n import demo  # noqa: F401 (a fixture)

CREATED_AT = re.compile(r'"created_at": "[^"]+"')  # the one field that moves with the clock


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use(i18n.ENGLISH)


def english_left(text: str) -> list[str]:
    """Runs of three or more English words outside code, keys, paths and flags."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"</?\w+>", " ", text)
    text = re.sub(r"\S*[/:._@=#\\-]\S*", " ", text)  # keys, paths, flags, permissions
    return re.findall(r"[A-Za-z]+(?:[ ,]+[A-Za-z]+){2,}", text)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["--no-color", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


# -- the demo's plan -------------------------------------------------------------------


def test_the_markdown_plan_is_chinese_throughout(
    demo: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, _err = run(capsys, "plan", "--format", "markdown")
    assert code == 0
    assert "## erpsync 变更计划：`demo`（reference）" in out
    assert "| 创建 | 修改 | 删除 | 停用 | 重新启用 | 授予 | 撤销 |" in out
    assert "**计划：创建 1 项，修改 3 项，停用 1 项，授予 5 项，撤销 7 项。**" in out
    assert "**安全检查**（apply 在首次写入前会再次检查）：" in out
    assert "- ✅ protected-objects：没有变更涉及受保护的用户或角色" in out
    assert "受管理的 41 个用户中的 1 个，上限 8；受管理的 294 项权限中的 1 项" in out
    assert "### ⚠️ 移除（8）" in out
    assert "| 停用 | 用户 | `gao.yuan` |  | 未声明：按策略移除 |" in out
    assert "⚠️ 角色 `vendor-master`：高风险，职责分离规则 `SOD-P2P-01`" in out
    assert "### ⚠️ 高风险角色与职责分离（1）" in out
    assert "| `chen.xi` | `employee` | 部门 hq 的默认角色 |" in out
    assert "<details><summary>不受管理的对象，保持不变（2）</summary>" in out
    assert "| 角色 | `admin` | 受保护 |" in out
    assert "计划格式 2" in out
    assert english_left(out) == []


def test_the_text_plan_is_chinese_throughout(
    demo: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _err = run(capsys, "--lang", "zh-CN", "plan", "--out", "plan.json")
    assert code == 0
    assert "安全检查（apply 时会再次检查）：" in out
    assert "通过 max_removals：该计划移除受管理的 41 个用户中的 1 个，上限 8" in out
    assert "（settings.max_removals：20%，至少 3）" in out
    assert "计划已保存到 plan.json；如需严格按此计划执行，请运行 `erpsync apply plan.json`。" in out
    assert english_left(out) == []


def test_json_and_saved_plans_do_not_change_with_the_language(
    demo: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _code, english, _err = run(capsys, "--lang", "en", "plan", "--format", "json")
    _code, chinese, _err = run(capsys, "--lang", "zh-CN", "plan", "--format", "json")
    assert CREATED_AT.sub("", chinese) == CREATED_AT.sub("", english)
    assert '"reason": "not declared: removed by policy"' in chinese
    run(capsys, "--lang", "en", "plan", "--out", "en.json")
    run(capsys, "--lang", "zh-CN", "plan", "--out", "zh.json")
    run(capsys, "--lang", "zh-CN", "plan", "--format", "markdown", "--out", "zh-md.json")
    saved = [
        CREATED_AT.sub("", (demo / n).read_text("utf-8"))
        for n in ("en.json", "zh.json", "zh-md.json")
    ]
    assert saved[0] == saved[1] == saved[2]
    assert json.loads((demo / "zh.json").read_text("utf-8"))["guards"][1]["detail"].startswith(
        "the plan removes 1 of 41 managed users, limit 8; 1 of 294 managed permissions"
    )


@pytest.mark.parametrize(("made_in", "applied_in"), [("zh-CN", "en"), ("en", "zh-CN")])
def test_a_plan_saved_in_one_language_applies_in_the_other(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    made_in: str,
    applied_in: str,
) -> None:
    project = demo_project(tmp_path, monkeypatch)
    assert run(capsys, "--lang", made_in, "plan", "--format", "json", "--out", "p.json")[0] == 0
    code, out, err = run(capsys, "--lang", applied_in, "apply", "p.json")
    assert code == 0, err
    if applied_in == "en":
        assert "Apply complete: 17 changes committed in one transaction (audit record #1)" in out
    else:
        assert "apply 完成：17 项变更已在单个事务中提交（审计记录 #1）。" in out
        assert "审计记录 #1 · 链头" in out
    assert rows(project, "SELECT active FROM erp_user WHERE login = 'gao.yuan'") == [(0,)]


def test_apply_refusals_are_said_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = demo_project(tmp_path, monkeypatch)
    run(capsys, "plan", "--format", "json", "--out", "p.json")
    with sqlite3.connect(project / "demo" / "erp.db") as conn:
        conn.execute("UPDATE erp_user SET email = 'x@example.com' WHERE login = 'li.na'")
    code, _out, err = run(capsys, "--lang", "zh-CN", "apply", "p.json")
    assert code == 1
    assert "计划已过时：生成计划后 ERP 发生了变化；未做任何改动。请重新生成计划并复核。" in err
    code, _out, err = run(capsys, "--lang", "zh-CN", "apply")
    assert code == 1
    assert "拒绝请求确认：标准输入不是终端" in err
    doc = json.loads((project / "p.json").read_text("utf-8"))
    doc["summary"]["create"] += 1
    (project / "p.json").write_text(json.dumps(doc), "utf-8")
    code, _out, err = run(capsys, "--lang", "zh-CN", "apply", "p.json")
    assert code == 1
    assert "p.json：计划文件的汇总与其变更数量不符：它在生成后被编辑过" in err
    assert english_left(err) == []
    (project / "p.json").write_text("{", "utf-8")
    code, _out, err = run(capsys, "--lang", "zh-CN", "apply", "p.json")
    assert code == 1
    assert "p.json 不是计划文件（JSON 无效：" in err  # and Python's own words


def test_a_refused_apply_says_each_kind_of_removal_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = demo_project(tmp_path, monkeypatch)
    config = project / "erpsync.yaml"
    text = config.read_text("utf-8")
    config.write_text(text.replace("{percent: 20, at_least: 3}", "{percent: 1, at_least: 0}"))
    code, _out, err = run(capsys, "--lang", "zh-CN", "apply", "--auto-approve")
    assert code == 1
    assert (
        "错误：安全检查 max_removals：该计划移除受管理的 41 个用户中的 1 个，上限 0；"
        "受管理的 114 项角色成员关系中的 6 项，上限 1"
        "（settings.max_removals：1%，至少 0）；如确属预期，请加 --allow-mass-removal 重新运行"
    ) in err
    assert english_left(err) == []
    code, _out, err = run(capsys, "apply", "--auto-approve")
    assert "the plan removes 1 of 41 managed users, limit 0; 6 of 114 managed memberships" in err


# -- warnings, notes and guards however they were made -----------------------------------


def busy_plan() -> dict[str, Any]:
    """A plan holding one warning and note of each kind of this area, and a refused
    max_removals over several kinds with earlier removals."""
    users, _users_window = REMOVED_OF["users"]
    _roles, roles_window = REMOVED_OF["roles"]
    removes = REMOVES_SHARE[2].format(
        detail=users.format(now=9, total=10, most=2),
        reason=roles_window.format(
            now=3, total=12, why=IN_WINDOW.format(before=2, window="24h", sum=5), most=2
        ),
        percent="20",
        least=2,
    )
    deleted = DELETED_IN_ERP["user"].format(
        key="li.na", detail="last recorded change by admin on 2026-12-01 08:00 UTC"
    )
    reason = "ignored (settings.ignore.roles: ops-*)"
    return {
        "format_version": 2,
        "target": {"name": "prod", "adapter": "ruoyi", "url": "mysql://erp@db/ry"},
        "summary": {"deactivate": 1, "revoke": 1},
        "changes": [
            {
                "action": "deactivate",
                "kind": "user",
                "key": "li.na",
                "before": None,
                "after": None,
                "reason": "user li.na is deactivated: expired 2026-11-01",
            },
            {
                "action": "revoke",
                "kind": "membership",
                "key": "li.na/finance",
                "before": None,
                "after": None,
                "reason": "user li.na is deactivated: expired 2026-11-01",
            },
        ],
        "unmanaged": [{"kind": "role", "key": "ops-x", "reason": reason}],
        "warnings": [
            DECLARED_UNMANAGED[Kind.ROLE].format(key="ops-x", reason=reason),
            "department sales is not declared but still holds users or departments that "
            "erpsync keeps; it is kept",
            "catalogue: module finance.report differs between the policy and the ERP (run "
            "`erpsync catalog` to refresh catalog.yaml)",
        ],
        "notes": [deleted],
        "guards": [
            {
                "guard": "protected-objects",
                "passed": False,
                "detail": TOUCHES_PROTECTED[Kind.USER].format(
                    action="revoke", kind="membership", key="admin/admin", owner="admin"
                ),
                "override": None,
            },
            {
                "guard": "max_removals",
                "passed": False,
                "detail": EARLIER.format(detail=removes, records="#3, #4"),
                "override": "--allow-mass-removal",
            },
        ],
        "roles_of_note": {"finance": {"risk": "critical", "sod_rules": ["pay-vs-approve"]}},
        "policy_digest": "sha256:aa",
        "live_digest": "sha256:bb",
        "erpsync_version": "0.1.0",
        "created_at": "2026-12-03T10:00:00Z",
    }


def test_warnings_notes_and_refused_guards_in_the_markdown_view() -> None:
    assert RemovalShare  # the share form of settings.max_removals is what busy_plan says
    i18n.use(i18n.CHINESE)
    out = markdown_view(busy_plan())
    assert "⛔ **拒绝**：protected-objects：该计划将对 membership admin/admin 执行 revoke" in out
    assert (
        "max\\_removals：该计划移除受管理的 10 个用户中的 9 个，上限 2；"
        "受管理的 12 个角色中的 3 个（另有 2 项已在最近 24h 内移除：合计 5），上限 2"
        "（settings.max\\_removals：20%，至少 2）；此前的移除来自审计记录 #3, #4；"
        "apply 需要 --allow-mass-removal"
    ) in out
    assert (
        "用户 li.na 已在 ERP 中被删除（最近一次改动由 admin 于 2026-12-01 08:00 UTC 所做）" in out
    )
    assert "⚠️ 角色 `finance`：严重风险，职责分离规则 `pay-vs-approve`" in out
    assert "<details><summary>⚠️ 3 条警告：" in out
    assert (
        "3 条警告：1 × 角色 … 已在策略中声明，但…；"
        "1 × 部门 … 未声明，但其中仍有 erpsync 保留的用户或部门；1 × 目录<"
    ) in out
    assert "- 部门 sales 未声明，但其中仍有 erpsync 保留的用户或部门；予以保留" in out
    assert "- 目录：模块 finance.report 在策略与 ERP 中不一致" in out
    assert "| 角色 | `ops-x` | 已忽略（settings.ignore.roles：ops-\\*） |" in out
    assert english_left(out) == []


def test_warnings_notes_and_refused_guards_in_the_text_view() -> None:
    i18n.use(i18n.CHINESE)
    out = text_view(busy_plan()).plain
    assert "警告：\n  ! 角色 ops-x 已在策略中声明，但已忽略（settings.ignore.roles：ops-*）" in out
    assert "说明：\n  * 用户 li.na 已在 ERP 中被删除" in out
    assert "拒绝 protected-objects：" in out
    assert "；apply 需要 --allow-mass-removal" in out
    assert "拒绝 protected-objects：该计划将对 membership admin/admin 执行 revoke" in out
    assert "（无法覆盖）" in out
    assert english_left(out) == []


def test_the_english_views_are_as_they_were() -> None:
    out = markdown_view(busy_plan())
    assert (
        "⛔ **refused**: max\\_removals: the plan removes 9 of 10 managed users, limit 2; 3 of 12 "
        "managed roles (+2 removed in the last 24h: 5), limit 2 (settings.max\\_removals: 20%, "
        "at least 2); earlier removals from audit record(s) #3, #4; apply needs "
        "--allow-mass-removal"
    ) in out
    assert "<details><summary>⚠️ 3 warnings: " in out


def test_every_level_of_the_markdown_view_is_chinese() -> None:
    i18n.use(i18n.CHINESE)
    plan = busy_plan()
    prepared = prepare(plan)
    for level in LEVELS:
        out = render(prepared, level)
        assert english_left(out) == [], level
    assert "未显示" in render(prepared, LEVELS[-1])


# -- catalog -------------------------------------------------------------------------------


def test_catalog_speaks_chinese(tmp_path: Path) -> None:
    from erpsync.adapters.reference.database import init_database
    from erpsync.config import ResolvedTarget

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, False)
    target = ResolvedTarget("erp", "reference", url)
    i18n.use(i18n.CHINESE)
    out = tmp_path / "policies" / "catalog.yaml"
    said = io.StringIO()
    console = Console(file=said, width=300, no_color=True)
    assert catalog_cmd.run(target, out, console) == 0
    assert "已将 21 个模块写入" in said.getvalue()
    text = out.read_text("utf-8").replace("    - export\n", "", 1)
    out.write_text("# 手工修改\n" + text, encoding="utf-8")
    said.truncate(0)
    assert catalog_cmd.run(target, out, console) == 0
    printed = said.getvalue()
    assert "为手工编写或编辑过，因此保持不变；ERP 的目录（21 个模块）已写入" in printed
    assert "：操作不一致：ERP 另有 export" in printed
    assert english_left(printed) == []


# -- a plan too long to list: grouped by pattern ----------------------------------------


def test_a_grouped_plan_is_chinese() -> None:
    from tests.render import plan_dict
    from tests.render.test_markdown import mixed, onboarding

    i18n.use(i18n.CHINESE)
    md = markdown_view(onboarding(3000))
    assert (
        "- 创建 3,000 个用户，所属部门 销售部（`sales`），授予角色 `sales-clerk`"
        "（3,000 项角色成员关系授予）\n"
    ) in md
    assert "为容纳在一条评论中已归组：6,001 项新增与修改未逐项列出；完整计划请查看计划制品" in md
    assert english_left(md) == []
    plan = plan_dict(mixed(10_000))
    for limit in (65_000, 20_000, 3_000):
        md = markdown_view(plan, limit=limit)
        assert "### ⚠️ 移除（4,000）" in md
        assert english_left(md) == [], limit
    md = render(prepare(plan), LEVELS[6])
    assert "- 停用 1,000 个用户\n" in md
    assert "- 修改 1,000 项用户：email 有变化\n" in md
    assert "- 创建 1,000 个角色，数据权限 `all`\n" in md
    assert "- 删除 1,000 个部门，上级部门 `hq`\n" in md
    assert re.search(r"^- 向 53 个角色 授予 `m\d+\.x:read`（\d+ 项）$", md, re.M)
    assert re.search(r"^- 从 33 个用户 撤销角色 `r\d+`（33 项角色成员关系）$", md, re.M)
    assert re.search(r"^- 将角色 `r\d+` 授予 \d+ 个用户（\d+ 项角色成员关系）$", md, re.M)
    assert english_left(md) == []


# -- messages that are data: English as made, Chinese where said --------------------------


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("undoes audit record #7", "撤销审计记录 #7"),
        ("user wu is deactivated: declared inactive", "用户 wu 将被停用：声明为停用"),
        (
            "role legacy is not declared but users erpsync does not manage hold it (admin); "
            "it is kept",
            "角色 legacy 未声明，但仍有 erpsync 不管理的用户持有它（admin）；予以保留",
        ),
        (
            "department hq was deleted in the ERP (who and when not recorded by the ERP); apply "
            "creates a new row, it does not restore the deleted one.",
            "部门 hq 已在 ERP 中被删除（ERP 未记录操作人和时间）；apply 会新建一行，"
            "不会恢复已删除的那一行。",
        ),
        (
            "renamed from ap (moved:), declared in policies/roles.yaml:3",
            "由 ap 改名而来（moved:），声明于 policies/roles.yaml:3",
        ),
        (
            "the plan is not what the policy gives against the live ERP, so it was not applied "
            "and nothing was changed: change 2, revoke membership a/b, is not in the plan made "
            "now. A plan file is applied only as made by `erpsync plan`; make a new plan and "
            "review it.",
            "该计划与策略针对线上 ERP 得出的计划不一致，因此未执行，也未做任何改动：第 2 项变更 "
            "revoke membership a/b 不在当前生成的计划中。计划文件只能按 `erpsync plan` "
            "生成的原样执行；请重新生成计划并复核。",
        ),
        (
            "the plan is for tenant (default), but target shop is tenant 122: make a new plan "
            "for it",
            "该计划针对默认租户，但目标 shop 是租户 122：请为其重新生成计划",
        ),
        (
            "module finance.report: actions differ: the ERP also has archive; the ERP has no print",
            "模块 finance.report：操作不一致：ERP 另有 archive；ERP 没有 print",
        ),
        (
            "apply failed and was rolled back, nothing was changed: plan is stale: another "
            "session changed rows this plan writes while apply ran; nothing was changed. Make a "
            "new plan and review it.",
            "apply 失败并已回滚，未做任何改动：计划已过时：apply 运行期间另一个会话改动了此计划"
            "要写入的行；未做任何改动。请重新生成计划并复核。",
        ),
    ],
)
def test_messages_that_are_data_are_said_in_chinese(english: str, chinese: str) -> None:
    i18n.use(i18n.CHINESE)
    assert i18n.said(english) == chinese
