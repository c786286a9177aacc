"""erpsync's own tables: the audit trail and the apply lock.

They live in the ERP database by default, or in the database named by
``settings.state_url``, in a :class:`~sqlalchemy.MetaData` of their own (the
adapters' ERP schemas never include them)::

    erpsync_audit   one hash-chained record per apply (see :mod:`erpsync.audit`)
    erpsync_lock    who holds the apply lock (see :mod:`erpsync.lock`)
    erpsync_binding which ERP row each policy key names (see :mod:`erpsync.bindings`)
    erpsync_review  access-review campaigns as evidence, hash-chained like the audit
                    trail (see :mod:`erpsync.review.evidence`)

Only portable types are used, so the tables work on SQLite, PostgreSQL and
MySQL. Times are stored as fixed-width ISO 8601 UTC text
(``2026-11-27T10:00:00.000000Z``, see :class:`UtcTimestamp`): they round-trip
exactly, timezone included, on every database, and compare in SQL as
strings in time order (the lock's expiry test relies on that).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, Text, inspect
from sqlalchemy.dialects.mysql import LONGTEXT
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateTable
from sqlalchemy.types import TypeDecorator

AUDIT_TABLE_NAME = "erpsync_audit"
LOCK_TABLE_NAME = "erpsync_lock"
BINDING_TABLE_NAME = "erpsync_binding"
REVIEW_TABLE_NAME = "erpsync_review"

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

METADATA = MetaData(naming_convention={"pk": "pk_%(table_name)s"})


class UtcTimestamp(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime stored as fixed-width ISO 8601 UTC text.

    Naive datetimes are refused on the way in (their zone would be a guess);
    values come back as aware UTC datetimes equal to what was stored.
    """

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else format_time(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else parse_time(value)


def format_time(value: dt.datetime) -> str:
    """``value`` as stored: fixed-width ISO 8601 in UTC, microseconds included."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a naive datetime cannot be stored (no time zone): {value!r}")
    return value.astimezone(dt.UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> dt.datetime:
    """A stored time back as an aware UTC datetime (text without a zone is taken as UTC)."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


# Long JSON: Text is unbounded on SQLite and PostgreSQL, but only 64 KiB on MySQL.
_JsonText = Text().with_variant(LONGTEXT(), "mysql", "mariadb")

erpsync_audit = Table(
    AUDIT_TABLE_NAME,
    METADATA,
    # Assigned by erpsync.audit.append as the last id + 1 (under the apply lock), not by a
    # sequence: the id is part of the hashed content, and a rolled-back apply leaves no gap.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcTimestamp, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("git_commit", String(64)),
    Column("git_branch", String(255)),
    Column("target", String(200), nullable=False),
    Column("adapter", String(64), nullable=False),
    Column("erpsync_version", String(32), nullable=False),
    Column("policy_digest", String(80), nullable=False),
    Column("live_digest", String(80), nullable=False),
    Column("summary", _JsonText, nullable=False),
    Column("changes", _JsonText, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

erpsync_lock = Table(
    LOCK_TABLE_NAME,
    METADATA,
    Column("name", String(200), primary_key=True),
    Column("holder", String(500), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcTimestamp, nullable=False),
    Column("expires_at", UtcTimestamp, nullable=False),
)


erpsync_binding = Table(
    BINDING_TABLE_NAME,
    METADATA,
    # Whose objects: "" for an ERP with one set per database, "tenant:<id>" for one tenant
    # of a multi-tenant ERP (Adapter.binding_scope). Added after the first release: a table
    # without it is rebuilt by ensure_tables (migrate_binding_scope).
    Column("scope", String(64), primary_key=True, server_default=""),
    Column("kind", String(16), primary_key=True),  # department | role | user
    Column("policy_key", String(255), primary_key=True),  # the policy's key ("key" is reserved)
    Column("row_id", String(64), nullable=False),  # the ERP row's id, as text
    Column("natural_key", String(1000), nullable=False),  # the ERP's own key when bound
    Column("bound_at", UtcTimestamp, nullable=False),
)


erpsync_review = Table(
    REVIEW_TABLE_NAME,
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),  # last id + 1, hashed
    Column("campaign", String(100), nullable=False),
    Column("event", String(32), nullable=False),  # started | closed
    Column("recorded_at", UtcTimestamp, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("body", _JsonText, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


def ensure_tables(conn: Connection) -> None:
    """Create whichever of erpsync's tables are missing (in ``conn``'s transaction).

    ``IF NOT EXISTS`` on top of the check keeps two first-ever runs that race
    from failing on SQLite and MySQL; on PostgreSQL erpsync creates them under
    the apply lock.
    """
    existing = set(inspect(conn).get_table_names())
    for table in METADATA.sorted_tables:
        if table.name not in existing:
            conn.execute(CreateTable(table, if_not_exists=True))
    if BINDING_TABLE_NAME in existing and not binding_has_scope(conn):
        migrate_binding_scope(conn)


def binding_has_scope(conn: Connection) -> bool:
    """Whether ``erpsync_binding`` has its ``scope`` column (tables made before tenants
    have not)."""
    return "scope" in {c["name"] for c in inspect(conn).get_columns(BINDING_TABLE_NAME)}


def migrate_binding_scope(conn: Connection) -> None:
    """Rebuild an ``erpsync_binding`` made before tenants with the ``scope`` column in its
    primary key, keeping every binding (in scope ""). Copy, then swap: the old table is
    dropped only once the copy holds its rows."""
    new_name = f"{BINDING_TABLE_NAME}_next"
    new = erpsync_binding.to_metadata(MetaData(), name=new_name)
    new.drop(conn, checkfirst=True)  # left by an interrupted migration on MySQL (no DDL rollback)
    new.create(conn)
    columns = ("kind", "policy_key", "row_id", "natural_key", "bound_at")
    names = ", ".join(columns)
    conn.exec_driver_sql(
        f"INSERT INTO {new_name} (scope, {names}) SELECT '', {names} FROM {BINDING_TABLE_NAME}"
    )
    conn.exec_driver_sql(f"DROP TABLE {BINDING_TABLE_NAME}")
    conn.exec_driver_sql(f"ALTER TABLE {new_name} RENAME TO {BINDING_TABLE_NAME}")


def has_table(conn: Connection, name: str) -> bool:
    """Whether one of erpsync's tables exists (readers treat a missing one as empty)."""
    return inspect(conn).has_table(name)
