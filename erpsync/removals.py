"""What a plan takes away, counted per kind, and what recent applies took away.

``settings.max_removals`` bounds each kind of removal against how many of that kind
erpsync manages. A removal is any change that takes access away: a user deactivated
or deleted, a role or department deleted, a permission or membership revoked. The
applies recorded in the audit trail within ``settings.max_removals_window`` count too,
so a removal split over several applies meets the same limit as one apply.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind, Unmanaged
from erpsync.state import State

# The kinds, in the order messages list them, and the word for each.
KINDS = ("users", "roles", "departments", "permissions", "memberships")
_OF_KIND = {
    Kind.USER: "users",
    Kind.ROLE: "roles",
    Kind.DEPARTMENT: "departments",
    Kind.PERMISSION: "permissions",
    Kind.MEMBERSHIP: "memberships",
}
if TYPE_CHECKING:
    from sqlalchemy import Connection

    from erpsync.adapters.base import Adapter
    from erpsync.config import ResolvedTarget

_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def kind_of(action: Action, kind: Kind) -> str | None:
    """The removal kind a change counts as ("users", ...), or None when it removes nothing."""
    return _OF_KIND[kind] if action.removes else None


def counted(changes: Iterable[Change]) -> Counter[str]:
    """How many removals of each kind ``changes`` hold."""
    found: Counter[str] = Counter()
    for change in changes:
        what = kind_of(change.action, change.kind)
        if what is not None:
            found[what] += 1
    return found


def managed(live: State, unmanaged: Iterable[Unmanaged]) -> dict[str, int]:
    """How many of each kind erpsync manages in ``live`` (what a share is taken of)."""
    left_alone: dict[Kind, set[str]] = {}
    for item in unmanaged:
        left_alone.setdefault(item.kind, set()).add(item.key)
    users = live.users.keys() - left_alone.get(Kind.USER, set())
    roles = live.roles.keys() - left_alone.get(Kind.ROLE, set())
    return {
        "users": len(users),
        "roles": len(roles),
        "departments": len(live.departments.keys() - left_alone.get(Kind.DEPARTMENT, set())),
        "permissions": sum(1 for role, _ in live.grants if role in roles),
        "memberships": sum(len(held) for login, held in live.user_roles.items() if login in users),
    }


def window_of(text: str) -> dt.timedelta:
    """``settings.max_removals_window`` ("24h", "90m", "7d") as a duration."""
    match = re.fullmatch(r"(\d+)([mhd])", text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return dt.timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True)
class Recent:
    """The removals applied within the window before now, and the records that made them."""

    window: str = "0h"
    counts: Mapping[str, int] = field(default_factory=dict)
    records: tuple[int, ...] = ()


def recent(conn: Connection, window: str, now: dt.datetime, target: str | None = None) -> Recent:
    """The removals the audit trail records within ``window`` before ``now`` (a record
    whose changes cannot be read is for ``audit verify`` to report, not counted here);
    only ``target``'s records when it is given (see :func:`trail_target`)."""
    return _summed(window, _removal_records(conn, window, now, target))


def recent_by_target(conn: Connection, window: str, now: dt.datetime) -> dict[str, Recent]:
    """:func:`recent` for every target the trail names, from one query (the tenants of
    one database, planned together)."""
    by_target: dict[str, list[tuple[int, str, Counter[str]]]] = {}
    for record in _removal_records(conn, window, now, None):
        by_target.setdefault(record[1], []).append(record)
    return {name: _summed(window, found) for name, found in by_target.items()}


def _removal_records(
    conn: Connection, window: str, now: dt.datetime, target: str | None
) -> list[tuple[int, str, Counter[str]]]:
    """(record id, target, removals) of each record within ``window`` that removes
    something, oldest first."""
    span = window_of(window)
    if not span:
        return []
    from sqlalchemy import select

    from erpsync.owntables import AUDIT_TABLE_NAME, erpsync_audit, has_table

    if not has_table(conn, AUDIT_TABLE_NAME):
        return []
    t = erpsync_audit
    query = select(t.c.id, t.c.target, t.c.changes).where(t.c.applied_at >= now - span)
    if target is not None:
        query = query.where(t.c.target == target)
    found = []
    for record_id, whose, text in conn.execute(query.order_by(t.c.id)):
        removed = _removals_in(text)
        if removed:
            found.append((int(record_id), str(whose), removed))
    return found


def _summed(window: str, records: Iterable[tuple[int, str, Counter[str]]]) -> Recent:
    counts: Counter[str] = Counter()
    ids = []
    for record_id, _, removed in records:
        counts += removed
        ids.append(record_id)
    return Recent(window, dict(counts), tuple(ids))


def _removals_in(text: str) -> Counter[str]:
    try:
        changes = json.loads(text)
    except ValueError:
        return Counter()
    found: Counter[str] = Counter()
    for change in changes if isinstance(changes, list) else ():
        try:
            what = kind_of(Action(change["action"]), Kind(change["kind"]))
        except (KeyError, TypeError, ValueError):
            continue
        if what is not None:
            found[what] += 1
    return found


def trail_target(target: ResolvedTarget, adapter: type[Adapter] | Adapter) -> str | None:
    """Whose audit records concern ``target``: for a tenant of a multi-tenant ERP, its own
    target's only (tenants share the database, and its trail, but not their objects);
    else None, every record of the database (two targets on one database are one ERP)."""
    return target.name if adapter.capabilities.tenants else None


def read_recent(
    adapter: Adapter, window: str, now: dt.datetime, target: ResolvedTarget | None = None
) -> Recent:
    """:func:`recent`, on a connection of its own to ``adapter``'s database, for
    ``target`` (:func:`trail_target`; None: every record)."""
    from sqlalchemy.exc import SQLAlchemyError

    from erpsync.errors import DatabaseError

    whose = trail_target(target, adapter) if target else None
    try:
        if adapter.shared is not None and whose is not None:
            # a tenant read with the others of its database (--all-targets): the trail once
            shared = adapter.shared

            def everyone() -> dict[str, Recent]:
                with shared.engine().connect() as conn:
                    return recent_by_target(conn, window, now)

            return shared.once(("removals", window), everyone).get(whose, Recent(window))
        with adapter.engine.connect() as conn:
            return recent(conn, window, now, whose)
    except SQLAlchemyError as exc:
        raise DatabaseError(
            N_("reading the audit trail failed: {cause}").format(cause=adapter.explain(exc))
        ) from None
