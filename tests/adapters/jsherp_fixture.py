"""jshERP databases for the tests: our own DDL (from the facts: the columns erpsync uses
and the ones it must never touch), a small tenant for the behaviour suite, the upstream
seed when ``../shared`` is present, and jshERP's own rule for what a user sees.

The effective-permission query is jshERP's rule as the facts file states it
(``../shared/erp/jsherp.md``); it is read from there at run time, never copied, and the
tests needing it skip without ``../shared`` (and fail under CI).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from erpsync.adapters.base import Adapter
from erpsync.adapters.jsherp.keys import ACTION_BY_CODE, VIEW
from erpsync.state import State
from tests.adapters.ruoyi_fixture import load_sql_file

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
UPSTREAM = SHARED / "erp-schemas" / "jsherp" / "jsh_erp.sql"
FACTS = SHARED / "erp" / "jsherp.md"

# Every table erpsync reads or writes (jsh_depot, jsh_supplier and jsh_system_config are
# read for the users' data scopes; the menu rule reads jsh_system_config too).
IDENTITY_TABLES = (
    "jsh_user",
    "jsh_role",
    "jsh_organization",
    "jsh_orga_user_rel",
    "jsh_user_business",
    "jsh_tenant",
    "jsh_function",
    "jsh_log",
    "jsh_depot",
    "jsh_supplier",
    "jsh_system_config",
)

DDL = [
    """CREATE TABLE jsh_user (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, username varchar(255) NOT NULL,
        login_name varchar(255) NOT NULL, password varchar(50) NULL, leader_flag varchar(1)
        DEFAULT '0', position varchar(200) NULL, department varchar(255) NULL,
        email varchar(100) NULL, phonenum varchar(100) NULL, ismanager tinyint NOT NULL
        DEFAULT 1, isystem tinyint NOT NULL DEFAULT 0, status tinyint DEFAULT 0,
        description varchar(500) NULL, remark varchar(500) NULL, weixin_open_id varchar(100)
        NULL, tenant_id bigint NULL, delete_flag varchar(1) DEFAULT '0')""",
    """CREATE TABLE jsh_role (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(50) NULL, type varchar(50)
        NULL, price_limit varchar(50) NULL, value varchar(200) NULL, description varchar(100)
        NULL, enabled bit(1) NULL, sort varchar(10) NULL, tenant_id bigint NULL,
        delete_flag varchar(1) DEFAULT '0')""",
    """CREATE TABLE jsh_organization (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, org_no varchar(20) NULL,
        org_abr varchar(20) NULL, parent_id bigint NULL, sort varchar(20) NULL,
        remark varchar(500) NULL, create_time datetime NULL, update_time datetime NULL,
        tenant_id bigint NULL, delete_flag varchar(1) DEFAULT '0')""",
    """CREATE TABLE jsh_orga_user_rel (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, orga_id bigint NULL, user_id bigint
        NOT NULL, user_blng_orga_dspl_seq varchar(20) NULL, delete_flag char(1) DEFAULT '0',
        create_time datetime NULL, creator bigint NULL, update_time datetime NULL,
        updater bigint NULL, tenant_id bigint NULL)""",
    """CREATE TABLE jsh_user_business (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, type varchar(50) NULL,
        key_id varchar(50) NULL, value text NULL, btn_str varchar(20000) NULL,
        tenant_id bigint NULL, delete_flag varchar(1) DEFAULT '0')""",
    """CREATE TABLE jsh_tenant (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, tenant_id bigint NULL,
        login_name varchar(255) NULL, user_num_limit int NULL, type varchar(1) DEFAULT '0',
        enabled bit(1) DEFAULT 1, create_time datetime NULL, expire_time datetime NULL,
        remark varchar(500) NULL, delete_flag varchar(1) DEFAULT '0')""",
    """CREATE TABLE jsh_function (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, number varchar(50) NULL,
        name varchar(50) NULL, parent_number varchar(50) NULL, url varchar(100) NULL UNIQUE,
        component varchar(100) NULL, state bit(1) NULL, sort varchar(50) NULL,
        enabled bit(1) NULL, type varchar(50) NULL, push_btn varchar(50) NULL,
        icon varchar(50) NULL, delete_flag varchar(1) DEFAULT '0')""",
    """CREATE TABLE jsh_log (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id bigint NULL,
        operation varchar(500) NULL, client_ip varchar(200) NULL, create_time datetime NULL,
        status tinyint NULL, content varchar(5000) NULL, tenant_id bigint NULL)""",
    """CREATE TABLE jsh_system_config (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, tenant_id bigint NULL,
        depot_flag varchar(1) DEFAULT '0', customer_flag varchar(1) DEFAULT '0',
        multi_level_approval_flag varchar(1) DEFAULT '0', delete_flag varchar(1) DEFAULT '0')""",
    """CREATE TABLE jsh_depot (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(20) NULL,
        address varchar(50) NULL, type int NULL, sort varchar(10) NULL, enabled bit(1) NULL,
        tenant_id bigint NULL, delete_Flag varchar(1) DEFAULT '0', is_default bit(1) NULL)""",
    """CREATE TABLE jsh_supplier (
        id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, supplier varchar(255) NOT NULL,
        type varchar(20) NULL, enabled bit(1) NULL, creator bigint NULL, tenant_id bigint NULL,
        delete_flag varchar(1) DEFAULT '0')""",
]

# A small catalogue for the behaviour suite: (id, number, name, parent, url, push_btn).
FUNCTIONS = [
    (1, "0001", "系统管理", "0", "/system", ""),
    (2, "000101", "用户管理", "0001", "/system/user", "1"),
    (10, "01", "人事", "0", "/hr", ""),
    (11, "0101", "员工", "01", "/hr/employee", "1"),
    (12, "0102", "账号", "01", "/hr/account", "1"),
    (13, "0103", "权限", "01", "/hr/grant", "1"),
    (20, "02", "财务管理", "0", "/financial", ""),
    (21, "0201", "应付发票", "02", "/financial/ap_invoice", "1,2,3,7"),
    (22, "0202", "付款单", "02", "/financial/money_out", "1,2,3,7"),
    (23, "0203", "账户统计", "02", "/financial/report", ""),
]
TENANT = 63  # the tenant the suite runs in (its administrator is user 63)
OTHER_TENANT = 70
CEILING_ROLE = 10  # the platform role 租户: every function but 系统管理


def create_schema(engine: Engine) -> None:
    """Our own jshERP tables (utf8, as upstream's identity tables are) with a platform
    administrator, two tenants and their administrators, and :data:`FUNCTIONS`."""
    with engine.begin() as conn:
        for statement in DDL:
            conn.execute(text(statement + " DEFAULT CHARSET=utf8 COLLATE=utf8_general_ci"))
        for fid, number, name, parent, url, buttons in FUNCTIONS:
            conn.execute(
                text(
                    "INSERT INTO jsh_function (id, number, name, parent_number, url, sort, "
                    "enabled, type, push_btn, delete_flag) VALUES (:i, :n, :name, :p, :u, :n, 1,"
                    " '电脑版', :b, '0')"
                ),
                {"i": fid, "n": number, "name": name, "p": parent, "u": url, "b": buttons},
            )
        ceiling = "".join(f"[{f[0]}]" for f in FUNCTIONS if not f[4].startswith("/system"))
        every = "".join(f"[{f[0]}]" for f in FUNCTIONS)
        statements = [
            "INSERT INTO jsh_role (id, name, type, enabled, tenant_id, delete_flag) VALUES "
            "(4, '管理员', '全部数据', 1, NULL, '0'), (10, '租户', '全部数据', 1, NULL, '0')",
            f"INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) VALUES "
            f"('RoleFunctions', '4', '{every}', NULL, '0'), "
            f"('RoleFunctions', '10', '{ceiling}', NULL, '0')",
            "INSERT INTO jsh_user (id, username, login_name, password, isystem, status, "
            "tenant_id, delete_flag) VALUES (120, '管理员', 'admin', 'x', 0, 0, 0, '0'), "
            f"({TENANT}, '租户管理员', 'jsh', 'x', 1, 0, {TENANT}, '0'), "
            f"({OTHER_TENANT}, '另一个租户', 'other', 'x', 0, 0, {OTHER_TENANT}, '0')",
            "INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) VALUES "
            f"('UserRole', '120', '[4]', 0, '0'), ('UserRole', '{TENANT}', '[10]', {TENANT}, '0'),"
            f" ('UserRole', '{OTHER_TENANT}', '[10]', {OTHER_TENANT}, '0')",
            "INSERT INTO jsh_tenant (tenant_id, login_name, user_num_limit, type, enabled, "
            f"delete_flag) VALUES ({TENANT}, 'jsh', 1000, '1', 1, '0'), "
            f"({OTHER_TENANT}, 'other', 1000, '1', 1, '0')",
            "ALTER TABLE jsh_user AUTO_INCREMENT = 200",
            "ALTER TABLE jsh_role AUTO_INCREMENT = 100",
        ]
        for statement in statements:
            conn.execute(text(statement))


def load_upstream(engine: Engine) -> None:
    load_sql_file(engine.raw_connection, UPSTREAM)


def rows_outside(conn: Connection, tenant: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every jsh_* identity table not of ``tenant`` (NULL included), with
    every column: what a tenant's apply must leave byte for byte."""
    out = {}
    for table in IDENTITY_TABLES:
        where = "" if table == "jsh_function" else " WHERE tenant_id IS NULL OR tenant_id <> :t"
        rows = conn.execute(text(f"SELECT * FROM {table}{where} ORDER BY id"), {"t": tenant})
        out[table] = [tuple(r) for r in rows]
    return out


def effective_sql() -> str | None:
    """The facts file's effective-permission query (``SET @uid`` is bound instead)."""
    if not FACTS.is_file():
        return None
    found = re.search(r"```sql\n(.*?)```", FACTS.read_text(encoding="utf-8"), re.S)
    return found.group(1).replace("@uid", ":uid") if found else None


def app_access(conn: Connection, sql: str, user_id: int) -> set[str]:
    """What jshERP shows ``user_id``, as erpsync's permissions: ``url:view`` for each page
    (a function with no child) in the menu, ``url:<action>`` for each button code."""
    leaves = {
        url
        for (url,) in conn.execute(
            text(
                "SELECT url FROM jsh_function f WHERE delete_flag <> '1' AND NOT EXISTS "
                "(SELECT 1 FROM jsh_function c WHERE c.parent_number = f.number "
                "AND c.delete_flag <> '1')"
            )
        )
    }
    out: set[str] = set()
    for _, url, _, in_menu, buttons in conn.execute(text(sql), {"uid": user_id}):
        if in_menu and url in leaves:
            out.add(f"{url}:{VIEW}")
        for code in (buttons or "").split(","):
            if code.strip() in ACTION_BY_CODE:
                out.add(f"{url}:{ACTION_BY_CODE[code.strip()]}")
    return out


def erpsync_access(state: State, login: str) -> set[str]:
    """What erpsync says ``login`` holds: the grants of the user's roles."""
    roles = state.user_roles.get(login, frozenset())
    return {perm for role, perm in state.grants if role in roles}


def user_ids(conn: Connection, tenant: int, logins: Iterable[str]) -> dict[str, int]:
    wanted = set(logins)
    rows = conn.execute(
        text("SELECT login_name, id FROM jsh_user WHERE tenant_id = :t AND delete_flag <> '1'"),
        {"t": tenant},
    )
    return {login: uid for login, uid in rows if login in wanted}


def check_ground_truth(adapter: Adapter, tenant: int, skip: Iterable[str] = ()) -> int:
    """After an apply: for every managed user (but ``skip``), jshERP's own rule (the
    facts' query) gives exactly the access erpsync reads. Returns how many users were
    compared."""
    sql = effective_sql()
    assert sql is not None, "the facts file is missing"
    state = adapter.read().state
    with adapter.engine.connect() as conn:
        ids = user_ids(conn, tenant, set(state.users) - set(skip))
        for login, uid in ids.items():
            assert app_access(conn, sql, uid) == erpsync_access(state, login), login
    return len(ids)


# jshERP's own rule for a user's data scopes, in SQL as the facts and the app state it: the
# first live row of (type, key_id) by id, whatever its tenant; of the tenant's live
# warehouses those enabled of type 0 whose [id] is in its value (the 仓库 picker, while
# depot_flag is '1'); of its live customers (jsh_supplier type 客户) those whose [id] is.
SCOPE_RULE = {
    "UserDepot": (
        "SELECT d.name FROM jsh_depot d WHERE d.tenant_id = :t AND IFNULL(d.delete_flag, '0')"
        " <> '1' AND d.enabled = 1 AND d.type = 0 AND LOCATE(CONCAT('[', d.id, ']'), IFNULL(("
        "SELECT value FROM jsh_user_business WHERE type = 'UserDepot' AND key_id = :k AND "
        "IFNULL(delete_flag, '0') <> '1' ORDER BY id LIMIT 1), '')) > 0"
    ),
    "UserCustomer": (
        "SELECT s.supplier FROM jsh_supplier s WHERE s.tenant_id = :t AND s.type = '客户' AND "
        "IFNULL(s.delete_flag, '0') <> '1' AND LOCATE(CONCAT('[', s.id, ']'), IFNULL(("
        "SELECT value FROM jsh_user_business WHERE type = 'UserCustomer' AND key_id = :k AND "
        "IFNULL(delete_flag, '0') <> '1' ORDER BY id LIMIT 1), '')) > 0"
    ),
}


def check_scopes(adapter: Adapter, tenant: int) -> int:
    """For every managed user: the warehouses and customers jshERP's rule gives are the
    ones erpsync reads (every warehouse in these tests is enabled, of type 0). Returns how
    many users were compared."""
    state = adapter.read().state
    with adapter.engine.connect() as conn:
        ids = user_ids(conn, tenant, set(state.users))
        for login, uid in ids.items():
            found = {}
            for kind, sql in SCOPE_RULE.items():
                rows = conn.execute(text(sql), {"t": tenant, "k": str(uid)})
                found[kind] = tuple(sorted(name for (name,) in rows))
            user = state.users[login]
            assert found == {"UserDepot": user.warehouses, "UserCustomer": user.customers}, login
    return len(ids)
