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
            "plan is stale: the policy (or what it means today) changed since the plan was "
            "made; nothing was changed. Make a new plan and review it."
        )
    return plan


def check_same(saved: Plan, derived: Plan) -> None:
    """Raise :class:`PlanMismatchError` naming the first way ``saved`` differs from
    ``derived`` (the plan the policy gives now)."""
    problem = first_difference(saved, derived)
    if problem is not None:
        source = (
            f"undoing audit record #{derived.reverts} gives"
            if derived.reverts is not None
            else "the policy gives"
        )
        raise PlanMismatchError(
            f"the plan is not what {source} against the live ERP, so it was not applied and "
            f"nothing was changed: {problem}. A plan file is applied only as made by "
            "`erpsync plan`; make a new plan and review it."
        )


def first_difference(saved: Plan, derived: Plan) -> str | None:
    if saved.reverts != derived.reverts:
        said = "none" if saved.reverts is None else f"#{saved.reverts}"
        return f"it says it reverts audit record {said}"
    problem = _changes_differ(saved.changes, derived.changes)
    if problem is not None:
        return problem
    ours, theirs = _rest(saved), _rest(derived)
    for name in ours:
        if ours[name] != theirs[name]:
            return f"its {name} differ"
    return None


def _rest(plan: Plan) -> dict[str, Any]:
    data = plan.to_dict()
    return {k: v for k, v in data.items() if k not in (*_NOT_COMPARED, "changes")}


def _changes_differ(saved: Sequence[Change], derived: Sequence[Change]) -> str | None:
    for number, (theirs, ours) in enumerate(zip(saved, derived, strict=False), start=1):
        if theirs != ours:
            if (theirs.action, theirs.kind, theirs.key) == (ours.action, ours.kind, ours.key):
                return f"change {number} ({_said(ours)}) differs in what it writes"
            if theirs not in derived:
                return f"change {number}, {_said(theirs)}, is not in the plan made now"
            if ours not in saved:
                return f"the plan lacks {_said(ours)} (change {number} of the plan made now)"
            return f"change {number} is out of order ({_said(theirs)})"
    if len(saved) > len(derived):
        extra = saved[len(derived)]
        return f"change {len(derived) + 1}, {_said(extra)}, is not in the plan made now"
    if len(saved) < len(derived):
        more = len(derived) - len(saved) - 1
        return f"the plan lacks {_said(derived[len(saved)])} (and {more} more)"
    return None


def _said(change: Change) -> str:
    return f"{change.action} {change.kind} {change.key}"
