"""An ERP that lives in memory: the official fake of the database boundary.

It holds a :class:`LiveSnapshot` and applies changes to it with the same
semantics a database adapter must have, so the pure pipeline (state, diff,
plan, views) is tested fast and without a server. It is not a substitute for
the database adapters' own tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, ClassVar

from sqlalchemy import Connection

from erpsync.adapters.base import Adapter, Capabilities, LiveSnapshot
from erpsync.plan import Action, Change, Kind
from erpsync.state import (
    ASSIGNMENTS,
    DepartmentRec,
    RoleRec,
    State,
    UserRec,
    by_user,
    replace_record,
)


class MemoryAdapter(Adapter):
    name = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities(user_assignments=frozenset(ASSIGNMENTS))

    def __init__(self, snapshot: LiveSnapshot) -> None:
        self.snapshot = snapshot

    def read(self) -> LiveSnapshot:
        return self.snapshot

    def read_from(self, conn: Connection) -> LiveSnapshot:
        return self.snapshot

    def apply(self, changes: Iterable[Change]) -> None:
        """Apply ``changes`` to the held state (the in-memory stand-in for a transaction)."""
        self.snapshot = replace(self.snapshot, state=apply_changes(self.snapshot.state, changes))


class _Working:
    """Mutable copies of a State's parts while changes are applied."""

    def __init__(self, state: State) -> None:
        self.load(state)

    def load(self, state: State) -> None:
        self.departments = dict(state.departments)
        self.users = dict(state.users)
        self.roles = dict(state.roles)
        self.grants = set(state.grants)
        self.memberships = set(state.memberships)

    def freeze(self) -> State:
        return State(
            self.departments,
            self.users,
            self.roles,
            frozenset(self.grants),
            by_user(self.memberships),
        )


def _record(kind: Kind, key: str, after: dict[str, Any]) -> DepartmentRec | RoleRec | UserRec:
    if kind is Kind.DEPARTMENT:
        return DepartmentRec(key, after["name"], after.get("parent"), after.get("manager"))
    if kind is Kind.ROLE:
        scope_depts = tuple(after.get("data_departments") or ())
        return RoleRec(
            key, after["name"], after.get("description"), after.get("data_scope"), scope_depts
        )
    return UserRec(
        key,
        after["name"],
        after.get("email"),
        after.get("department"),
        after.get("active", True),
        *(tuple(v) if (v := after.get(name)) is not None else None for name in ASSIGNMENTS),
    )


def _table(w: _Working, kind: Kind) -> dict[str, Any]:
    tables: dict[Kind, dict[str, Any]] = {
        Kind.DEPARTMENT: w.departments,
        Kind.ROLE: w.roles,
        Kind.USER: w.users,
    }
    return tables[kind]


def _create(w: _Working, c: Change) -> None:
    _table(w, c.kind)[c.key] = _record(c.kind, c.key, c.after or {})


def _update(w: _Working, c: Change) -> None:
    old = c.renamed_from
    if old is not None:  # the same record under its new key, references included
        w.load(w.freeze().renamed({str(c.kind): {old: c.key}}))
    table = _table(w, c.kind)
    after = {
        k: tuple(v) if isinstance(v, list) else v for k, v in (c.after or {}).items() if k != "key"
    }
    table[c.key] = replace_record(table[c.key], **after)


def _delete(w: _Working, c: Change) -> None:
    del _table(w, c.kind)[c.key]


def _set_active(active: bool) -> Callable[[_Working, Change], None]:
    def run(w: _Working, c: Change) -> None:
        w.users[c.key] = replace(w.users[c.key], active=active)

    return run


def _pair(c: Change) -> tuple[str, str]:
    return c.parts()


HANDLERS: dict[tuple[Kind, Action], Callable[[_Working, Change], None]] = {
    **{(k, Action.CREATE): _create for k in (Kind.DEPARTMENT, Kind.ROLE, Kind.USER)},
    **{(k, Action.UPDATE): _update for k in (Kind.DEPARTMENT, Kind.ROLE, Kind.USER)},
    **{(k, Action.DELETE): _delete for k in (Kind.DEPARTMENT, Kind.ROLE, Kind.USER)},
    (Kind.USER, Action.DEACTIVATE): _set_active(False),
    (Kind.USER, Action.REACTIVATE): _set_active(True),
    (Kind.PERMISSION, Action.GRANT): lambda w, c: w.grants.add(_pair(c)),
    (Kind.PERMISSION, Action.REVOKE): lambda w, c: w.grants.discard(_pair(c)),
    (Kind.MEMBERSHIP, Action.GRANT): lambda w, c: w.memberships.add(_pair(c)),
    (Kind.MEMBERSHIP, Action.REVOKE): lambda w, c: w.memberships.discard(_pair(c)),
}


def apply_changes(state: State, changes: Iterable[Change]) -> State:
    """The state after ``changes``, applied in order (a new State; ``state`` is unchanged)."""
    working = _Working(state)
    for change in changes:
        HANDLERS[(change.kind, change.action)](working, change)
    return working.freeze()


def apply_where_possible(state: State, changes: Iterable[Change]) -> tuple[State, list[Change]]:
    """Apply each change that still makes sense on ``state``; return the result and the
    changes skipped (creating what exists, changing what is gone, linking to what is gone)."""
    working = _Working(state)
    skipped = []
    for change in changes:
        if _applicable(working, change):
            HANDLERS[(change.kind, change.action)](working, change)
        else:
            skipped.append(change)
    return working.freeze(), skipped


def _applicable(w: _Working, c: Change) -> bool:
    if c.kind in (Kind.DEPARTMENT, Kind.ROLE, Kind.USER):
        table = _table(w, c.kind)
        if c.renamed_from is not None:  # the old key is there, the new one is free
            return c.renamed_from in table and c.key not in table
        exists = c.key in table
        return not exists if c.action is Action.CREATE else exists
    owner, item = c.parts()
    if c.kind is Kind.MEMBERSHIP:
        return c.action is Action.REVOKE or (owner in w.users and item in w.roles)
    return c.action is Action.REVOKE or owner in w.roles
