"""Simplified Chinese for what the adapters of part A say (the base, the batch writer, the
reference ERP, RuoYi, Tryton): their refusals, live-data problems, notes for the reviewer
and the operator, schema problems, errors and built-in administrators' rules are English
data made from catalogued templates; said in Chinese they are Chinese sentences, with the
ERP's own names (RuoYi's menus, keys, permission strings) kept as they are, and in English
they are what they always were.

The messages are produced by the real adapters: the reference ERP on SQLite, RuoYi on the
throwaway MariaDB (``-m mysql``), Tryton on SQLite through trytond (skipped without it).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from erpsync import i18n
from erpsync.adapters import adapter_class
from erpsync.adapters.base import LiveSnapshot
from erpsync.adapters.batches import failed
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.database import init_database
from erpsync.adapters.reference.schema import schema_problems as reference_schema_problems
from erpsync.errors import DatabaseError, UsageError
from erpsync.plan import Action, Change, Kind

HAN = re.compile(r"[\u4e00-\u9fff]")
# Three or more English words in a row, once code is taken out: a sentence left in English
ENGLISH_RUN = re.compile(r"\b[A-Za-z]+(?: [A-Za-z]+){2,}\b")
# Code, keys and values that stay as they are: quoted values, `commands`, the erpsync
# command line, and anything with the punctuation of keys, paths, flags and permissions
CODE = re.compile(r"'[^']*'|`[^`]*`|erpsync(?: [a-z]+)+|\S*[_.:/*=#\[\]()<>+-]\S*")


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use(i18n.ENGLISH)


def chinese(message: str, *values: str) -> str:
    """``message`` said in Chinese: it changed, it is Chinese, it keeps ``values`` (the ERP's
    own names, keys) and leaves no English sentence; in English it is unchanged."""
    i18n.use(i18n.ENGLISH)
    assert i18n.said(message) == message
    i18n.use(i18n.CHINESE)
    said = i18n.said(message)
    i18n.use(i18n.ENGLISH)
    assert said != message, f"not translated: {message}"
    assert HAN.search(said), said
    for value in values:
        assert value in said, (value, said)
    rest = CODE.sub(" ", said)
    for value in values:
        rest = rest.replace(value, " ")
    assert ENGLISH_RUN.findall(rest) == [], (message, said)
    return said


def create(kind: Kind, key: str, **after: Any) -> Change:
    return Change(Action.CREATE, kind, key, "test", None, after)


# --------------------------------------------------------------------------------------------
# The adapter base and the batch writer
# --------------------------------------------------------------------------------------------


def test_a_refusal_says_the_action_and_the_kind_in_chinese() -> None:
    said = chinese(
        "cannot create user chen.jing: the ERP already has a user 'chen.jing'", "chen.jing"
    )
    assert said == "无法创建用户 chen.jing：ERP 中已有用户 'chen.jing'"
    said = chinese(
        "cannot grant membership ghost/employee: the ERP has no user 'ghost'", "ghost/employee"
    )
    assert said == "无法授予角色成员关系 ghost/employee：ERP 中没有用户 'ghost'"


def test_a_failed_statement_names_the_change_and_keeps_the_drivers_words() -> None:
    one = Change(Action.CREATE, Kind.USER, "li.na", "t", None, {"name": "李娜"})
    message = failed([one], "(1062) Duplicate entry")
    assert message == "create user li.na failed: (1062) Duplicate entry"
    i18n.use(i18n.CHINESE)
    assert i18n.said(message) == "create user li.na 失败：(1062) Duplicate entry"
    two = Change(Action.CREATE, Kind.USER, "wu.di", "t", None, {"name": "吴迪"})
    i18n.use(i18n.ENGLISH)
    message = failed([one, two], "timeout")
    assert message == "2 create user changes (li.na … wu.di) failed: timeout"
    i18n.use(i18n.CHINESE)
    assert i18n.said(message) == "2 项 create user 变更（li.na … wu.di）失败：timeout"


def test_an_unknown_adapter_is_an_error_in_chinese() -> None:
    with pytest.raises(UsageError) as raised:
        adapter_class("sap")
    assert str(raised.value).startswith("unknown adapter 'sap' (known: jsherp, reference")
    chinese(str(raised.value), "'sap'")


def test_an_adapter_without_sign_in_records_says_so_in_chinese() -> None:
    from erpsync.adapters.memory import MemoryAdapter
    from erpsync.state import State

    adapter = MemoryAdapter(LiveSnapshot(State({}, {}, {}, frozenset(), {}), {}))
    with pytest.raises(UsageError) as raised:
        adapter.read_logins()
    said = chinese(str(raised.value))
    assert said.startswith("memory 适配器没有可读取的登录记录")


# --------------------------------------------------------------------------------------------
# The reference ERP (SQLite)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('refdb') / 'erp.db'}"
    init_database(url, sample=True)
    return url


@pytest.fixture
def reference(reference_db: str) -> Iterator[ReferenceAdapter]:
    engine = create_engine(reference_db)
    yield ReferenceAdapter(engine)
    engine.dispose()


REFERENCE_REFUSALS: list[tuple[Change, str]] = [
    (
        create(Kind.USER, "chen.jing", name="陈静"),
        "无法创建用户 chen.jing：ERP 中已有用户 'chen.jing'",
    ),
    (
        Change(Action.DELETE, Kind.DEPARTMENT, "hq", "test", {"name": "公司总部"}),
        "无法删除部门 hq：",
    ),
    (
        Change(Action.GRANT, Kind.PERMISSION, "employee/nope.module:read", "test"),
        "无法授予权限 employee/nope.module:read：ERP 中没有权限 'nope.module:read'",
    ),
    (
        Change(Action.GRANT, Kind.MEMBERSHIP, "ghost/employee", "test"),
        "无法授予角色成员关系 ghost/employee：ERP 中没有用户 'ghost'",
    ),
    (
        Change(Action.UPDATE, Kind.ROLE, "employee", "test", {}, {"colour": "red"}),
        "无法修改角色 employee：未知属性 'colour'",
    ),
    (
        create(Kind.DEPARTMENT, "annex", name="楼" * 201, parent="hq"),
        "无法创建部门 annex：名称长 201 个字符；参考 ERP 最多容纳 200 个字符",
    ),
    (
        create(Kind.USER, "new.hire", name="新人", department="nowhere"),
        "无法创建用户 new.hire：ERP 中没有部门 'nowhere'",
    ),
    (
        Change(Action.DEACTIVATE, Kind.USER, "ghost", "test"),
        "无法停用用户 ghost：ERP 中没有用户 'ghost'",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), REFERENCE_REFUSALS, ids=[c.key for c, _x in REFERENCE_REFUSALS]
)
def test_the_reference_erps_refusals_in_chinese(
    reference: ReferenceAdapter, change: Change, expected: str
) -> None:
    refused = ReferenceAdapter.check_plan(reference.read(), [change])
    assert [r.change for r in refused] == [change]
    message = str(refused[0])
    assert message.startswith(f"cannot {change.action} {change.kind} {change.key}: ")
    said = chinese(message, change.key)
    assert said.startswith(expected), said


def test_a_department_still_in_use_lists_what_points_at_it(reference: ReferenceAdapter) -> None:
    snapshot = reference.read()
    leaves = [k for k in snapshot.state.departments if all(d.parent != k for d in _depts(snapshot))]
    busy = next(
        k for k in leaves if sum(u.department == k for u in snapshot.state.users.values()) > 5
    )
    change = Change(Action.DELETE, Kind.DEPARTMENT, busy, "test", {"name": "x"})
    (refused,) = ReferenceAdapter.check_plan(snapshot, [change])
    assert " more)" in refused.reason  # six users or more: five named, and how many more
    said = chinese(str(refused), busy)
    assert re.fullmatch(
        rf"无法删除部门 {re.escape(busy)}：其中仍有用户（.+ 等，另有 \d+ 个）", said
    )


def _depts(snapshot: LiveSnapshot) -> list[Any]:
    return list(snapshot.state.departments.values())


def test_the_reference_writer_refuses_in_chinese(reference: ReferenceAdapter) -> None:
    change = Change(Action.UPDATE, Kind.USER, "ghost", "test", {}, {"name": "鬼"})
    with pytest.raises(DatabaseError) as raised, reference.engine.begin() as conn:
        reference.write(conn, [change], "erpsync-test")
    assert str(raised.value) == "cannot update user ghost: the ERP has no user 'ghost'"
    assert chinese(str(raised.value), "ghost") == "无法修改用户 ghost：ERP 中没有用户 'ghost'"


def test_the_reference_erps_notes_and_administrators_in_chinese(
    reference: ReferenceAdapter,
) -> None:
    change = create(Kind.USER, "li.na", name="李娜")
    (note,) = reference.after_commit([change])
    assert chinese(note).startswith("变更在每个用户的下一次请求时生效")
    rules = {a.kind: a.why for a in reference.read().administrators}
    assert chinese(rules["user"]) == "参考 ERP 的内置管理员账号：拥有全部权限"
    assert "超级管理员角色" in chinese(rules["role"])
    assert "erpsync refdb init URL" in chinese(ReferenceAdapter.schema_hint)


def test_dirty_reference_data_is_reported_in_chinese(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dirty.db'}"
    init_database(url, sample=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO erp_user_role (user_id, role_id) VALUES (9999, 1)"))
        conn.execute(text("UPDATE erp_user SET department_id = 8888 WHERE login = 'chen.jing'"))
    problems = ReferenceAdapter(engine).read().problems
    engine.dispose()
    said = [chinese(p) for p in problems]
    assert "erp_user_role：行（user_id=9999，role_id=1）指向不存在的用户 9999；已跳过" in said
    assert any(s.endswith("指向不存在的部门 8888；按无部门读取") for s in said), said


def test_reference_schema_problems_in_chinese(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with engine.connect() as conn:
        assert [chinese(p) for p in reference_schema_problems(conn)] == [
            "此数据库中没有参考 ERP 的表（erp_*）"
        ]
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE erp_role (id INTEGER PRIMARY KEY)"))
    with engine.connect() as conn:
        said = [chinese(p) for p in reference_schema_problems(conn)]
    engine.dispose()
    assert "erp_user：表不存在" in said
    assert any(s.startswith("erp_role：缺少列 ") for s in said), said


def test_refdb_init_reports_in_chinese(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    english = init_database(url, sample=False)
    assert english.startswith("Created the reference ERP schema (7 erp_ tables) at ")
    i18n.use(i18n.CHINESE)
    again = init_database(url, sample=False)
    assert again.startswith("sqlite:///")
    assert "中已有参考 ERP 的表结构" in again
    assert "未载入示例数据（--sample 会载入演示公司）。" in again
    fresh = init_database(f"sqlite:///{tmp_path / 'sample.db'}", sample=True)
    assert "已载入演示公司的线上状态：12 个部门、42 个用户（41 个启用）" in fresh
    assert ENGLISH_RUN.findall(CODE.sub(" ", fresh)) == []


def test_refdb_init_refuses_a_database_with_data_in_chinese(reference_db: str) -> None:
    with pytest.raises(DatabaseError) as raised:
        init_database(reference_db, sample=True)
    said = chinese(str(raised.value))
    assert "；--sample 需要空的参考 ERP" in said


# --------------------------------------------------------------------------------------------
# RuoYi (MariaDB)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def ruoyi(mysql_engine: Engine) -> Engine:
    """RuoYi with Shiro (the variant with every rule) and the seed company, on MariaDB."""
    from tests.adapters import ruoyi_fixture as fx

    fx.create_schema(mysql_engine, "shiro")
    fx.seed_company(mysql_engine, "shiro")
    return mysql_engine


@pytest.mark.mysql
def test_ruoyis_refusals_in_chinese(ruoyi: Engine) -> None:
    from erpsync.adapters.ruoyi import RuoYiAdapter
    from tests.adapters.test_ruoyi import REFUSALS, SZ

    snapshot = RuoYiAdapter(ruoyi).read()
    said = {}
    for case, changes, _message in REFUSALS:
        refused = RuoYiAdapter.check_plan(snapshot, changes)
        assert refused, case
        said[case] = chinese(str(refused[0]), changes[-1].key)
    rename = Change(Action.UPDATE, Kind.USER, "li.si", "t", {"key": "zhang.wei"}, {"key": "li.si"})
    (refusal,) = RuoYiAdapter.check_plan(snapshot, [rename])
    said["rename"] = chinese(str(refusal))
    top = create(Kind.DEPARTMENT, "若依科技2", name="若依科技", parent=None, manager=None)
    (refusal,) = RuoYiAdapter.check_plan(snapshot, [top])
    assert chinese(str(refusal)) == "无法创建部门 若依科技2：顶层已存在名为 '若依科技' 的部门"
    assert said["login-case"] == (
        "无法创建用户 RY：该登录名已被用户 'ry' 占用（若依比较登录名时不区分大小写）"
    )
    assert said["dept-sibling"] == (
        f"无法创建部门 {SZ}/研发部门：{SZ} 下已存在名为 '研发部门' 的部门"
    )
    assert said["delete-held-role"] == "无法删除角色 common：仍有用户持有该角色（ry）；若依拒绝删除"
    assert said["button-without-page"] == (
        "无法授予权限 common/system:role:add：若依中按钮需要其上级页面，而该页面同时授予 "
        "system:role:list：请也为该角色声明此权限"
    )
    assert said["revoke-needed-page"].startswith("无法撤销权限 common/system:user:list：其菜单 ")
    assert said["dept-name-length"].endswith("若依的 sys_dept.dept_name 最多容纳 30 个字符")
    assert said["rename"] == (
        "无法修改用户 li.si：若依（Shiro）用登录名参与密码哈希（md5(login + password + salt)）："
        "修改登录名会导致该用户无法登录"
    )


@pytest.mark.mysql
def test_ruoyis_dirty_data_and_rules_in_chinese(ruoyi: Engine) -> None:
    from erpsync.adapters.ruoyi import RuoYiAdapter

    with ruoyi.begin() as conn:
        conn.execute(text("INSERT INTO sys_user_role (user_id, role_id) VALUES (999, 2)"))
        conn.execute(text("INSERT INTO sys_user_role (user_id, role_id) VALUES (998, 997)"))
        conn.execute(text("UPDATE sys_role SET data_scope = '9' WHERE role_key = 'common'"))
    snapshot = RuoYiAdapter(ruoyi).read()
    said = [chinese(p) for p in snapshot.problems]
    assert "sys_user_role：行（user_id=999，role_id=2）指向不存在的用户 999；已跳过" in said
    assert (
        "sys_user_role：行（user_id=998，role_id=997）指向不存在的用户 998 和不存在的角色 997；"
        "已跳过"
    ) in said
    assert "sys_role：角色 common 的 data_scope '9' 无法识别；按未设置读取" in said
    rules = {a.kind: a.why for a in snapshot.administrators}
    assert chinese(rules["user"]).startswith("若依的超级管理员（sys_user.user_id 1）")
    assert chinese(rules["role"]).startswith("若依的超级管理员角色（role_key 'admin'）")


@pytest.mark.mysql
def test_ruoyis_schema_problems_in_chinese(mysql_engine: Engine) -> None:
    from erpsync.adapters.ruoyi import RuoYiAdapter

    with mysql_engine.connect() as conn:
        (problem,) = RuoYiAdapter.schema_problems(conn)
    assert chinese(problem).startswith("此数据库不是若依数据库：缺少表 sys_")
    assert "sys_user、sys_role" in chinese(RuoYiAdapter.schema_hint)


def test_ruoyis_notes_in_chinese_keep_ruoyis_own_menu_names() -> None:
    from erpsync.adapters.ruoyi import RuoYiAdapter
    from erpsync.adapters.ruoyi.notes import apply_notes

    new = create(Kind.USER, "li.na", name="李娜")
    gone = Change(Action.DEACTIVATE, Kind.USER, "zhang.wei", "t")
    (note,) = RuoYiAdapter.plan_notes([new])
    assert note == (
        "New RuoYi users have no password (li.na): an administrator must set one in RuoYi "
        "(系统管理 → 用户管理 → 重置密码) before they can log in."
    )
    assert chinese(note, "系统管理 → 用户管理 → 重置密码") == (
        "新建的若依用户没有密码（li.na）：管理员须先在若依中为其设置密码"
        "（系统管理 → 用户管理 → 重置密码），这些用户才能登录。"
    )
    for variant in ("ruoyi", "ruoyi-vue"):
        notes = apply_notes([new, gone], variant)  # type: ignore[arg-type]
        assert len(notes) == 3
        for said in map(chinese, notes):
            assert "若依" in said or "RuoYi-Vue" in said
    many = [create(Kind.USER, f"u{n:02}", name="新人") for n in range(25)]
    (note,) = RuoYiAdapter.plan_notes(many)
    assert "u19 and 5 more)" in note
    assert "u19 等，另有 5 个）" in chinese(note)


# --------------------------------------------------------------------------------------------
# Tryton (SQLite through trytond)
# --------------------------------------------------------------------------------------------

_names = itertools.count()


@pytest.fixture(scope="module")
def tryton_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.adapters import tryton_db

    tryton_db.require()
    return tryton_db.create_template(tmp_path_factory.mktemp("tryton-i18n"))


@pytest.fixture
def tryton(tryton_template: Path) -> Iterator[Any]:
    from erpsync.adapters.tryton import TrytonAdapter
    from tests.adapters import tryton_db

    engine = create_engine(tryton_db.copy_database(tryton_template, f"i{next(_names)}"))
    yield TrytonAdapter(engine)
    engine.dispose()


TRYTON_REFUSALS = {
    "Tryton 中已有名为 'Stock' 的用户组": create(Kind.ROLE, "stock-clerks", name="Stock"),
    "Tryton 中已有使用该键的用户组": create(Kind.ROLE, "sale.group_sale", name="Other"),
    "该登录名在 Tryton 中已存在": create(Kind.USER, "admin", name="A"),
    "Tryton 用户没有部门": create(Kind.USER, "li.na", name="L", department="hq"),
    "Tryton 用户只能停用，不能删除（请将 settings.removed_users 设为 deactivate）": Change(
        Action.DELETE, Kind.USER, "bob", "r"
    ),
    "Tryton 的 admin 用户从不改动": Change(Action.DEACTIVATE, Kind.USER, "admin", "r"),
    "Tryton 中没有用户 'nobody'": Change(Action.GRANT, Kind.MEMBERSHIP, "nobody/clerks", "r"),
    "Tryton 中没有模型 'no.model'": Change(
        Action.GRANT, Kind.PERMISSION, "clerks/no.model:read", "r"
    ),
    "Tryton 没有操作 'approve'": Change(
        Action.GRANT, Kind.PERMISSION, "clerks/sale.sale:approve", "r"
    ),
    "Tryton 用户组没有描述": Change(
        Action.UPDATE, Kind.ROLE, "clerks", "r", {}, {"description": "d"}
    ),
}


def test_trytons_refusals_problems_and_notes_in_chinese(tryton: Any) -> None:
    from erpsync.adapters.tryton import TrytonAdapter

    with tryton.engine.begin() as conn:
        conn.execute(text("UPDATE res_group SET active = false WHERE name = 'Stock'"))
    live = tryton.read()
    ok = create(Kind.ROLE, "clerks", name="clerks")
    for expected, change in TRYTON_REFUSALS.items():
        refused = TrytonAdapter.check_plan(live, [ok, change])
        assert [r.change for r in refused] == [change], expected
        said = chinese(str(refused[0]), change.key)
        assert said.endswith(f"：{expected}"), said
        with pytest.raises(DatabaseError) as raised, tryton.engine.begin() as conn:
            tryton.write(conn, [ok, change], "erpsync-test")
        assert chinese(str(raised.value), change.key) == said  # the writer's own words
    assert "用户组 'Stock' 已停用：不受 erpsync 管理" in [chinese(p) for p in live.problems]
    rule = chinese(live.administrators[0].why)
    assert rule.startswith("Tryton 管理员（res_user.administrator）")
    notes = [chinese(n) for n in TrytonAdapter.plan_notes([ok, *TRYTON_REFUSALS.values()])]
    assert "新建的 Tryton 用户没有密码；需由管理员在 Tryton 中设置。" in notes
    assert any(n.startswith("没有任何访问权限行的 Tryton 模型对所有人开放") for n in notes)
    with tryton.engine.begin() as conn:
        tryton.write(conn, [create(Kind.USER, "li.na", name="李娜")], "erpsync-test")
    after = [chinese(n) for n in tryton.after_commit([create(Kind.USER, "li.na", name="李娜")])]
    assert after[0].startswith("运行中的 Tryton 服务器会在其 [cache] clean_timeout")
    logins = tryton.read_logins()
    assert chinese(logins.source).startswith("ir_session（")
    assert all(chinese(n) for n in logins.notes)
    assert "res_user、res_group" in chinese(TrytonAdapter.schema_hint)
    assert "部门仅存在于策略中" in chinese(TrytonAdapter.target_note)
