"""RuoYi: the defaults a created role gets, and drift's who-and-when from RuoYi's own records
(row stamps, ``sys_oper_log``, soft deletes), on our seed and on the upstream RuoYi-Vue seed."""

# ruff: noqa: F811 (the fixtures of test_ruoyi, imported, are the tests' parameters)

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from erpsync.adapters.ruoyi.operlog import parse
from erpsync.apply import execute
from erpsync.commands import drift as drift_cmd
from erpsync.commands import show as show_cmd
from erpsync.config import Config, Project, Settings
from erpsync.plan import Action, Kind
from erpsync.policy.loader import load_policy
from tests.adapters import ruoyi_fixture as fx
from tests.adapters.test_ruoyi import (  # noqa: F401 (fixtures)
    OPTIONS,
    Erp,
    empty,
    erp,
    import_to,
    plan,
    upstream_vue,
)
from tests.output import captured

NEW_ROLE = """\
roles:
  auditor: {name: 审计员}
  reader: {name: 只读, data_scope: self}
users:
  li.na: {name: 李娜, roles: [auditor]}
"""


def applied(target: Erp, tmp_path: Path) -> Path:
    """Import the ERP, add NEW_ROLE to the policy and apply it; the policy directory."""
    policies = tmp_path / "policies"
    import_to(target, policies)
    (policies / "new.yaml").write_text(NEW_ROLE, encoding="utf-8")
    result = execute(target.adapter(), target.target, load_policy(policies), Settings(), OPTIONS)
    assert result.applied
    return policies


def test_a_created_role_gets_what_ruoyis_ui_gives_and_the_plan_shows_its_scope(
    erp: Erp, tmp_path: Path
) -> None:
    created_role(erp, tmp_path)


def test_upstream_a_created_role_gets_data_scope_all(upstream_vue: Erp, tmp_path: Path) -> None:
    created_role(upstream_vue, tmp_path)


def created_role(ruoyi: Erp, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    import_to(ruoyi, policies)
    (policies / "new.yaml").write_text(NEW_ROLE, encoding="utf-8")
    created = {c.key: c for c in plan(ruoyi, policies).changes if c.kind is Kind.ROLE}
    assert created["auditor"].action is Action.CREATE
    assert (created["auditor"].after or {})["data_scope"] == "all"
    assert (created["reader"].after or {})["data_scope"] == "self"
    top = ruoyi.scalar("select max(role_sort) from sys_role where del_flag = '0'")

    applied(ruoyi, tmp_path / "again")  # a fresh import of the same ERP, then apply
    row = ruoyi.one(
        "select data_scope, role_sort, status, del_flag from sys_role where role_key = 'auditor'"
    )
    assert row[0] == "1"
    assert row[1] > top
    assert (row[2], row[3]) == ("0", "0")
    assert ruoyi.scalar("select data_scope from sys_role where role_key = 'reader'") == "5"
    if ruoyi.flavour == "vue":
        strict = "select menu_check_strictly, dept_check_strictly from sys_role where role_key = :k"
        assert ruoyi.one(strict, k="auditor") == (1, 1)
    assert plan(ruoyi, tmp_path / "again" / "policies").changes == ()

    project = Project(Config(policies=str(policies)), tmp_path)
    console = Console(file=io.StringIO(), width=200)
    assert show_cmd.role(project, ruoyi.target, policies, "auditor", False, "json", console) == 0
    assert json.loads(captured(console))["data_scope"] == "all"


def _local_now(target: Erp) -> dt.datetime:
    sql = "select localtimestamp" if target.engine.dialect.name == "postgresql" else "select now()"
    value = target.scalar(sql)
    return value.replace(tzinfo=None, microsecond=0)  # type: ignore[no-any-return]


def _utc(target: Erp, local: dt.datetime) -> str:
    offset = target.scalar(
        "select timestampdiff(second, utc_timestamp(), now())"
        if target.engine.dialect.name != "postgresql"
        else "select extract(timezone from now())::int"
    )
    return (local - dt.timedelta(seconds=int(offset))).strftime("%Y-%m-%dT%H:%M:%SZ")


def _logged(target: Erp, *row: Any) -> None:
    with target.engine.begin() as conn:
        fx.oper_log(conn, *row)


def test_out_of_band_changes_are_attributed_from_ruoyis_own_records_and_all_counted(
    erp: Erp, tmp_path: Path
) -> None:
    out_of_band(erp, tmp_path)


def test_upstream_out_of_band_changes_are_attributed_and_counted(
    upstream_vue: Erp, tmp_path: Path
) -> None:
    out_of_band(upstream_vue, tmp_path)


def out_of_band(ruoyi: Erp, tmp_path: Path) -> None:
    policies = applied(ruoyi, tmp_path)
    role = ruoyi.scalar("select role_id from sys_role where role_key = 'auditor'")
    common = ruoyi.scalar("select role_id from sys_role where role_key = 'common'")
    login, _ = fx.login_columns(ruoyi.flavour)
    ry = ruoyi.scalar(f"select user_id from sys_user where {login} = 'ry'")
    li = ruoyi.scalar(f"select user_id from sys_user where {login} = 'li.na'")
    menu = ruoyi.scalar("select menu_id from sys_menu where perms = 'system:role:query'")
    now = _local_now(ruoyi)
    t1, t2, t3, t4, t5 = (now + dt.timedelta(minutes=m) for m in range(1, 6))

    # 1. role edit in RuoYi's UI: a menu ticked (RuoYi logs the call; the stamp of
    #    sys_role is left as it was, so only the operation log can tell)
    ruoyi.execute(f"insert into sys_role_menu (role_id, menu_id) values ({role}, {menu})")
    param = f'{{"admin":false,"menuIds":[{menu}],"roleId":{role},"roleKey":"auditor"}} '
    _logged(ruoyi, "角色管理", 2, "PUT", "/system/role", param, "ops.chen", t1)
    # 2. 用户管理 → 分配角色: ry gets auditor and keeps common
    ruoyi.execute(f"insert into sys_user_role (user_id, role_id) values ({ry}, {role})")
    param = f'{{"userId":"{ry}","roleIds":"{common},{role}"}}'
    _logged(ruoyi, "用户管理", 4, "PUT", "/system/user/authRole", param, "ops.wang", t2)
    # 3. 角色管理 → 分配用户 → 取消授权: ry taken out of common
    ruoyi.execute(f"delete from sys_user_role where user_id = {ry} and role_id = {common}")
    param = f'{{"roleId":{common},"userId":{ry}}} '
    _logged(ruoyi, "角色管理", 4, "PUT", "/system/role/authUser/cancel", param, "ops.li", t3)
    # 4. li.na deleted in RuoYi: a soft delete, her roles removed, sys_user's stamp untouched
    ruoyi.execute(f"update sys_user set del_flag = '2' where user_id = {li}")
    ruoyi.execute(f"delete from sys_user_role where user_id = {li}")
    _logged(ruoyi, "用户管理", 3, "DELETE", f"/system/user/{li}", f"[{li}] ", "ops.zhao", t4)
    # 5. a rename, stamped on the row itself; and a failed call, which changed nothing
    ruoyi.execute(
        "update sys_role set role_name = '审计', update_by = 'ops.chen', update_time = :at "
        "where role_key = 'auditor'",
        at=t5,
    )
    param = f'{{"roleId":{role},"roleKey":"auditor"}} '
    _logged(ruoyi, "角色管理", 2, "PUT", "/system/role", param, "intruder", t5, 1)

    project = Project(Config(policies=str(policies)), tmp_path)
    console = Console(file=io.StringIO(), width=200)
    assert drift_cmd.run(project, ruoyi.target, policies, "json", None, console) == 2
    report = json.loads(captured(console))
    items = {
        (i["kind"], i["key"]): i for part in ("changed", "missing", "extra") for i in report[part]
    }
    stamps = {k: (i["changed_by"], i["changed_at"], i["out_of_band"]) for k, i in items.items()}
    assert stamps == {
        ("permission", "auditor/system:role:query"): ("ops.chen", _utc(ruoyi, t1), True),
        ("membership", "ry/auditor"): ("ops.wang", _utc(ruoyi, t2), True),
        ("membership", "ry/common"): ("ops.li", _utc(ruoyi, t3), True),
        ("user", "li.na"): ("ops.zhao", _utc(ruoyi, t4), True),
        ("membership", "li.na/auditor"): (None, None, True),
        ("role", "auditor"): ("ops.chen", _utc(ruoyi, t5), True),
    }
    assert report["summary"]["out_of_band"] == 6
    deleted = items[("user", "li.na")]
    assert deleted["deleted_in_erp"] is True
    assert "deleted in the ERP" in deleted["reason"]

    console = Console(file=io.StringIO(), width=250)
    assert drift_cmd.run(project, ruoyi.target, policies, "text", None, console) == 2
    out = captured(console)
    assert f"+ membership ry/common  [out of band: ops.li, {_utc(ruoyi, t3)[:10]}" in out
    assert "6 out of band" in out
    assert "not recorded by the ERP" in out

    notes = plan(ruoyi, policies).notes
    [note] = [n for n in notes if "li.na was deleted in the ERP" in n]
    assert "by ops.zhao" in note
    assert "apply creates a new row" in note
    assert "no password" in note


@pytest.mark.parametrize(
    ("title", "business_type", "url", "param", "ids", "pairs"),
    [
        ("角色管理", 2, "/system/role", '{"roleId":5,"roleKey":"x","menuIds":[1,2]} ', {5}, set()),
        (
            "角色管理",
            4,
            "/system/role/authUser/selectAll",
            '{"roleId":"5","userIds":"3,4"}',
            {5},
            {(3, 5), (4, 5)},
        ),
        # RuoYi with Shiro logs request parameters as arrays
        (
            "角色管理",
            4,
            "/system/role/authUser/selectAll",
            '{"roleId":["5"],"userIds":["3,4"]}',
            {5},
            {(3, 5), (4, 5)},
        ),
        ("用户管理", 4, "/system/user/authRole", '{"userId":"3","roleIds":"2,5"}', {3}, set()),
        ("用户管理", 3, "/system/user/3,4", "[3,4] ", {3, 4}, set()),
        ("用户管理", 3, "/system/user/remove", '{"ids":["3,4"]}', {3, 4}, set()),
        ("部门管理", 3, "/system/dept/105", "105 ", {105}, set()),
        # cut at 2,000 characters: what is there is still read
        ("用户管理", 2, "/system/user", '{"admin":false,"userId":7,"dept":{"deptId":1', {7}, set()),
    ],
)
def test_operation_log_rows_name_the_rows_they_changed(
    title: str, business_type: int, url: str, param: str, ids: set[int], pairs: set[Any]
) -> None:
    op = parse(title, business_type, url, param, "ops", None)
    assert set(op.ids) == ids
    assert set(op.pairs) == pairs
