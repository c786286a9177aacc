"""RuoYi databases for the tests: our own DDL, a small seed, RuoYi's own queries.

The DDL is written here from the facts in ``../shared/erp/ruoyi.md`` (column
names and types are facts): both variants (``vue``: RuoYi-Vue, ``shiro``: RuoYi
with Shiro), in a MySQL/MariaDB flavour (``utf8mb4``, case-insensitive
collation, AUTO_INCREMENT) and a PostgreSQL one (identity columns). There are no
foreign keys and no unique constraints, as in RuoYi. ``omit`` drops optional
columns, as older deployments lack them.

Also here: a small seed company (:func:`seed_company`), a loader of any
canonical State for the shared behaviour suite (:func:`seed_state`, its departments
bound to the suite's keys), RuoYi's own effective-permission query
(:func:`effective_permissions`) and a loader of the unchanged upstream SQL files
(:func:`load_sql_file`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from sqlalchemy import Connection, Engine, text

from erpsync import bindings
from erpsync.adapters.ruoyi import RuoYiAdapter
from erpsync.adapters.ruoyi.keys import department_key
from erpsync.state import DepartmentRec, State

Flavour = Literal["vue", "shiro"]
SEEDED_AT = dt.datetime(2026, 1, 15, 9, 30, 0)

# --------------------------------------------------------------------------------------------
# DDL
# --------------------------------------------------------------------------------------------

# (column, type, extra) in a neutral notation rendered per dialect by _column():
#   id:N        the primary key, generated, starting at N
#   bigint, int, tinyint, varchar(N), char(N), datetime
_AUDIT = [
    ("create_by", "varchar(64)", "default ''"),
    ("create_time", "datetime", ""),
    ("update_by", "varchar(64)", "default ''"),
    ("update_time", "datetime", ""),
]

_DEPT = [
    ("dept_id", "id:200", ""),
    ("parent_id", "bigint", "default 0"),
    ("ancestors", "varchar(50)", "default ''"),
    ("dept_name", "varchar(30)", "default ''"),
    ("order_num", "int", "default 0"),
    ("leader", "varchar(20)", "default null"),
    ("phone", "varchar(11)", "default null"),
    ("email", "varchar(50)", "default null"),
    ("status", "char(1)", "default '0'"),
    ("del_flag", "char(1)", "default '0'"),
    *_AUDIT,
]

_USER_HEAD = [("user_id", "id:100", ""), ("dept_id", "bigint", "default null")]
_USER_NAMES = {
    "vue": [
        ("user_name", "varchar(30)", "not null"),
        ("nick_name", "varchar(30)", "not null"),
    ],
    "shiro": [
        ("login_name", "varchar(30)", "not null"),
        ("user_name", "varchar(30)", "default ''"),
    ],
}
_USER_TAIL = {
    "vue": [("password", "varchar(100)", "default ''")],
    "shiro": [("password", "varchar(50)", "default ''"), ("salt", "varchar(20)", "default ''")],
}
_USER_MIDDLE = [
    ("user_type", "varchar(2)", "default '00'"),
    ("email", "varchar(50)", "default ''"),
    ("phonenumber", "varchar(11)", "default ''"),
    ("sex", "char(1)", "default '0'"),
    ("avatar", "varchar(100)", "default ''"),
]
_USER_END = [
    ("status", "char(1)", "default '0'"),
    ("del_flag", "char(1)", "default '0'"),
    ("login_ip", "varchar(128)", "default ''"),
    ("login_date", "datetime", ""),
    ("pwd_update_date", "datetime", ""),
    *_AUDIT,
    ("remark", "varchar(500)", "default null"),
]

_ROLE_HEAD = [
    ("role_id", "id:100", ""),
    ("role_name", "varchar(30)", "not null"),
    ("role_key", "varchar(100)", "not null"),
    ("role_sort", "int", "not null"),
    ("data_scope", "char(1)", "default '1'"),
]
_ROLE_STRICT = [
    ("menu_check_strictly", "tinyint", "default 1"),
    ("dept_check_strictly", "tinyint", "default 1"),
]
_ROLE_END = [
    ("status", "char(1)", "not null"),
    ("del_flag", "char(1)", "default '0'"),
    *_AUDIT,
    ("remark", "varchar(500)", "default null"),
]

_MENU = {
    "vue": [
        ("menu_id", "id:2000", ""),
        ("menu_name", "varchar(50)", "not null"),
        ("parent_id", "bigint", "default 0"),
        ("order_num", "int", "default 0"),
        ("path", "varchar(200)", "default ''"),
        ("component", "varchar(255)", "default null"),
        ("query", "varchar(255)", "default null"),
        ("route_name", "varchar(50)", "default ''"),
        ("is_frame", "int", "default 1"),
        ("is_cache", "int", "default 0"),
        ("menu_type", "char(1)", "default ''"),
        ("visible", "char(1)", "default '0'"),
        ("status", "char(1)", "default '0'"),
        ("perms", "varchar(100)", "default null"),
        ("icon", "varchar(100)", "default '#'"),
        *_AUDIT,
        ("remark", "varchar(500)", "default ''"),
    ],
    "shiro": [
        ("menu_id", "id:2000", ""),
        ("menu_name", "varchar(50)", "not null"),
        ("parent_id", "bigint", "default 0"),
        ("order_num", "int", "default 0"),
        ("url", "varchar(200)", "default '#'"),
        ("target", "varchar(20)", "default ''"),
        ("menu_type", "char(1)", "default ''"),
        ("visible", "char(1)", "default '0'"),
        ("is_refresh", "char(1)", "default '1'"),
        ("perms", "varchar(100)", "default null"),
        ("icon", "varchar(100)", "default '#'"),
        *_AUDIT,
        ("remark", "varchar(500)", "default ''"),
    ],
}

# RuoYi's operation log, as both variants create it (what drift reads for who and when)
_OPER_LOG = [
    ("oper_id", "id:100", ""),
    ("title", "varchar(50)", "default ''"),
    ("business_type", "int", "default 0"),
    ("method", "varchar(200)", "default ''"),
    ("request_method", "varchar(10)", "default ''"),
    ("operator_type", "int", "default 0"),
    ("oper_name", "varchar(50)", "default ''"),
    ("dept_name", "varchar(50)", "default ''"),
    ("oper_url", "varchar(255)", "default ''"),
    ("oper_ip", "varchar(128)", "default ''"),
    ("oper_param", "varchar(2000)", "default ''"),
    ("json_result", "varchar(2000)", "default ''"),
    ("status", "int", "default 0"),
    ("error_msg", "varchar(2000)", "default ''"),
    ("oper_time", "datetime", ""),
]

_LINKS = {
    "sys_user_role": ("user_id", "role_id"),
    "sys_role_menu": ("role_id", "menu_id"),
    "sys_role_dept": ("role_id", "dept_id"),
    "sys_user_post": ("user_id", "post_id"),
}

TABLES = ("sys_dept", "sys_user", "sys_role", "sys_menu", *_LINKS)


def _tables(flavour: Flavour) -> dict[str, list[tuple[str, str, str]]]:
    return {
        "sys_dept": _DEPT,
        "sys_user": [
            *_USER_HEAD,
            *_USER_NAMES[flavour],
            *_USER_MIDDLE,
            *_USER_TAIL[flavour],
            *_USER_END,
        ],
        "sys_role": [*_ROLE_HEAD, *(_ROLE_STRICT if flavour == "vue" else []), *_ROLE_END],
        "sys_menu": _MENU[flavour],
        "sys_oper_log": _OPER_LOG,
    }


def _column(dialect: str, name: str, kind: str, extra: str) -> str:
    if kind.startswith("id:"):
        start = kind[3:]
        if dialect == "postgresql":
            return (
                f"{name} bigint generated by default as identity (start with {start}) primary key"
            )
        return f"{name} bigint(20) not null auto_increment primary key"
    if dialect == "postgresql":
        kind = {"datetime": "timestamp", "tinyint": "smallint", "int": "integer"}.get(kind, kind)
    else:
        kind = {"bigint": "bigint(20)", "int": "int(4)", "tinyint": "tinyint(1)"}.get(kind, kind)
    return f"{name} {kind} {extra}".strip()


def ddl(dialect: str, flavour: Flavour, omit: Iterable[str] = ()) -> list[str]:
    """CREATE TABLE statements of the RuoYi tables erpsync touches (``omit``: columns
    written ``table.column`` that an older deployment lacks)."""
    dropped = set(omit)
    out = []
    mysql_tail = " default charset=utf8mb4 collate=utf8mb4_general_ci"
    for table, columns in _tables(flavour).items():
        body = ",\n  ".join(
            _column(dialect, name, kind, extra)
            for name, kind, extra in columns
            if f"{table}.{name}" not in dropped
        )
        start = next(kind[3:] for _, kind, _ in columns if kind.startswith("id:"))
        tail = "" if dialect == "postgresql" else f" engine=innodb auto_increment={start}"
        out.append(f"create table {table} (\n  {body}\n){tail}{'' if not tail else mysql_tail}")
    for table, (a, b) in _LINKS.items():
        kind = "bigint" if dialect == "postgresql" else "bigint(20)"
        tail = "" if dialect == "postgresql" else " engine=innodb" + mysql_tail
        out.append(
            f"create table {table} ({a} {kind} not null, {b} {kind} not null, "
            f"primary key ({a}, {b})){tail}"
        )
    return out


def create_schema(engine: Engine, flavour: Flavour, omit: Iterable[str] = ()) -> None:
    with engine.begin() as conn:
        for statement in ddl(engine.dialect.name, flavour, omit):
            conn.exec_driver_sql(statement)


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def login_columns(flavour: Flavour) -> tuple[str, str]:
    """(login column, display-name column) of sys_user."""
    return ("user_name", "nick_name") if flavour == "vue" else ("login_name", "user_name")


def oper_log(
    conn: Connection,
    title: str,
    business_type: int,
    method: str,
    url: str,
    param: str,
    by: str,
    at: dt.datetime,
    status: int = 0,
) -> None:
    """A ``sys_oper_log`` row as RuoYi's ``LogAspect`` writes it for one ``@Log`` call."""
    insert(
        conn,
        "sys_oper_log",
        [
            {
                "title": title,
                "business_type": business_type,
                "request_method": method,
                "operator_type": 1,
                "oper_name": by,
                "oper_url": url,
                "oper_param": param,
                "status": status,
                "oper_time": at,
            }
        ],
    )


def insert(conn: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same columns) with plain SQL."""
    if not rows:
        return
    names = list(rows[0])
    statement = text(
        f"insert into {table} ({', '.join(names)}) values ({', '.join(':' + n for n in names)})"
    )
    conn.execute(statement, [dict(r) for r in rows])


def _stamped(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "create_by": "admin", "create_time": SEEDED_AT}


def dept_row(dept_id: int, parent: int, ancestors: str, name: str, order: int, **more: Any) -> Any:
    return _stamped(
        {
            "dept_id": dept_id,
            "parent_id": parent,
            "ancestors": ancestors,
            "dept_name": name,
            "order_num": order,
            "leader": more.get("leader"),
            "status": "0",
            "del_flag": more.get("del_flag", "0"),
        }
    )


def user_row(
    flavour: Flavour, user_id: int, dept: int | None, login: str, name: str, **more: Any
) -> Any:
    login_col, name_col = login_columns(flavour)
    row = {
        "user_id": user_id,
        "dept_id": dept,
        login_col: login,
        name_col: name,
        "email": more.get("email", ""),
        "password": more.get("password", "$2a$10$not.a.real.hash"),
        "status": more.get("status", "0"),
        "del_flag": more.get("del_flag", "0"),
        "login_ip": "127.0.0.1",
        "login_date": SEEDED_AT,
    }
    if flavour == "shiro":
        row["salt"] = "5f3a1c"
    return _stamped(row)


def role_row(role_id: int, name: str, key: str, sort: int, scope: str | None, **more: Any) -> Any:
    return _stamped(
        {
            "role_id": role_id,
            "role_name": name,
            "role_key": key,
            "role_sort": sort,
            "data_scope": scope,
            "status": more.get("status", "0"),
            "del_flag": more.get("del_flag", "0"),
            "remark": more.get("remark"),
        }
    )


def menu_row(menu_id: int, name: str, parent: int, kind: str, perms: str | None) -> Any:
    return _stamped(
        {
            "menu_id": menu_id,
            "menu_name": name,
            "parent_id": parent,
            "order_num": menu_id % 100,
            "menu_type": kind,
            "visible": "0",
            "perms": perms,
        }
    )


# --------------------------------------------------------------------------------------------
# A small seed company, written for these tests
# --------------------------------------------------------------------------------------------

# Two 市场部门 and two 财务部门 under different parents, as in RuoYi's own seed.
SEED_DEPARTMENTS = [
    (100, 0, "0", "若依科技", 0),
    (101, 100, "0,100", "深圳总公司", 1),
    (102, 100, "0,100", "长沙分公司", 2),
    (103, 101, "0,100,101", "研发部门", 1),
    (104, 101, "0,100,101", "市场部门", 2),
    (105, 101, "0,100,101", "财务部门", 3),
    (106, 102, "0,100,102", "市场部门", 1),
    (107, 102, "0,100,102", "财务部门", 2),
]

# menu_id, name, parent, type, perms
SEED_MENUS = [
    (1, "系统管理", 0, "M", ""),
    (2, "系统监控", 0, "M", ""),
    (4, "若依官网", 0, "M", ""),
    (100, "用户管理", 1, "C", "system:user:list"),
    (101, "角色管理", 1, "C", "system:role:list"),
    (109, "在线用户", 2, "C", "monitor:online:list"),
    (113, "缓存监控", 2, "C", "monitor:cache:list"),
    (114, "缓存列表", 2, "C", "monitor:cache:list"),  # RuoYi has perms on two rows
    (1000, "用户查询", 100, "F", "system:user:query"),
    (1001, "用户新增", 100, "F", "system:user:add"),
    (1002, "用户修改", 100, "F", "system:user:edit"),
    (1003, "用户删除", 100, "F", "system:user:remove"),
    (1007, "角色查询", 101, "F", "system:role:query"),
    (1008, "角色新增", 101, "F", "system:role:add"),
    (1046, "在线查询", 109, "F", "monitor:online:query"),
]

SEED_ROLE_MENUS = [(2, m) for m in (1, 2, 4, 100, 1000, 1001, 109, 1046, 113, 114)]


def seed_company(engine: Engine, flavour: Flavour) -> None:
    """The seed: a company tree, admin (1), ry (2), a disabled and a deleted user, the
    admin role (1), a custom-scoped common role (2) and a deleted role."""
    with engine.begin() as conn:
        insert(conn, "sys_dept", [dept_row(*d, leader="若依") for d in SEED_DEPARTMENTS])
        insert(
            conn,
            "sys_user",
            [
                user_row(flavour, 1, 103, "admin", "若依", email="ry@163.com"),
                user_row(flavour, 2, 105, "ry", "若依", email="ry@qq.com"),
                user_row(flavour, 3, 104, "zhang.wei", "张伟", status="1"),
                user_row(flavour, 4, 104, "gone", "离职", del_flag="2"),
            ],
        )
        insert(
            conn,
            "sys_role",
            [
                role_row(1, "超级管理员", "admin", 1, "1", remark="超级管理员"),
                role_row(2, "普通角色", "common", 2, "2", remark="普通角色"),
                role_row(3, "旧角色", "old", 3, "1", del_flag="2"),
            ],
        )
        insert(conn, "sys_menu", [menu_row(*m) for m in SEED_MENUS])
        insert(conn, "sys_user_role", [{"user_id": 1, "role_id": 1}, {"user_id": 2, "role_id": 2}])
        insert(conn, "sys_role_menu", [{"role_id": r, "menu_id": m} for r, m in SEED_ROLE_MENUS])
        insert(conn, "sys_role_dept", [{"role_id": 2, "dept_id": d} for d in (100, 101, 105)])


# --------------------------------------------------------------------------------------------
# Any canonical State, for the shared behaviour suite
# --------------------------------------------------------------------------------------------


def catalogue_menus(catalogue: Mapping[str, Sequence[str]]) -> list[Any]:
    """A menu tree for ``catalogue``: a directory per top-level module prefix, a page per
    module (no perms of its own) and a button per action."""
    rows: list[Any] = []
    directories: dict[str, int] = {}
    next_id = 1
    for module, actions in catalogue.items():
        top = module.split(":")[0]
        if top not in directories:
            directories[top] = next_id
            rows.append(menu_row(next_id, top, 0, "M", ""))
            next_id += 1
        page = next_id
        rows.append(menu_row(page, module, directories[top], "C", ""))
        next_id += 1
        for action in actions:
            rows.append(menu_row(next_id, f"{module} {action}", page, "F", f"{module}:{action}"))
            next_id += 1
    return rows


def seed_state(
    engine: Engine,
    flavour: Flavour,
    state: State,
    catalogue: Mapping[str, Sequence[str]],
    bind: bool = False,
) -> dict[str, str]:
    """Write ``state`` into an empty RuoYi schema, the admin user and role at id 1;
    returns each department's name path. ``bind``: also bind the departments to the
    state's keys, as erpsync's apply or import would have (erpsync.bindings)."""
    depts = dict(state.departments)
    order = sorted(depts, key=lambda k: (_depth(depts, k), k))
    ids: dict[str, int] = {}
    paths: dict[str, list[str]] = {}
    ancestors: dict[str, str] = {}
    dept_rows = []
    for n, key in enumerate(order):
        d = depts[key]
        ids[key] = 100 + n
        parent = ids[d.parent] if d.parent else 0
        paths[key] = [*(paths[d.parent] if d.parent else []), d.name]
        ancestors[key] = f"{ancestors[d.parent]},{parent}" if d.parent else "0"
        dept_rows.append(dept_row(ids[key], parent, ancestors[key], d.name, n, leader=d.manager))
    user_ids = _ids(state.users, "admin")
    role_ids = _ids(state.roles, "admin")
    menus = catalogue_menus(catalogue)
    by_perms = {m["perms"]: m for m in menus if m["perms"]}
    parents = {m["menu_id"]: m["parent_id"] for m in menus}
    role_menus: set[tuple[int, int]] = set()
    for role, perm in state.grants:
        menu = by_perms[perm]["menu_id"]
        while menu:
            role_menus.add((role_ids[role], menu))
            menu = parents[menu]
    with engine.begin() as conn:
        insert(conn, "sys_dept", dept_rows)
        insert(
            conn,
            "sys_user",
            [
                user_row(
                    flavour,
                    user_ids[u.login],
                    ids[u.department] if u.department else None,
                    u.login,
                    u.name,
                    email=u.email or "",
                    status="0" if u.active else "1",
                )
                for u in state.users.values()
            ],
        )
        codes = {"all": "1", "custom": "2", "department": "3", "department_tree": "4", "self": "5"}
        insert(
            conn,
            "sys_role",
            [
                role_row(
                    role_ids[r.key],
                    r.name,
                    r.key,
                    role_ids[r.key],
                    codes.get(r.data_scope or ""),
                    remark=r.description,
                )
                for r in state.roles.values()
            ],
        )
        insert(conn, "sys_menu", menus)
        insert(
            conn,
            "sys_user_role",
            [{"user_id": user_ids[u], "role_id": role_ids[r]} for u, r in state.memberships],
        )
        insert(conn, "sys_role_menu", [{"role_id": r, "menu_id": m} for r, m in sorted(role_menus)])
        insert(
            conn,
            "sys_role_dept",
            [
                {"role_id": role_ids[r.key], "dept_id": ids[d]}
                for r in state.roles.values()
                for d in r.data_departments
            ],
        )
        if engine.dialect.name == "postgresql":  # explicit ids: move the identities past them
            for table, column, start in _IDENTITIES:
                conn.execute(
                    text(
                        f"select setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"greatest((select max({column}) from {table}), {start - 1}))"
                    )
                )
        natural = {key: department_key(paths[key]) for key in depts}
        if bind:
            bindings.replace(conn, "department", {str(ids[k]): (k, natural[k]) for k in depts})
    return natural


_IDENTITIES = [
    ("sys_dept", "dept_id", 200),
    ("sys_user", "user_id", 100),
    ("sys_role", "role_id", 100),
    ("sys_menu", "menu_id", 2000),
]


def _depth(depts: Mapping[str, DepartmentRec], key: str) -> int:
    parent = depts[key].parent
    return 0 if parent is None else 1 + _depth(depts, parent)


def _ids(records: Mapping[str, Any], admin: str) -> dict[str, int]:
    """admin -> 1, the others from 2 in key order."""
    ids = {admin: 1} if admin in records else {}
    for n, key in enumerate(sorted(k for k in records if k != admin)):
        ids[key] = 2 + n
    return ids


# --------------------------------------------------------------------------------------------
# RuoYi's own queries
# --------------------------------------------------------------------------------------------


def effective_permissions(conn: Connection, login: str, flavour: Flavour) -> set[str]:
    """What RuoYi itself grants ``login``: the distinct perms of enabled menus reached
    through the enabled roles of the enabled, non-deleted user (RuoYi-Vue filters menus on
    ``status``, RuoYi with Shiro on ``visible``)."""
    login_col = login_columns(flavour)[0]
    menu_enabled = "m.status = '0'" if flavour == "vue" else "m.visible = '0'"
    rows = conn.execute(
        text(
            "select distinct m.perms from sys_menu m"
            " join sys_role_menu rm on m.menu_id = rm.menu_id"
            " join sys_user_role ur on rm.role_id = ur.role_id"
            " join sys_role r on r.role_id = ur.role_id"
            " join sys_user u on u.user_id = ur.user_id"
            f" where u.{login_col} = :login and u.del_flag = '0' and u.status = '0'"
            f" and r.status = '0' and r.del_flag = '0' and {menu_enabled}"
        ),
        {"login": login},
    )
    return {perms for (perms,) in rows if perms}


def table_rows(conn: Connection, table: str, where: str = "") -> list[tuple[Any, ...]]:
    """Every row of ``table`` (every column), sorted: for byte-for-byte comparisons."""
    rows = conn.execute(text(f"select * from {table} {where}")).all()
    return sorted((tuple(r) for r in rows), key=repr)


def everything(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t: table_rows(conn, t) for t in TABLES}


# --------------------------------------------------------------------------------------------
# The unchanged upstream SQL files
# --------------------------------------------------------------------------------------------


def sql_statements(source: str) -> list[str]:
    """Split a MySQL script into statements: ``;`` outside quotes and comments ends one
    (quotes may hold ``;`` and backslash escapes, as RuoYi's seed data does)."""
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(source)
    quote: str | None = None
    while i < n:
        ch = source[i]
        if quote:
            current.append(ch)
            if ch == "\\" and i + 1 < n:
                current.append(source[i + 1])
                i += 2
                continue
            if ch == quote:
                if i + 1 < n and source[i + 1] == quote:  # doubled quote
                    current.append(source[i + 1])
                    i += 2
                    continue
                quote = None
            i += 1
            continue
        if source.startswith("--", i) and (i + 2 >= n or source[i + 2] in " \t\r\n"):
            end = source.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch in "'\"`":
            quote = ch
        if ch == ";":
            statement = "".join(current).strip()
            if statement:
                statements.append(statement)
            current = []
        else:
            current.append(ch)
        i += 1
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def load_sql_file(connect: Callable[[], Any], path: Path) -> int:
    """Execute every statement of the file, unchanged, through a DB-API connection
    (``connect()``, utf8mb4); returns how many."""
    statements = sql_statements(path.read_text(encoding="utf-8"))
    connection = connect()
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        connection.commit()
    finally:
        connection.close()
    return len(statements)


UPSTREAM = {
    "vue": Path("ruoyi-vue") / "ry_20260417.sql",
    "shiro": Path("ruoyi") / "ry_20260319.sql",
}


def upstream_file(flavour: Flavour) -> Path | None:
    """The upstream SQL file of ``flavour`` in ``../shared/erp-schemas``, when present."""
    root = Path(__file__).resolve().parents[2]
    found = root.parent / "shared" / "erp-schemas" / UPSTREAM[flavour]
    return found if found.is_file() else None


def native(perm: str) -> str:
    """A permission of the reference catalogue in RuoYi's words: ``system.user:add`` is
    ``system:user:add`` (RuoYi separates a module's parts with ``:``)."""
    return perm.replace(".", ":")


def native_catalogue(catalogue: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    return {native(module): tuple(actions) for module, actions in catalogue.items()}


def suite_translate(state: State) -> State:
    """The behaviour suite's state (reference modules) in RuoYi's words."""
    grants = frozenset((role, native(perm)) for role, perm in state.grants)
    return State(state.departments, state.users, state.roles, grants, state.user_roles)


def suite_policy(text: str) -> str:
    """A policy document of the suite with its permissions in RuoYi's words."""
    data: dict[str, Any] = yaml.safe_load(text)
    for role in data.get("roles", {}).values():
        perms = role.get("permissions", {})
        if isinstance(perms, list):
            role["permissions"] = [native(p) for p in perms]
        else:
            role["permissions"] = {native(m): actions for m, actions in perms.items()}
    out: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return out


def suite_seeder(engine: Engine, flavour: Flavour) -> Callable[[State], RuoYiAdapter]:
    """For the shared behaviour suite: a fresh RuoYi schema holding the given state (in
    RuoYi's words, :func:`suite_translate`), the reference catalogue as its menus, its
    departments bound to the suite's keys."""
    from erpsync.catalogue import REFERENCE_CATALOGUE

    def seed(state: State) -> RuoYiAdapter:
        create_schema(engine, flavour)
        seed_state(engine, flavour, state, native_catalogue(REFERENCE_CATALOGUE), bind=True)
        return RuoYiAdapter(engine)

    return seed
