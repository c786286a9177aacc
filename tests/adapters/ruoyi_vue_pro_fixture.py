"""ruoyi-vue-pro databases for the tests: our own DDL, a seeder, the app's own query.

The DDL is written here from the facts in ``../shared/erp/ruoyi-vue-pro.md`` (table
and column names, types and defaults are facts), in a MariaDB flavour (``bit(1)``
``deleted``, ``tinyint`` codes, ``AUTO_INCREMENT``, ``utf8mb4_unicode_ci``) and a
PostgreSQL one (``smallint``, ids from ``<table>_seq``, no ``ON UPDATE``), with the
columns erpsync must never touch (``password``, ``login_ip``, ``login_date``) and no
keys but the ids, as upstream. Also: a seeder of any canonical State into one tenant
(:func:`seed_state`), the facts' effective-permission SQL (:func:`app_permissions`,
the app's own ``@ss.hasPermission`` rule), who holds a post as the app's workflow rule
finds them (:func:`app_post_holders`), row dumps, and loaders of the unchanged
upstream SQL files (:func:`load_upstream`).
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, text

from erpsync import bindings
from erpsync.adapters.base import Adapter
from erpsync.adapters.namepath import department_key
from erpsync.adapters.ruoyi_vue_pro import RuoYiVueProAdapter
from erpsync.plan import Change, Kind
from erpsync.state import DepartmentRec, State
from tests.adapters.ruoyi_fixture import load_sql_file, native_catalogue, table_rows

SEEDED_AT = dt.datetime(2026, 1, 15, 9, 30, 0)

# (column, type, extra): types in a neutral notation rendered per dialect by _column().
_AUDIT = [
    ("creator", "varchar(64)", "null default ''"),
    ("create_time", "datetime", "not null default current_timestamp"),
    ("updater", "varchar(64)", "null default ''"),
    ("update_time", "datetime", "not null default current_timestamp"),
    ("deleted", "flag", ""),
]
_TENANT = [("tenant_id", "bigint", "not null default 0")]

TABLES: dict[str, list[tuple[str, str, str]]] = {
    "system_dept": [
        ("name", "varchar(30)", "not null default ''"),
        ("parent_id", "bigint", "not null default 0"),
        ("sort", "int", "not null default 0"),
        ("leader_user_id", "bigint", "null"),
        ("phone", "varchar(11)", "null"),
        ("email", "varchar(50)", "null"),
        ("status", "tinyint", "not null"),
        *_AUDIT,
        *_TENANT,
    ],
    "system_users": [
        ("username", "varchar(30)", "not null"),
        ("password", "varchar(100)", "not null default ''"),
        ("nickname", "varchar(30)", "not null"),
        ("remark", "varchar(500)", "null"),
        ("dept_id", "bigint", "null"),
        ("post_ids", "varchar(255)", "null"),
        ("email", "varchar(50)", "null default ''"),
        ("mobile", "varchar(11)", "null default ''"),
        ("sex", "tinyint", "null default 0"),
        ("avatar", "varchar(512)", "null default ''"),
        ("status", "tinyint", "not null default 0"),
        ("login_ip", "varchar(50)", "null default ''"),
        ("login_date", "datetime", "null"),
        *_AUDIT,
        *_TENANT,
    ],
    "system_role": [
        ("name", "varchar(30)", "not null"),
        ("code", "varchar(100)", "not null"),
        ("sort", "int", "not null"),
        ("data_scope", "tinyint", "not null default 1"),
        ("data_scope_dept_ids", "varchar(500)", "not null default ''"),
        ("status", "tinyint", "not null"),
        ("type", "tinyint", "not null"),
        ("remark", "varchar(500)", "null"),
        *_AUDIT,
        *_TENANT,
    ],
    "system_menu": [
        ("name", "varchar(50)", "not null"),
        ("permission", "varchar(100)", "not null default ''"),
        ("type", "tinyint", "not null"),
        ("sort", "int", "not null default 0"),
        ("parent_id", "bigint", "not null default 0"),
        ("path", "varchar(200)", "null default ''"),
        ("status", "tinyint", "not null default 0"),
        *_AUDIT,
    ],
    "system_role_menu": [
        ("role_id", "bigint", "not null"),
        ("menu_id", "bigint", "not null"),
        *_AUDIT,
        *_TENANT,
    ],
    "system_user_role": [
        ("user_id", "bigint", "not null"),
        ("role_id", "bigint", "not null"),
        *_AUDIT,
        *_TENANT,
    ],
    "system_post": [
        ("code", "varchar(64)", "not null"),
        ("name", "varchar(50)", "not null"),
        ("sort", "int", "not null default 0"),
        ("status", "tinyint", "not null"),
        ("remark", "varchar(500)", "null"),
        *_AUDIT,
        *_TENANT,
    ],
    "system_user_post": [
        ("user_id", "bigint", "not null default 0"),
        ("post_id", "bigint", "not null default 0"),
        *_AUDIT,
        *_TENANT,
    ],
    "system_tenant": [
        ("name", "varchar(30)", "not null"),
        ("contact_user_id", "bigint", "null"),
        ("contact_name", "varchar(30)", "not null"),
        ("status", "tinyint", "not null default 0"),
        ("package_id", "bigint", "not null"),
        ("expire_time", "datetime", "not null"),
        ("account_count", "int", "not null"),
        *_AUDIT,
    ],
    "system_tenant_package": [
        ("name", "varchar(30)", "not null"),
        ("status", "tinyint", "not null default 0"),
        ("menu_ids", "varchar(4096)", "not null"),
        *_AUDIT,
    ],
    "system_operate_log": [
        ("user_id", "bigint", "not null"),
        ("type", "varchar(50)", "not null"),
        ("sub_type", "varchar(50)", "not null"),
        ("biz_id", "bigint", "not null"),
        ("action", "varchar(2000)", "not null default ''"),
        ("success", "bool", ""),
        *_AUDIT,
        *_TENANT,
    ],
}


def _column(postgresql: bool, name: str, kind: str, extra: str) -> str:
    if kind == "bool":  # bit(1) on MariaDB, boolean on PostgreSQL
        return (
            f"{name} boolean not null default true"
            if postgresql
            else f"{name} bit(1) not null default b'1'"
        )
    if kind == "flag":
        return (
            f"{name} smallint not null default 0"
            if postgresql
            else f"{name} bit(1) not null default b'0'"
        )
    if postgresql:
        kind = {"tinyint": "smallint", "datetime": "timestamp"}.get(kind, kind)
    return f"{name} {kind} {extra}".strip()


def ddl(postgresql: bool) -> list[str]:
    statements = []
    for table, columns in TABLES.items():
        head = "id bigint not null primary key" + ("" if postgresql else " auto_increment")
        body = ",\n  ".join([head, *(_column(postgresql, *c) for c in columns)])
        tail = (
            ""
            if postgresql
            else " auto_increment = 1000 character set utf8mb4 collate utf8mb4_unicode_ci"
        )
        statements.append(f"drop table if exists {table}")
        statements.append(f"create table {table} (\n  {body}\n){tail}")
        if postgresql:
            statements.append(f"drop sequence if exists {table}_seq")
            statements.append(f"create sequence {table}_seq start 1000")
    return statements


def create_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        for statement in ddl(engine.dialect.name == "postgresql"):
            conn.execute(text(statement))


def insert(conn: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    stamped = [{"create_time": SEEDED_AT, "update_time": SEEDED_AT, **r} for r in rows]
    columns = list(stamped[0])
    conn.execute(
        text(
            f"insert into {table} ({', '.join(columns)}) "
            f"values ({', '.join(':' + c for c in columns)})"
        ),
        stamped,
    )


def tenant_row(
    tenant_id: int, name: str, package: int = 0, contact: int | None = None, quota: int = 9999
) -> dict[str, Any]:
    return {
        "id": tenant_id,
        "name": name,
        "contact_user_id": contact,
        "contact_name": name,
        "package_id": package,
        "expire_time": dt.datetime(2099, 12, 31),
        "account_count": quota,
    }


def catalogue_menus(catalogue: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """A menu tree for ``catalogue``: a directory per top-level module prefix, a page per
    module (carrying ``<module>:page`` when the module has an action ``page``, else no
    permission) and a button per other action."""
    tops = list(dict.fromkeys(module.split(":")[0] for module in catalogue))
    rows = [menu_row(n + 1, top, 0, 1, "") for n, top in enumerate(tops)]
    for module, actions in catalogue.items():
        page = len(rows) + 1
        own = f"{module}:page" if "page" in actions else ""
        rows.append(menu_row(page, module, tops.index(module.split(":")[0]) + 1, 2, own))
        rows += [
            menu_row(len(rows) + 1 + n, f"{module} {action}", page, 3, f"{module}:{action}")
            for n, action in enumerate(a for a in actions if a != "page")
        ]
    return rows


def menu_row(menu_id: int, name: str, parent: int, kind: int, permission: str) -> dict[str, Any]:
    return {
        "id": menu_id,
        "name": name,
        "parent_id": parent,
        "type": kind,
        "permission": permission,
    }


def seed_state(
    engine: Engine,
    state: State,
    menus: Sequence[Mapping[str, Any]],
    tenant: int = 1,
    first_id: int = 1,
    bind: bool = True,
) -> dict[str, int]:
    """Write ``state`` into ``tenant`` (admin at id 1 when ``first_id`` is 1); menus must
    be there already (global). Returns each department's id."""
    depts = dict(state.departments)
    order = sorted(depts, key=lambda k: (_depth(depts, k), k))
    ids = {key: first_id * 100 + n for n, key in enumerate(order)}
    users = _ids(state.users, first_id)
    roles = _ids(state.roles, first_id)
    by_permission = {m["permission"]: m["id"] for m in menus if m["permission"]}
    parents = {m["id"]: m["parent_id"] for m in menus}
    role_menus: set[tuple[int, int]] = set()
    for role, perm in state.grants:
        menu = by_permission[perm]
        while menu:
            role_menus.add((roles[role], menu))
            menu = parents[menu]
    codes = {"all": 1, "custom": 2, "department": 3, "department_tree": 4, "self": 5}
    t = {"tenant_id": tenant}
    with engine.begin() as conn:
        insert(
            conn,
            "system_dept",
            [
                {
                    "id": ids[k],
                    "name": depts[k].name,
                    "parent_id": ids[depts[k].parent] if depts[k].parent else 0,
                    "sort": n,
                    "leader_user_id": users.get(depts[k].manager or ""),
                    "status": 0,
                    **t,
                }
                for n, k in enumerate(order)
            ],
        )
        insert(
            conn,
            "system_users",
            [
                {
                    "id": users[u.login],
                    "username": u.login,
                    "password": "$2a$10$seeded.hash",
                    "nickname": u.name,
                    "email": u.email or "",
                    "dept_id": ids[u.department] if u.department else None,
                    "status": 0 if u.active else 1,
                    **t,
                }
                for u in state.users.values()
            ],
        )
        insert(
            conn,
            "system_role",
            [
                {
                    "id": roles[r.key],
                    "name": r.name,
                    "code": r.key,
                    "sort": roles[r.key],
                    "data_scope": codes[r.data_scope or "all"],
                    "data_scope_dept_ids": json.dumps(sorted(ids[d] for d in r.data_departments))
                    if r.data_departments
                    else "",
                    "status": 0,
                    "type": 2,
                    "remark": r.description,
                    **t,
                }
                for r in state.roles.values()
            ],
        )
        insert(
            conn,
            "system_user_role",
            [
                {"id": tenant * 10000 + n, "user_id": users[u], "role_id": roles[r], **t}
                for n, (u, r) in enumerate(sorted(state.memberships))
            ],
        )
        insert(
            conn,
            "system_role_menu",
            [
                {"id": tenant * 10000 + n, "role_id": r, "menu_id": m, **t}
                for n, (r, m) in enumerate(sorted(role_menus))
            ],
        )
        if bind:
            natural = {k: department_key(_names(depts, k)) for k in depts}
            scope = f"tenant:{tenant}"
            bindings.replace(
                conn, "department", {str(ids[k]): (k, natural[k]) for k in depts}, scope
            )
    return ids


def _names(depts: Mapping[str, DepartmentRec], key: str) -> list[str]:
    parent = depts[key].parent
    return [*(_names(depts, parent) if parent else []), depts[key].name]


def _depth(depts: Mapping[str, DepartmentRec], key: str) -> int:
    parent = depts[key].parent
    return 0 if parent is None else 1 + _depth(depts, parent)


def _ids(records: Mapping[str, Any], first: int) -> dict[str, int]:
    """admin -> ``first``, the others after it in key order (ids unique per tenant)."""
    ids = {"admin": first} if "admin" in records and first == 1 else {}
    base = first * 100 + 1
    for n, key in enumerate(sorted(k for k in records if k not in ids)):
        ids[key] = base + n
    return ids


# --------------------------------------------------------------------------------------------
# The app's own rule, and row dumps
# --------------------------------------------------------------------------------------------

# ruoyi-vue-pro's @ss.hasPermission as its facts describe it, in our own SQL: the user's
# live link rows of its own tenant name its enabled, live roles of that tenant; a string
# is granted when a live menu carrying it is linked (live, same tenant) to one of them, or
# when one of them is super_admin (then every string any menu carries).
APP_PERMISSIONS = """
WITH my_roles AS (
    SELECT r.id, r.code, u.tenant_id
    FROM system_users u, system_user_role link, system_role r
    WHERE u.id = :user_id AND u.deleted = 0
      AND link.user_id = u.id AND link.deleted = 0 AND link.tenant_id = u.tenant_id
      AND r.id = link.role_id AND r.deleted = 0 AND r.status = 0
      AND r.tenant_id = u.tenant_id
)
SELECT m.permission FROM system_menu m
WHERE m.deleted = 0 AND m.permission <> ''
  AND (EXISTS (SELECT 1 FROM my_roles WHERE my_roles.code = 'super_admin')
       OR m.id IN (SELECT grant_row.menu_id FROM system_role_menu grant_row, my_roles
                   WHERE grant_row.role_id = my_roles.id AND grant_row.deleted = 0
                     AND grant_row.tenant_id = my_roles.tenant_id))
GROUP BY m.permission
ORDER BY m.permission
"""


# Who holds a post, as ruoyi-vue-pro's workflow rule assigning tasks by post finds them
# (getUserListByPostIds), in our own SQL: the live link rows of the tenant naming the post,
# and their live users of the tenant.
APP_POST_HOLDERS = """
SELECT u.username FROM system_users u, system_user_post link
WHERE link.post_id = :post_id AND link.deleted = 0 AND link.tenant_id = :tenant
  AND u.id = link.user_id AND u.deleted = 0 AND u.tenant_id = :tenant
"""


def app_post_holders(conn: Connection, tenant: int) -> dict[str, set[str]]:
    """Post code -> the usernames the app's workflow rule finds holding it, for every live
    post of ``tenant``."""
    posts = conn.execute(
        text("select id, code from system_post where tenant_id = :t and deleted = 0"),
        {"t": tenant},
    ).all()
    return {
        code: {u for (u,) in conn.execute(text(APP_POST_HOLDERS), {"post_id": i, "tenant": tenant})}
        for i, code in posts
    }


def app_permissions(conn: Connection, tenant: int, login: str) -> set[str]:
    """What ruoyi-vue-pro's ``@ss.hasPermission`` grants ``login`` of ``tenant`` (the facts'
    query, run as it is)."""
    user_id = conn.execute(
        text("select id from system_users where tenant_id = :t and username = :u and deleted = 0"),
        {"t": tenant, "u": login},
    ).scalar_one()
    return {p for (p,) in conn.execute(text(APP_PERMISSIONS), {"user_id": user_id})}


def effective(state: State) -> dict[str, set[str]]:
    """erpsync's effective access: each user's permissions through their roles."""
    by_role: dict[str, set[str]] = {}
    for role, perm in state.grants:
        by_role.setdefault(role, set()).add(perm)
    return {
        u: set().union(*(by_role.get(r, set()) for r in state.user_roles.get(u, ())))
        for u in state.users
    }


def agrees_with_the_app(adapter: RuoYiVueProAdapter) -> None:
    """The ground truth: the facts' query (the app's ``@ss.hasPermission``) on the live
    database gives every user of the adapter's tenant what erpsync reads for them; the
    super_admin role's holders, whom the app lets through everything, excepted."""
    snapshot = adapter.read()
    tenant = int(adapter.binding_scope().removeprefix("tenant:"))
    state = snapshot.state
    with adapter.engine.connect() as conn:
        for login, perms in sorted(effective(state).items()):
            if "super_admin" not in state.user_roles.get(login, ()):
                assert app_permissions(conn, tenant, login) == perms, login
        # posts grant nothing, but the workflow's post rule must find who erpsync reads
        for code, holders in app_post_holders(conn, tenant).items():
            assert holders == {u.login for u in state.users.values() if code in (u.posts or ())}


def apply_and_check(adapter: Adapter, changes: Sequence[Change]) -> None:
    """Write ``changes`` in one transaction, as erpsync apply does, then check the app's
    own rule agrees with erpsync for every user (the behaviour suite's apply)."""
    assert isinstance(adapter, RuoYiVueProAdapter)
    with adapter.engine.begin() as conn:
        adapter.write(conn, changes, "test")
    agrees_with_the_app(adapter)


def utc_offset(conn: Connection) -> dt.timedelta:
    from erpsync.adapters.dbclock import clock

    return clock(conn)[1]


def everything(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t: table_rows(conn, t) for t in TABLES}


def other_tenants(engine: Engine, tenant: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every system_* table with a tenant_id that is not ``tenant``."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = (
                "select table_name from information_schema.columns where column_name = 'tenant_id'"
                " and table_schema = current_schema() and table_name like 'system%'"
            )
        else:
            query = (
                "select table_name from information_schema.columns where column_name = 'tenant_id'"
                " and table_schema = database() and table_name like 'system%'"
            )
        tables = sorted(t for (t,) in conn.execute(text(query)))
        return {t: table_rows(conn, t, f"where tenant_id <> {int(tenant)}") for t in tables}


# --------------------------------------------------------------------------------------------
# The unchanged upstream SQL files
# --------------------------------------------------------------------------------------------


def upstream_file(dialect: str) -> Path | None:
    root = Path(__file__).resolve().parents[2]
    name = "postgresql" if dialect == "postgresql" else "mysql"
    found = root.parent / "shared" / "erp-schemas" / "ruoyi-vue-pro" / f"ruoyi-vue-pro.{name}.sql"
    return found if found.is_file() else None


def load_upstream(engine: Engine, path: Path) -> None:
    """The upstream file, unchanged: statement by statement on MariaDB, as one script on
    PostgreSQL (psycopg runs a parameterless multi-statement string as it is)."""
    if engine.dialect.name != "postgresql":
        load_sql_file(engine.raw_connection, path)
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(path.read_text(encoding="utf-8"))
        raw.commit()
    finally:
        raw.close()


# --------------------------------------------------------------------------------------------
# The shared behaviour suite
# --------------------------------------------------------------------------------------------


def login(suite_login: str) -> str:
    """A suite login as a ruoyi-vue-pro username (letters and digits, 4 to 30)."""
    plain = unicodedata.normalize("NFKD", suite_login).encode("ascii", "ignore").decode()
    return "".join(c for c in plain if c.isalnum()).ljust(4, "0")[:30]


_SUITE_LOGINS: dict[str, str] = {}  # username -> the suite's login it was made from


def _login(suite_login: str) -> str:
    found = login(suite_login)
    _SUITE_LOGINS[found] = suite_login
    return found


def suite_translate(state: State) -> State:
    """The suite's state in ruoyi-vue-pro's words: usernames of letters and digits,
    permissions with ``:`` (``finance:ap_invoice:create``), every role with a data scope
    (the app gives one: all), every user with its posts (none)."""
    from tests.adapters.ruoyi_fixture import suite_translate as ruoyi_words

    worded = ruoyi_words(state)
    departments = {
        k: replace(d, manager=_login(d.manager) if d.manager else None)
        for k, d in worded.departments.items()
    }
    # every user of the app has posts, none in the suite
    users = {_login(k): replace(u, login=_login(k), posts=()) for k, u in worded.users.items()}
    roles = {k: replace(r, data_scope=r.data_scope or "all") for k, r in worded.roles.items()}
    user_roles = {_login(k): v for k, v in worded.user_roles.items()}
    return State(departments, users, roles, worded.grants, user_roles)


def suite_policy(text_: str) -> str:
    from tests.adapters.ruoyi_fixture import suite_policy as ruoyi_words

    data: dict[str, Any] = yaml.safe_load(ruoyi_words(text_))
    for dept in data.get("departments", {}).values():
        if dept.get("manager"):
            dept["manager"] = _login(dept["manager"])
    data["users"] = {_login(k): v for k, v in data.get("users", {}).items()}
    out: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return out


def suite_changes(changes: Sequence[Change]) -> list[Change]:
    """Changes with their usernames back in the suite's words (for its assertions)."""

    def back(name: str) -> str:
        return _SUITE_LOGINS.get(name, name)

    out = []
    for c in changes:
        key = c.key
        if c.kind is Kind.USER:
            key = back(key)
        elif c.kind is Kind.MEMBERSHIP:
            user, _, role = key.partition("/")
            key = f"{back(user)}/{role}"
        out.append(replace(c, key=key))
    return out


def suite_seeder(engine: Engine) -> Callable[[State], RuoYiVueProAdapter]:
    """A fresh schema with one system tenant (1, package 0) holding the given state (in
    ruoyi-vue-pro's words), the reference catalogue as its menus, departments bound."""
    from erpsync.catalogue import REFERENCE_CATALOGUE

    def seed(state: State) -> RuoYiVueProAdapter:
        create_schema(engine)
        menus = catalogue_menus(native_catalogue(REFERENCE_CATALOGUE))
        with engine.begin() as conn:
            insert(conn, "system_tenant", [tenant_row(1, "系统租户")])
            insert(conn, "system_menu", menus)
        seed_state(engine, state, menus)
        return RuoYiVueProAdapter(engine)

    return seed
