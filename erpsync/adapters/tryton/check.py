"""What Tryton's writer would refuse, found at plan time from the live snapshot.

:func:`refusals` walks a plan's changes in order, keeping the users, groups and
access rows as :mod:`~erpsync.adapters.tryton.write` would leave them, and
refuses (with the writer's own words) what the writer refuses: a user that
exists or does not, ``admin`` and ``root``, a user deletion, a department, a
group key or name Tryton already has (a name of an inactive group too: names are
unique in ``res_group``), a description or data scope, a model or action Tryton
does not have, and deleting groups that would leave a model with no access rows
(open to everyone). The writer keeps these checks as a last line of defence.

What the state does not say travels in :attr:`LiveSnapshot.private` as a
:class:`Private`: the names of every group (inactive ones too) and which
(model, group) pairs have active access rows (global rows under ``None``).
No SQLAlchemy here: the planner runs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from erpsync.adapters.base import LiveSnapshot, Refusal
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind

NEVER_CHANGED = frozenset({"admin", "root"})  # the administrator and the internal user
ACTIONS = ("read", "create", "update", "delete")  # as tables.PERM_COLUMNS

# Why Tryton's writer refuses a change (the writer, :mod:`.write`, says the same)
NO_USER = N_("Tryton has no user {login}")
NEVER = N_("Tryton's {login} user is never changed")
NO_GROUP = N_("Tryton has no group {key}")
NEEDS_NAME = N_("a Tryton group needs a name")
NAME_TAKEN = N_("Tryton has a group named {name}")
NO_DEPARTMENT = N_("Tryton users have no department")
NO_ROLE_ATTRIBUTE = {
    "description": N_("Tryton groups have no description"),
    "data_scope": N_("Tryton groups have no data scope"),
}
KEY_TAKEN = N_("Tryton has a group under that key")
LOGIN_EXISTS = N_("the login exists in Tryton")
NEVER_DELETED = N_(
    "Tryton users are deactivated, never deleted (set settings.removed_users to deactivate)"
)
NO_ACTION = N_("Tryton has no action {action}")
NO_MODEL = N_("Tryton has no model {model}")
NO_KIND = N_("Tryton has no {kind}s (departments are policy-only for the tryton adapter)")


def inactive(group_id: int) -> str:
    """How an inactive group stands in :attr:`Private.access` (no key can hold NUL)."""
    return f"\x00inactive {group_id}"


@dataclass(frozen=True)
class Private:
    """What Tryton's plan-time check needs beyond the state."""

    names: frozenset[str] = frozenset()  # every res_group name, active or not
    # (model, group key) with an active ir_model_access row; None: a global row; an
    # inactive group's rows under inactive(id)
    access: frozenset[tuple[str, str | None]] = field(default_factory=frozenset)


class _Live:
    """Users, groups and access rows as the plan leaves them, change by change."""

    def __init__(self, snapshot: LiveSnapshot, private: Private) -> None:
        self.users = set(snapshot.state.users) | {"root"}
        self.groups = {key: role.name for key, role in snapshot.state.roles.items()}
        self.names = set(private.names)
        self.models = set(snapshot.catalogue)
        self.access = set(private.access)

    def user(self, login: str) -> str | None:
        if login not in self.users:
            return NO_USER.format(login=repr(login))
        if login in NEVER_CHANGED:
            return NEVER.format(login=login)
        return None

    def group(self, key: str) -> str | None:
        return None if key in self.groups else NO_GROUP.format(key=repr(key))

    def name(self, name: Any, old: str | None = None) -> str | None:
        """Refuse a group name that is empty or taken; else take it (freeing ``old``)."""
        if not isinstance(name, str) or not name.strip():
            return NEEDS_NAME
        if name != old and name in self.names:
            return NAME_TAKEN.format(name=repr(name))
        self.names.discard(old or "")
        self.names.add(name)
        return None


def _department(values: Mapping[str, Any]) -> str | None:
    return NO_DEPARTMENT if values.get("department") is not None else None


def _role_attributes(values: Mapping[str, Any]) -> str | None:
    for attribute in ("description", "data_scope"):
        if values.get(attribute):
            return NO_ROLE_ATTRIBUTE[attribute]
    if values.get("data_departments"):
        return NO_ROLE_ATTRIBUTE["data_scope"]
    return None


def _role(live: _Live, change: Change, after: Mapping[str, Any]) -> str | None:
    """Why the writer refuses a create or update of a group (None: it does not)."""
    if change.action is Action.CREATE:
        why = _role_attributes(after)
        if why is None and change.key in live.groups:
            why = KEY_TAKEN
        why = why or live.name(after.get("name"))
        live.groups[change.key] = str(after.get("name"))  # what follows is judged on its own
        return why
    old = change.renamed_from or change.key
    why = live.group(old) or _role_attributes(after)
    if why is not None:
        return why
    if change.renamed_from is not None:
        if change.key in live.groups:
            return KEY_TAKEN
        live.groups[change.key] = live.groups.pop(old)
        live.access = {(m, change.key if g == old else g) for m, g in live.access}
    if "name" in after:
        why = live.name(after["name"], live.groups[change.key])
        if why is None:
            live.groups[change.key] = after["name"]
    return why


def _one(live: _Live, change: Change) -> str | None:
    """Why the writer refuses ``change`` (None: it does not), updating ``live``."""
    after = change.after or {}
    kind, action = change.kind, change.action
    if kind is Kind.USER:
        if action is Action.CREATE:
            if change.key in live.users:
                return LOGIN_EXISTS
            live.users.add(change.key)  # even when refused: what follows is judged on its own
            return _department(after)
        if action is Action.DELETE:
            return NEVER_DELETED
        old = change.renamed_from
        why = live.user(old or change.key) or _department(after)
        if why is None and old is not None:  # a login rename
            if change.key in live.users:
                return LOGIN_EXISTS
            live.users.discard(old)
            live.users.add(change.key)
        return why
    if kind is Kind.ROLE:
        if action in (Action.CREATE, Action.UPDATE):
            return _role(live, change, after)
        return live.group(change.key)  # a delete: the whole batch is checked below
    if kind is Kind.MEMBERSHIP:
        login, role = change.parts()
        return live.user(login) or live.group(role)
    if kind is Kind.PERMISSION:
        role, perm = change.parts()
        model, _, mode = perm.rpartition(":")
        if mode not in ACTIONS:
            return NO_ACTION.format(action=repr(mode))
        if model not in live.models:
            return NO_MODEL.format(model=repr(model))
        why = live.group(role)
        if why is None and action is Action.GRANT:
            live.access.add((model, role))
        return why
    return NO_KIND.format(kind=kind)


def _deleting(live: _Live, batch: Sequence[Change]) -> Iterator[Refusal]:
    """A batch of group deletions: refused when a model would be left with no access row."""
    doomed = {c.key for c in batch if c.key in live.groups}
    for model, group in sorted(live.access, key=lambda pair: (pair[0], pair[1] or "")):
        if group not in doomed:
            continue
        if not any(m == model and g not in doomed for m, g in live.access):
            names = ", ".join(c.key for c in batch)
            yield Refusal(
                next(c for c in batch if c.key == group),
                N_(
                    "deleting group(s) {keys} would leave model {model} with no access rows, "
                    "which Tryton reads as open to everyone"
                ).format(keys=names, model=model),
            )
            return
    for key in doomed:
        live.names.discard(live.groups.pop(key))
    live.access = {(m, g) for m, g in live.access if g not in doomed}


def refusals(snapshot: LiveSnapshot, private: Private, changes: Sequence[Change]) -> list[Refusal]:
    """Every change of ``changes`` Tryton's writer would refuse, in order."""
    live = _Live(snapshot, private)
    out: list[Refusal] = []
    for (kind, action), run in groupby(changes, key=lambda c: (c.kind, c.action)):
        batch = list(run)
        refused = False
        for change in batch:
            why = _one(live, change)
            if why is not None:
                out.append(Refusal(change, why))
                refused = True
        if kind is Kind.ROLE and action is Action.DELETE and not refused:
            out += _deleting(live, batch)
    return out
