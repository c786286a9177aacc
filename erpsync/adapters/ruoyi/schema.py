"""Which RuoYi this is: the live schema, reflected once, and the variant it reveals.

Two variants share the tables but not the user columns:

    RuoYi-Vue (Spring Security)   sys_user.user_name = login, nick_name = display name
    RuoYi (Shiro)                 sys_user.login_name = login, user_name = display name, salt

Older deployments lack columns (``route_name``, ``pwd_update_date``, …), so
nothing is assumed: :func:`reflect` lists the columns that exist, and the
tables erpsync uses are built from the columns it knows *and* the database has.
Password, salt and login-tracking columns are never part of them, so no
statement erpsync issues can read or write them. Column lengths come from the
database too: the invariants check values against them before writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
)
from sqlalchemy.types import TypeEngine

from erpsync.adapters.ruoyi.facts import VARIANT_NAMES, ColumnInfo, SchemaFacts, Variant
from erpsync.errors import DatabaseError
from erpsync.i18n import N_

__all__ = ["VARIANT_NAMES", "ColumnInfo", "RuoYiSchema", "Variant", "reflect", "schema_problems"]

_ID: TypeEngine[Any] = BigInteger()
_TEXT: TypeEngine[Any] = String()
_TIME: TypeEngine[Any] = DateTime()
_NUMBER: TypeEngine[Any] = Integer()

_AUDIT: dict[str, TypeEngine[Any]] = {
    "create_by": _TEXT,
    "create_time": _TIME,
    "update_by": _TEXT,
    "update_time": _TIME,
}

# table -> column -> type erpsync binds; the first columns listed in _REQUIRED must exist.
_KNOWN: dict[str, dict[str, TypeEngine[Any]]] = {
    "sys_dept": {
        "dept_id": _ID,
        "parent_id": _ID,
        "ancestors": _TEXT,
        "dept_name": _TEXT,
        "order_num": _NUMBER,
        "leader": _TEXT,
        "status": _TEXT,
        "del_flag": _TEXT,
        **_AUDIT,
    },
    "sys_user": {
        "user_id": _ID,
        "dept_id": _ID,
        "login_name": _TEXT,  # Shiro only
        "user_name": _TEXT,
        "nick_name": _TEXT,  # Vue only
        "user_type": _TEXT,
        "email": _TEXT,
        "status": _TEXT,
        "del_flag": _TEXT,
        **_AUDIT,
    },
    "sys_role": {
        "role_id": _ID,
        "role_name": _TEXT,
        "role_key": _TEXT,
        "role_sort": _NUMBER,
        "data_scope": _TEXT,
        "menu_check_strictly": _NUMBER,
        "dept_check_strictly": _NUMBER,
        "status": _TEXT,
        "del_flag": _TEXT,
        "remark": _TEXT,
        **_AUDIT,
    },
    "sys_menu": {
        "menu_id": _ID,
        "menu_name": _TEXT,
        "parent_id": _ID,
        "order_num": _NUMBER,
        "menu_type": _TEXT,
        "status": _TEXT,  # RuoYi-Vue; Shiro has only `visible`
        "visible": _TEXT,
        "perms": _TEXT,
    },
    "sys_user_role": {"user_id": _ID, "role_id": _ID},
    "sys_role_menu": {"role_id": _ID, "menu_id": _ID},
    "sys_role_dept": {"role_id": _ID, "dept_id": _ID},
    "sys_user_post": {"user_id": _ID, "post_id": _ID},
    # read only, for drift's who-and-when (erpsync.adapters.ruoyi.operlog)
    "sys_oper_log": {
        "oper_id": _ID,
        "title": _TEXT,
        "business_type": _NUMBER,
        "oper_name": _TEXT,
        "oper_url": _TEXT,
        "oper_param": _TEXT,
        "status": _NUMBER,
        "oper_time": _TIME,
    },
}

_REQUIRED: dict[str, tuple[str, ...]] = {
    "sys_dept": ("dept_id", "parent_id", "dept_name"),
    "sys_user": ("user_id", "user_name"),
    "sys_role": ("role_id", "role_name", "role_key"),
    "sys_menu": ("menu_id", "parent_id", "menu_type", "perms"),
    "sys_user_role": ("user_id", "role_id"),
    "sys_role_menu": ("role_id", "menu_id"),
    "sys_role_dept": ("role_id", "dept_id"),
}
_OPTIONAL_TABLES = frozenset({"sys_user_post", "sys_oper_log"})

# Never part of a statement erpsync issues (checked by the tests).
NEVER_TOUCHED = frozenset({"password", "salt", "login_ip", "login_date", "pwd_update_date"})


@dataclass(frozen=True)
class RuoYiSchema:
    """The reflected schema: the variant, erpsync's view of each table, column facts."""

    variant: Variant
    login: str  # sys_user column holding the login
    display: str  # sys_user column holding the display name
    tables: dict[str, Table]
    columns: dict[str, dict[str, ColumnInfo]] = field(repr=False)  # every column there is

    @property
    def label(self) -> str:
        return VARIANT_NAMES[self.variant]

    def has(self, table: str, column: str) -> bool:
        return table in self.tables and column in self.tables[table].c

    def length(self, table: str, column: str) -> int | None:
        found = self.columns.get(table, {}).get(column)
        return found.length if found else None

    def required(self, table: str) -> list[str]:
        """Columns an insert must set that erpsync cannot (reported before writing)."""
        return [name for name, info in self.columns.get(table, {}).items() if info.required]

    def facts(self) -> SchemaFacts:
        """What the invariants check against, without the SQLAlchemy tables (it pickles,
        and unpickles without SQLAlchemy)."""
        return SchemaFacts(self.variant, self.login, self.display, self.columns)


def reflect(conn: Connection) -> RuoYiSchema:
    """Reflect the RuoYi tables once; raises :class:`DatabaseError` when they are not there."""
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    missing = [t for t in _KNOWN if t not in present and t not in _OPTIONAL_TABLES]
    if missing:
        raise DatabaseError(
            N_("this database is not a RuoYi database: missing table(s) {tables}").format(
                tables=", ".join(missing)
            )
        )
    metadata = MetaData()
    tables: dict[str, Table] = {}
    columns: dict[str, dict[str, ColumnInfo]] = {}
    for name, known in _KNOWN.items():
        if name not in present:
            continue
        found = {c["name"].lower(): c for c in inspector.get_columns(name)}
        absent = [c for c in _REQUIRED.get(name, ()) if c not in found]
        if absent:
            raise DatabaseError(
                N_("this database is not a RuoYi database: {table} lacks {columns}").format(
                    table=name, columns=", ".join(absent)
                )
            )
        columns[name] = {n: _info(c) for n, c in found.items()}
        tables[name] = Table(
            name, metadata, *(Column(n, t) for n, t in known.items() if n in found)
        )
    user = columns["sys_user"]
    if "login_name" in user:
        return RuoYiSchema("ruoyi", "login_name", "user_name", tables, columns)
    if "nick_name" in user:
        return RuoYiSchema("ruoyi-vue", "user_name", "nick_name", tables, columns)
    raise DatabaseError(
        N_(
            "cannot tell the RuoYi variant: sys_user has neither login_name (RuoYi) nor "
            "nick_name (RuoYi-Vue)"
        )
    )


def _info(column: Any) -> ColumnInfo:
    length = getattr(column["type"], "length", None)
    generated = bool(column.get("autoincrement") is True or column.get("identity"))
    required = (
        not column["nullable"]
        and column.get("default") is None
        and not generated
        and not column.get("computed")
    )
    return ColumnInfo(length if isinstance(length, int) else None, required)


def schema_problems(conn: Connection) -> list[str]:
    """For ``erpsync doctor``: why the ruoyi adapter cannot use this database (read-only);
    empty when it can."""
    try:
        reflect(conn)
    except DatabaseError as exc:
        return [str(exc)]
    return []
