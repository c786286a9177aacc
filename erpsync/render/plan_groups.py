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

from erpsync import i18n
from erpsync.i18n import N_, _, ngettext
from erpsync.render import action_name, kind_name, show, split_key

MAX_PATTERNS = 200  # groups listed per section; smaller groups are counted per kind
PAST = {
    "create": N_("created"),
    "update": N_("updated"),
    "delete": N_("deleted"),
    "deactivate": N_("deactivated"),
    "reactivate": N_("reactivated"),
    "grant": N_("granted"),
    "revoke": N_("revoked"),
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


def count(n: int) -> str:
    """``3,000``: a count with its digits grouped, as the language writes it."""
    return f"{n:,}" if i18n.language() == i18n.ENGLISH else i18n.number(n)


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
        text = ngettext(
            "{n} other {kind} {action} (not grouped)", "{n} other {kind} {action}s (not grouped)", n
        )
        out.append(
            Group(
                n,
                text.format(
                    n=count(n), kind=cell(kind_name(kind)), action=cell(action_name(action))
                ),
            )
        )
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
    done = _(PAST[action]) if action in PAST else action
    if action == "update":
        parts = []
        for name in key[2]:
            values = {show((c.get("after") or {}).get(name)) for c in members}
            if len(values) == 1:
                parts.append(
                    _("{name} → {value}").format(name=cell(name), value=code(values.pop()))
                )
            else:
                parts.append(_("{name} changed").format(name=cell(name)))
        text = ngettext("{n} {kind} {done}: {parts}", "{n} {kind}s {done}: {parts}", n)
        listed = _(", ").join(parts) or _("no attribute")
        return text.format(n=count(n), kind=cell(kind_name(kind)), done=done, parts=listed)
    if kind == "user":
        return _user_sentence(key, n, done, names, cell, code)
    if kind == "department":
        text = ngettext("{n} department {done}", "{n} departments {done}", n)
        text = text.format(n=count(n), done=done)
        if key[2]:
            text += _(" under {department}").format(
                department=_department(key[2], names, cell, code)
            )
        return text
    if kind == "role":
        text = ngettext("{n} role {done}", "{n} roles {done}", n).format(n=count(n), done=done)
        if key[2]:
            text += _(" with data scope {scope}").format(scope=code(key[2]))
        return text
    owners = sorted({split_key(str(c.get("key")))[0] for c in members})
    items = sorted({split_key(str(c.get("key")))[1] for c in members})
    if kind == "permission":
        what = (
            code(items[0])
            if len(items) == 1
            else ngettext(
                "{pattern} ({n} permission)", "{pattern} ({n} permissions)", len(items)
            ).format(pattern=code(key[2] + ":*"), n=count(len(items)))
        )
        whom = (
            _("role {role}").format(role=code(owners[0]))
            if len(owners) == 1
            else ngettext("{n} role", "{n} roles", len(owners)).format(n=count(len(owners)))
        )
        if action == "grant":
            text = ngettext("{n} grant of {what} to {whom}", "{n} grants of {what} to {whom}", n)
        else:
            text = ngettext(
                "{n} revoke of {what} from {whom}", "{n} revokes of {what} from {whom}", n
            )
        return text.format(n=count(n), what=what, whom=whom)
    whom = (
        _("user {user}").format(user=code(owners[0]))
        if len(owners) == 1
        else ngettext("{n} user", "{n} users", len(owners)).format(n=count(len(owners)))
    )
    if action == "grant":
        text = ngettext(
            "{n} membership of role {role} granted to {whom}",
            "{n} memberships of role {role} granted to {whom}",
            n,
        )
    else:
        text = ngettext(
            "{n} membership of role {role} revoked from {whom}",
            "{n} memberships of role {role} revoked from {whom}",
            n,
        )
    return text.format(n=count(n), role=code(key[2]), whom=whom)


def _user_sentence(
    key: tuple[Any, ...],
    n: int,
    done: str,
    names: Mapping[str, str],
    cell: Escape,
    code: Escape,
) -> str:
    """``3,000 users created in 销售部 (`sales`) with role `sales-clerk` (3,000 membership
    grants)``."""
    action, department, roles = key[1], key[2], key[3]
    text = ngettext("{n} user {done}", "{n} users {done}", n).format(n=count(n), done=done)
    if department:
        text += _(" in {department}").format(department=_department(department, names, cell, code))
    if roles:
        listed = _(", ").join(code(r) for r in roles)
        memberships = n * len(roles)
        if USER_MEMBERSHIPS.get(action) == "grant":
            text += ngettext(" with role {roles}", " with roles {roles}", len(roles)).format(
                roles=listed
            )
            counted = ngettext(" ({n} membership grant)", " ({n} membership grants)", memberships)
        else:
            text += ngettext(" losing role {roles}", " losing roles {roles}", len(roles)).format(
                roles=listed
            )
            counted = ngettext(" ({n} membership revoke)", " ({n} membership revokes)", memberships)
        text += counted.format(n=count(memberships))
    elif action == "create":
        text += _(" with no role")
    return text


def _department(key: str, names: Mapping[str, str], cell: Escape, code: Escape) -> str:
    name = names.get(key)
    return _("{name} ({key})").format(name=cell(name), key=code(key)) if name else code(key)
