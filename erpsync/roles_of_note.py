"""The roles a plan touches that a reviewer should look at first.

A role is "of note" when the policy declares it ``risk: high`` or ``risk: critical``,
or when a permission it grants (in the policy or in the live ERP) is named by a
separation-of-duties rule. The plan records them (``roles_of_note``) so that every
view of a saved plan, the Markdown comment first, can put their changes on top.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from erpsync.access import holds
from erpsync.plan import Change, Kind, RoleNote
from erpsync.policy.model import PolicyDocument
from erpsync.state import State

HIGH_RISK = frozenset({"high", "critical"})


def touched_roles(changes: Iterable[Change]) -> set[str]:
    """Every role a change creates, updates, deletes, grants to or makes a member of."""
    roles: set[str] = set()
    for change in changes:
        if change.kind is Kind.ROLE:
            roles.add(change.key)
            if change.renamed_from:
                roles.add(change.renamed_from)
        elif change.kind is Kind.PERMISSION:
            roles.add(change.parts()[0])
        elif change.kind is Kind.MEMBERSHIP:
            roles.add(change.parts()[1])
    return roles


def roles_of_note(
    policy: PolicyDocument, states: Iterable[State], changes: Iterable[Change]
) -> tuple[RoleNote, ...]:
    """The touched roles that are high-risk or grant a permission a SoD rule names,
    sorted by key; ``states`` (desired and live) give each role's permissions."""
    roles = touched_roles(changes)
    perms: Mapping[str, set[str]] = _permissions(states, roles)
    notes = []
    for role in sorted(roles):
        declared = policy.roles.get(role)
        risk = declared.risk if declared is not None and declared.risk in HIGH_RISK else None
        held = perms.get(role, set())
        rules = tuple(
            key
            for key, rule in sorted(policy.sod_rules.items())
            if any(holds(held, p) for group in rule.conflicts for p in group)
        )
        if risk or rules:
            notes.append(RoleNote(role, risk, rules))
    return tuple(notes)


def _permissions(states: Iterable[State], roles: set[str]) -> Mapping[str, set[str]]:
    out: defaultdict[str, set[str]] = defaultdict(set)
    for state in states:
        for role, perm in state.grants:
            if role in roles:
                out[role].add(perm)
    return out
