"""The ``reference`` adapter: erpsync's own reference ERP schema, and how to read it.

The reference ERP is a small but realistic identity and access schema for the
demo, the tests, the benchmarks, and in-house ERPs that adopt it. It works on
SQLite and PostgreSQL (no dialect-specific types)::

    erp_department       id, code (the policy key), name, parent_id -> erp_department,
                         manager_login (a login, no foreign key: a department may be
                         created before its manager, as RuoYi's ``leader``)
    erp_user             id, login, name, email, department_id -> erp_department, active,
                         password_hash (the ERP's; erpsync never reads or writes it)
    erp_role             id, code (the policy key), name, description, data_scope
    erp_role_department  role_id, department_id   departments of a custom data scope
    erp_permission       id, module, action, module_name   the module catalogue
    erp_role_permission  role_id, permission_id
    erp_user_role        user_id, role_id

Departments, users and roles carry ``created_by``/``created_at``/
``updated_by``/``updated_at`` as ERPs do.

Reading (:class:`ReferenceAdapter`) issues one flat ``SELECT`` per table and
maps ids to natural keys in Python dictionaries, so the number of queries
never depends on the number of users (see ``performance.md``). Dirty rows
never crash a read: a link row pointing at a missing row is skipped, and a
department or user whose department reference dangles is read without it (so
that a plan updates the row rather than creating a duplicate); either way the
read says so in :attr:`LiveSnapshot.problems`.

Writing a whole state in bulk (:func:`load_state`: one ``executemany`` per
table, per tree level for departments) serves ``erpsync refdb init --sample``
(:func:`init_database`), the benchmarks and the tests; ``erpsync apply`` goes
through the adapter instead.

Writing a plan (:meth:`ReferenceAdapter.write`, :func:`write_changes`) applies
the changes in order inside the caller's transaction, with the semantics of
:func:`erpsync.adapters.memory.apply_changes`. Consecutive changes of one
(kind, action) are one batch, written by one ``executemany`` per statement
shape: department creates per tree level, updates per set of changed columns.
Natural keys become ids through one ``SELECT`` per table, made when a batch
first needs it and made again after an insert into that table; so the number
of statements depends on the shape of the plan, never on its size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from itertools import groupby
from pathlib import Path
from typing import Any, ClassVar

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
    bindparam,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
    true,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from erpsync import livefile
from erpsync.adapters.base import Adapter, Capabilities, LiveSnapshot, Progress
from erpsync.catalogue import REFERENCE_MODULES
from erpsync.config import redact_url
from erpsync.errors import DatabaseError
from erpsync.plan import Action, Change, Kind
from erpsync.state import DepartmentRec, RoleRec, State, UserRec

SAMPLE_ACTOR = "erpsync-sample"
TAKES_EFFECT = (
    "The changes take effect on each user's next request "
    "(the reference ERP reads permissions from the database on every request)."
)
SAMPLE_RESOURCE = "data/sample_live.yaml"
MAX_NAMED = 20  # offenders named in one error message

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
    Column("name", String(200), nullable=False),
    Column("parent_id", Integer, ForeignKey("erp_department.id"), index=True),
    Column("manager_login", String(64)),
    *_stamps(),
)

erp_user = Table(
    "erp_user",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254)),
    Column("department_id", Integer, ForeignKey("erp_department.id"), index=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("password_hash", String(255)),
    *_stamps(),
)

erp_role = Table(
    "erp_role",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
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


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------


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
            else:
                METADATA.create_all(conn)
            added = _sync_catalogue(conn)
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"could not create the reference ERP schema: {_reason(exc)}"
            ) from exc
    return SchemaStatus(created=not existing, permissions_added=added)


def _existing_tables(conn: Connection) -> list[str]:
    present = set(inspect(conn).get_table_names())
    return [name for name in METADATA.tables if name in present]


def _check_shape(conn: Connection, existing: Sequence[str]) -> None:
    """Refuse tables that erpsync could not read or write as the reference schema."""
    inspector = inspect(conn)
    problems = [f"{name}: table missing" for name in METADATA.tables if name not in existing]
    for name in existing:
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        expected = METADATA.tables[name].columns
        missing = [c.name for c in expected if c.name not in columns]
        if missing:
            problems.append(f"{name}: missing columns {', '.join(missing)}")
        blocking = [
            c["name"]
            for c in columns.values()
            if c["name"] not in expected and not c["nullable"] and c.get("default") is None
        ]
        if blocking:
            problems.append(f"{name}: unknown required columns {', '.join(blocking)}")
    if problems:
        raise DatabaseError(
            "the database has erp_ tables that do not match erpsync's reference schema ("
            + "; ".join(problems)
            + "); use an empty database or fix the tables"
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


def read_catalogue(conn: Connection) -> dict[str, tuple[str, ...]]:
    """The stored catalogue: module -> actions, both in permission id order."""
    return _catalogue(_permissions(conn))


def _permissions(
    conn: Connection, names: dict[str, str] | None = None
) -> dict[int, tuple[str, str]]:
    """Permission id -> (module, action), in catalogue order; fills ``names`` (module -> name)."""
    t = erp_permission
    rows = conn.execute(select(t.c.id, t.c.module, t.c.action, t.c.module_name).order_by(t.c.id))
    out = {}
    for pid, module, action, module_name in rows:
        out[pid] = (module, action)
        if names is not None:
            names.setdefault(module, module_name)
    return out


def _catalogue(permissions: Mapping[int, tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    modules: dict[str, list[str]] = {}
    for module, action in permissions.values():
        modules.setdefault(module, []).append(action)
    return {module: tuple(actions) for module, actions in modules.items()}


# --------------------------------------------------------------------------------------------
# Bulk load
# --------------------------------------------------------------------------------------------


def load_state(bind: Bind, state: State, actor: str = SAMPLE_ACTOR) -> None:
    """Write a whole :class:`State` into the reference tables, one ``executemany`` per table.

    With an engine this is one transaction; with a connection the caller
    commits. Every reference is checked first: grants of permissions the
    catalogue lacks, or of unknown roles, departments or users, raise
    :class:`DatabaseError` naming them, and nothing is written.
    """
    with _transaction(bind) as conn:
        try:
            _load(conn, state, actor)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"could not load the state: {_reason(exc)}") from exc


def _load(conn: Connection, state: State, actor: str) -> None:
    permission_ids = {f"{m}:{a}": pid for pid, (m, a) in _permissions(conn).items()}
    _check_state(state, permission_ids)
    now = _utcnow()
    stamp = {"created_by": actor, "created_at": now, "updated_by": actor, "updated_at": now}
    departments = _insert_departments(conn, state.departments, stamp)
    users = _insert_keyed(
        conn,
        erp_user.c.login,
        [
            {
                "login": u.login,
                "name": u.name,
                "email": u.email,
                "department_id": None if u.department is None else departments[u.department],
                "active": u.active,
                **stamp,
            }
            for u in state.users.values()
        ],
    )
    roles = _insert_keyed(
        conn,
        erp_role.c.code,
        [
            {
                "code": r.key,
                "name": r.name,
                "description": r.description,
                "data_scope": r.data_scope,
                **stamp,
            }
            for r in state.roles.values()
        ],
    )
    _insert_links(conn, state, departments, users, roles, permission_ids)


def _insert_links(
    conn: Connection,
    state: State,
    departments: Mapping[str, int],
    users: Mapping[str, int],
    roles: Mapping[str, int],
    permissions: Mapping[str, int],
) -> None:
    scopes = (
        (roles[r.key], departments[d]) for r in state.roles.values() for d in r.data_departments
    )
    _insert_pairs(conn, erp_role_department, scopes)
    grants = ((roles[role], permissions[perm]) for role, perm in state.grants)
    _insert_pairs(conn, erp_role_permission, grants)
    members = ((users[login], roles[role]) for login, role in state.memberships)
    _insert_pairs(conn, erp_user_role, members)


def _insert_pairs(conn: Connection, table: Table, pairs: Iterable[tuple[int, int]]) -> None:
    """Insert a link table's id pairs with one driver-level ``executemany``.

    The rows are sorted by primary key (twice as fast on SQLite as hash order),
    and, being plain integers that need no type processing, are handed to the
    driver as they are: the dialect still compiles the ``insert()``, but
    SQLAlchemy's per-row parameter handling, 1.6 s for 500,000 memberships on
    SQLite, is skipped.
    """
    rows = sorted(pairs)
    if not rows:
        return
    columns = [c.name for c in table.primary_key.columns]
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=columns)
    params: Sequence[Sequence[int]] | Sequence[Mapping[str, int]]
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup or ()]
        params = rows if order == [0, 1] else [tuple(row[i] for i in order) for row in rows]
    else:
        params = [dict(zip(columns, row, strict=True)) for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def _check_state(state: State, permission_ids: Mapping[str, int]) -> None:
    """Raise :class:`DatabaseError` naming every reference the tables could not hold."""
    departments, roles, users = state.departments, state.roles, state.users
    checks = {
        "grants of permissions not in the catalogue": [
            f"{role}/{perm}" for role, perm in state.grants if perm not in permission_ids
        ],
        "grants to unknown roles": [f"{r}/{p}" for r, p in state.grants if r not in roles],
        "memberships of unknown users or roles": [
            f"{login}/{role}"
            for login, role in state.memberships
            if login not in users or role not in roles
        ],
        "users in unknown departments": [
            f"{u.login} ({u.department})"
            for u in users.values()
            if u.department is not None and u.department not in departments
        ],
        "departments with an unknown parent": [
            f"{d.key} ({d.parent})"
            for d in departments.values()
            if d.parent is not None and d.parent not in departments
        ],
        "data-scope departments that are unknown": [
            f"{r.key} ({d})"
            for r in roles.values()
            for d in r.data_departments
            if d not in departments
        ],
    }
    found = [f"{what}: {_named(items)}" for what, items in checks.items() if items]
    if found:
        raise DatabaseError("cannot load the state: " + "; ".join(found))


def _named(items: Iterable[str]) -> str:
    names = sorted(items)
    shown = ", ".join(names[:MAX_NAMED])
    more = len(names) - MAX_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def _insert_departments(
    conn: Connection, departments: Mapping[str, DepartmentRec], stamp: Mapping[str, Any]
) -> dict[str, int]:
    """Insert departments parent-first, one ``executemany`` per tree level; code -> id."""
    ids: dict[str, int] = {}
    pending = dict(departments)
    while pending:
        ready = [d for d in pending.values() if d.parent is None or d.parent in ids]
        if not ready:
            raise DatabaseError(
                f"cannot load the state: department parents form a cycle: {_named(pending)}"
            )
        rows = [
            {
                "code": d.key,
                "name": d.name,
                "parent_id": None if d.parent is None else ids[d.parent],
                "manager_login": d.manager,
                **stamp,
            }
            for d in ready
        ]
        ids = _insert_keyed(conn, erp_department.c.code, rows)
        for d in ready:
            del pending[d.key]
    return ids


def _utcnow() -> dt.datetime:
    """The time stamped on rows: UTC, naive (the columns are ``DateTime``), whole seconds."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _insert_keyed(conn: Connection, key: Column[Any], rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert ``rows`` into ``key``'s table; the table's ids by ``key`` afterwards."""
    table = key.table
    _insert_rows(conn, table, rows)
    return dict(conn.execute(select(key, table.c.id)).all())


def _insert_rows(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:  # an empty parameter list would insert one row of defaults
        conn.execute(insert(table), rows)


# --------------------------------------------------------------------------------------------
# The sample company
# --------------------------------------------------------------------------------------------


def sample_state() -> State:
    """The demo company's as-is live state (``erpsync/data/sample_live.yaml``)."""
    text = resources.files("erpsync").joinpath(SAMPLE_RESOURCE).read_text(encoding="utf-8")
    state, _ = livefile.parse(text)
    return state


def load_sample(bind: Bind) -> State:
    """Load the demo company's live state into an empty reference schema; returns it."""
    state = sample_state()
    load_state(bind, state)
    return state


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class ReferenceAdapter(Adapter):
    """Reads the reference ERP (one flat ``SELECT`` per table, ids mapped in Python) and
    writes plans to it (batched ``executemany``: :func:`write_changes`)."""

    name: ClassVar[str] = "reference"
    capabilities: ClassVar[Capabilities] = Capabilities(
        departments=True,
        department_manager=True,
        email=True,
        data_scope=True,
        custom_data_scope=True,
        role_inheritance=False,
        delete_users=True,
    )
    builtin_users: ClassVar[frozenset[str]] = frozenset({"admin"})
    builtin_roles: ClassVar[frozenset[str]] = frozenset({"admin"})

    def read_from(self, conn: Connection) -> LiveSnapshot:
        return read_snapshot(conn)

    def write(
        self,
        conn: Connection,
        changes: Sequence[Change],
        actor: str,
        progress: Progress | None = None,
    ) -> None:
        write_changes(conn, changes, actor, progress)

    def after_commit(self, changes: Sequence[Change]) -> list[str]:
        """No cache to drop: the reference ERP reads permissions on every request."""
        return [TAKES_EFFECT] if changes else []


def read_snapshot(conn: Connection) -> LiveSnapshot:
    """The live state, catalogue and dirty-data problems, in seven queries."""
    problems: list[str] = []
    department_ids, departments = _read_departments(conn, problems)
    user_ids, users = _read_users(conn, department_ids, problems)
    role_ids, roles = _read_roles(conn, department_ids, problems)
    names: dict[str, str] = {}
    permissions = _permissions(conn, names)
    permission_keys = {pid: f"{m}:{a}" for pid, (m, a) in permissions.items()}
    rp = erp_role_permission
    grants = _links(
        conn.execute(select(rp.c.role_id, rp.c.permission_id)),
        rp.name,
        ("role_id", "role", role_ids),
        ("permission_id", "permission", permission_keys),
        problems,
    )
    ur = erp_user_role
    memberships = _links(
        conn.execute(select(ur.c.user_id, ur.c.role_id)),
        ur.name,
        ("user_id", "user", user_ids),
        ("role_id", "role", role_ids),
        problems,
    )
    state = State(departments, users, roles, frozenset(grants), frozenset(memberships))
    return LiveSnapshot(state, _catalogue(permissions), tuple(sorted(problems)), names)


def _read_departments(
    conn: Connection, problems: list[str]
) -> tuple[dict[int, str], dict[str, DepartmentRec]]:
    t = erp_department
    rows = conn.execute(select(t.c.id, t.c.code, t.c.name, t.c.parent_id, t.c.manager_login)).all()
    ids = {row.id: row.code for row in rows}
    records = {}
    for row in rows:
        parent = _follow(ids, row.parent_id, problems, t.name, row.id, row.code)
        records[row.code] = DepartmentRec(row.code, row.name, parent, row.manager_login)
    return ids, records


def _read_users(
    conn: Connection, department_ids: Mapping[int, str], problems: list[str]
) -> tuple[dict[int, str], dict[str, UserRec]]:
    t = erp_user
    rows = conn.execute(
        select(t.c.id, t.c.login, t.c.name, t.c.email, t.c.department_id, t.c.active)
    )
    ids, records = {}, {}
    for uid, login, name, email, department_id, active in rows:
        ids[uid] = login
        department = _follow(department_ids, department_id, problems, t.name, uid, login)
        records[login] = UserRec(login, name, email, department, bool(active))
    return ids, records


def _read_roles(
    conn: Connection, department_ids: Mapping[int, str], problems: list[str]
) -> tuple[dict[int, str], dict[str, RoleRec]]:
    t, rd = erp_role, erp_role_department
    rows = conn.execute(select(t.c.id, t.c.code, t.c.name, t.c.description, t.c.data_scope)).all()
    ids = {row.id: row.code for row in rows}
    scoped = _links(
        conn.execute(select(rd.c.role_id, rd.c.department_id)),
        rd.name,
        ("role_id", "role", ids),
        ("department_id", "department", department_ids),
        problems,
    )
    scopes: dict[str, list[str]] = {}
    for role, department in scoped:
        scopes.setdefault(role, []).append(department)
    records = {
        row.code: RoleRec(
            row.code,
            row.name,
            row.description,
            row.data_scope,
            tuple(sorted(scopes.get(row.code, ()))),
        )
        for row in rows
    }
    return ids, records


def _follow(
    department_ids: Mapping[int, str],
    department_id: int | None,
    problems: list[str],
    table: str,
    row_id: int,
    key: str,
) -> str | None:
    """The department a row points at; a dangling reference is reported and read as none."""
    if department_id is None:
        return None
    found = department_ids.get(department_id)
    if found is None:
        problems.append(
            f"{table}: row (id={row_id}, {key!r}) points at missing department "
            f"{department_id}; read as no department"
        )
    return found


LinkSide = tuple[str, str, Mapping[int, str]]  # column, kind of row it points at, id -> key


def _links(
    rows: Iterable[tuple[int, int]],
    table: str,
    left: LinkSide,
    right: LinkSide,
    problems: list[str],
) -> list[tuple[str, str]]:
    """Map a link table's id pairs to key pairs, skipping (and reporting) dangling rows."""
    left_ids, right_ids = left[2], right[2]
    out = []
    for a, b in rows:
        left_key, right_key = left_ids.get(a), right_ids.get(b)
        if left_key is not None and right_key is not None:
            out.append((left_key, right_key))
        else:
            problems.append(_dangling(table, left, right, a, b))
    return out


def _dangling(table: str, left: LinkSide, right: LinkSide, a: int, b: int) -> str:
    missing = [
        f"missing {kind} {value}"
        for (_, kind, ids), value in ((left, a), (right, b))
        if value not in ids
    ]
    return (
        f"{table}: row ({left[0]}={a}, {right[0]}={b}) points at {' and '.join(missing)}; skipped"
    )


# --------------------------------------------------------------------------------------------
# Writing a plan
# --------------------------------------------------------------------------------------------

# Tables and key columns of the objects a plan creates, updates and deletes.
_OBJECTS: dict[Kind, tuple[Table, str]] = {
    Kind.DEPARTMENT: (erp_department, "code"),
    Kind.USER: (erp_user, "login"),
    Kind.ROLE: (erp_role, "code"),
}

# attribute -> (column, table whose natural key the value is, resolved to an id), or None
# for an attribute stored in a table of its own (a role's data departments).
_FIELDS: dict[Kind, dict[str, tuple[str, Table | None] | None]] = {
    Kind.DEPARTMENT: {
        "name": ("name", None),
        "parent": ("parent_id", erp_department),
        "manager": ("manager_login", None),
    },
    Kind.USER: {
        "name": ("name", None),
        "email": ("email", None),
        "department": ("department_id", erp_department),
        "active": ("active", None),
    },
    Kind.ROLE: {
        "name": ("name", None),
        "description": ("description", None),
        "data_scope": ("data_scope", None),
        "data_departments": None,
    },
}

# What an attribute missing from a create's ``after`` means (as memory.apply_changes).
_CREATE_DEFAULTS: dict[Kind, dict[str, Any]] = {Kind.USER: {"active": True}}


@dataclass(frozen=True)
class _Link:
    """A link table a grant or revoke writes: its two columns and the tables they key."""

    table: Table
    owner: tuple[str, Table]  # the part of the change key before "/"
    item: tuple[str, Table]  # the part after it


_LINKS: dict[Kind, _Link] = {
    Kind.PERMISSION: _Link(
        erp_role_permission, ("role_id", erp_role), ("permission_id", erp_permission)
    ),
    Kind.MEMBERSHIP: _Link(erp_user_role, ("user_id", erp_user), ("role_id", erp_role)),
}


def _key_ids(column: Column[Any]) -> Callable[[Connection], dict[str, int]]:
    def load(conn: Connection) -> dict[str, int]:
        return dict(conn.execute(select(column, column.table.c.id)).all())

    return load


def _permission_ids(conn: Connection) -> dict[str, int]:
    return {f"{module}:{action}": pid for pid, (module, action) in _permissions(conn).items()}


# table name -> (what its rows are called, how to read natural key -> id)
_ID_SOURCES: dict[str, tuple[str, Callable[[Connection], dict[str, int]]]] = {
    erp_department.name: ("department", _key_ids(erp_department.c.code)),
    erp_user.name: ("user", _key_ids(erp_user.c.login)),
    erp_role.name: ("role", _key_ids(erp_role.c.code)),
    erp_permission.name: ("permission", _permission_ids),
}


class _Writer:
    """One write: the caller's connection, the stamps, and natural key -> id maps.

    A map is read (one ``SELECT``) when a batch first needs it, and read again
    after rows were inserted into its table, when a later batch needs it.
    """

    def __init__(self, conn: Connection, actor: str) -> None:
        self.conn = conn
        now = _utcnow()
        self.updated: dict[str, Any] = {"updated_by": actor, "updated_at": now}
        self.created: dict[str, Any] = {"created_by": actor, "created_at": now, **self.updated}
        self._ids: dict[str, dict[str, int]] = {}

    def id(self, table: Table, key: str, change: Change) -> int:
        """The id of the row of ``table`` whose natural key is ``key``."""
        what, load = _ID_SOURCES[table.name]
        ids = self._ids.get(table.name)
        if ids is None:
            ids = self._ids[table.name] = load(self.conn)
        found = ids.get(key)
        if found is None:
            raise DatabaseError(f"cannot {_label(change)}: the ERP has no {what} {key!r}")
        return found

    def resolve(self, target: Table | None, value: Any, change: Change) -> Any:
        """``value``, or the id of the ``target`` row it names."""
        return value if target is None or value is None else self.id(target, value, change)

    def columns(self, change: Change, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """The column values of ``attributes`` (references resolved to ids)."""
        fields = _FIELDS[change.kind]
        out: dict[str, Any] = {}
        for name, value in attributes.items():
            if name not in fields:
                raise DatabaseError(f"cannot {_label(change)}: unknown attribute {name!r}")
            field = fields[name]
            if field is None:
                continue  # stored in a table of its own
            column, target = field
            out[column] = self.resolve(target, value, change)
        return out

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:  # an empty parameter list would insert one row of defaults
            self.conn.execute(insert(table), rows)
            self._ids.pop(table.name, None)

    def update(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Update rows by ``row_id``; one ``executemany`` per set of columns set."""
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            shapes.setdefault(tuple(sorted(row)), []).append(row)
        statement = update(table).where(table.c.id == bindparam("row_id"))
        for same in shapes.values():
            self.conn.execute(statement, same)

    def delete(self, column: Column[Any], ids: list[int]) -> None:
        if ids:
            statement = delete(column.table).where(column == bindparam("row_id"))
            self.conn.execute(statement, [{"row_id": i} for i in ids])


Batch = list[Change]


def _create(w: _Writer, batch: Batch) -> None:
    kind = batch[0].kind
    table, key = _OBJECTS[kind]
    defaults: dict[str, Any] = {**dict.fromkeys(_FIELDS[kind]), **_CREATE_DEFAULTS.get(kind, {})}
    w.insert(
        table,
        [{key: c.key, **w.columns(c, {**defaults, **(c.after or {})}), **w.created} for c in batch],
    )


def _create_departments(w: _Writer, batch: Batch) -> None:
    """Create departments a tree level at a time, so each level's parents have ids."""
    pending = {c.key: c for c in batch}
    while pending:
        level = [c for c in pending.values() if (c.after or {}).get("parent") not in pending]
        if not level:
            raise DatabaseError(
                f"cannot create departments {_named(pending)}: their parents form a cycle"
            )
        _create(w, level)
        for c in level:
            del pending[c.key]


def _create_roles(w: _Writer, batch: Batch) -> None:
    _create(w, batch)
    _insert_scopes(w, batch)


def _update(w: _Writer, batch: Batch) -> None:
    table, _ = _OBJECTS[batch[0].kind]
    w.update(
        table,
        [
            {"row_id": w.id(table, c.key, c), **w.columns(c, c.after or {}), **w.updated}
            for c in batch
        ],
    )


def _update_roles(w: _Writer, batch: Batch) -> None:
    """Update roles; a changed ``data_departments`` replaces the role's scope rows."""
    _update(w, batch)
    rescoped = [c for c in batch if "data_departments" in (c.after or {})]
    w.delete(erp_role_department.c.role_id, [w.id(erp_role, c.key, c) for c in rescoped])
    _insert_scopes(w, rescoped)


def _insert_scopes(w: _Writer, batch: Batch) -> None:
    rows = sorted(
        (w.id(erp_role, c.key, c), w.id(erp_department, department, c))
        for c in batch
        for department in dict.fromkeys((c.after or {}).get("data_departments") or ())
    )
    w.insert(erp_role_department, [{"role_id": r, "department_id": d} for r, d in rows])


def _delete(w: _Writer, batch: Batch) -> None:
    table, _ = _OBJECTS[batch[0].kind]
    w.delete(table.c.id, [w.id(table, c.key, c) for c in batch])


def _delete_roles(w: _Writer, batch: Batch) -> None:
    """Delete roles and their scope rows (their grants and holders were revoked before)."""
    ids = [w.id(erp_role, c.key, c) for c in batch]
    w.delete(erp_role_department.c.role_id, ids)
    w.delete(erp_role.c.id, ids)


def _set_active(active: bool) -> Callable[[_Writer, Batch], None]:
    def run(w: _Writer, batch: Batch) -> None:
        rows = [{"row_id": w.id(erp_user, c.key, c), "active": active, **w.updated} for c in batch]
        w.update(erp_user, rows)

    return run


def _link_ids(w: _Writer, batch: Batch) -> tuple[_Link, list[tuple[int, int]]]:
    link = _LINKS[batch[0].kind]
    pairs = []
    for c in batch:
        owner, item = c.parts()
        pairs.append((w.id(link.owner[1], owner, c), w.id(link.item[1], item, c)))
    return link, sorted(pairs)  # primary key order: faster to write


def _grant(w: _Writer, batch: Batch) -> None:
    link, pairs = _link_ids(w, batch)
    names = (link.owner[0], link.item[0])
    w.insert(link.table, [dict(zip(names, pair, strict=True)) for pair in pairs])


def _revoke(w: _Writer, batch: Batch) -> None:
    link, pairs = _link_ids(w, batch)
    t = link.table
    statement = delete(t).where(
        t.c[link.owner[0]] == bindparam("b_owner"), t.c[link.item[0]] == bindparam("b_item")
    )
    w.conn.execute(statement, [{"b_owner": a, "b_item": b} for a, b in pairs])


_WRITERS: dict[tuple[Kind, Action], Callable[[_Writer, Batch], None]] = {
    (Kind.DEPARTMENT, Action.CREATE): _create_departments,
    (Kind.DEPARTMENT, Action.UPDATE): _update,
    (Kind.DEPARTMENT, Action.DELETE): _delete,
    (Kind.ROLE, Action.CREATE): _create_roles,
    (Kind.ROLE, Action.UPDATE): _update_roles,
    (Kind.ROLE, Action.DELETE): _delete_roles,
    (Kind.USER, Action.CREATE): _create,
    (Kind.USER, Action.UPDATE): _update,
    (Kind.USER, Action.DELETE): _delete,
    (Kind.USER, Action.DEACTIVATE): _set_active(False),
    (Kind.USER, Action.REACTIVATE): _set_active(True),
    (Kind.PERMISSION, Action.GRANT): _grant,
    (Kind.PERMISSION, Action.REVOKE): _revoke,
    (Kind.MEMBERSHIP, Action.GRANT): _grant,
    (Kind.MEMBERSHIP, Action.REVOKE): _revoke,
}


def write_changes(
    conn: Connection, changes: Iterable[Change], actor: str, progress: Progress | None = None
) -> None:
    """Apply ``changes`` in order through ``conn``, inside the caller's transaction.

    Each run of consecutive changes of one (kind, action) is one batch. New
    rows get ``created_by``/``created_at``, new and changed rows
    ``updated_by``/``updated_at`` (``actor``, now); ``password_hash`` is never
    written. Raises :class:`DatabaseError` naming the change (or the batch)
    that failed; the caller rolls back.
    """
    writer = _Writer(conn, actor)
    for (kind, action), run in groupby(changes, key=lambda c: (c.kind, c.action)):
        batch = list(run)
        handler = _WRITERS.get((kind, action))
        if handler is None:
            raise DatabaseError(
                f"cannot {_label(batch[0])}: the reference ERP cannot {action} {kind}s"
            )
        try:
            handler(writer, batch)
        except SQLAlchemyError as exc:
            message = f"{_described(batch)} failed: {_reason(exc)}"
            raise DatabaseError(_scrub(message, conn.engine.url)) from None
        if progress is not None:
            progress(len(batch))


def _label(change: Change) -> str:
    return f"{change.action} {change.kind} {change.key}"


def _described(batch: Batch) -> str:
    """The change, or the batch of changes, that one failed statement wrote."""
    if len(batch) == 1:
        return _label(batch[0])
    first = batch[0]
    return f"{len(batch)} {first.action} {first.kind} changes ({first.key} … {batch[-1].key})"


# --------------------------------------------------------------------------------------------
# `erpsync refdb init`
# --------------------------------------------------------------------------------------------


def init_database(url: str, sample: bool) -> str:
    """Create the reference schema and catalogue at ``url`` (and the sample company).

    Returns a one-paragraph summary. Every failure is a :class:`DatabaseError`
    whose message shows the URL with its password redacted.
    """
    shown = redact_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseError(f"not a database URL: {shown}") from None
    _make_sqlite_directory(parsed, shown)
    try:
        engine = create_engine(parsed)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseError(f"cannot use {shown}: {_scrub(str(exc), parsed)}") from None
    try:
        status = create_schema(engine)
        loaded = _load_sample_into_empty(engine, shown) if sample else None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"{shown}: {_scrub(_reason(exc), parsed)}") from None
    except DatabaseError as exc:
        message = str(exc)
        prefix = "" if message.startswith(shown) else f"{shown}: "
        raise DatabaseError(prefix + _scrub(message, parsed)) from None
    finally:
        engine.dispose()
    return _summary(shown, status, loaded)


def _make_sqlite_directory(url: URL, shown: str) -> None:
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):  # a URI filename: leave it to SQLite
        return
    try:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the directory for {shown}: {exc.strerror}") from None


def _load_sample_into_empty(engine: Engine, shown: str) -> State:
    with engine.connect() as conn:
        held = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (erp_department, erp_user, erp_role)
        }
    if any(held.values()):
        counts = ", ".join(f"{n} rows in {name}" for name, n in held.items() if n)
        raise DatabaseError(
            f"{shown} already holds data ({counts}); --sample needs an empty reference ERP"
        )
    return load_sample(engine)


def _summary(shown: str, status: SchemaStatus, loaded: State | None) -> str:
    catalogue = sum(len(actions) for _, actions in REFERENCE_MODULES.values())
    if status.created:
        text = (
            f"Created the reference ERP schema ({len(METADATA.tables)} erp_ tables) at {shown} "
            f"with its catalogue of {len(REFERENCE_MODULES)} modules and {catalogue} permissions."
        )
    else:
        text = (
            f"The reference ERP schema was already present at {shown}; "
            f"added {status.permissions_added} missing catalogue permissions."
        )
    if loaded is None:
        return text + " No sample data was loaded (--sample loads the demo company)."
    s = loaded
    active = sum(1 for u in s.users.values() if u.active)
    return text + (
        f" Loaded the demo company's live state: {len(s.departments)} departments, "
        f"{len(s.users)} users ({active} active), {len(s.roles)} roles, "
        f"{len(s.grants)} role permissions and {len(s.memberships)} memberships."
    )


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's message on one line, without the SQL statement and its parameters."""
    orig = getattr(exc, "orig", None)
    lines = [line.strip() for line in str(orig if orig is not None else exc).splitlines()]
    return " ".join(line for line in lines if line) or type(exc).__name__


def _scrub(text: str, url: URL) -> str:
    """``text`` with the URL's password, should a driver echo it, replaced by ``***``."""
    password = url.password
    return text.replace(str(password), "***") if password else text
