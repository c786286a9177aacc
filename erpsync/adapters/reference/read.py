"""Reading the reference ERP: the live state (:func:`read_snapshot`) and the module
catalogue (:func:`read_catalogue`), one flat ``SELECT`` per table, ids mapped to natural
keys in Python; dirty rows are reported, never fatal.

The same ``SELECT`` of departments, users and roles also reads who last changed each
row and when (``updated_by``/``updated_at``, stored as UTC without a zone) into
:attr:`LiveSnapshot.attribution`, for drift. ``password_hash`` is never read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from itertools import groupby
from operator import itemgetter
from typing import cast

from sqlalchemy import ColumnElement, Connection, String, Table, select, type_coerce

from erpsync.adapters.base import Attribution, LiveSnapshot
from erpsync.adapters.reference.schema import (
    erp_department,
    erp_permission,
    erp_role,
    erp_role_department,
    erp_role_permission,
    erp_user,
    erp_user_role,
)
from erpsync.i18n import N_
from erpsync.state import DepartmentRec, RoleRec, State, UserRec


def read_snapshot(conn: Connection) -> LiveSnapshot:
    """The live state, catalogue and dirty-data problems, in seven queries."""
    problems: list[str] = []
    stamps = _Stamps(problems)
    department_ids, departments = _read_departments(conn, problems, stamps)
    user_ids, users = _read_users(conn, department_ids, problems, stamps)
    role_ids, roles = _read_roles(conn, department_ids, problems, stamps)
    names: dict[str, str] = {}
    permissions = _permissions(conn, names)
    permission_keys = {pid: f"{m}:{a}" for pid, (m, a) in permissions.items()}
    rp = erp_role_permission
    grants = _links(
        conn.execute(select(rp.c.role_id, rp.c.permission_id)).all(),
        rp.name,
        ("role_id", "role", role_ids),
        ("permission_id", "permission", permission_keys),
        problems,
    )
    user_roles = _user_roles(conn, user_ids, role_ids, problems)
    state = State(departments, users, roles, frozenset(grants), user_roles)
    catalogue = _catalogue(permissions)
    return LiveSnapshot(state, catalogue, tuple(sorted(problems)), names, stamps.found)


class _Stamps:
    """Collects (kind, key) -> :class:`Attribution`; rows sharing a stamp (a bulk load, one
    apply) share one object, so a large ERP costs one parse per distinct stamp."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.found: dict[tuple[str, str], Attribution] = {}
        self._made: dict[tuple[str | None, object], Attribution] = {}

    def add(self, kind: str, key: str, by: str | None, at: object, table: str) -> None:
        if by is None and at is None:
            return  # the ERP recorded nothing for this row
        made = self._made.get((by, at))
        if made is None:
            made = self._made[(by, at)] = Attribution(by, self._when(at, table, key))
        self.found[(kind, key)] = made

    def _when(self, at: object, table: str, key: str) -> dt.datetime | None:
        """``updated_at`` as an aware UTC time: a datetime (PostgreSQL) or ISO text
        (SQLite); text that is not a time is reported and read as not recorded."""
        if at is None:
            return None
        try:
            when = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
        except ValueError:
            self.problems.append(_UNREADABLE[table].format(key=repr(key), value=repr(at)))
            return None
        if when.tzinfo is None:
            return when.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC)


def _updated_at(table: Table) -> ColumnElement[str]:
    """``updated_at`` as its raw value: SQLite's text is parsed here, so a hand-written
    value in another format is a reported problem, not a failed read."""
    return type_coerce(table.c.updated_at, String).label("updated_at")


def _read_departments(
    conn: Connection, problems: list[str], stamps: _Stamps
) -> tuple[dict[int, str], dict[str, DepartmentRec]]:
    t = erp_department
    rows = conn.execute(
        select(
            t.c.id,
            t.c.code,
            t.c.name,
            t.c.parent_id,
            t.c.manager_login,
            t.c.updated_by,
            _updated_at(t),
        )
    ).all()
    ids = {row.id: row.code for row in rows}
    records = {}
    for row in rows:
        parent = _follow(ids, row.parent_id, problems, t.name, row.id, row.code)
        records[row.code] = DepartmentRec(row.code, row.name, parent, row.manager_login)
        stamps.add("department", row.code, row.updated_by, row.updated_at, t.name)
    return ids, records


def _read_users(
    conn: Connection, department_ids: Mapping[int, str], problems: list[str], stamps: _Stamps
) -> tuple[dict[int, str], dict[str, UserRec]]:
    t = erp_user
    rows = conn.execute(
        select(
            t.c.id,
            t.c.login,
            t.c.name,
            t.c.email,
            t.c.department_id,
            t.c.active,
            t.c.updated_by,
            _updated_at(t),
        )
    ).all()
    ids, records = {}, {}
    department_of = department_ids.get
    for uid, login, name, email, department_id, active, updated_by, updated_at in rows:
        ids[uid] = login
        department = department_of(department_id)  # the common case, without a call
        if department is None and department_id is not None:
            _follow(department_ids, department_id, problems, t.name, uid, login)
        records[login] = UserRec(login, name, email, department, bool(active))
        stamps.add("user", login, updated_by, updated_at, t.name)
    return ids, records


def _read_roles(
    conn: Connection, department_ids: Mapping[int, str], problems: list[str], stamps: _Stamps
) -> tuple[dict[int, str], dict[str, RoleRec]]:
    t, rd = erp_role, erp_role_department
    rows = conn.execute(
        select(
            t.c.id,
            t.c.code,
            t.c.name,
            t.c.description,
            t.c.data_scope,
            t.c.updated_by,
            _updated_at(t),
        )
    ).all()
    for row in rows:
        stamps.add("role", row.code, row.updated_by, row.updated_at, t.name)
    ids = {row.id: row.code for row in rows}
    scoped = _links(
        conn.execute(select(rd.c.role_id, rd.c.department_id)).all(),
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


def _user_roles(
    conn: Connection,
    user_ids: Mapping[int, str],
    role_ids: Mapping[int, str],
    problems: list[str],
) -> dict[str, frozenset[str]]:
    """login -> its roles, from ``erp_user_role`` read in user order and grouped as it
    comes; rows pointing at a missing user or role are reported and skipped."""
    ur = erp_user_role
    rows = conn.execute(select(ur.c.user_id, ur.c.role_id).order_by(ur.c.user_id)).all()
    role_key, second = role_ids.get, itemgetter(1)
    out: dict[str, frozenset[str]] = {}
    for user_id, group in groupby(rows, itemgetter(0)):
        ids = list(map(second, group))
        found = frozenset(map(role_key, ids))
        login = user_ids.get(user_id)
        if login is None or None in found:  # dirty rows: the rare, slow path
            left = ("user_id", "user", user_ids)
            right = ("role_id", "role", role_ids)
            pairs = _links([(user_id, i) for i in ids], ur.name, left, right, problems)
            found = frozenset(role for _, role in pairs)
        if login is not None and found:  # a missing user's rows were all dropped above
            out[login] = cast(frozenset[str], found)
    return out


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
            _NO_DEPARTMENT[table].format(id=row_id, key=repr(key), department=department_id)
        )
    return found


LinkSide = tuple[str, str, Mapping[int, str]]  # column, kind of row it points at, id -> key


def _links(
    rows: Sequence[tuple[int, int]],
    table: str,
    left: LinkSide,
    right: LinkSide,
    problems: list[str],
) -> list[tuple[str, str]]:
    """Map a link table's id pairs to key pairs, skipping (and reporting) dangling rows."""
    left_key, right_key = left[2].get, right[2].get
    pairs = [(left_key(a), right_key(b)) for a, b in rows]  # one pass, no branches
    if all(map(all, pairs)):  # keys are non-empty strings: a falsy one is a missing id
        return cast(list[tuple[str, str]], pairs)
    out = []
    for (a, b), (left_found, right_found) in zip(rows, pairs, strict=True):
        if left_found is not None and right_found is not None:
            out.append((left_found, right_found))
        else:
            problems.append(_dangling(table, left, right, a, b))
    return out


def _dangling(table: str, left: LinkSide, right: LinkSide, a: int, b: int) -> str:
    missing = [
        _MISSING[kind].format(id=value)
        for (_column, kind, ids), value in ((left, a), (right, b))
        if value not in ids
    ]
    one, both = _DANGLING[table]
    row = {"left": left[0], "a": a, "right": right[0], "b": b}
    if len(missing) == 1:
        return one.format(**row, detail=missing[0])
    return both.format(**row, detail=missing[0], cause=missing[1])


# The problems a read reports, one template per table (a template that began with the
# table's name as a placeholder would also match a message that quotes the problem)
_UNREADABLE = {
    "erp_department": N_("erp_department: row {key} has an unreadable updated_at {value}"),
    "erp_user": N_("erp_user: row {key} has an unreadable updated_at {value}"),
    "erp_role": N_("erp_role: row {key} has an unreadable updated_at {value}"),
}
_NO_DEPARTMENT = {
    "erp_department": N_(
        "erp_department: row (id={id}, {key}) points at missing department "
        "{department}; read as no department"
    ),
    "erp_user": N_(
        "erp_user: row (id={id}, {key}) points at missing department "
        "{department}; read as no department"
    ),
}
# What a link row points at that is not there (said with the problem it is part of)
_MISSING = {
    "user": N_("missing user {id}"),
    "role": N_("missing role {id}"),
    "department": N_("missing department {id}"),
    "permission": N_("missing permission {id}"),
}
_DANGLING = {
    "erp_user_role": (
        N_("erp_user_role: row ({left}={a}, {right}={b}) points at {detail}; skipped"),
        N_("erp_user_role: row ({left}={a}, {right}={b}) points at {detail} and {cause}; skipped"),
    ),
    "erp_role_permission": (
        N_("erp_role_permission: row ({left}={a}, {right}={b}) points at {detail}; skipped"),
        N_(
            "erp_role_permission: row ({left}={a}, {right}={b}) points at {detail} and "
            "{cause}; skipped"
        ),
    ),
    "erp_role_department": (
        N_("erp_role_department: row ({left}={a}, {right}={b}) points at {detail}; skipped"),
        N_(
            "erp_role_department: row ({left}={a}, {right}={b}) points at {detail} and "
            "{cause}; skipped"
        ),
    ),
}


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
