"""What writing a plan to the reference ERP would fail on, found at plan time.

:func:`refusals` walks a plan's changes over the live state (which keys exist, as the
changes before leave them) and refuses what :mod:`~erpsync.adapters.reference.write`
or the database would refuse: creating a key that exists or changing one that does
not, an attribute the writer does not know, a reference to a department, user or role
the ERP does not have, a permission not in ``erp_permission``, a name longer than its
column, and deleting a department that users, departments or a role's data scope
still point at (a foreign key; PostgreSQL refuses it). The writer keeps its own checks.

Cheap for the common plan of a few changes: the live state is looked at, never copied;
who is in which department is worked out only when a department is deleted.
No SQLAlchemy here: the planner runs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from erpsync.adapters.base import LiveSnapshot, Refusal
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind
from erpsync.state import State

NAME_LENGTH = 200  # erp_department.name, erp_user.name, erp_role.name

_ATTRIBUTES: dict[Kind, frozenset[str]] = {
    Kind.DEPARTMENT: frozenset({"key", "name", "parent", "manager"}),
    Kind.USER: frozenset({"key", "name", "email", "department", "active"}),
    Kind.ROLE: frozenset({"key", "name", "description", "data_scope", "data_departments"}),
}


# Why a change names what the ERP does not have, or already has, by kind
_MISSING = {
    Kind.DEPARTMENT: N_("the ERP has no department {key}"),
    Kind.USER: N_("the ERP has no user {key}"),
    Kind.ROLE: N_("the ERP has no role {key}"),
    Kind.PERMISSION: N_("the ERP has no permission {key}"),
}
_PRESENT = {
    Kind.DEPARTMENT: N_("the ERP already has a department {key}"),
    Kind.USER: N_("the ERP already has a user {key}"),
    Kind.ROLE: N_("the ERP already has a role {key}"),
}


def _missing(kind: Kind, key: str) -> str:
    return _MISSING[kind].format(key=repr(key))


def _present(kind: Kind, key: str) -> str:
    return _PRESENT[kind].format(key=repr(key))


class _Keys:
    """The keys of one kind of object as the plan leaves them so far."""

    def __init__(self, live: Mapping[str, object]) -> None:
        self.live = live
        self.added: set[str] = set()
        self.removed: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self.added or (key in self.live and key not in self.removed)

    def add(self, key: str) -> None:
        self.added.add(key)
        self.removed.discard(key)

    def remove(self, key: str) -> None:
        self.added.discard(key)
        self.removed.add(key)


class _Check:
    def __init__(self, snapshot: LiveSnapshot) -> None:
        self.state: State = snapshot.state
        self.catalogue = snapshot.catalogue
        self.keys = {
            Kind.DEPARTMENT: _Keys(self.state.departments),
            Kind.USER: _Keys(self.state.users),
            Kind.ROLE: _Keys(self.state.roles),
        }
        # What the plan so far changed of the references a department deletion looks at.
        self.user_department: dict[str, str | None] = {}
        self.parent: dict[str, str | None] = {}
        self.scope: dict[str, tuple[str, ...]] = {}
        self.index: dict[str, dict[str, set[str]]] = {}  # field -> live value -> keys

    def pointing(
        self, live: Mapping[str, Any], field: str, changed: Mapping[str, Any], target: str
    ) -> list[str]:
        """Keys of the objects whose ``field`` names department ``target`` once the plan so
        far is applied (the live side indexed once, on the first deletion)."""
        index = self.index.get(field)
        if index is None:
            index = self.index[field] = {}
            for key, record in live.items():
                value = getattr(record, field)
                if value is not None:
                    index.setdefault(value, set()).add(key)
        found = {k for k in index.get(target, ()) if k not in changed}
        found |= {k for k, value in changed.items() if value == target}
        return sorted(found)

    def reason(self, change: Change) -> str | None:
        links = change.kind in (Kind.PERMISSION, Kind.MEMBERSHIP)
        if links != (change.action in (Action.GRANT, Action.REVOKE)) or (
            change.action in (Action.DEACTIVATE, Action.REACTIVATE) and change.kind is not Kind.USER
        ):
            return N_("the reference ERP cannot {action} {kind}s").format(
                action=change.action, kind=change.kind
            )
        if links:
            return self.link(change)
        keys = self.keys[change.kind]
        old = change.renamed_from
        if old is not None:  # a rename (moved:): the old key is there, the new one is free
            if old not in keys:
                return _missing(change.kind, old)
            if change.key in keys:
                return _present(change.kind, change.key)
            keys.remove(old)
            keys.add(change.key)
        exists = change.key in keys
        if change.action is Action.CREATE and exists:
            return _present(change.kind, change.key)
        if change.action is not Action.CREATE and not exists:
            return _missing(change.kind, change.key)
        why = self.attributes(change)
        if change.action is Action.CREATE:
            keys.add(change.key)  # even when refused: what follows is judged on its own
        if why is not None:
            return why
        if change.action is Action.DELETE:
            why = self.in_use(change.key) if change.kind is Kind.DEPARTMENT else None
            if why is None:
                keys.remove(change.key)
                self.forget(change)
            return why
        self.remember(change)
        return None

    def attributes(self, change: Change) -> str | None:
        after: Mapping[str, Any] = change.after or {}
        unknown = [name for name in after if name not in _ATTRIBUTES[change.kind]]
        if unknown:
            return N_("unknown attribute {name}").format(name=repr(unknown[0]))
        name = after.get("name")
        if isinstance(name, str) and len(name) > NAME_LENGTH:
            return N_("the name is {n} characters; the reference ERP holds {limit}").format(
                n=len(name), limit=NAME_LENGTH
            )
        named = [
            after.get("parent"),
            after.get("department"),
            *(after.get("data_departments") or ()),
        ]
        for department in named:
            if isinstance(department, str) and department not in self.keys[Kind.DEPARTMENT]:
                return _missing(Kind.DEPARTMENT, department)
        return None

    def remember(self, change: Change) -> None:
        after = change.after or {}
        if change.kind is Kind.USER and "department" in after:
            self.user_department[change.key] = after["department"]
        elif change.kind is Kind.DEPARTMENT and "parent" in after:
            self.parent[change.key] = after["parent"]
        elif change.kind is Kind.ROLE and "data_departments" in after:
            self.scope[change.key] = tuple(after["data_departments"] or ())

    def forget(self, change: Change) -> None:
        """A deleted object points at no department any more."""
        if change.kind is Kind.USER:
            self.user_department[change.key] = None
        elif change.kind is Kind.DEPARTMENT:
            self.parent[change.key] = None
        else:
            self.scope[change.key] = ()

    def data_departments(self, role: str) -> tuple[str, ...]:
        if role in self.scope:
            return self.scope[role]
        live = self.state.roles.get(role)
        return live.data_departments if live is not None else ()

    def in_use(self, key: str) -> str | None:
        """Why department ``key`` cannot be deleted: what still points at it."""
        users = [
            k
            for k in self.pointing(self.state.users, "department", self.user_department, key)
            if k in self.keys[Kind.USER]
        ]
        if users:
            return _named(
                N_("users are still in it ({keys})"),
                N_("users are still in it ({keys} and {more} more)"),
                users,
            )
        below = [
            k
            for k in self.pointing(self.state.departments, "parent", self.parent, key)
            if k in self.keys[Kind.DEPARTMENT]
        ]
        if below:
            return _named(
                N_("departments are still below it ({keys})"),
                N_("departments are still below it ({keys} and {more} more)"),
                below,
            )
        roles = sorted(
            role
            for role in set(self.state.roles) | set(self.scope)
            if role in self.keys[Kind.ROLE] and key in self.data_departments(role)
        )
        if roles:
            return _named(
                N_("the data scope of role(s) {keys} names it"),
                N_("the data scope of role(s) {keys} and {more} more names it"),
                roles,
            )
        return None

    def link(self, change: Change) -> str | None:
        owner, item = change.parts()
        if change.kind is Kind.PERMISSION:
            if owner not in self.keys[Kind.ROLE]:
                return _missing(Kind.ROLE, owner)
            module, _, action = item.rpartition(":")
            if action not in self.catalogue.get(module, ()):
                return _missing(Kind.PERMISSION, item)
            return None
        if owner not in self.keys[Kind.USER]:
            return _missing(Kind.USER, owner)
        if item not in self.keys[Kind.ROLE]:
            return _missing(Kind.ROLE, item)
        return None


def _named(short: str, long: str, keys: Iterable[str], shown: int = 5) -> str:
    """``short`` with the ``keys``, or ``long`` with the first ``shown`` and how many more."""
    keys = list(keys)
    more = len(keys) - shown
    listed = ", ".join(keys[:shown])
    return long.format(keys=listed, more=more) if more > 0 else short.format(keys=listed)


def refusals(snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[Refusal]:
    """Every change of ``changes`` writing to the reference ERP would fail on, in order."""
    check = _Check(snapshot)
    out = []
    for change in changes:
        why = check.reason(change)
        if why is not None:
            out.append(Refusal(change, why))
    return out
