"""Separation of duties: who holds a forbidden combination of permissions.

A rule lists two or more permission sets; a user holding at least one
permission of EACH set violates it. An exception for (rule, user) covers the
violation until its ``expires`` date (from that date on it no longer does).
Used on the desired state by validation and apply, and on the live state by
drift and the reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from erpsync.access import holds
from erpsync.policy.model import SodException, SodRule

BLOCKING = frozenset({"high", "critical"})


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    severity: str
    user: str
    held: tuple[tuple[str, ...], ...]  # for each conflict set, the permissions the user holds
    exception: int | None = None  # index into sod_exceptions of the exception that names it
    exception_expired: bool = False

    @property
    def mitigated(self) -> bool:
        return self.exception is not None and not self.exception_expired

    @property
    def blocking(self) -> bool:
        """An unmitigated high/critical violation: validation and apply refuse it."""
        return self.severity in BLOCKING and not self.mitigated


def exception_expired(exc: SodException, today: dt.date) -> bool:
    return exc.expires is not None and exc.expires <= today


def _match(rule: SodRule, perms: frozenset[str]) -> tuple[tuple[str, ...], ...] | None:
    held = []
    for group in rule.conflicts:
        hits = tuple(sorted(p for p in group if holds(perms, p)))
        if not hits:
            return None
        held.append(hits)
    return tuple(held)


def suspects(
    rules: Mapping[str, SodRule],
    role_perms: Mapping[str, frozenset[str]],
    holders: Mapping[str, Iterable[str]],
) -> set[str]:
    """The users (keys of ``holders``, each mapped to their roles) who hold, for every
    conflict set of some rule, a role granting one of its permissions: exactly those
    :func:`find_violations` can report. Worked out per role and with set operations,
    so that 10^5 users cost no per-user permission unions."""
    granting = [  # for each rule, for each conflict set: the roles granting one of it
        [
            {r for r, perms in role_perms.items() if any(holds(perms, p) for p in group)}
            for group in rule.conflicts
        ]
        for rule in rules.values()
    ]
    relevant: set[str] = set().union(*(roles for groups in granting for roles in groups))
    by_role: dict[str, list[str]] = {role: [] for role in relevant}
    for login, roles in holders.items():
        if not relevant.isdisjoint(roles):  # most users hold no role any rule cares about
            for role in relevant.intersection(roles):
                by_role[role].append(login)
    out: set[str] = set()
    for groups in granting:
        found: set[str] | None = None
        for roles in groups:
            users = set().union(*(by_role[r] for r in roles))
            found = users if found is None else found & users
        out |= found or set()
    return out


def find_violations(
    rules: Mapping[str, SodRule],
    holdings: Mapping[str, frozenset[str]],
    exceptions: Iterable[SodException],
    today: dt.date,
) -> list[Violation]:
    """Every (rule, user) violation, sorted by rule then user, with its exception status."""
    by_pair: dict[tuple[str, str], int] = {}
    excs = list(exceptions)
    for index, exc in enumerate(excs):
        by_pair.setdefault((exc.rule, exc.user), index)
        if not exception_expired(exc, today):
            by_pair[(exc.rule, exc.user)] = index  # a current exception wins over an expired one
    cache: dict[frozenset[str], list[tuple[str, tuple[tuple[str, ...], ...]]]] = {}
    found: list[Violation] = []
    for user in sorted(holdings):
        perms = holdings[user]
        matches = cache.get(perms)
        if matches is None:
            matches = [
                (key, held)
                for key, rule in rules.items()
                if (held := _match(rule, perms)) is not None
            ]
            cache[perms] = matches
        for key, held in matches:
            exc_index = by_pair.get((key, user))
            expired = exc_index is not None and exception_expired(excs[exc_index], today)
            found.append(Violation(key, rules[key].severity, user, held, exc_index, expired))
    found.sort(key=lambda v: (v.rule, v.user))
    return found
