"""The ruoyi adapter against real databases: our own DDL of both variants on PostgreSQL and
MariaDB, and — when ``../shared/erp-schemas`` is present — RuoYi's unchanged upstream files.

The shared behaviours run in ``test_behaviour.py``; here: what is read from a RuoYi seed,
tolerance of older schemas and of dirty data, RuoYi's invariants (refused before anything
is written), what exactly is written (codes, ``ancestors``, menu rows, soft deletes, never a
password), what apply says, drift attribution, and the issue's acceptance scenario checked
with RuoYi's own effective-permission query.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from erpsync.adapters import adapter_class
from erpsync.adapters.ruoyi import RuoYiAdapter
from erpsync.adapters.ruoyi.keys import KEY_LIMIT, department_key, permission_of
from erpsync.adapters.ruoyi.schema import schema_problems
from erpsync.apply import ApplyOptions, execute
from erpsync.commands import catalog as catalog_cmd
from erpsync.commands import drift as drift_cmd
from erpsync.commands import import_cmd
from erpsync.commands import show as show_cmd
from erpsync.config import Config, Project, ResolvedTarget, ScopeSettings, Settings
from erpsync.diff import diff
from erpsync.doctor import Status, diagnose
from erpsync.errors import DatabaseError, PolicyError, UsageError
from erpsync.importer import import_policy
from erpsync.plan import Action, Change, Kind, Plan
from erpsync.planner import make_plan
from erpsync.policy.dump import Source
from erpsync.policy.loader import load_policy
from erpsync.policy.validate import validate
from erpsync.scope import Scope
from erpsync.state import DepartmentRec, Desired, RoleRec, State, UserRec, by_user
from tests.adapters import ruoyi_fixture as fx
from tests.output import captured

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
OPTIONS = ApplyOptions(lock_timeout=5.0, allow_mass_removal=True, actor="erpsync-test")


@dataclass
class Erp:
    """A RuoYi database of one variant on one server."""

    engine: Engine
    flavour: fx.Flavour
    url: str  # reaches this database (password included), for the commands

    def adapter(self) -> RuoYiAdapter:
        return RuoYiAdapter(self.engine)

    @property
    def target(self) -> ResolvedTarget:
        return ResolvedTarget("test", "ruoyi", self.url)

    def rows(self, table: str, where: str = "") -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return fx.table_rows(conn, table, where)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def one(self, sql: str, **params: Any) -> tuple[Any, ...]:
        with self.engine.connect() as conn:
            return tuple(conn.execute(text(sql), params).one())

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)


def _url(request: pytest.FixtureRequest, engine: Engine) -> str:
    if engine.dialect.name != "postgresql":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    url = make_url(request.getfixturevalue("pg_url"))
    options = {"options": f"-csearch_path={schema}"}
    return url.update_query_dict(options).render_as_string(hide_password=False)


def _engine(request: pytest.FixtureRequest, database: str) -> Engine:
    found: Engine = request.getfixturevalue(
        "pg_engine" if database == "postgresql" else "mysql_engine"
    )
    return found


VARIANTS = [
    pytest.param(("vue", "postgresql"), id="vue-postgresql", marks=pytest.mark.postgres),
    pytest.param(("shiro", "postgresql"), id="shiro-postgresql", marks=pytest.mark.postgres),
    pytest.param(("vue", "mariadb"), id="vue-mariadb", marks=pytest.mark.mysql),
    pytest.param(("shiro", "mariadb"), id="shiro-mariadb", marks=pytest.mark.mysql),
]


@pytest.fixture(params=VARIANTS)
def empty(request: pytest.FixtureRequest) -> Erp:
    """An empty database of one variant (no tables yet)."""
    flavour, database = request.param
    engine = _engine(request, database)
    return Erp(engine, flavour, _url(request, engine))


@pytest.fixture
def erp(empty: Erp) -> Erp:
    """The seed company on our own DDL."""
    fx.create_schema(empty.engine, empty.flavour)
    fx.seed_company(empty.engine, empty.flavour)
    return empty


@pytest.fixture(params=[pytest.param("vue", id="vue"), pytest.param("shiro", id="shiro")])
def upstream(request: pytest.FixtureRequest) -> Erp:
    """RuoYi's own, unchanged SQL file loaded into a fresh MariaDB database."""
    return _upstream(request, request.param)


@pytest.fixture
def upstream_vue(request: pytest.FixtureRequest) -> Erp:
    """RuoYi-Vue's own, unchanged SQL file loaded into a fresh MariaDB database."""
    return _upstream(request, "vue")


def _upstream(request: pytest.FixtureRequest, flavour: fx.Flavour) -> Erp:
    path = fx.upstream_file(flavour)
    if path is None:
        pytest.skip("../shared/erp-schemas is not present")
    engine = _engine(request, "mariadb")
    fx.load_sql_file(engine.raw_connection, path)
    return Erp(engine, flavour, _url(request, engine))


def plan(erp: Erp, policies: Path, settings: Settings | None = None) -> Plan:
    adapter = erp.adapter()
    return make_plan(
        load_policy(policies),
        adapter.read(),
        settings or Settings(),
        RuoYiAdapter,
        erp.target,
        NOW.date(),
        NOW,
    )


def import_to(erp: Erp, directory: Path) -> None:
    scope = Scope.from_settings(Settings(), RuoYiAdapter.builtin_users, RuoYiAdapter.builtin_roles)
    adapter = erp.adapter()
    snapshot = adapter.read()
    imported = import_policy(snapshot, scope)
    source = Source("test", "ruoyi", erp.url, NOW.date())
    import_cmd.write_files(import_cmd.render(imported, source), directory)
    adapter.bind(snapshot)


def write(erp: Erp, changes: list[Change]) -> None:
    adapter = erp.adapter()
    with erp.engine.begin() as conn:
        adapter.write(conn, changes, "erpsync-test")


def converge(erp: Erp, want: State, scope: Scope | None = None) -> list[Change]:
    """Plan ``want`` against the ERP, write it, check it reads back and plans clean."""
    scope = scope or Scope()
    changes = diff(Desired(want), erp.adapter().read().state, scope).changes
    write(erp, changes)
    after = erp.adapter().read()
    assert after.problems == ()
    assert diff(Desired(want), after.state, scope).changes == []
    return changes


def with_changes(state: State, **parts: Any) -> State:
    values = {name: getattr(state, name) for name in ("departments", "users", "roles")}
    values.update({name: getattr(state, name) for name in ("grants", "user_roles")})
    values.update(parts)
    return State(**values)


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


def test_department_keys_are_name_paths_escaped_only_where_a_key_must_be() -> None:
    assert department_key(["若依科技", "深圳总公司", "市场部门"]) == "若依科技/深圳总公司/市场部门"
    assert department_key(["销售部 (Zürich)"]) == "销售部%20(Zürich)"
    assert department_key(["a/b", "50%"]) == "a%2Fb/50%25"
    assert department_key(["a", ""]) == "a/%"
    assert department_key(["研发\t部"]) != department_key(["研发 部"])


def test_a_long_name_path_gets_a_stable_digest_key_within_the_limit() -> None:
    path = ["部门名称很长很长很长很长很长很长很长很长很长很长"] * 4
    key = department_key(path)
    assert len(key) == KEY_LIMIT
    assert key == department_key(list(path))
    assert key.endswith("很长很长")
    assert key != department_key([*path[:-1], "部门名称很长很长很长很长很长很长很长很长很长很短"])


@pytest.mark.parametrize(
    "perms", ["system:user:add", "monitor:job:changeStatus", "tool:a:b:c", "report:export", "a.b:c"]
)
def test_perms_are_permissions_verbatim(perms: str) -> None:
    assert permission_of(perms) == perms


@pytest.mark.parametrize(
    "perms", ["dashboard", "system::add", "system:user:", "a:b c", ":x", "a:\tb", "a:b\x00"]
)
def test_perms_that_are_no_module_action_are_not_permissions(perms: str) -> None:
    assert permission_of(perms) is None


def test_the_adapter_is_registered() -> None:
    assert adapter_class("ruoyi") is RuoYiAdapter


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

SZ = "若依科技/深圳总公司"
CS = "若依科技/长沙分公司"


def test_reads_the_seed_company(erp: Erp) -> None:
    snapshot = erp.adapter().read()
    state = snapshot.state
    assert snapshot.problems == ()
    assert sorted(state.departments) == [
        "若依科技",
        SZ,
        f"{SZ}/市场部门",
        f"{SZ}/研发部门",
        f"{SZ}/财务部门",
        CS,
        f"{CS}/市场部门",
        f"{CS}/财务部门",
    ]
    market = state.departments[f"{CS}/市场部门"]
    assert (market.name, market.parent, market.manager) == ("市场部门", CS, None)  # 若依: no login
    assert sorted(state.users) == ["admin", "ry", "zhang.wei"]  # "gone" is soft-deleted
    ry = state.users["ry"]
    assert (ry.name, ry.email, ry.department, ry.active) == (
        "若依",
        "ry@qq.com",
        f"{SZ}/财务部门",
        True,
    )
    assert state.users["zhang.wei"].active is False
    assert state.users["zhang.wei"].email is None
    assert sorted(state.roles) == ["admin", "common"]
    common = state.roles["common"]
    assert (common.name, common.description, common.data_scope) == (
        "普通角色",
        "普通角色",
        "custom",
    )
    assert common.data_departments == ("若依科技", SZ, f"{SZ}/财务部门")
    assert state.roles["admin"].data_scope == "all"
    assert {p for r, p in state.grants if r == "common"} == {
        "system:user:list",
        "system:user:query",
        "system:user:add",
        "monitor:online:list",
        "monitor:online:query",
        "monitor:cache:list",
    }
    assert state.memberships == {("admin", "admin"), ("ry", "common")}
    assert snapshot.catalogue["system:user"] == ("list", "query", "add", "edit", "remove")
    assert snapshot.catalogue["monitor:cache"] == ("list",)  # on two menu rows, listed once
    assert snapshot.module_names["system:user"] == "用户管理"
    by = snapshot.attribution[("user", "ry")]
    assert by.by == "admin"
    assert by.at is not None
    assert by.at.tzinfo is not None


def test_the_variant_comes_from_the_schema(erp: Erp) -> None:
    adapter = erp.adapter()
    adapter.read()
    assert adapter._schema is not None
    expected = {
        "vue": ("ruoyi-vue", "user_name", "nick_name"),
        "shiro": ("ruoyi", "login_name", "user_name"),
    }
    schema = adapter._schema
    assert (schema.variant, schema.login, schema.display) == expected[erp.flavour]


def test_reading_is_one_select_per_table(erp: Erp) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    adapter = erp.adapter()
    adapter.bind(adapter.read())  # reflects the schema, once; erpsync's bindings now exist
    event.listen(erp.engine, "before_cursor_execute", seen)
    try:
        adapter.read()
        adapter.read()
    finally:
        event.remove(erp.engine, "before_cursor_execute", seen)
    selects = [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT") and "pg_catalog" not in s  # has_table
    ]
    # 7 tables, sys_oper_log, the clock and erpsync's bindings, per read
    assert len(selects) == 2 * 10
    assert not any("password" in s or "salt" in s or "login_ip" in s for s in statements)


def test_older_schemas_without_optional_columns_are_read_and_written(empty: Erp) -> None:
    omit = [
        "sys_dept.ancestors",
        "sys_dept.order_num",
        "sys_user.pwd_update_date",
        "sys_user.update_by",
        "sys_user.update_time",
        "sys_role.remark",
        "sys_menu.route_name",
        "sys_menu.status",
    ]
    fx.create_schema(empty.engine, empty.flavour, omit)
    fx.seed_state(empty.engine, empty.flavour, State(), {"system:user": ("read", "create")})
    want = State(
        departments={"总部": _dept("总部"), "总部/财务部": _dept("财务部", "总部")},
        users={"li.na": _user("li.na", "李娜", "总部/财务部")},
        roles={"clerk": _role("clerk", "出纳")},
        grants=frozenset({("clerk", "system:user:read")}),
        user_roles={"li.na": frozenset({"clerk"})},
    )
    converge(empty, want)


def test_not_a_ruoyi_database_is_an_error(empty: Erp) -> None:
    with pytest.raises(DatabaseError, match="not a RuoYi database: missing table"):
        empty.adapter().read()
    with empty.engine.connect() as conn:
        assert "missing table(s) sys_dept" in schema_problems(conn)[0]
    fx.create_schema(empty.engine, empty.flavour)
    with empty.engine.connect() as conn:
        assert schema_problems(conn) == []


def test_dirty_data_is_reported_never_fatal_and_never_fixed(erp: Erp, tmp_path: Path) -> None:
    login, display = fx.login_columns(erp.flavour)
    erp.execute("insert into sys_user_role (user_id, role_id) values (2, 77), (4, 2), (99, 2)")
    erp.execute("insert into sys_role_menu (role_id, menu_id) values (2, 9999), (3, 100)")
    erp.execute("insert into sys_role_dept (role_id, dept_id) values (2, 555)")
    erp.execute("update sys_user set dept_id = 404 where user_id = 3")
    erp.execute("update sys_dept set ancestors = '0,100' where dept_id = 103")
    erp.execute(
        "insert into sys_dept (dept_id, parent_id, ancestors, dept_name, del_flag) "
        "values (150, 999, '0,999', '孤儿部门', '0')"
    )
    erp.execute(
        "insert into sys_menu (menu_id, menu_name, parent_id, menu_type, perms) "
        "values (3000, '坏按钮', 100, 'F', 'dashboard')"
    )
    erp.execute(
        f"insert into sys_user (user_id, dept_id, {login}, {display}, del_flag) "
        "values (50, 103, 'RY', '重复', '0')"
    )
    before = fx.everything(erp.engine)
    snapshot = erp.adapter().read()
    problems = "\n".join(snapshot.problems)
    for expected in (
        "sys_user_role: row (user_id=2, role_id=77) points at missing role 77; skipped",
        "sys_user_role: row (user_id=4, role_id=2) points at deleted user 4; skipped",
        "sys_user_role: row (user_id=99, role_id=2) points at missing user 99; skipped",
        "sys_role_menu: row (role_id=2, menu_id=9999) points at missing menu 9999; skipped",
        "sys_role_menu: row (role_id=3, menu_id=100) points at deleted role 3; skipped",
        "sys_role_dept: row (role_id=2, dept_id=555) points at missing department 555",
        "user 3 (zhang.wei) points at missing department 404; read as no department",
        "department 103 (研发部门) has ancestors '0,100' but its parents give '0,100,101'",
        "department 150 (孤儿部门) points at missing parent department 999",
        "menu 3000 (坏按钮) has perms 'dashboard'",
        "logins of users 2 and 50 differ only in case",
    ):
        assert expected in problems
    assert snapshot.state.users["zhang.wei"].department is None
    assert "孤儿部门" in snapshot.state.departments  # read as a top-level department
    # plan, drift and doctor see the problems as warnings; nothing is changed by reading
    import_to(erp, tmp_path / "p")
    made = plan(erp, tmp_path / "p")
    assert any("live data: sys_role_menu" in w for w in made.warnings)
    project = Project(Config(policies=str(tmp_path / "p")), tmp_path)
    console = Console(file=io.StringIO(), width=300)
    drift_cmd.run(project, erp.target, tmp_path / "p", "json", None, console)
    assert any("live data: sys_user_role" in w for w in json.loads(captured(console))["warnings"])
    config = tmp_path / "erpsync.yaml"
    config.write_text(
        f"policies: p/\ntargets:\n  ry: {{adapter: ruoyi, url: '{erp.url}'}}\n", encoding="utf-8"
    )
    [live] = [c for c in diagnose(config, "ry", None, NOW) if c.name == "live state"]
    assert (live.status, f"{len(snapshot.problems)} dirty-data problem(s)" in live.message) == (
        Status.WARN,
        True,
    )
    assert fx.everything(erp.engine) == before
    # an unrelated apply leaves the dirty rows as they are
    (tmp_path / "p" / "more.yaml").write_text(
        "roles:\n  viewer: {name: 只读, data_scope: self, permissions: {system:role: [list]}}\n",
        encoding="utf-8",
    )
    execute(erp.adapter(), erp.target, load_policy(tmp_path / "p"), Settings(), OPTIONS)
    after = fx.everything(erp.engine)
    for table in ("sys_user_role", "sys_role_dept", "sys_dept"):
        assert after[table] == before[table]
    assert set(before["sys_role_menu"]) <= set(after["sys_role_menu"])
    assert erp.adapter().read().problems == snapshot.problems


# --------------------------------------------------------------------------------------------
# Writing: what lands in the tables
# --------------------------------------------------------------------------------------------


def _dept(name: str, parent: str | None = None, manager: str | None = None) -> DepartmentRec:
    key = name if parent is None else f"{parent}/{name}"
    return DepartmentRec(key, name, parent, manager)


def _user(login: str, name: str, dept: str | None = None, **more: Any) -> UserRec:
    return UserRec(login, name, more.get("email"), dept, more.get("active", True))


def _role(key: str, name: str, **more: Any) -> RoleRec:
    return RoleRec(
        key, name, more.get("description"), more.get("scope"), tuple(more.get("departments", ()))
    )


def seed_state(erp: Erp) -> State:
    return erp.adapter().read().state


def test_a_new_department_gets_parent_ancestors_and_order(erp: Erp) -> None:
    state = seed_state(erp)
    new = _dept("质量部门", SZ, manager="ry")
    sub = _dept("质检一组", new.key)
    converge(
        erp, with_changes(state, departments={**state.departments, new.key: new, sub.key: sub})
    )
    columns = "parent_id, ancestors, order_num, leader, status, del_flag, create_by"
    made = erp.one(f"select dept_id, {columns} from sys_dept where dept_name = '质量部门'")
    assert made[1:] == (101, "0,100,101", 4, "ry", "0", "0", "erpsync-test")
    below = erp.one(f"select {columns} from sys_dept where dept_name = '质检一组'")
    assert below[:3] == (made[0], f"0,100,101,{made[0]}", 1)
    assert erp.adapter().read().state.departments[new.key].manager == "ry"


def test_moving_a_department_rewrites_the_ancestors_of_its_whole_subtree(erp: Erp) -> None:
    sub = _dept("质检一组", f"{SZ}/研发部门")
    state = seed_state(erp)
    converge(erp, with_changes(state, departments={**state.departments, sub.key: sub}))
    moved = [
        Change(
            Action.UPDATE, Kind.DEPARTMENT, f"{SZ}/研发部门", "move", {"parent": SZ}, {"parent": CS}
        )
    ]
    write(erp, moved)
    new_id = erp.scalar("select dept_id from sys_dept where dept_name = '质检一组'")
    assert erp.one("select parent_id, ancestors from sys_dept where dept_id = 103") == (
        102,
        "0,100,102",
    )
    assert (
        erp.scalar("select ancestors from sys_dept where dept_id = :i", i=new_id) == "0,100,102,103"
    )
    snapshot = erp.adapter().read()
    assert snapshot.problems == ()
    # The moved departments keep the keys they were bound to; their name paths changed.
    assert snapshot.state.departments[f"{SZ}/研发部门"].parent == CS
    assert snapshot.state.departments[f"{SZ}/研发部门/质检一组"].parent == f"{SZ}/研发部门"
    assert snapshot.state.users["admin"].department == f"{SZ}/研发部门"
    identities = snapshot.identities["department"]
    assert identities["103"] == (f"{SZ}/研发部门", f"{CS}/研发部门")
    assert identities[str(new_id)] == (f"{SZ}/研发部门/质检一组", f"{CS}/研发部门/质检一组")


def test_users_are_written_with_ruoyi_codes_and_never_a_password(erp: Erp) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(erp.engine, "before_cursor_execute", seen)
    state = seed_state(erp)
    users = {
        **state.users,
        "li.na": _user("li.na", "李娜", f"{SZ}/研发部门", email="li.na@example.com"),
        "wang.fang": _user("wang.fang", "王芳", active=False),
        "ry": _user("ry", "若依（改）", CS, email=None),
    }
    converge(erp, with_changes(state, users=users))
    event.remove(erp.engine, "before_cursor_execute", seen)
    login, display = fx.login_columns(erp.flavour)
    row = erp.one(
        "select user_type, status, del_flag, password, email, create_by, update_by, "
        f"{display} from sys_user where {login} = 'li.na'"
    )
    assert row == ("00", "0", "0", "", "li.na@example.com", "erpsync-test", "erpsync-test", "李娜")
    assert erp.scalar(f"select status from sys_user where {login} = 'wang.fang'") == "1"
    ry = erp.rows("sys_user", "where user_id = 2")
    assert "$2a$10$not.a.real.hash" in ry[0]  # the password stays as it was
    assert erp.scalar("select email from sys_user where user_id = 2") == ""
    for statement in statements:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            for column in ("password", "salt", "login_ip", "login_date", "pwd_update_date"):
                assert column not in statement.lower()


def test_deleting_is_a_soft_delete_with_the_link_rows_removed(erp: Erp) -> None:
    state = seed_state(erp)
    extra = _role("viewer", "只读", scope="custom", departments=[CS])
    grown = with_changes(
        state,
        roles={**state.roles, "viewer": extra},
        grants=state.grants | {("viewer", "system:role:list")},
        user_roles=by_user(state.memberships | {("ry", "viewer")}),
    )
    converge(erp, grown)
    role_id = erp.scalar("select role_id from sys_role where role_key = 'viewer'")
    shrunk = with_changes(
        state,
        users={k: u for k, u in state.users.items() if k != "ry"},
        user_roles=by_user(m for m in state.memberships if m[0] != "ry"),
    )
    converge(erp, shrunk, Scope(delete_removed_users=True))
    assert erp.scalar("select del_flag from sys_user where user_id = 2") == "2"
    assert erp.scalar("select del_flag from sys_role where role_id = :r", r=role_id) == "2"
    assert erp.scalar("select count(*) from sys_user_role where user_id = 2") == 0
    assert erp.scalar("select count(*) from sys_role_menu where role_id = :r", r=role_id) == 0
    assert erp.scalar("select count(*) from sys_role_dept where role_id = :r", r=role_id) == 0


def test_a_grant_writes_the_menus_above_and_a_revoke_removes_what_nobody_needs(erp: Erp) -> None:
    state = seed_state(erp)
    role = _role("viewer", "只读", scope="self")
    viewer = {
        ("viewer", p) for p in ("system:role:list", "system:role:query", "monitor:online:list")
    }
    converge(
        erp,
        with_changes(state, roles={**state.roles, "viewer": role}, grants=state.grants | viewer),
    )
    role_id = erp.scalar("select role_id from sys_role where role_key = 'viewer'")

    def menus() -> set[int]:
        return {m for r, m in erp.rows("sys_role_menu") if r == role_id}

    assert menus() == {1, 101, 1007, 2, 109}
    fewer = viewer - {("viewer", "system:role:query")}
    converge(
        erp, with_changes(state, roles={**state.roles, "viewer": role}, grants=state.grants | fewer)
    )
    assert menus() == {1, 101, 2, 109}
    only = {("viewer", "monitor:online:list")}
    converge(
        erp, with_changes(state, roles={**state.roles, "viewer": role}, grants=state.grants | only)
    )
    assert menus() == {2, 109}  # 系统管理 went with its last page
    # common keeps 若依官网 (4), a directory with no perms erpsync does not manage
    common = {p for p in state.grants if p[0] == "common"} - {("common", "system:user:add")}
    converge(
        erp,
        with_changes(
            state,
            roles={**state.roles, "viewer": role},
            grants=frozenset(common | only),
        ),
    )
    assert {m for r, m in erp.rows("sys_role_menu") if r == 2} == {
        1,
        2,
        4,
        100,
        1000,
        109,
        1046,
        113,
        114,
    }


def test_a_role_is_written_with_its_scope_sort_and_departments(erp: Erp) -> None:
    state = seed_state(erp)
    role = _role(
        "auditor",
        "审计员",
        description="只看不改",
        scope="custom",
        departments=[CS, f"{CS}/财务部门"],
    )
    converge(erp, with_changes(state, roles={**state.roles, "auditor": role}))
    row = erp.one(
        "select role_id, role_sort, data_scope, status, del_flag, remark from sys_role "
        "where role_key = 'auditor'"
    )
    assert row[1:] == (3, "2", "0", "0", "只看不改")
    assert {d for r, d in erp.rows("sys_role_dept") if r == row[0]} == {102, 107}
    scoped = _role("auditor", "审计员", description="只看不改", scope="department_tree")
    converge(erp, with_changes(state, roles={**state.roles, "auditor": scoped}))
    assert erp.scalar("select data_scope from sys_role where role_key = 'auditor'") == "4"
    assert {d for r, d in erp.rows("sys_role_dept") if r == row[0]} == set()


# --------------------------------------------------------------------------------------------
# Invariants: refused before anything is written
# --------------------------------------------------------------------------------------------


def _create(kind: Kind, key: str, **after: Any) -> Change:
    return Change(Action.CREATE, kind, key, "test", None, after)


REFUSALS: list[tuple[str, list[Change], str]] = [
    (
        "login-case",
        [_create(Kind.USER, "RY", name="若依", email=None, department=None, active=True)],
        "the login is taken by user 'ry'",
    ),
    (
        "role-key-case",
        [_create(Kind.ROLE, "Common", name="另一个", description=None, data_scope=None)],
        "the key is taken by role 'common'",
    ),
    (
        "role-name",
        [_create(Kind.ROLE, "other", name="普通角色", description=None, data_scope=None)],
        "already has the name",
    ),
    (
        "second-admin",
        [_create(Kind.ROLE, "ADMIN", name="管理员二号", description=None, data_scope=None)],
        "exactly one admin role",
    ),
    (
        "dept-name-length",
        [_create(Kind.DEPARTMENT, f"{SZ}/{'长' * 31}", name="长" * 31, parent=SZ, manager=None)],
        "holds 30",
    ),
    (
        "dept-sibling",
        [_create(Kind.DEPARTMENT, f"{SZ}/研发部门", name="研发部门", parent=SZ, manager=None)],
        "already exists under",
    ),
    (
        "dept-key-taken",
        [_create(Kind.DEPARTMENT, f"{SZ}/研发部门", name="质量部门", parent=SZ, manager=None)],
        "already has a department under that key",
    ),
    (
        "leader-length",
        [_create(Kind.DEPARTMENT, f"{SZ}/质量部门", name="质量部门", parent=SZ, manager="m" * 21)],
        "leader holds 20",
    ),
    (
        "admin-user",
        [Change(Action.DEACTIVATE, Kind.USER, "admin", "test")],
        "user_id 1 is RuoYi's super administrator",
    ),
    (
        "admin-membership",
        [Change(Action.GRANT, Kind.MEMBERSHIP, "admin/common", "test")],
        "super administrator",
    ),
    (
        "admin-role",
        [Change(Action.GRANT, Kind.PERMISSION, "admin/system:user:add", "test")],
        "the admin role",
    ),
    (
        "delete-dept-with-users",
        [Change(Action.DELETE, Kind.DEPARTMENT, f"{SZ}/财务部门", "test")],
        "still has users (ry)",
    ),
    (
        "delete-dept-with-children",
        [Change(Action.DELETE, Kind.DEPARTMENT, CS, "test")],
        "still has departments",
    ),
    (
        "delete-held-role",
        [Change(Action.DELETE, Kind.ROLE, "common", "test")],
        "users still hold it (ry)",
    ),
    (
        "button-without-page",
        [Change(Action.GRANT, Kind.PERMISSION, "common/system:role:add", "test")],
        "that page grants system:role:list as well",
    ),
    (
        "revoke-needed-page",
        [Change(Action.REVOKE, Kind.PERMISSION, "common/system:user:list", "test")],
        "cannot revoke system:user:list from role common",
    ),
    (
        "unknown-permission",
        [Change(Action.GRANT, Kind.PERMISSION, "common/finance.payment:approve", "test")],
        "no menu of the ERP has the perms",
    ),
    (
        "move-below-itself",
        [
            Change(
                Action.UPDATE,
                Kind.DEPARTMENT,
                SZ,
                "t",
                {"parent": None},
                {"parent": f"{SZ}/研发部门"},
            )
        ],
        "cannot move below itself",
    ),
]


@pytest.mark.parametrize(("case", "changes", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_ruoyis_rules_are_enforced_before_anything_is_written(
    erp: Erp, case: str, changes: list[Change], message: str
) -> None:
    before = fx.everything(erp.engine)
    ok = Change(Action.UPDATE, Kind.USER, "zhang.wei", "first", {"name": "张伟"}, {"name": "张三"})
    with pytest.raises(DatabaseError) as raised:
        write(erp, [ok, *changes])
    assert message in str(raised.value)
    assert fx.everything(erp.engine) == before


@pytest.mark.parametrize(("case", "changes", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_plan_time_check_refuses_what_the_writer_refuses(
    erp: Erp, case: str, changes: list[Change], message: str
) -> None:
    ok = Change(Action.UPDATE, Kind.USER, "zhang.wei", "first", {"name": "张伟"}, {"name": "张三"})
    refused = RuoYiAdapter.check_plan(erp.adapter().read(), [ok, *changes])
    assert [r.change for r in refused] == changes[-1:]
    # The refusal names the change itself; the writer's message names the role instead.
    reason = {"revoke-needed-page": "is the page above system:user:query, which the role keeps"}
    assert reason.get(case, message) in str(refused[0])
    assert str(refused[0]).startswith(f"cannot {changes[-1].action} {changes[-1].kind} ")


def test_plan_time_check_collects_every_refusal_and_skips_what_follows_from_one(
    erp: Erp,
) -> None:
    long_dept = f"{SZ}/{'长' * 31}"
    changes = [
        _create(Kind.DEPARTMENT, long_dept, name="长" * 31, parent=SZ, manager=None),
        _create(Kind.DEPARTMENT, f"{long_dept}/小组", name="小组", parent=long_dept, manager=None),
        _create(Kind.ROLE, "Common", name="另一个", description=None, data_scope=None),
        _create(Kind.ROLE, "fine", name="可以", description=None, data_scope=None),
        Change(Action.GRANT, Kind.PERMISSION, "Common/system:user:list", "t"),
        Change(Action.GRANT, Kind.PERMISSION, "fine/system:user:list", "t"),
        _create(Kind.USER, "RY", name="若依", email=None, department=None, active=True),
        _create(Kind.USER, "li.na", name="李娜", email=None, department=long_dept, active=True),
        Change(Action.GRANT, Kind.MEMBERSHIP, "RY/fine", "t"),
        Change(Action.GRANT, Kind.MEMBERSHIP, "zhang.wei/Common", "t"),
        Change(Action.GRANT, Kind.MEMBERSHIP, "zhang.wei/fine", "t"),
    ]
    refused = RuoYiAdapter.check_plan(erp.adapter().read(), changes)
    assert [(r.change.kind, r.change.key) for r in refused] == [
        (Kind.DEPARTMENT, long_dept),
        (Kind.ROLE, "Common"),
        (Kind.USER, "RY"),
    ]


def test_a_too_deep_tree_is_refused_at_plan_time_at_the_department(erp: Erp) -> None:
    changes, parent = [], SZ
    for n in range(10):
        key = f"{parent}/{n}"
        changes.append(_create(Kind.DEPARTMENT, key, name=str(n), parent=parent, manager=None))
        parent = key
    refused = RuoYiAdapter.check_plan(erp.adapter().read(), changes)
    assert refused
    assert all("(the tree is too deep)" in r.reason for r in refused)
    assert {r.change.key for r in refused} <= {c.key for c in changes}


def test_a_login_rename_is_refused_on_shiro_and_done_on_vue(erp: Erp) -> None:
    rename = Change(
        Action.UPDATE, Kind.USER, "zhangwei", "t", {"key": "zhang.wei"}, {"key": "zhangwei"}
    )
    if erp.flavour == "shiro":
        with pytest.raises(DatabaseError, match="renaming the login would lock the user out"):
            write(erp, [rename])
        return
    write(erp, [rename])
    assert "zhangwei" in erp.adapter().read().state.users


def test_a_too_deep_tree_overflows_ancestors_and_is_refused(erp: Erp) -> None:
    changes, parent = [], SZ
    for n in range(10):
        key = f"{parent}/{n}"
        changes.append(_create(Kind.DEPARTMENT, key, name=str(n), parent=parent, manager=None))
        parent = key
    before = fx.everything(erp.engine)
    with pytest.raises(
        DatabaseError, match=r"sys_dept.ancestors holds 50 \(the tree is too deep\)"
    ):
        write(erp, changes)
    assert fx.everything(erp.engine) == before


# --------------------------------------------------------------------------------------------
# apply, import, drift
# --------------------------------------------------------------------------------------------

ACCEPTANCE = """\
departments:
  若依科技/深圳总公司/质量部门: {name: 质量部门, parent: 若依科技/深圳总公司}
roles:
  quality-auditor:
    name: 质量审计
    data_scope: department
    permissions:
      MODULE: [PERMS]
users:
  li.na:
    name: 李娜
    email: li.na@example.com
    department: 若依科技/深圳总公司/质量部门
    roles: [quality-auditor]
"""


def acceptance(erp: Erp, tmp_path: Path, module: str, page: str, buttons: list[str]) -> None:
    """The issue's acceptance scenario on whatever the ERP holds (our seed or upstream)."""
    policies = tmp_path / "policies"
    import_to(erp, policies)
    assert plan(erp, policies).changes == ()

    admin_before = erp.rows("sys_user", "where user_id = 1")
    policy = ACCEPTANCE.replace("MODULE", module).replace("PERMS", ", ".join([page, *buttons]))
    (policies / "acceptance.yaml").write_text(policy, encoding="utf-8")
    result = execute(erp.adapter(), erp.target, load_policy(policies), Settings(), OPTIONS)
    assert result.applied
    assert any("New RuoYi users have no password (li.na)" in n for n in result.notes)
    expected_note = "next page load" if erp.flavour == "vue" else "next login"
    assert any(expected_note in n for n in result.notes)

    perms = {f"{module}:{a}" for a in (page, *buttons)}
    with erp.engine.connect() as conn:
        assert fx.effective_permissions(conn, "li.na", erp.flavour) == perms
    assert erp.scalar("select ancestors from sys_dept where dept_name = '质量部门'") == "0,100,101"
    assert erp.rows("sys_user", "where user_id = 1") == admin_before
    assert plan(erp, policies).changes == ()


def test_acceptance_on_the_seed_company(erp: Erp, tmp_path: Path) -> None:
    page = "list"
    acceptance(erp, tmp_path, "system:user", page, ["query", "add", "edit"])


def buttons_without_their_page(erp: Erp, tmp_path: Path, page: str, buttons: list[str]) -> None:
    """A role granting buttons without their page: plan refuses it at each button, naming
    the page's permission, and so does apply without a plan file; nothing is written. The
    writer still refuses it (its own last line of defence)."""
    policies = tmp_path / "policies"
    import_to(erp, policies)
    policy = ACCEPTANCE.replace("MODULE", "system:user").replace("PERMS", ", ".join(buttons))
    (policies / "acceptance.yaml").write_text(policy, encoding="utf-8")
    before = fx.everything(erp.engine)
    with pytest.raises(PolicyError) as info:
        plan(erp, policies)
    where = policies / "acceptance.yaml"
    errors = [str(d) for d in info.value.diagnostics if d.is_error]
    col = 21  # "      system:user: [" is 20 characters
    expected = []
    for button in buttons:
        expected.append(
            f"{where}:8:{col}: error: role quality-auditor: permissions[system:user]"
            f"[{buttons.index(button)}]: in the ERP, granting system:user:{button} also grants "
            f"system:user:{page} (the page above it): declare it for the role too"
        )
        col += len(button) + 2
    assert errors == expected
    # Offline too: the imported catalog.yaml says which page each button brings.
    catalogue = yaml.safe_load((policies / "catalog.yaml").read_text(encoding="utf-8"))
    assert catalogue["modules"]["system:user"]["requires"][buttons[0]] == [f"system:user:{page}"]
    offline = [str(d) for d in validate(load_policy(policies), NOW.date()) if d.is_error]
    assert offline == expected
    with pytest.raises(PolicyError):
        execute(erp.adapter(), erp.target, load_policy(policies), Settings(), OPTIONS)
    assert fx.everything(erp.engine) == before
    changes = [
        _create(Kind.ROLE, "quality-auditor", name="质量审计", data_scope="department"),
        Change(Action.GRANT, Kind.PERMISSION, f"quality-auditor/system:user:{buttons[0]}", "t"),
    ]
    with pytest.raises(DatabaseError, match=rf"grants system:user:{page} as well"):
        write(erp, changes)
    assert fx.everything(erp.engine) == before


def test_catalog_writes_which_page_each_button_brings(erp: Erp, tmp_path: Path) -> None:
    out = tmp_path / "policies" / "catalog.yaml"
    assert catalog_cmd.run(erp.target, out, Console(file=io.StringIO())) == 0
    modules = yaml.safe_load(out.read_text(encoding="utf-8"))["modules"]
    assert modules["system:user"]["requires"] == {
        button: ["system:user:list"] for button in ("add", "edit", "query", "remove")
    }
    assert modules["system:role"]["requires"] == {
        "add": ["system:role:list"],
        "query": ["system:role:list"],
    }
    assert "requires" not in modules["monitor:cache"]  # a page brings nothing
    assert load_policy(out.parent).policy.modules["system:user"].requires["add"] == [
        "system:user:list"
    ]


def test_three_buttons_without_their_page_are_refused_by_plan(erp: Erp, tmp_path: Path) -> None:
    buttons_without_their_page(erp, tmp_path, "list", ["query", "add", "edit"])


def test_apply_notes_depend_on_the_variant(erp: Erp) -> None:
    adapter = erp.adapter()
    changes = [
        _create(Kind.USER, "li.na", name="李娜", email=None, department=None, active=True),
        Change(Action.DEACTIVATE, Kind.USER, "zhang.wei", "t"),
    ]
    with erp.engine.begin() as conn:
        adapter.write(conn, changes, "t")
    notes = "\n".join(adapter.after_commit(changes))
    assert "no password (li.na)" in notes
    assert "(zhang.wei)" in notes
    if erp.flavour == "vue":
        assert "login_tokens:*" in notes
    else:
        assert "next login" in notes
        assert '"clear cache"' in notes
    assert adapter.after_commit([]) == []
    assert "no password" in adapter.plan_notes(changes)[0]


def test_an_out_of_band_update_shows_in_drift_with_who_and_when(erp: Erp, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    import_to(erp, policies)
    project = Project(Config(policies=str(policies)), tmp_path)
    console = Console(file=io.StringIO(), width=200)
    assert drift_cmd.run(project, erp.target, policies, "json", None, console) == 0
    login, display = fx.login_columns(erp.flavour)
    at = dt.datetime(2026, 11, 27, 18, 5, 0)
    erp.execute(
        f"update sys_user set {display} = '若依二号', update_by = 'ui-admin', update_time = :at "
        f"where {login} = 'ry'",
        at=at,
    )
    console = Console(file=io.StringIO(), width=200)
    assert drift_cmd.run(project, erp.target, policies, "json", None, console) == 2
    [changed] = json.loads(captured(console))["changed"]
    offset = erp.scalar(
        "select timestampdiff(second, utc_timestamp(), now())"
        if erp.engine.dialect.name != "postgresql"
        else "select extract(timezone from now())::int"
    )
    expected = (at - dt.timedelta(seconds=int(offset))).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (changed["key"], changed["changed_by"], changed["changed_at"]) == (
        "ry",
        "ui-admin",
        expected,
    )
    assert changed["fields"] == [{"field": "name", "declared": "若依", "live": "若依二号"}]


REFUSED_POLICY = """\
roles:
  auditor-a: {name: Auditor, data_scope: self}
  auditor-b: {name: AUDITOR, data_scope: self}
  long-name:
    name: 一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一
users:
  RY:
    name: 若依二号
    roles: [auditor-a]
"""


def test_plan_refuses_what_ruoyi_would_at_each_declaration(erp: Erp, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    import_to(erp, policies)
    (policies / "extra.yaml").write_text(REFUSED_POLICY, encoding="utf-8")
    before = fx.everything(erp.engine)
    with pytest.raises(PolicyError) as info:
        plan(erp, policies)
    where = policies / "extra.yaml"
    assert [str(d) for d in info.value.diagnostics if d.is_error] == [
        f"{where}:3:3: error: role auditor-b: cannot create role auditor-b: role 'auditor-a' "
        "already has the name 'Auditor' (the ruoyi adapter refuses it)",
        f"{where}:4:3: error: role long-name: cannot create role long-name: "
        f"'{'一二三四五六七八九十' * 3}一' is 31 characters; RuoYi's sys_role.role_name holds 30 "
        "(the ruoyi adapter refuses it)",
        f"{where}:7:3: error: user RY: cannot create user RY: the login is taken by user 'ry' "
        "(RuoYi compares logins case-insensitively) (the ruoyi adapter refuses it)",
    ]
    with pytest.raises(PolicyError):
        execute(erp.adapter(), erp.target, load_policy(policies), Settings(), OPTIONS)
    assert fx.everything(erp.engine) == before


def test_a_removal_with_no_declaration_is_refused_naming_the_live_object(
    erp: Erp, tmp_path: Path
) -> None:
    """An undeclared department whose deletion RuoYi refuses (an unmanaged role's custom
    data scope names it): the error names the live department and the target."""
    policies = tmp_path / "policies"
    import_to(erp, policies)
    for path in policies.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        doc = yaml.safe_load(text) or {}
        doc.get("roles", {}).pop("common", None)
        for user in doc.get("users", {}).values():
            user["roles"] = [r for r in user.get("roles", []) if r != "common"]
            if user.get("department") == f"{SZ}/财务部门":
                user["department"] = f"{SZ}/研发部门"
        doc.get("departments", {}).pop(f"{SZ}/财务部门", None)
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    settings = Settings(scope=ScopeSettings(roles="declared"))
    with pytest.raises(PolicyError) as info:
        plan(erp, policies, settings)
    assert [str(d) for d in info.value.diagnostics if d.is_error] == [
        f"target test: error: department {SZ}/财务部门 (live, not declared): cannot delete "
        f"department {SZ}/财务部门: the data scope of role(s) common names it "
        "(the ruoyi adapter refuses it)"
    ]


# --------------------------------------------------------------------------------------------
# RuoYi's own files (when ../shared/erp-schemas is there)
# --------------------------------------------------------------------------------------------


@pytest.mark.mysql
def test_upstream_seed_is_read_cleanly(upstream: Erp) -> None:
    snapshot = upstream.adapter().read()
    assert snapshot.problems == ()
    state = snapshot.state
    assert len(state.departments) == 10
    assert f"{SZ}/市场部门" in state.departments
    assert f"{CS}/市场部门" in state.departments
    assert sorted(state.users) == ["admin", "ry"]
    assert state.users["ry"].department == f"{SZ}/测试部门"
    assert state.roles["common"].data_scope == "custom"
    with upstream.engine.connect() as conn:
        ry = fx.effective_permissions(conn, "ry", upstream.flavour)
    assert {p for r, p in state.grants if r == "common"} == ry


@pytest.mark.mysql
def test_upstream_import_then_plan_is_clean(upstream: Erp, tmp_path: Path) -> None:
    import_to(upstream, tmp_path / "p")
    made = plan(upstream, tmp_path / "p")
    assert made.changes == ()
    assert {(str(u.kind), u.key) for u in made.unmanaged} == {("user", "admin"), ("role", "admin")}


@pytest.mark.mysql
def test_upstream_buttons_without_their_page_are_refused_by_plan(
    upstream: Erp, tmp_path: Path
) -> None:
    page = "list" if upstream.flavour == "vue" else "view"
    buttons = ["query", "add", "edit"] if upstream.flavour == "vue" else ["add", "edit"]
    buttons_without_their_page(upstream, tmp_path, page, buttons)


def test_upstream_acceptance(upstream: Erp, tmp_path: Path) -> None:
    page = "list" if upstream.flavour == "vue" else "view"
    buttons = ["query", "add", "edit"] if upstream.flavour == "vue" else ["list", "add", "edit"]
    acceptance(upstream, tmp_path, "system:user", page, buttons)


@pytest.mark.mysql
def test_upstream_import_writes_ruoyis_own_words(upstream: Erp, tmp_path: Path) -> None:
    """RuoYi's perms are written as RuoYi writes them: module system:user, not system.user."""
    policies = tmp_path / "p"
    import_to(upstream, policies)
    written = {
        p.relative_to(policies).as_posix(): p.read_text("utf-8") for p in policies.rglob("*.yaml")
    }
    assert "\n  system:user:\n" in written["catalog.yaml"]
    assert "system.user" not in "".join(written.values())
    policy = load_policy(policies).policy
    assert "system:user" in policy.modules
    with upstream.engine.connect() as conn:
        ry = fx.effective_permissions(conn, "ry", upstream.flavour)
    common = policy.roles["common"].by_module()
    assert {f"{m}:{a}" for m, actions in common.items() for a in actions if a != "*"} <= ry
    assert "system:user" in common
    # erpsync catalog writes the same words, and a list-form policy validates against them
    offline = tmp_path / "offline"
    console = Console(file=io.StringIO(), width=200)
    assert catalog_cmd.run(upstream.target, offline / "catalog.yaml", console) == 0
    assert "\n  system:user:\n" in (offline / "catalog.yaml").read_text("utf-8")
    (offline / "roles.yaml").write_text(
        "roles:\n  viewer: {name: 只读, permissions: [system:user:list, system.user:query]}\n",
        encoding="utf-8",
    )
    found = validate(load_policy(offline), NOW.date())
    spelling = [d for d in found if d.is_error and d.code == "unknown-module"]
    assert [(d.position.line, d.position.col, d.message) for d in spelling] == [
        (
            2,
            54,  # counted in characters: 只读 is 2, not its 6 bytes
            "unknown module 'system.user': the ERP writes it 'system:user' "
            "(permissions are in the ERP's own words)",
        )
    ]


@pytest.mark.mysql
def test_who_can_answers_in_ruoyis_own_words(upstream: Erp, tmp_path: Path) -> None:
    policies = tmp_path / "p"
    import_to(upstream, policies)
    project = Project(Config(policies=str(policies)), tmp_path)
    for desired in (False, True):
        console = Console(file=io.StringIO(), width=200)
        code = show_cmd.who_can(
            project, upstream.target, policies, "system:user:add", desired, "json", console
        )
        assert code == 0
        found = json.loads(captured(console))
        # the live ERP's super administrator holds it too; the policy does not declare it
        expected = ["ry"] if desired else ["admin", "ry"]
        assert [h["login"] for h in found["holders"]] == expected
    with pytest.raises(UsageError, match=r"unknown module 'system\.user': the ERP writes it"):
        show_cmd.who_can(
            project, upstream.target, policies, "system.user:add", False, "json", console
        )


def test_the_dotted_spelling_of_a_ruoyi_module_is_refused_where_it_is_written(
    erp: Erp, tmp_path: Path
) -> None:
    """A policy of erpsync's earlier RuoYi spelling: plan names the line and RuoYi's form,
    from the live ERP's catalogue (there is no catalog.yaml)."""
    policies = tmp_path / "p"
    import_to(erp, policies)
    (policies / "catalog.yaml").unlink()
    (policies / "legacy.yaml").write_text(
        "roles:\n"
        "  legacy:\n"
        "    name: 旧写法\n"
        "    permissions:\n"
        "      system.user: [list]\n"
        "  listed:\n"
        "    name: 列表写法\n"
        "    permissions: [system:user:list, monitor.online:list]\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        plan(erp, policies)
    errors = [
        (f"{d.position.line}:{d.position.col}", d.object, d.message)
        for d in caught.value.diagnostics
        if d.is_error
    ]
    assert errors == [
        (
            "5:7",
            "role legacy",
            "unknown module 'system.user': the ERP writes it 'system:user' "
            "(permissions are in the ERP's own words)",
        ),
        (
            "8:37",
            "role listed",
            "unknown module 'monitor.online': the ERP writes it 'monitor:online' "
            "(permissions are in the ERP's own words)",
        ),
    ]


# --------------------------------------------------------------------------------------------
# Identity: policy keys bound to rows, renames in place, adoption by name path
# --------------------------------------------------------------------------------------------

IDENTITY = """\
departments:
  east-sales: {name: NAME, parent: 若依科技/深圳总公司}
roles:
  ROLE:
    name: 销售运营
    permissions:
      system:user: [list, query]
      monitor:online: [list]
users:
  li.na: {name: 李娜, department: east-sales, roles: [ROLE]}
"""


def _identity_policy(policies: Path, name: str = "华东销售部", role: str = "sales-ops") -> None:
    text = IDENTITY.replace("NAME", name).replace("ROLE", role)
    if role != "sales-ops":
        text += "moved:\n  - {kind: role, from: sales-ops, to: ROLE}\n".replace("ROLE", role)
    (policies / "identity.yaml").write_text(text, encoding="utf-8")


def _apply(erp: Erp, policies: Path) -> Plan:
    """validate, plan and apply as a pull request would; the next plan is clean."""
    assert [d for d in validate(load_policy(policies), NOW.date()) if d.is_error] == []
    made = plan(erp, policies)
    execute(erp.adapter(), erp.target, load_policy(policies), Settings(), OPTIONS, made)
    assert plan(erp, policies).changes == ()
    return made


def test_keys_are_the_authors_and_renames_update_the_same_rows(erp: Erp, tmp_path: Path) -> None:
    identity_scenario(erp, tmp_path)


@pytest.mark.mysql
def test_upstream_keys_are_the_authors_and_renames_update_the_same_rows(
    upstream_vue: Erp, tmp_path: Path
) -> None:
    """The identity scenario on RuoYi-Vue's own seed: after import, a department of any key
    under the imported 深圳总公司, renamed in place; a role's key renamed by moved:."""
    identity_scenario(upstream_vue, tmp_path)


def identity_scenario(erp: Erp, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    import_to(erp, policies)
    _identity_policy(policies)
    _apply(erp, policies)
    with erp.engine.connect() as conn:
        assert fx.effective_permissions(conn, "li.na", erp.flavour) == {
            "monitor:online:list",
            "system:user:list",
            "system:user:query",
        }
    dept_id, ancestors = erp.one(
        "select dept_id, ancestors from sys_dept where dept_name = '华东销售部'"
    )
    assert ancestors == "0,100,101"
    login = fx.login_columns(erp.flavour)[0]
    user_dept = f"select dept_id from sys_user where {login} = 'li.na'"
    role_id = erp.scalar("select role_id from sys_role where role_key = 'sales-ops'")

    # A new name is an ordinary attribute: one update of the same row.
    _identity_policy(policies, name="华东销售一部")
    renamed = _apply(erp, policies)
    assert [(c.action, c.kind, c.key, c.after) for c in renamed.changes] == [
        (Action.UPDATE, Kind.DEPARTMENT, "east-sales", {"name": "华东销售一部"})
    ]
    assert erp.one("select dept_name, ancestors from sys_dept where dept_id = :i", i=dept_id) == (
        "华东销售一部",
        "0,100,101",
    )
    assert erp.scalar(user_dept) == dept_id

    # A moved: entry renames the role's key in place.
    _identity_policy(policies, name="华东销售一部", role="sales-operations")
    moved = _apply(erp, policies)
    assert [(c.action, c.kind, c.key, c.before, c.after) for c in moved.changes] == [
        (
            Action.UPDATE,
            Kind.ROLE,
            "sales-operations",
            {"key": "sales-ops"},
            {"key": "sales-operations"},
        )
    ]
    assert erp.scalar("select role_key from sys_role where role_id = :i", i=role_id) == (
        "sales-operations"
    )
    with erp.engine.connect() as conn:
        assert "system:user:query" in fx.effective_permissions(conn, "li.na", erp.flavour)


def _imported_with_east_sales(erp: Erp, tmp_path: Path) -> Path:
    """The ERP imported, then east-sales, sales-ops and li.na applied; the policy folder."""
    policies = tmp_path / "policies"
    import_to(erp, policies)
    _identity_policy(policies)
    _apply(erp, policies)
    return policies


def test_a_backup_without_erpsyncs_tables_adopts_departments_by_name_path(
    erp: Erp, tmp_path: Path
) -> None:
    policies = _imported_with_east_sales(erp, tmp_path)
    dept_id = erp.scalar("select dept_id from sys_dept where dept_name = '华东销售部'")
    erp.execute("drop table erpsync_binding")  # as a restored backup of the ERP alone

    adopted = plan(erp, policies)
    assert [(c.action, c.kind, c.key, c.before) for c in adopted.changes] == [
        (Action.UPDATE, Kind.DEPARTMENT, "east-sales", {"key": f"{SZ}/华东销售部"})
    ]
    assert "adopted" in adopted.changes[0].reason
    _apply(erp, policies)
    assert erp.scalar("select count(*) from sys_dept where dept_name = '华东销售部'") == 1
    assert erp.scalar("select row_id from erpsync_binding where policy_key = 'east-sales'") == str(
        dept_id
    )


def test_a_department_deleted_out_of_band_is_missing_and_created_again(
    erp: Erp, tmp_path: Path
) -> None:
    policies = _imported_with_east_sales(erp, tmp_path)
    login = fx.login_columns(erp.flavour)[0]
    erp.execute(f"update sys_user set dept_id = 101 where {login} = 'li.na'")
    erp.execute("update sys_dept set del_flag = '2' where dept_name = '华东销售部'")
    again = plan(erp, policies)
    assert [(c.action, c.kind, c.key) for c in again.changes] == [
        (Action.CREATE, Kind.DEPARTMENT, "east-sales"),
        (Action.UPDATE, Kind.USER, "li.na"),
    ]
    project = Project(Config(policies=str(policies)), tmp_path)
    console = Console(file=io.StringIO(), width=200)
    assert drift_cmd.run(project, erp.target, policies, "json", None, console) == 2
    missing = json.loads(captured(console))["missing"]
    assert [(m["kind"], m["key"]) for m in missing] == [("department", "east-sales")]
