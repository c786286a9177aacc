"""The ruoyi-vue-pro adapter on our own DDL (MariaDB and PostgreSQL), two tenants.

Tenant 1 is the system tenant (package 0: no limit); tenant 2 (租户二) has a package
without the report menus and its administrator boss2 (contact_user_id). Both have a
role ``clerk``. What is checked: each tenant reads and writes only its own rows, a
shared read of several tenants equals their single reads; soft deletes (link rows
too, duplicates as one grant, re-grants as new rows); tenant stamps and sequences;
the app's own permission query (``@ss.hasPermission``) and its workflow rule finding a
post's holders agree with erpsync after every write; and the refusals: the package,
built-in roles and users, super_admin holders, reserved codes, usernames, quotas,
departments. Posts (岗位, tenant 1: se, user, hr and the disabled ops; tenant 2 its own
se): imported, applied from the command line as the app writes them (rows and
``post_ids``), kept where a user declares none, shown by drift, refused at the post's
item in the policy (missing, disabled, too many for ``post_ids``), dirty data reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from erpsync.adapters.ruoyi_vue_pro import RuoYiVueProAdapter
from erpsync.config import ResolvedTarget, Settings
from erpsync.diff import diff
from erpsync.errors import ConfigError, DatabaseError, PolicyError
from erpsync.plan import Action, Change, Kind
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.scope import Scope
from erpsync.state import Desired, State
from tests.adapters import ruoyi_vue_pro_fixture as fx

DATABASES = [
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mysql),
]
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)

MENUS = [
    fx.menu_row(1, "系统管理", 0, 1, ""),
    fx.menu_row(100, "用户管理", 1, 2, "system:user:list"),
    fx.menu_row(1001, "用户查询", 100, 3, "system:user:query"),
    fx.menu_row(1002, "用户新增", 100, 3, "system:user:create"),
    fx.menu_row(102, "部门管理", 1, 2, ""),
    fx.menu_row(1021, "部门查询", 102, 3, "system:dept:query"),
    fx.menu_row(1022, "部门新增", 102, 3, "system:dept:create"),
    fx.menu_row(2, "报表", 0, 1, ""),
    fx.menu_row(200, "销售报表", 2, 2, ""),
    fx.menu_row(2001, "报表查询", 200, 3, "report:sales:query"),
]
PACKAGE = "[1,100,1001,1002,102,1021,1022]"


def _rows(table: str, *rows: tuple[Any, ...], **common: Any) -> tuple[str, list[dict[str, Any]]]:
    columns = {
        "system_dept": ("id", "name", "parent_id", "leader_user_id", "tenant_id"),
        "system_users": ("id", "username", "nickname", "dept_id", "tenant_id"),
        "system_role": ("id", "code", "name", "type", "data_scope", "tenant_id"),
        "system_user_role": ("id", "user_id", "role_id", "tenant_id"),
        "system_role_menu": ("id", "role_id", "menu_id", "tenant_id"),
        "system_post": ("id", "code", "name", "status", "tenant_id"),
        "system_user_post": ("id", "user_id", "post_id", "tenant_id"),
    }[table]
    return table, [{**dict(zip(columns, r, strict=True)), **common} for r in rows]


def company(engine: Engine) -> None:
    fx.create_schema(engine)
    tables = [
        ("system_menu", MENUS),
        ("system_tenant_package", [{"id": 5, "name": "基础套餐", "menu_ids": PACKAGE}]),
        (
            "system_tenant",
            [fx.tenant_row(1, "系统租户"), fx.tenant_row(2, "租户二", 5, contact=21, quota=3)],
        ),
        _rows(
            "system_dept",
            (10, "总部", 0, None, 1),
            (11, "销售部", 10, 2, 1),
            (12, "财务部", 10, None, 1),
            (20, "分公司", 0, 21, 2),
            status=0,
            sort=0,
        ),
        _rows("system_dept", (13, "停用部", 10, None, 1), status=1, sort=1),
        _rows(
            "system_users",
            (1, "admin", "管理员", 10, 1),
            (2, "wangwu", "王五", 11, 1),
            (3, "zhaoliu", "赵六", 12, 1),
            (4, "superman", "超人", 10, 1),
            (21, "boss2", "老板", 20, 2),
            (22, "lisi", "李四", 20, 2),
            password="$2a$10$hash",
            status=0,
        ),
        _rows(
            "system_post",
            (2, "se", "项目经理", 0, 1),
            (4, "user", "普通员工", 0, 1),
            (5, "hr", "人力资源", 0, 1),
            (6, "ops", "运维", 1, 1),  # disabled
            (12, "se", "项目经理", 0, 2),  # another tenant's, with the same code
            sort=0,
        ),
        # wangwu is a 普通员工 (post_ids says so too), lisi of tenant 2 a 项目经理
        _rows("system_user_post", (1, 2, 4, 1), (2, 22, 12, 2)),
        _rows(
            "system_role",
            (1, "super_admin", "超级管理员", 1, 1, 1),
            (2, "common", "普通角色", 1, 2, 1),
            (3, "clerk", "文员", 2, 3, 1),
            (21, "tenant_admin", "租户管理员", 1, 1, 2),
            (22, "clerk", "文员", 2, 1, 2),
            sort=0,
            status=0,
        ),
        _rows(
            "system_user_role",
            (1, 1, 1, 1),
            (2, 2, 3, 1),
            (3, 2, 3, 1),  # a duplicate live row: one grant
            (4, 3, 2, 1),
            (5, 4, 1, 1),
            (6, 21, 21, 2),
            (7, 22, 22, 2),
        ),
        _rows(
            "system_role_menu",
            *[(10 + n, 3, m, 1) for n, m in enumerate((1, 100, 1001))],
            *[(20 + n, 2, m, 1) for n, m in enumerate((1, 102, 1021))],
            *[(30 + n, 22, m, 2) for n, m in enumerate((1, 100, 1001))],
            *[(40 + n, 21, m, 2) for n, m in enumerate((1, 100, 1001, 1002))],
        ),
    ]
    with engine.begin() as conn:
        for table, rows in tables:
            fx.insert(conn, table, rows)
        for user_id, post_ids in ((2, "[4]"), (22, "[12]")):
            conn.execute(
                text("update system_users set post_ids = :p where id = :u"),
                {"p": post_ids, "u": user_id},
            )


@pytest.fixture(params=DATABASES)
def yudao(request: pytest.FixtureRequest) -> Engine:
    engine: Engine = request.getfixturevalue(
        "pg_engine" if request.param == "postgresql" else "mysql_engine"
    )
    company(engine)
    return engine


def apply(adapter: RuoYiVueProAdapter, changes: list[Change]) -> None:
    """Write as erpsync apply does; then the app's own rule agrees for every user."""
    fx.apply_and_check(adapter, changes)


def converge(engine: Engine, tenant: str | None, edit: Callable[[State], State]) -> list[Change]:
    adapter = RuoYiVueProAdapter(engine, tenant)
    before = adapter.read()
    want = edit(before.state)
    changes = diff(Desired(want), before.state, Scope(protected_users=frozenset({"admin"}))).changes
    assert not RuoYiVueProAdapter.check_plan(before, changes)
    apply(adapter, changes)
    after = adapter.read()
    assert after.state == want
    assert diff(Desired(want), after.state, Scope()).changes == []
    return changes


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


# -- tenants --------------------------------------------------------------------------------


def test_each_tenant_reads_its_own_rows_named_by_id_or_name(yudao: Engine) -> None:
    system = RuoYiVueProAdapter(yudao).read()
    assert set(system.state.users) == {"admin", "wangwu", "zhaoliu", "superman"}
    assert system.state.user_roles["wangwu"] == {"clerk"}  # two live rows, one grant
    assert system.state.departments["总部/销售部"].manager == "wangwu"
    for name in ("2", "租户二", 2):
        second = RuoYiVueProAdapter(yudao, str(name)).read()
        assert set(second.state.users) == {"boss2", "lisi"}
        assert set(second.state.roles) == {"tenant_admin", "clerk"}
        assert second.state.departments["分公司"].manager == "boss2"
    assert system.problems == () == second.problems
    fx.agrees_with_the_app(RuoYiVueProAdapter(yudao))
    fx.agrees_with_the_app(RuoYiVueProAdapter(yudao, "2"))
    with pytest.raises(
        ConfigError,
        match=r"unknown ruoyi-vue-pro tenant '9'; the tenants are "
        r"1 \(系统租户\), 2 \(租户二\)",
    ):
        RuoYiVueProAdapter(yudao, "9").read()


def test_the_system_tenant_is_the_default_and_scopes_the_bindings(yudao: Engine) -> None:
    assert RuoYiVueProAdapter(yudao).binding_scope() == "tenant:1"
    assert RuoYiVueProAdapter(yudao, "租户二").binding_scope() == "tenant:2"


def test_a_shared_read_reads_each_table_once_and_splits_it(yudao: Engine) -> None:
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    def erp_tables() -> list[str]:
        found = [s for s in statements if "system_" in s]
        statements.clear()
        return found

    alone = [RuoYiVueProAdapter(yudao, t).read() for t in (None, "2")]
    event.listen(yudao, "before_cursor_execute", seen)
    try:
        together = RuoYiVueProAdapter(yudao).read_tenants([None, "2", "1"])
        shared = erp_tables()
        RuoYiVueProAdapter(yudao).read()
        single = erp_tables()
    finally:
        event.remove(yudao, "before_cursor_execute", seen)
    for one, both in zip([*alone, alone[0]], together, strict=True):
        assert (one.state, one.problems, one.requires) == (both.state, both.problems, both.requires)
    # three tenants cost the ERP's tables what one does: one SELECT each, posts included
    assert len(shared) == len(single) == len(set(single))
    assert sum(s.startswith("SELECT system_user_post.") for s in shared) == 1
    assert together[1].state.users["lisi"].posts == ("se",)


# -- writing --------------------------------------------------------------------------------


def test_writes_stamp_the_tenant_and_soft_delete(yudao: Engine) -> None:
    from dataclasses import replace

    from erpsync.state import RoleRec, UserRec, by_user

    def edit(state: State) -> State:
        return replace(
            state,
            users={
                **state.users,
                "zhangsan": UserRec("zhangsan", "张三", "zs@example.com", "分公司", posts=()),
            },
            roles={**state.roles, "viewer": RoleRec("viewer", "查看", None, "all")},
            grants=state.grants | {("viewer", "system:dept:query")},
            user_roles=by_user({*state.memberships, ("zhangsan", "viewer")}),
        )

    converge(yudao, "2", edit)
    with yudao.connect() as conn:
        user = conn.execute(
            text(
                "select tenant_id, creator, updater, password, status from system_users "
                "where username = 'zhangsan'"
            )
        ).one()
        links = conn.execute(
            text(
                "select distinct rm.tenant_id from system_role_menu rm join system_role r "
                "on r.id = rm.role_id where r.code = 'viewer'"
            )
        ).all()
    assert tuple(user) == (2, "erpsync", "erpsync", "", 0)
    assert links == [(2,)]
    if yudao.dialect.name == "postgresql":  # ids from the sequences
        assert count(yudao, "select min(id) from system_users where username = 'zhangsan'") >= 1000

    # revoke (a page-less directory row goes with its last button) and re-grant
    converge(yudao, "2", lambda s: replace(s, grants=s.grants - {("viewer", "system:dept:query")}))
    live = (
        "select count(*) from system_role_menu rm join system_role r on r.id = rm.role_id "
        "where r.code = 'viewer' and rm.deleted = 0"
    )
    gone = live.replace("rm.deleted = 0", "rm.deleted = 1")
    assert (count(yudao, live), count(yudao, gone)) == (0, 3)
    converge(yudao, "2", lambda s: replace(s, grants=s.grants | {("viewer", "system:dept:query")}))
    assert (count(yudao, live), count(yudao, gone)) == (3, 3)


def test_a_duplicate_membership_is_revoked_row_by_row_and_the_user_deleted_softly(
    yudao: Engine,
) -> None:
    from dataclasses import replace

    from erpsync.state import by_user

    converge(
        yudao,
        None,
        lambda s: replace(s, user_roles=by_user(m for m in s.memberships if m[0] != "wangwu")),
    )
    assert (
        count(yudao, "select count(*) from system_user_role where user_id = 2 and deleted = 1") == 2
    )
    adapter = RuoYiVueProAdapter(yudao)
    changes = diff(
        Desired(
            replace(
                adapter.read().state,
                users={k: v for k, v in adapter.read().state.users.items() if k != "zhaoliu"},
                user_roles=by_user(
                    m for m in adapter.read().state.memberships if m[0] != "zhaoliu"
                ),
            )
        ),
        adapter.read().state,
        Scope(delete_removed_users=True, protected_users=frozenset({"admin"})),
    ).changes
    apply(adapter, changes)
    assert count(yudao, "select count(*) from system_users where id = 3 and deleted = 1") == 1
    assert (
        count(yudao, "select count(*) from system_user_role where user_id = 3 and deleted = 0") == 0
    )
    assert "zhaoliu" not in adapter.read().state.users


def test_other_tenants_rows_are_never_written(yudao: Engine) -> None:
    from dataclasses import replace

    from erpsync.state import RoleRec

    before = fx.other_tenants(yudao, 2)
    converge(
        yudao,
        "2",
        lambda s: replace(
            s,
            roles={**s.roles, "clerk": RoleRec("clerk", "文员二", "改名", "self")},
            grants=s.grants | {("clerk", "system:user:create")},
        ),
    )
    assert fx.other_tenants(yudao, 2) == before


# -- refusals -------------------------------------------------------------------------------


def refused(engine: Engine, tenant: str | None, *changes: Change) -> list[str]:
    adapter = RuoYiVueProAdapter(engine, tenant)
    found = [str(r) for r in RuoYiVueProAdapter.check_plan(adapter.read(), list(changes))]
    before = fx.everything(engine)
    with pytest.raises(DatabaseError):
        apply(adapter, list(changes))
    assert fx.everything(engine) == before  # the writer refuses too, and writes nothing
    return found


def create(kind: Kind, key: str, **after: Any) -> Change:
    return Change(Action.CREATE, kind, key, "t", None, after)


def update(kind: Kind, object_key: str, **after: Any) -> Change:
    return Change(Action.UPDATE, kind, object_key, "t", {}, after)


def grant(kind: Kind, key: str) -> Change:
    return Change(Action.GRANT, kind, key, "t")


USER = {"name": "新人", "email": None, "department": None, "active": True}


@pytest.mark.parametrize(
    ("tenant", "change", "reason"),
    [
        (
            "2",
            grant(Kind.PERMISSION, "clerk/report:sales:query"),
            "report:sales:query is outside the package of tenant 2 (租户二)",
        ),
        (None, update(Kind.ROLE, "common", name="改"), "common is a built-in role (type 1)"),
        (None, grant(Kind.PERMISSION, "common/system:user:list"), "built-in role (type 1)"),
        ("2", update(Kind.ROLE, "tenant_admin", description="x"), "built-in role (type 1)"),
        (None, update(Kind.USER, "superman", name="改"), "holds the built-in super_admin role"),
        (None, grant(Kind.MEMBERSHIP, "wangwu/super_admin"), "never grants or revokes"),
        ("2", update(Kind.USER, "boss2", name="改"), "the administrator of tenant 租户二"),
        (None, update(Kind.USER, "admin", name="改"), "user id 1"),
        (None, create(Kind.ROLE, "tenant_admin", name="租户管理员2"), "reserved"),
        (
            None,
            Change(
                Action.UPDATE,
                Kind.ROLE,
                "super_admin",
                "t",
                {"key": "clerk"},
                {"key": "super_admin"},
            ),
            "reserved",
        ),
        (None, create(Kind.USER, "li.na", **USER), "4 to 30 letters and digits"),
        (None, create(Kind.USER, "abc", **USER), "4 to 30 letters and digits"),
        (None, create(Kind.USER, "x" * 31, **USER), "4 to 30 letters and digits"),
        (None, create(Kind.ROLE, "r2", name="文员"), "role clerk already has the name '文员'"),
        (None, create(Kind.ROLE, "r3", name="长" * 31), "system_role.name holds 30"),
        (
            None,
            create(Kind.DEPARTMENT, "dup", name="销售部", parent="总部"),
            "its parent already has a department named '销售部'",
        ),
        (None, Change(Action.DELETE, Kind.DEPARTMENT, "总部", "t"), "departments are still in it"),
        (
            None,
            update(Kind.USER, "wangwu", department="总部/停用部"),
            "department 总部/停用部 is disabled",
        ),
        (None, grant(Kind.PERMISSION, "clerk/system:user:create"), None),  # needs nothing more
    ],
)
def test_what_the_app_refuses_is_refused_at_plan_time_and_by_the_writer(
    yudao: Engine, tenant: str | None, change: Change, reason: str | None
) -> None:
    if reason is None:  # control: a grant inside the package, on a custom role
        adapter = RuoYiVueProAdapter(yudao, tenant)
        assert RuoYiVueProAdapter.check_plan(adapter.read(), [change]) == []
        return
    found = refused(yudao, tenant, change)
    assert len(found) == 1, found
    assert reason in found[0]
    assert found[0].startswith(f"cannot {change.action} {change.kind} {change.key}: ")


def test_a_role_a_built_in_user_holds_is_not_deleted_from_under_it(yudao: Engine) -> None:
    """Deleting a role revokes it from every holder: refused when one of them is a user
    erpsync never touches (here the tenant's administrator), as revoking it directly is."""
    with yudao.begin() as conn:
        row = {"id": 8, "user_id": 21, "role_id": 22, "tenant_id": 2, "deleted": 0}
        fx.insert(conn, "system_user_role", [row])
    found = refused(yudao, "2", Change(Action.DELETE, Kind.ROLE, "clerk", "t"))
    assert len(found) == 1, found
    assert "'boss2' holds it, and it is the administrator of tenant 租户二" in found[0]


def test_usernames_are_unique_as_the_database_compares_them(yudao: Engine) -> None:
    change = create(Kind.USER, "WangWu", **USER)
    adapter = RuoYiVueProAdapter(yudao)
    found = RuoYiVueProAdapter.check_plan(adapter.read(), [change])
    if yudao.dialect.name == "postgresql":  # case-sensitive: another user
        assert found == []
        apply(adapter, [change])
        assert {"wangwu", "WangWu"} <= set(adapter.read().state.users)
    else:  # utf8mb4_unicode_ci: the same username
        assert "the username is taken in the tenant by 'wangwu'" in str(found[0])


@pytest.mark.parametrize(
    ("permissions", "error"),
    [
        (
            "[system:user:query]",
            ":4:19: error: role auditor: permissions[0]: in the ERP, granting system:user:query "
            "also grants system:user:list (the page above it): declare it for the role too",
        ),
        (
            "[system:user:list, report:sales:query]",
            ":4:37: error: role auditor: cannot grant permission auditor/report:sales:query: "
            "report:sales:query is outside the package of tenant 2 (租户二)",
        ),
    ],
    ids=["button-without-page", "outside-the-package"],
)
def test_a_policy_the_app_would_refuse_fails_the_plan_at_its_line(
    yudao: Engine, tmp_path: Path, permissions: str, error: str
) -> None:
    adapter = RuoYiVueProAdapter(yudao, "2")
    policy = tmp_path / "p"
    policy.mkdir()
    (policy / "roles.yaml").write_text(
        f"roles:\n  auditor:\n    name: 审计\n    permissions: {permissions}\n", encoding="utf-8"
    )
    with pytest.raises(PolicyError) as info:
        make_plan(
            load_policy(policy),
            adapter.read(),
            Settings(),
            RuoYiVueProAdapter,
            ResolvedTarget("t", "ruoyi-vue-pro", "sqlite://", tenant="2"),
            NOW.date(),
            NOW,
        )
    errors = [str(d) for d in info.value.diagnostics if d.is_error and "auditor" in str(d)]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{policy / 'roles.yaml'}{error}"), errors


def test_validate_refuses_a_login_the_app_cannot_hold_at_its_line(tmp_path: Path) -> None:
    policy = tmp_path / "p"
    policy.mkdir()
    (policy / "users.yaml").write_text(
        "users:\n  li.na: {name: 李娜}\n  lina2026: {name: 李娜}\n", encoding="utf-8"
    )
    found = [str(d) for d in RuoYiVueProAdapter.check_policy(load_policy(policy), Settings())]
    assert found == [
        f"{policy / 'users.yaml'}:2:3: error: user li.na: ruoyi-vue-pro usernames are 4 to 30 "
        "letters and digits (^[A-Za-z0-9]{4,30}$): choose another login"
    ]


def test_a_tenant_gets_no_more_users_than_its_account_count(yudao: Engine) -> None:
    found = refused(
        yudao, "2", create(Kind.USER, "newbie1", **USER), create(Kind.USER, "newbie2", **USER)
    )
    assert found == ["cannot create user newbie2: tenant 2 has 3 users, its account_count allows 3"]


def test_who_changed_a_row_is_its_stamp_or_the_operation_log_whichever_is_later(
    yudao: Engine,
) -> None:
    later = dt.datetime(2026, 3, 1, 10, 0, 0)
    with yudao.begin() as conn:
        conn.execute(text("update system_role set updater = '4' where id = 3"))
        log = [
            # admin (user 1) updated wangwu after the row's own stamp
            {"user_id": 1, "type": "SYSTEM 用户", "sub_type": "更新用户", "biz_id": 2},
            # another tenant's entry and an older one change nothing
            {"user_id": 21, "type": "SYSTEM 用户", "sub_type": "更新用户", "biz_id": 3},
        ]
        fx.insert(
            conn,
            "system_operate_log",
            [
                {"id": 1, **log[0], "tenant_id": 1, "create_time": later},
                {"id": 2, **log[1], "tenant_id": 2, "create_time": later},
            ],
        )
    with yudao.connect() as conn:
        offset = fx.utc_offset(conn)
    changed = RuoYiVueProAdapter(yudao).read().attribution
    utc = dt.timezone(offset)
    assert changed[("user", "wangwu")].by == "admin"
    assert changed[("user", "wangwu")].at == later.replace(tzinfo=utc).astimezone(dt.UTC)
    assert changed[("user", "zhaoliu")].at == fx.SEEDED_AT.replace(tzinfo=utc).astimezone(dt.UTC)
    assert changed[("role", "clerk")].by == "superman"  # updater '4', a user id
    assert ("user", "boss2") not in changed  # another tenant's row


def test_after_commit_says_what_the_caches_hold(yudao: Engine) -> None:
    adapter = RuoYiVueProAdapter(yudao, "2")
    adapter.read()
    notes = adapter.after_commit(
        [
            grant(Kind.PERMISSION, "clerk/system:user:create"),
            Change(Action.DEACTIVATE, Kind.USER, "lisi", "t"),
        ]
    )
    text_ = " ".join(notes)
    assert "API permission checks may lag up to 1 h" in text_
    assert "menu_role_ids:2:*" in text_
    assert "lisi" in text_
    assert "keep working with the tokens they hold" in text_


def test_init_names_a_password_variable_a_shell_can_set() -> None:
    from erpsync.scaffold.target_config import target_config

    config = target_config("ruoyi-vue-pro", "mysql+pymysql://erpsync:s3cret@db/ruoyi-vue-pro")
    assert config.password_variable == "ERPSYNC_RUOYI_VUE_PRO_PASSWORD"
    assert "${ERPSYNC_RUOYI_VUE_PRO_PASSWORD}" in config.text
    assert "s3cret" not in config.text


# -- posts (岗位) ---------------------------------------------------------------------------

POSTS_CONFIG = """\
targets:
  yudao:
    adapter: ruoyi-vue-pro
    url: {url}
    policies: yudao/
default_target: yudao
"""


def erpsync(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from erpsync import cli

    capsys.readouterr()
    code = cli.main(["--no-color", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def posts_of(engine: Engine, login: str) -> tuple[str, set[int], set[int]]:
    """A user's post_ids, and the post ids of its live and of its deleted system_user_post
    rows."""
    with engine.connect() as conn:
        user_id, listed = conn.execute(
            text("select id, post_ids from system_users where username = :u and deleted = 0"),
            {"u": login},
        ).one()
        rows = conn.execute(
            text("select post_id, deleted + 0 from system_user_post where user_id = :u"),
            {"u": user_id},
        ).all()
    live = {p for p, deleted in rows if not int(deleted)}
    return listed, live, {p for p, deleted in rows if int(deleted)}


def test_posts_are_planned_applied_and_kept_where_undeclared(
    yudao: Engine,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from tests.adapters.test_ruoyi import _url

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    config = POSTS_CONFIG.format(url=json.dumps(_url(request, yudao)))
    (tmp_path / "erpsync.yaml").write_text(config, encoding="utf-8")
    code, said = erpsync(capsys, "import")
    assert code == 0, said
    imported = "\n".join(p.read_text("utf-8") for p in (tmp_path / "yudao").rglob("*.yaml"))
    assert "posts:" in imported  # wangwu's 普通员工
    others = fx.other_tenants(yudao, 1)

    new_hire = tmp_path / "yudao" / "posts.yaml"
    new_hire.write_text(
        "users:\n  postuser1:\n    name: 岗位新人\n    posts: [se, hr]\n", encoding="utf-8"
    )
    code, said = erpsync(capsys, "plan")
    assert code == 0, said
    assert '+ posts: ["hr", "se"]' in said
    code, said = erpsync(capsys, "apply", "--auto-approve")
    assert code == 0, said
    assert posts_of(yudao, "postuser1") == ("[2,5]", {2, 5}, set())
    with yudao.connect() as conn:
        stamps = conn.execute(
            text(
                "select distinct tenant_id, creator, updater from system_user_post "
                "where user_id = (select id from system_users where username = 'postuser1')"
            )
        ).all()
    assert stamps == [(1, "erpsync", "erpsync")]

    new_hire.write_text(
        "users:\n  postuser1:\n    name: 岗位新人\n    posts: [user]\n", encoding="utf-8"
    )
    code, said = erpsync(capsys, "apply", "--auto-approve")
    assert code == 0, said
    assert '~ posts: ["hr", "se"] -> ["user"]' in said
    # the app's update: the lost posts' rows soft-deleted, the new one inserted
    assert posts_of(yudao, "postuser1") == ("[4]", {4}, {2, 5})
    code, said = erpsync(capsys, "plan", "--detailed-exitcode")
    assert code == 0, said
    assert "No changes" in said
    assert fx.other_tenants(yudao, 1) == others
    fx.agrees_with_the_app(RuoYiVueProAdapter(yudao))  # the workflow's post rule agrees

    # wangwu's posts written nowhere in the policy: kept as the ERP has them
    for path in (tmp_path / "yudao").rglob("*.yaml"):
        text_ = path.read_text("utf-8")
        path.write_text(
            "\n".join(line for line in text_.splitlines() if "posts:" not in line) + "\n",
            encoding="utf-8",
        )
    code, said = erpsync(capsys, "plan", "--detailed-exitcode")
    assert code == 0, said
    assert "No changes" in said
    assert posts_of(yudao, "wangwu") == ("[4]", {4}, set())

    # drift: a post given in the ERP to a user whose policy declares posts
    new_hire.write_text(
        "users:\n  postuser1:\n    name: 岗位新人\n    posts: [user]\n", encoding="utf-8"
    )
    give_a_post_in_the_app(yudao, "postuser1", 2, "[2,4]")
    code, said = erpsync(capsys, "drift")
    assert code == 2, said  # drift found
    assert "~ user postuser1 (岗位新人)  [out of band: admin" in said  # the row's stamp
    assert '~ posts: ["user"] -> ["se", "user"]' in said
    code, said = erpsync(capsys, "plan")
    assert '~ posts: ["se", "user"] -> ["user"]' in said


def give_a_post_in_the_app(engine: Engine, login: str, post: int, post_ids: str) -> None:
    """What the app's user form does, by admin (user 1), a minute from now."""
    with engine.begin() as conn:
        user_id = conn.execute(
            text("select id from system_users where username = :u"), {"u": login}
        ).scalar_one()
        now = conn.execute(text("select localtimestamp")).scalar_one()
        now += dt.timedelta(minutes=1)
        given = {"id": 50, "user_id": user_id, "post_id": post, "tenant_id": 1}
        stamp = {"creator": "1", "updater": "1", "create_time": now, "update_time": now}
        fx.insert(conn, "system_user_post", [{**given, **stamp}])
        conn.execute(
            text("update system_users set post_ids = :p where id = :u"),
            {"p": post_ids, "u": user_id},
        )


def posts_policy(tmp_path: Path, posts: str) -> Path:
    policy = tmp_path / "p"
    policy.mkdir()
    (policy / "users.yaml").write_text(
        f"users:\n  postuser2:\n    name: 新人\n    posts: {posts}\n", encoding="utf-8"
    )
    return policy


def plan_errors(engine: Engine, policy: Path, about: str) -> list[str]:
    adapter = RuoYiVueProAdapter(engine)
    with pytest.raises(PolicyError) as info:
        make_plan(
            load_policy(policy),
            adapter.read(),
            Settings(protected_users=["admin"]),
            RuoYiVueProAdapter,
            ResolvedTarget("t", "ruoyi-vue-pro", "sqlite://"),
            NOW.date(),
            NOW,
        )
    return [str(d) for d in info.value.diagnostics if d.is_error and about in str(d)]


def test_posts_the_app_refuses_fail_the_plan_at_their_item(yudao: Engine, tmp_path: Path) -> None:
    policy = posts_policy(tmp_path, "[se, nope, ops, HR]")
    where = policy / "users.yaml"
    found = plan_errors(yudao, policy, "postuser2")
    cannot = "error: user postuser2: cannot create user postuser2:"
    assert found == [
        f"{where}:4:17: {cannot} tenant 1 has no post 'nope'; erpsync assigns posts, it never "
        "creates them (the ruoyi-vue-pro adapter refuses it)",
        f"{where}:4:23: {cannot} post ops (运维) is disabled; the app assigns only enabled posts "
        "(the ruoyi-vue-pro adapter refuses it)",
        f"{where}:4:28: {cannot} tenant 1 has no post 'HR' (it has 'hr': codes match exactly); "
        "erpsync assigns posts, it never creates them (the ruoyi-vue-pro adapter refuses it)",
    ]


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        ({"posts": ["se", "nope"]}, "tenant 1 has no post 'nope'"),
        ({"posts": ["ops"]}, "post ops (运维) is disabled"),
        ({"posts": ["se", "user", "hr"]}, "its post ids [2,4,5] are 7 characters"),
    ],
    ids=["missing", "disabled", "too-long"],
)
def test_the_writer_refuses_the_posts_the_plan_refuses(
    yudao: Engine, after: dict[str, Any], reason: str
) -> None:
    ddl = (
        "alter table system_users alter column post_ids type varchar(5)"
        if yudao.dialect.name == "postgresql"
        else "alter table system_users modify post_ids varchar(5)"
    )
    with yudao.begin() as conn:
        conn.execute(text(ddl))
    found = refused(yudao, None, update(Kind.USER, "wangwu", **after))
    assert len(found) == 1, found
    assert reason in found[0]


def test_a_post_already_held_stays_while_disabled_and_another_tenants_post_is_none(
    yudao: Engine,
) -> None:
    """The app's form refuses assigning a disabled post; one a user holds is kept. A post of
    another tenant is no post of this one, even under a code this one has."""
    with yudao.begin() as conn:
        conn.execute(text("update system_post set status = 1 where id = 4"))
    adapter = RuoYiVueProAdapter(yudao)
    keep = update(Kind.USER, "wangwu", posts=["se", "user"])
    assert RuoYiVueProAdapter.check_plan(adapter.read(), [keep]) == []
    apply(adapter, [keep])
    assert posts_of(yudao, "wangwu") == ("[2,4]", {2, 4}, set())
    lisi = RuoYiVueProAdapter(yudao, "2").read().state.users["lisi"]
    assert lisi.posts == ("se",)  # post 12 of tenant 2
    assert RuoYiVueProAdapter(yudao).read().state.users["zhaoliu"].posts == ()


def test_dirty_post_data_is_reported_never_fixed(yudao: Engine) -> None:
    with yudao.begin() as conn:
        fx.insert(
            conn,
            "system_user_post",
            [
                {"id": 60, "user_id": 3, "post_id": 1, "tenant_id": 1},  # no post 1
                {"id": 61, "user_id": 99, "post_id": 2, "tenant_id": 1},  # no user 99
            ],
        )
        conn.execute(text("update system_users set post_ids = '[4,5]' where id = 2"))
        conn.execute(text("update system_users set post_ids = 'x' where id = 4"))
    before = fx.everything(yudao)
    snapshot = RuoYiVueProAdapter(yudao).read()
    assert fx.everything(yudao) == before
    assert snapshot.state.users["zhaoliu"].posts == ()
    assert snapshot.state.users["wangwu"].posts == ("user",)  # the rows, not post_ids
    problems = "\n".join(snapshot.problems)
    assert (
        "system_user_post: user zhaoliu holds post 1, which is no live post of tenant 1; "
        "read as no post"
    ) in problems
    assert "system_user_post: row (user_id=99, post_id=2) points at a user not live" in problems
    assert (
        "system_users: user wangwu has post_ids '[4,5]' but its system_user_post rows hold "
        "[4]: erpsync reads the rows"
    ) in problems
    assert "system_users: user superman has post_ids 'x', which is no JSON array" in problems
    assert "system_users: user zhaoliu has post_ids None but its system_user_post rows" in (
        problems
    )
    # the user's update goes by the rows, as the app's: the missing post's row goes too
    apply(RuoYiVueProAdapter(yudao), [update(Kind.USER, "zhaoliu", posts=["hr"])])
    assert posts_of(yudao, "zhaoliu") == ("[5]", {5}, {1})


def test_a_database_without_post_tables_has_no_posts_to_give(yudao: Engine) -> None:
    with yudao.begin() as conn:
        conn.execute(text("drop table system_user_post"))
    adapter = RuoYiVueProAdapter(yudao)
    snapshot = adapter.read()
    assert snapshot.state.users["wangwu"].posts is None  # no such thing in this ERP
    found = RuoYiVueProAdapter.check_plan(snapshot, [update(Kind.USER, "wangwu", posts=["se"])])
    assert [(r.at, "has no posts" in r.reason) for r in found] == [(("posts",), True)]


def test_sign_ins_come_from_login_date_and_the_sign_in_log_of_the_tenant(
    yudao: Engine,
) -> None:
    adapter = RuoYiVueProAdapter(yudao)
    found = adapter.read_logins()
    assert "system_login_log is missing" in found.notes[0]
    assert set(found.last) == {"admin", "wangwu", "zhaoliu", "superman"}  # tenant 1 only
    with yudao.begin() as conn:
        now: dt.datetime = conn.execute(text("SELECT LOCALTIMESTAMP")).scalar_one()

        def days(n: int) -> dt.datetime:
            return now.replace(microsecond=0) - dt.timedelta(days=n)

        conn.execute(
            text("UPDATE system_users SET login_date = :at WHERE username = 'zhaoliu'"),
            {"at": days(100)},
        )
        conn.execute(
            text(
                "CREATE TABLE system_login_log (id bigint, log_type bigint, user_id bigint, "
                "user_type smallint, "
                "username varchar(50), result smallint, create_time timestamp, "
                "deleted smallint, tenant_id bigint)"
            )
        )
        ids: dict[str, int] = {}
        for name, uid in conn.execute(text("SELECT username, id FROM system_users")):
            ids[name] = uid
        rows = [
            (1, 100, "wangwu", 0, 5, 1),  # signed in 5 days ago
            (2, 200, "zhaoliu", 0, 1, 1),  # a sign-out: not a sign-in
            (3, 100, "zhaoliu", 1, 2, 1),  # a failed sign-in
            (4, 100, "lisi", 0, 3, 2),  # another tenant's
            (5, 100, "zhaoliu", 0, 1, 1),  # a member of the mall with zhaoliu's id
        ]
        for rid, kind, who, result, ago, tenant in rows:
            conn.execute(
                text(
                    "INSERT INTO system_login_log VALUES (:i, :k, :u, :ut, :n, :r, :t, 0, :tenant)"
                ),
                {
                    "i": rid,
                    "ut": 1 if rid == 5 else 2,
                    "k": kind,
                    "u": ids[who],
                    "n": who,
                    "r": result,
                    "t": days(ago),
                    "tenant": tenant,
                },
            )
    found = adapter.read_logins()
    today = dt.datetime.now(dt.UTC)
    ages = {
        k: None if v is None else round((today - v).total_seconds() / 86400)
        for k, v in found.last.items()
    }
    assert ages["wangwu"] == 5
    assert ages["zhaoliu"] == 100
    assert found.notes == ()
    second = RuoYiVueProAdapter(yudao, "2").read_logins()
    assert set(second.last) == {"boss2", "lisi"}
    assert second.last["lisi"] is not None
