"""Writing a whole :class:`State` into the reference tables in bulk (:func:`load_state`),
and the demo company's as-is live state (:func:`sample_state`, :func:`load_sample`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from erpsync import livefile
from erpsync.adapters.reference.messages import _named, _reason
from erpsync.adapters.reference.read import _permissions
from erpsync.adapters.reference.schema import (
    Bind,
    _insert_rows,
    _transaction,
    _utcnow,
    erp_department,
    erp_role,
    erp_role_department,
    erp_role_permission,
    erp_user,
    erp_user_role,
)
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.state import DepartmentRec, State
from erpsync.yamlsafe import loads

SAMPLE_ACTOR = "erpsync-sample"
SAMPLE_RESOURCE = "data/sample_live.yaml"
SAMPLE_LOGINS = "data/sample_logins.yaml"


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
            raise DatabaseError(
                N_("could not load the state: {error}").format(error=_reason(exc))
            ) from exc


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
        raise DatabaseError(
            N_("cannot load the state: {problems}").format(problems="; ".join(found))
        )


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
                N_("cannot load the state: department parents form a cycle: {keys}").format(
                    keys=_named(pending)
                )
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


def _insert_keyed(conn: Connection, key: Column[Any], rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert ``rows`` into ``key``'s table; the table's ids by ``key`` afterwards."""
    table = key.table
    _insert_rows(conn, table, rows)
    return dict(conn.execute(select(key, table.c.id)).all())


# --------------------------------------------------------------------------------------------
# The sample company
# --------------------------------------------------------------------------------------------


def sample_state() -> State:
    """The demo company's as-is live state (``erpsync/data/sample_live.yaml``)."""
    text = resources.files("erpsync").joinpath(SAMPLE_RESOURCE).read_text(encoding="utf-8")
    state, _ = livefile.parse(text)
    return state


def load_sample(bind: Bind) -> State:
    """Load the demo company's live state into an empty reference schema, with when its
    users last signed in (``data/sample_logins.yaml``); returns it."""
    state = sample_state()
    with _transaction(bind) as conn:
        load_state(conn, state)
        _stamp_logins(conn, sample_logins(sorted(state.users), _utcnow()))
    return state


def sample_logins(logins: Sequence[str], now: dt.datetime) -> dict[str, dt.datetime | None]:
    """The sample's last sign-ins: as ``data/sample_logins.yaml`` says, days before
    ``now`` (by the calendar, in UTC: a sign-in between 08:00 and 16:59 that day, so a
    report run at any hour counts the same days); the users it does not list, 1 to 14
    days before."""
    text = resources.files("erpsync").joinpath(SAMPLE_LOGINS).read_text(encoding="utf-8")
    listed: Mapping[str, int | None] = loads(text) or {}
    out: dict[str, dt.datetime | None] = {}
    for index, login in enumerate(logins):
        days = listed[login] if login in listed else index % 14 + 1
        if days is None:
            out[login] = None
            continue
        day = (now - dt.timedelta(days=days)).date()
        out[login] = dt.datetime.combine(day, dt.time(8 + index % 9, 7 * index % 60), now.tzinfo)
    return out


def _stamp_logins(conn: Connection, last: Mapping[str, dt.datetime | None]) -> None:
    t = erp_user
    rows = [{"who": login, "at": at} for login, at in last.items() if at is not None]
    if rows:
        conn.execute(
            update(t).where(t.c.login == bindparam("who")).values(last_login_at=bindparam("at")),
            rows,
        )
