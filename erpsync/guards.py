"""Safety guards: worked out by plan (and shown), enforced by apply before any write.

Each guard gives a :class:`Verdict` on a plan's changes and the live state they were
made from; :func:`enforce` raises :class:`GuardError` for the first that refuses,
naming the override where one exists. The guards:

``protected-objects``
    no change touches a protected user or role (no override).
``max_removals``
    per kind of removal (users, roles, departments, permissions, memberships), the
    plan's removals plus those applied within ``settings.max_removals_window`` stay
    within ``settings.max_removals`` of the managed count (``--allow-mass-removal``).

Separation of duties is guarded by validation itself (an unmitigated high or critical
violation makes the policy invalid), which plan and apply both run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from erpsync import removals
from erpsync.config import RemovalLimit, RemovalShare, Settings
from erpsync.errors import GuardError
from erpsync.plan import Change, Kind, Unmanaged, Verdict
from erpsync.scope import Scope
from erpsync.state import State

PROTECTED = "protected-objects"
MAX_REMOVALS = "max_removals"
OVERRIDE = "--allow-mass-removal"


def touched(change: Change) -> list[tuple[Kind, str]]:
    """The users and roles a change touches: (Kind.USER|Kind.ROLE, key)."""
    if change.kind in (Kind.USER, Kind.ROLE):
        old = change.renamed_from
        keys = [change.key] if old is None else [change.key, old]
        return [(change.kind, key) for key in keys]
    owner, item = change.parts()
    if change.kind is Kind.MEMBERSHIP:
        return [(Kind.USER, owner), (Kind.ROLE, item)]
    if change.kind is Kind.PERMISSION:
        return [(Kind.ROLE, owner)]
    return []


def protected_verdict(changes: Iterable[Change], scope: Scope) -> Verdict:
    for change in changes:
        for kind, key in touched(change):
            protected = scope.protected_users if kind is Kind.USER else scope.protected_roles
            if key in protected:
                return Verdict(
                    PROTECTED,
                    False,
                    f"the plan would {change.action} {change.kind} {change.key}, which "
                    f"touches protected {kind} {key}; erpsync never changes protected objects",
                )
    return Verdict(PROTECTED, True, "no change touches a protected user or role")


def allowed(limit: RemovalLimit, total: int) -> int:
    """The most removals ``settings.max_removals`` allows out of ``total`` managed."""
    if isinstance(limit, int):
        return limit
    if isinstance(limit, RemovalShare):
        return max(limit.at_least, int(total * limit.percent / 100))
    return int(total * float(limit.rstrip("%")) / 100)


def describe(limit: RemovalLimit) -> str:
    if isinstance(limit, RemovalShare):
        return f"{limit.percent:g}%, at least {limit.at_least}"
    return str(limit)


def removal_verdict(
    changes: Sequence[Change],
    unmanaged: Iterable[Unmanaged],
    live: State,
    settings: Settings,
    recent: removals.Recent,
) -> Verdict:
    """``max_removals`` over every kind: this plan's removals plus the window's."""
    planned = removals.counted(changes)
    managed = removals.managed(live, unmanaged)
    limit = settings.max_removals
    over: list[str] = []
    within: list[str] = []
    for kind in removals.KINDS:
        now, before = planned.get(kind, 0), recent.counts.get(kind, 0)
        if not now:
            continue
        # the share is of what there was when the window opened: what is managed now, and
        # what the window's applies removed (deactivated users are still counted now)
        total = managed[kind] + (before if kind != "users" else 0)
        most = allowed(limit, total)
        said = f"{now} of {total} managed {kind}"
        if before:
            said += f" (+{before} removed in the last {recent.window}: {now + before})"
        (over if now + before > most else within).append(f"{said}, limit {most}")
    records = ", ".join(f"#{r}" for r in recent.records)
    since = f"; earlier removals from audit record(s) {records}" if over and records else ""
    if over:
        return Verdict(
            MAX_REMOVALS,
            False,
            f"the plan removes {'; '.join(over)} (settings.max_removals: {describe(limit)}){since}",
            OVERRIDE,
        )
    if not within:
        return Verdict(MAX_REMOVALS, True, "the plan removes nothing")
    return Verdict(
        MAX_REMOVALS,
        True,
        f"the plan removes {'; '.join(within)} (settings.max_removals: {describe(limit)})",
    )


def verdicts(
    changes: Sequence[Change],
    unmanaged: Iterable[Unmanaged],
    live: State,
    scope: Scope,
    settings: Settings,
    recent: removals.Recent,
) -> tuple[Verdict, ...]:
    """Every guard's verdict on a plan made from ``live``."""
    return (
        protected_verdict(changes, scope),
        removal_verdict(changes, unmanaged, live, settings, recent),
    )


def enforce(found: Iterable[Verdict], allow_mass_removal: bool) -> None:
    """Raise :class:`GuardError` for the first verdict that refuses (the override given)."""
    for verdict in found:
        if verdict.passed or (verdict.guard == MAX_REMOVALS and allow_mass_removal):
            continue
        then = (
            f"; if this is intended, rerun with {verdict.override}"
            if verdict.override
            else " (no override)"
        )
        raise GuardError(f"guard {verdict.guard}: {verdict.detail}{then}")
