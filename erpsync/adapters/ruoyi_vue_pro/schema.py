"""The ruoyi-vue-pro tables erpsync uses, checked against the live schema once per run.

The tables are built from the columns erpsync knows; ``password``, ``login_ip``,
``login_date`` (and every column erpsync does not manage) are never part of them,
so no statement erpsync issues reads or writes them. What differs between the
upstream MySQL and PostgreSQL exports is handled here and in :mod:`.write`:
``deleted`` is ``bit(1)`` on MariaDB and ``smallint`` on PostgreSQL (compared with
``= 0``, which both accept); ids are ``AUTO_INCREMENT`` on MariaDB and
``nextval('<table>_seq')`` on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, DateTime, Integer, MetaData, String, Table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.types import TypeEngine

from erpsync.adapters.ruoyi_vue_pro.facts import SchemaFacts
from erpsync.errors import DatabaseError
from erpsync.i18n import N_

_ID: TypeEngine[Any] = BigInteger()
_INT: TypeEngine[Any] = Integer()
_TEXT: TypeEngine[Any] = String()
_TIME: TypeEngine[Any] = DateTime()
_AUDIT = {"creator": _TEXT, "create_time": _TIME, "updater": _TEXT, "update_time": _TIME}
_OWNED = {"deleted": _INT, "tenant_id": _ID, **_AUDIT}

KNOWN: dict[str, dict[str, TypeEngine[Any]]] = {
    "system_dept": {
        "id": _ID,
        "name": _TEXT,
        "parent_id": _ID,
        "sort": _INT,
        "leader_user_id": _ID,
        "status": _INT,
        **_OWNED,
    },
    "system_users": {
        "id": _ID,
        "username": _TEXT,
        "nickname": _TEXT,
        "email": _TEXT,
        "dept_id": _ID,
        "post_ids": _TEXT,  # JSON text of the user's post ids, kept in step with system_user_post
        "status": _INT,
        **_OWNED,
    },
    "system_role": {
        "id": _ID,
        "name": _TEXT,
        "code": _TEXT,
        "sort": _INT,
        "data_scope": _INT,
        "data_scope_dept_ids": _TEXT,
        "status": _INT,
        "type": _INT,
        "remark": _TEXT,
        **_OWNED,
    },
    "system_menu": {
        "id": _ID,
        "name": _TEXT,
        "permission": _TEXT,
        "type": _INT,
        "parent_id": _ID,
        "status": _INT,
        "deleted": _INT,
    },
    "system_user_role": {"id": _ID, "user_id": _ID, "role_id": _ID, **_OWNED},
    "system_role_menu": {"id": _ID, "role_id": _ID, "menu_id": _ID, **_OWNED},
    # optional, both or neither: the posts (岗位) of the tenant, read only, and which users
    # hold them (read, and written as the app writes them with system_users.post_ids)
    "system_post": {
        "id": _ID,
        "code": _TEXT,
        "name": _TEXT,
        "status": _INT,
        "deleted": _INT,
        "tenant_id": _ID,
    },
    "system_user_post": {"id": _ID, "user_id": _ID, "post_id": _ID, **_OWNED},
    "system_tenant": {
        "id": _ID,
        "name": _TEXT,
        "contact_user_id": _ID,
        "package_id": _ID,
        "account_count": _INT,
        "status": _INT,
        "deleted": _INT,
    },
    "system_tenant_package": {"id": _ID, "name": _TEXT, "menu_ids": _TEXT, "deleted": _INT},
    # optional, read only: who changed users and roles (attribution)
    "system_operate_log": {
        "id": _ID,
        "user_id": _ID,
        "type": _TEXT,
        "biz_id": _ID,
        "success": _INT,
        "create_time": _TIME,
        "deleted": _INT,
        "tenant_id": _ID,
    },
}
OPTIONAL = frozenset({"system_operate_log", "system_post", "system_user_post"})
POST_TABLES = ("system_post", "system_user_post")
# Never part of a statement erpsync issues (checked by the tests).
NEVER_TOUCHED = frozenset({"password", "login_ip", "login_date"})


@dataclass(frozen=True)
class Schema:
    tables: dict[str, Table]
    facts: SchemaFacts

    @property
    def postgresql(self) -> bool:
        return self.facts.dialect == "postgresql"

    @property
    def has_posts(self) -> bool:
        """Whether the database keeps posts: both post tables are there."""
        return all(t in self.tables for t in POST_TABLES)


def reflect(conn: Connection) -> Schema:
    """The tables erpsync uses; raises :class:`DatabaseError` naming what is missing."""
    inspector = sa_inspect(conn)
    present = set(inspector.get_table_names())
    missing = sorted(t for t in KNOWN if t not in present and t not in OPTIONAL)
    if missing:
        raise DatabaseError(
            N_("this database is not a ruoyi-vue-pro database: missing table(s) {tables}").format(
                tables=", ".join(missing)
            )
        )
    metadata = MetaData()
    tables: dict[str, Table] = {}
    lengths: dict[str, dict[str, int]] = {}
    for name, known in KNOWN.items():
        if name not in present:
            continue
        found = {c["name"].lower(): c for c in inspector.get_columns(name)}
        absent = [c for c in known if c not in found]
        if absent:
            raise DatabaseError(
                N_("this database is not a ruoyi-vue-pro database: {table} lacks {columns}").format(
                    table=name, columns=", ".join(absent)
                )
            )
        lengths[name] = {
            n: length
            for n, c in found.items()
            if isinstance(length := getattr(c["type"], "length", None), int)
        }
        tables[name] = Table(name, metadata, *(Column(n, t) for n, t in known.items()))
    return Schema(tables, SchemaFacts(conn.dialect.name, lengths))


def schema_problems(conn: Connection) -> list[str]:
    """For ``erpsync doctor``: why the adapter cannot use this database (empty: it can)."""
    try:
        reflect(conn)
    except DatabaseError as exc:
        return [str(exc)]
    return []
