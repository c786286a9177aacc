"""Changes grouped by pattern, for a plan too long to list one by one.

:func:`patterns` turns a list of a plan's changes (its JSON form) into groups of
changes sharing an action, a kind and what a reviewer compares them by: the
department and roles of new users (their membership grants are counted into
them), the attributes updates change (with the values when shared), the module
of permission grants, the role of memberships. Each group is one sentence with
its count, largest first, such as ``3,000 users created in 销售部 (`sales`) with
role `sales-clerk` (3,000 membership grants)``. :func:`kinds` is the coarsest
grouping: one count per kind and action. Every change is counted in exactly one
group, so the counts always add up.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erpsync.render import show, split_key

MAX_PATTERNS = 200  # groups listed per section; smaller groups are counted per kind
PAST = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "deactivate": "deactivated",
    "reactivate": "reactivated",
    "grant": "granted",
    "revoke": "revoked",
}
USER_MEMBERSHIPS = {
    "create": "grant",
    "reactivate": "grant",
    "deactivate": "revoke",
    "delete": "revoke",
}

Escape = Callable[[object], str]  # the caller's escaping: cell or inline code


@dataclass(frozen=True)
class Group:
    count: int  # changes in the group, memberships counted into their user included
    text: str  # the escaped sentence, its count first


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def kinds(changes: Sequence[Mapping[str, Any]]) -> Counter[tuple[str, str]]:
    """How many changes of each (kind, action)."""
    return Counter((str(c.get("kind")), str(c.get("action"))) for c in changes)


def patterns(
    changes: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
    cell: Escape,
    code: Escape,
    limit: int = MAX_PATTERNS,
) -> list[Group]:
    """The changes as groups of one pattern each, largest first; past ``limit`` groups,
    the rest are counted per kind and action. ``names`` maps department keys to the
    display names the plan knows."""
    keyed: dict[tuple[Any, ...], list[Mapping[str, Any]]] = defaultdict(list)
    folded = _memberships_of_users(changes)
    for change in changes:
        if id(change) in folded.consumed:
            continue
        keyed[_key(change, folded)].append(change)
    groups = sorted(keyed.items(), key=lambda item: (-_size(item[1], folded), str(item[0])))
    out = [
        Group(_size(members, folded), _sentence(key, members, folded, names, cell, code))
        for key, members in groups[:limit]
    ]
    rest = [c for _, members in groups[limit:] for c in members]
    for (kind, action), n in sorted(kinds(rest).items()):
        out.append(Group(n, f"{plural(n, f'other {cell(kind)} {cell(action)}')} (not grouped)"))
    return out


@dataclass(frozen=True)
class _Folded:
    roles: Mapping[str, tuple[str, ...]]  # login -> roles granted/revoked with its user change
    consumed: frozenset[int]  # id() of the membership changes counted into a user change


def _memberships_of_users(changes: Sequence[Mapping[str, Any]]) -> _Folded:
    """Membership grants of users created or reactivated, and revokes of users deactivated
    or deleted, in the same list: counted into the user's group."""
    direction = {
        str(c.get("key")): USER_MEMBERSHIPS[str(c.get("action"))]
        for c in changes
        if c.get("kind") == "user" and c.get("action") in USER_MEMBERSHIPS
    }
    roles: dict[str, list[str]] = defaultdict(list)
    consumed = set()
    for change in changes:
        if change.get("kind") != "membership":
            continue
        login, role = split_key(str(change.get("key")))
        if direction.get(login) == change.get("action"):
            roles[login].append(role)
            consumed.add(id(change))
    return _Folded({k: tuple(sorted(v)) for k, v in roles.items()}, frozenset(consumed))


def _values(change: Mapping[str, Any]) -> Mapping[str, Any]:
    values = change.get("after") or change.get("before") or {}
    return values if isinstance(values, Mapping) else {}


def _key(change: Mapping[str, Any], folded: _Folded) -> tuple[Any, ...]:
    kind, action = str(change.get("kind")), str(change.get("action"))
    values = _values(change)
    if action == "update":  # by the attributes changed; the values are shown when shared
        return (kind, action, tuple(sorted(str(n) for n in change.get("after") or {})))
    if kind == "user":
        login = str(change.get("key"))
        return (kind, action, values.get("department"), folded.roles.get(login, ()))
    if kind == "department":
        return (kind, action, values.get("parent"))
    if kind == "role":
        return (kind, action, values.get("data_scope"))
    item = split_key(str(change.get("key")))[1]
    if kind == "permission":
        return (kind, action, item.rpartition(":")[0] or item)
    return (kind, action, item)  # a membership: by role


def _size(members: Sequence[Mapping[str, Any]], folded: _Folded) -> int:
    return sum(
        1 + (len(folded.roles.get(str(c.get("key")), ())) if c.get("kind") == "user" else 0)
        for c in members
    )


def _sentence(
    key: tuple[Any, ...],
    members: Sequence[Mapping[str, Any]],
    folded: _Folded,
    names: Mapping[str, str],
    cell: Escape,
    code: Escape,
) -> str:
    kind, action = key[0], key[1]
    n = len(members)
    done = PAST.get(action, action)
    if action == "update":
        parts = []
        for name in key[2]:
            values = {show((c.get("after") or {}).get(name)) for c in members}
            shared = f" → {code(values.pop())}" if len(values) == 1 else " changed"
            parts.append(cell(name) + shared)
        return f"{plural(n, cell(kind))} {done}: {', '.join(parts) or 'no attribute'}"
    if kind == "user":
        department, roles = key[2], key[3]
        text = f"{plural(n, 'user')} {done}"
        if department:
            text += f" in {_department(department, names, cell, code)}"
        if roles:
            verb = "with" if USER_MEMBERSHIPS.get(action) == "grant" else "losing"
            listed = ", ".join(code(r) for r in roles)
            text += f" {verb} role{'' if len(roles) == 1 else 's'} {listed}"
            noun = "grant" if verb == "with" else "revoke"
            text += f" ({plural(n * len(roles), 'membership ' + noun)})"
        elif action == "create":
            text += " with no role"
        return text
    if kind == "department":
        under = f" under {_department(key[2], names, cell, code)}" if key[2] else ""
        return f"{plural(n, 'department')} {done}{under}"
    if kind == "role":
        scope = f" with data scope {code(key[2])}" if key[2] else ""
        return f"{plural(n, 'role')} {done}{scope}"
    owners = sorted({split_key(str(c.get("key")))[0] for c in members})
    items = sorted({split_key(str(c.get("key")))[1] for c in members})
    to = "to" if action == "grant" else "from"
    if kind == "permission":
        what = (
            code(items[0])
            if len(items) == 1
            else f"{code(key[2] + ':*')} ({plural(len(items), 'permission')})"
        )
        whom = f"role {code(owners[0])}" if len(owners) == 1 else plural(len(owners), "role")
        return f"{plural(n, action)} of {what} {to} {whom}"
    whom = f"user {code(owners[0])}" if len(owners) == 1 else plural(len(owners), "user")
    return f"{plural(n, 'membership')} of role {code(key[2])} {done} {to} {whom}"


def _department(key: str, names: Mapping[str, str], cell: Escape, code: Escape) -> str:
    name = names.get(key)
    return f"{cell(name)} ({code(key)})" if name else code(key)
