"""The reference ERP's tables (:data:`METADATA`) and creating them: :func:`create_schema`
checks the shape of tables already there and adds the catalogue permissions they lack.

Also the small helpers the modules that write share: a transaction on an engine or the
caller's connection, the time stamped on rows, and a plain multi-row insert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
    true,
)
from sqlalchemy.exc import SQLAlchemyError

from erpsync.adapters.reference.check import NAME_LENGTH
from erpsync.adapters.reference.messages import _reason
from erpsync.catalogue import REFERENCE_MODULES
from erpsync.errors import DatabaseError
from erpsync.i18n import N_

Bind = Engine | Connection

METADATA = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)


def _stamps() -> list[Column[Any]]:
    """Who created and last changed a row, and when."""
    return [
        Column("created_by", String(64)),
        Column("created_at", DateTime, server_default=func.current_timestamp()),
        Column("updated_by", String(64)),
        Column("updated_at", DateTime, server_default=func.current_timestamp()),
    ]


erp_department = Table(
    "erp_department",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("parent_id", Integer, ForeignKey("erp_department.id"), index=True),
    Column("manager_login", String(64)),
    *_stamps(),
)

erp_user = Table(
    "erp_user",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("email", String(254)),
    Column("department_id", Integer, ForeignKey("erp_department.id"), index=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("password_hash", String(255)),
    # The ERP's login service stamps it (UTC); erpsync reads it for dormant access only
    Column("last_login_at", DateTime),
    *_stamps(),
)

# Columns added after the first release: a database made before them is still read and
# written; create_schema (erpsync refdb init) adds them.
ADDED_COLUMNS: frozenset[tuple[str, str]] = frozenset({("erp_user", "last_login_at")})

erp_role = Table(
    "erp_role",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("description", Text),
    Column("data_scope", String(32)),
    *_stamps(),
)

erp_role_department = Table(
    "erp_role_department",
    METADATA,
    Column("role_id", Integer, ForeignKey("erp_role.id"), primary_key=True),
    Column("department_id", Integer, ForeignKey("erp_department.id"), primary_key=True),
    Index(None, "department_id"),
)

erp_permission = Table(
    "erp_permission",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("module", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("module_name", String(100), nullable=False),
    UniqueConstraint("module", "action"),
)

erp_role_permission = Table(
    "erp_role_permission",
    METADATA,
    Column("role_id", Integer, ForeignKey("erp_role.id"), primary_key=True),
    Column("permission_id", Integer, ForeignKey("erp_permission.id"), primary_key=True),
    Index(None, "permission_id"),
)

erp_user_role = Table(
    "erp_user_role",
    METADATA,
    Column("user_id", Integer, ForeignKey("erp_user.id"), primary_key=True),
    Column("role_id", Integer, ForeignKey("erp_role.id"), primary_key=True),
    Index(None, "role_id"),
)


@dataclass(frozen=True)
class SchemaStatus:
    """What :func:`create_schema` did."""

    created: bool  # False: the tables were already there (and looked right)
    permissions_added: int  # catalogue rows inserted by this call


@contextmanager
def _transaction(bind: Bind) -> Iterator[Connection]:
    """A connection in a transaction: the engine's own, or the caller's (who commits)."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    else:
        yield bind


def create_schema(bind: Bind) -> SchemaStatus:
    """Create the ``erp_`` tables and load the module catalogue from ``REFERENCE_MODULES``.

    Idempotent: existing tables of the right shape are kept and only missing
    catalogue permissions are added. Raises :class:`DatabaseError` when
    ``erp_`` tables exist but look different, or when the database fails.
    """
    with _transaction(bind) as conn:
        try:
            existing = _existing_tables(conn)
            if existing:
                _check_shape(conn, existing)
                _add_columns(conn)
            else:
                METADATA.create_all(conn)
            added = _sync_catalogue(conn)
        except SQLAlchemyError as exc:
            raise DatabaseError(
                N_("could not create the reference ERP schema: {error}").format(error=_reason(exc))
            ) from exc
    return SchemaStatus(created=not existing, permissions_added=added)


def _missing(name: str, present: Mapping[str, Any]) -> list[str]:
    """The columns of table ``name`` a database lacks, but for ADDED_COLUMNS."""
    return [
        c.name
        for c in METADATA.tables[name].columns
        if c.name not in present and (name, c.name) not in ADDED_COLUMNS
    ]


def _add_columns(conn: Connection) -> None:
    """Add the ADDED_COLUMNS a database made before them lacks (all nullable)."""
    for name, column_name in sorted(ADDED_COLUMNS):
        if column_name in {c["name"] for c in inspect(conn).get_columns(name)}:
            continue
        column = METADATA.tables[name].c[column_name]
        kind = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {column_name} {kind}")


def _existing_tables(conn: Connection) -> list[str]:
    present = set(inspect(conn).get_table_names())
    return [name for name in METADATA.tables if name in present]


TABLE_MISSING = N_("{table}: table missing")
MISSING_COLUMNS = N_("{table}: missing columns {columns}")
UNKNOWN_REQUIRED = N_("{table}: unknown required columns {columns}")


def _check_shape(conn: Connection, existing: Sequence[str]) -> None:
    """Refuse tables that erpsync could not read or write as the reference schema."""
    inspector = inspect(conn)
    problems = [
        TABLE_MISSING.format(table=name) for name in METADATA.tables if name not in existing
    ]
    for name in existing:
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        expected = METADATA.tables[name].columns
        missing = [
            c.name
            for c in expected
            if c.name not in columns and (name, c.name) not in ADDED_COLUMNS
        ]
        if missing:
            problems.append(MISSING_COLUMNS.format(table=name, columns=", ".join(missing)))
        blocking = [
            c["name"]
            for c in columns.values()
            if c["name"] not in expected and not c["nullable"] and c.get("default") is None
        ]
        if blocking:
            problems.append(UNKNOWN_REQUIRED.format(table=name, columns=", ".join(blocking)))
    if problems:
        raise DatabaseError(
            N_(
                "the database has erp_ tables that do not match erpsync's reference schema "
                "({problems}); use an empty database or fix the tables"
            ).format(problems="; ".join(problems))
        )


def _sync_catalogue(conn: Connection) -> int:
    """Insert the catalogue permissions the table lacks; returns how many."""
    t = erp_permission
    present = {(module, action) for module, action in conn.execute(select(t.c.module, t.c.action))}
    rows = [
        {"module": module, "action": action, "module_name": name}
        for module, (name, actions) in REFERENCE_MODULES.items()
        for action in actions
        if (module, action) not in present
    ]
    _insert_rows(conn, t, rows)
    return len(rows)


def _utcnow() -> dt.datetime:
    """The time stamped on rows: UTC, naive (the columns are ``DateTime``), whole seconds."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _insert_rows(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:  # an empty parameter list would insert one row of defaults
        conn.execute(insert(table), rows)


def schema_problems(conn: Connection) -> list[str]:
    """Where the database differs from the reference ERP's tables (read-only; for
    ``erpsync doctor``).

    The same demands as :func:`create_schema` makes of tables already there: every
    table and column of the schema present, and no extra column that erpsync's inserts
    would leave without a value.
    """
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    if not present & set(METADATA.tables):
        return [N_("no reference ERP tables (erp_*) in this database")]
    problems = []
    for name, table in METADATA.tables.items():
        if name not in present:
            problems.append(TABLE_MISSING.format(table=name))
            continue
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        missing = [
            c.name
            for c in table.columns
            if c.name not in columns and (name, c.name) not in ADDED_COLUMNS
        ]
        if missing:
            problems.append(MISSING_COLUMNS.format(table=name, columns=", ".join(missing)))
        required = [
            n
            for n, c in columns.items()
            if n not in table.columns and not c["nullable"] and c.get("default") is None
        ]
        if required:
            problems.append(UNKNOWN_REQUIRED.format(table=name, columns=", ".join(required)))
    return problems
