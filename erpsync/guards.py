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
from erpsync.i18n import N_
from erpsync.plan import Change, Kind, Unmanaged, Verdict
from erpsync.scope import Scope
from erpsync.state import State

PROTECTED = "protected-objects"
MAX_REMOVALS = "max_removals"
OVERRIDE = "--allow-mass-removal"

# The guards' details are made in English from these templates (and said in the views).
TOUCHES_PROTECTED = {
    Kind.USER: N_(
        "the plan would {action} {kind} {key}, which touches protected user {owner}; "
        "erpsync never changes protected objects"
    ),
    Kind.ROLE: N_(
        "the plan would {action} {kind} {key}, which touches protected role {owner}; "
        "erpsync never changes protected objects"
    ),
}
NOTHING_PROTECTED = N_("no change touches a protected user or role")
# What the plan removes, one kind of removal (users, roles, ...) per placeholder, so that
# each kind is said on its own: by how many kinds there are.
REMOVES = {
    1: N_("the plan removes {detail} (settings.max_removals: {limit})"),
    2: N_("the plan removes {detail}; {reason} (settings.max_removals: {limit})"),
    3: N_("the plan removes {detail}; {reason}; {cause} (settings.max_removals: {limit})"),
    4: N_(
        "the plan removes {detail}; {reason}; {cause}; {message} (settings.max_removals: {limit})"
    ),
    5: N_(
        "the plan removes {detail}; {reason}; {cause}; {message}; {problem} "
        "(settings.max_removals: {limit})"
    ),
}
REMOVES_SHARE = {
    1: N_("the plan removes {detail} (settings.max_removals: {percent}%, at least {least})"),
    2: N_(
        "the plan removes {detail}; {reason} (settings.max_removals: {percent}%, at least {least})"
    ),
    3: N_(
        "the plan removes {detail}; {reason}; {cause} (settings.max_removals: {percent}%, at "
        "least {least})"
    ),
    4: N_(
        "the plan removes {detail}; {reason}; {cause}; {message} (settings.max_removals: "
        "{percent}%, at least {least})"
    ),
    5: N_(
        "the plan removes {detail}; {reason}; {cause}; {message}; {problem} "
        "(settings.max_removals: {percent}%, at least {least})"
    ),
}
_KINDS_NAMED = ("detail", "reason", "cause", "message", "problem")
REMOVES_NOTHING = N_("the plan removes nothing")
EARLIER = N_("{detail}; earlier removals from audit record(s) {records}")
# One kind's removals, without and with the window's earlier ones.
REMOVED_OF = {
    "users": (
        N_("{now} of {total} managed users, limit {most}"),
        N_("{now} of {total} managed users{why}, limit {most}"),
    ),
    "roles": (
        N_("{now} of {total} managed roles, limit {most}"),
        N_("{now} of {total} managed roles{why}, limit {most}"),
    ),
    "departments": (
        N_("{now} of {total} managed departments, limit {most}"),
        N_("{now} of {total} managed departments{why}, limit {most}"),
    ),
    "permissions": (
        N_("{now} of {total} managed permissions, limit {most}"),
        N_("{now} of {total} managed permissions{why}, limit {most}"),
    ),
    "memberships": (
        N_("{now} of {total} managed memberships, limit {most}"),
        N_("{now} of {total} managed memberships{why}, limit {most}"),
    ),
}
# The removals of the applies within settings.max_removals_window (the {why} above): kept a
# message of its own, so that a kind's template stays shorter than the messages holding it.
IN_WINDOW = N_(" (+{before} removed in the last {window}: {sum})")
REFUSED = N_("guard {guard}: {detail}; if this is intended, rerun with {override}")
REFUSED_FOR_GOOD = N_("guard {guard}: {detail} (no override)")


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
                detail = TOUCHES_PROTECTED[kind].format(
                    action=change.action, kind=change.kind, key=change.key, owner=key
                )
                return Verdict(PROTECTED, False, detail)
    return Verdict(PROTECTED, True, NOTHING_PROTECTED)


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


def _removes(kinds: Sequence[str], limit: RemovalLimit) -> str:
    """``the plan removes 3 of 10 managed users, limit 2; … (settings.max_removals: 20%)``:
    each kind's removals (``kinds``, one to five) a message of its own."""
    named = dict(zip(_KINDS_NAMED, kinds, strict=False))
    if isinstance(limit, RemovalShare):
        return REMOVES_SHARE[len(kinds)].format(
            **named, percent=f"{limit.percent:g}", least=limit.at_least
        )
    return REMOVES[len(kinds)].format(**named, limit=limit)


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
        alone, with_recent = REMOVED_OF[kind]
        said = (
            with_recent.format(
                now=now,
                total=total,
                why=IN_WINDOW.format(before=before, window=recent.window, sum=now + before),
                most=most,
            )
            if before
            else alone.format(now=now, total=total, most=most)
        )
        (over if now + before > most else within).append(said)
    records = ", ".join(f"#{r}" for r in recent.records)
    if over:
        detail = _removes(over, limit)
        if records:
            detail = EARLIER.format(detail=detail, records=records)
        return Verdict(MAX_REMOVALS, False, detail, OVERRIDE)
    if not within:
        return Verdict(MAX_REMOVALS, True, REMOVES_NOTHING)
    return Verdict(MAX_REMOVALS, True, _removes(within, limit))


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
        if verdict.override:
            message = REFUSED.format(
                guard=verdict.guard, detail=verdict.detail, override=verdict.override
            )
        else:
            message = REFUSED_FOR_GOOD.format(guard=verdict.guard, detail=verdict.detail)
        raise GuardError(message)
