"""A saved plan is applied only if it is still exactly what the policy gives.

Inside apply's transaction, under the lock, the plan is made again from what is
authoritative — the policy on disk (or, for a plan from ``audit revert``, the audit
record it undoes) and the live state apply just read — and compared with the saved
plan. Anything that differs (a change added, dropped, reordered or edited, the
objects left alone, the warnings shown to the reviewer) refuses the apply and names
the first difference. The guards and separation-of-duties rules then run on the
plan made here, never on what a file says about itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from erpsync import audit, removals
from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import PlanMismatchError, StalePlanError
from erpsync.i18n import N_
from erpsync.plan import Change, Plan
from erpsync.planner import make_plan
from erpsync.policy.loader import LoadedPolicy
from erpsync.revert import revert_plan

# What the comparison leaves out: when the plan was made, and the guards' verdicts
# (apply works them out again on the plan it made, over today's removal window).
_NOT_COMPARED = ("created_at", "guards")


def derive(
    conn: Connection,
    adapter: Adapter,
    target: ResolvedTarget,
    saved: Plan,
    loaded: LoadedPolicy,
    snapshot: LiveSnapshot,
    settings: Settings,
    now: dt.datetime,
) -> Plan:
    """The plan ``saved`` claims to be, made again now from the policy (or from the audit
    record a revert undoes) and ``snapshot``; raises like ``plan`` (an invalid policy, a
    refused change) and :class:`StalePlanError` when the policy changed."""
    kind = type(adapter)
    recent = removals.recent(
        conn, settings.max_removals_window, now, removals.trail_target(target, kind)
    )
    if saved.reverts is not None:
        record = audit.get(conn, saved.reverts)
        plan, _ = revert_plan(
            record.entry.changes, record.id, snapshot, settings, kind, target, now, recent
        )
        return plan
    plan = make_plan(loaded, snapshot, settings, kind, target, now.date(), now, recent=recent)
    if plan.policy_digest != saved.policy_digest:
        raise StalePlanError(
            N_(
                "plan is stale: the policy (or what it means today) changed since the plan was "
                "made; nothing was changed. Make a new plan and review it."
            )
        )
    return plan


def check_same(saved: Plan, derived: Plan) -> None:
    """Raise :class:`PlanMismatchError` naming the first way ``saved`` differs from
    ``derived`` (the plan the policy gives now)."""
    problem = first_difference(saved, derived)
    if problem is not None:
        if derived.reverts is not None:
            message = MISMATCH_REVERT.format(record=derived.reverts, problem=problem)
        else:
            message = MISMATCH.format(problem=problem)
        raise PlanMismatchError(message)


MISMATCH = N_(
    "the plan is not what the policy gives against the live ERP, so it was not applied and "
    "nothing was changed: {problem}. A plan file is applied only as made by `erpsync plan`; "
    "make a new plan and review it."
)
MISMATCH_REVERT = N_(
    "the plan is not what undoing audit record #{record} gives against the live ERP, so it "
    "was not applied and nothing was changed: {problem}. A plan file is applied only as made "
    "by `erpsync plan`; make a new plan and review it."
)


def first_difference(saved: Plan, derived: Plan) -> str | None:
    if saved.reverts != derived.reverts:
        if saved.reverts is None:
            return N_("it says it reverts audit record none")
        return N_("it says it reverts audit record #{record}").format(record=saved.reverts)
    problem = _changes_differ(saved.changes, derived.changes)
    if problem is not None:
        return problem
    ours, theirs = _rest(saved), _rest(derived)
    for name in ours:
        if ours[name] != theirs[name]:
            return N_("its {name} differ").format(name=name)
    return None


def _rest(plan: Plan) -> dict[str, Any]:
    data = plan.to_dict()
    return {k: v for k, v in data.items() if k not in (*_NOT_COMPARED, "changes")}


def _changes_differ(saved: Sequence[Change], derived: Sequence[Change]) -> str | None:
    for number, (theirs, ours) in enumerate(zip(saved, derived, strict=False), start=1):
        if theirs != ours:
            if (theirs.action, theirs.kind, theirs.key) == (ours.action, ours.kind, ours.key):
                return N_("change {number} ({change}) differs in what it writes").format(
                    number=number, change=_said(ours)
                )
            if theirs not in derived:
                return NOT_MADE_NOW.format(number=number, change=_said(theirs))
            if ours not in saved:
                return N_("the plan lacks {change} (change {number} of the plan made now)").format(
                    change=_said(ours), number=number
                )
            return N_("change {number} is out of order ({change})").format(
                number=number, change=_said(theirs)
            )
    if len(saved) > len(derived):
        extra = saved[len(derived)]
        return NOT_MADE_NOW.format(number=len(derived) + 1, change=_said(extra))
    if len(saved) < len(derived):
        more = len(derived) - len(saved) - 1
        return N_("the plan lacks {change} (and {more} more)").format(
            change=_said(derived[len(saved)]), more=more
        )
    return None


NOT_MADE_NOW = N_("change {number}, {change}, is not in the plan made now")


def _said(change: Change) -> str:
    return f"{change.action} {change.kind} {change.key}"
