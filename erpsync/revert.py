"""Undo an applied change set through review: the inverse of an audit record, planned
against today's live state.

Each change has an inverse (create <-> delete, grant <-> revoke, deactivate <->
reactivate, update with before and after swapped). The inverses that still
make sense today are applied to the live state in memory, in reverse order,
and the result is diffed against the live state like any desired state, so the
revert is shown and saved as an ordinary plan.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

from erpsync import guards, removals
from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.adapters.memory import apply_where_possible
from erpsync.config import ResolvedTarget, Settings
from erpsync.diff import diff
from erpsync.errors import UsageError
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Plan, Target
from erpsync.scope import Scope
from erpsync.state import Desired

REASON = N_("undoes audit record #{record}")
_REASON = re.compile(r"undoes audit record #(\d+)")

INVERSE = {
    Action.CREATE: Action.DELETE,
    Action.DELETE: Action.CREATE,
    Action.UPDATE: Action.UPDATE,
    Action.DEACTIVATE: Action.REACTIVATE,
    Action.REACTIVATE: Action.DEACTIVATE,
    Action.GRANT: Action.REVOKE,
    Action.REVOKE: Action.GRANT,
}


def inverse(change: Change) -> Change:
    """The change that undoes ``change`` (a rename's inverse renames back: it is keyed by
    the old key, and its before holds the new one)."""
    key = change.renamed_from or change.key
    return Change(
        INVERSE[change.action], change.kind, key, change.reason, change.after, change.before
    )


def revert_plan(
    changes: list[dict[str, Any]],
    record_id: int,
    snapshot: LiveSnapshot,
    settings: Settings,
    adapter: type[Adapter],
    target: ResolvedTarget,
    now: dt.datetime,
    recent: removals.Recent | None = None,
) -> tuple[Plan, list[Change]]:
    """The plan that undoes ``changes`` today, and the inverses that no longer apply.

    Raises :class:`UsageError` when the adapter's writer would refuse one of its changes
    (as apply would). ``recent`` feeds the guards' verdicts, as in
    :func:`erpsync.planner.make_plan`."""
    undo = [inverse(Change.from_dict(c)) for c in reversed(changes)]
    wanted, skipped = apply_where_possible(snapshot.state, undo)
    scope = Scope.for_adapter(settings, adapter)
    if scope.undeclared_roles == "declared":
        # ``wanted`` is the whole live state but for what the undo removes: a role missing
        # from it was created by the reverted apply and is to be deleted, not left alone.
        scope = replace(scope, undeclared_roles="all")
    renames: dict[str, dict[str, str]] = {}
    for c in undo:
        if c.renamed_from is not None and c not in skipped:
            renames.setdefault(str(c.kind), {})[c.renamed_from] = c.key
    result = diff(Desired(wanted, renames=renames), snapshot.state, scope)
    reason = REASON.format(record=record_id)
    refused = adapter.check_plan(snapshot, result.changes) if result.changes else []
    if refused:
        raise UsageError(
            N_(
                "cannot revert audit record #{record}: the {adapter} ERP would refuse it:\n"
                "  {problem}"
            ).format(record=record_id, adapter=adapter.name, problem="\n  ".join(map(str, refused)))
        )
    verdicts = guards.verdicts(
        result.changes,
        result.unmanaged,
        snapshot.state,
        scope,
        settings,
        recent or removals.Recent(settings.max_removals_window),
    )
    plan = Plan(
        target=Target(target.name, target.adapter, target.display_url, target.tenant),
        created_at=now,
        policy_digest=wanted.digest(),
        live_digest=snapshot.state.digest(),
        changes=tuple(replace(c, reason=reason) for c in result.changes),
        unmanaged=tuple(result.unmanaged),
        warnings=tuple(
            N_("not reverted (no longer applies): {action} {kind} {key}").format(
                action=c.action, kind=c.kind, key=c.key
            )
            for c in skipped
        ),
        notes=(
            N_(
                "This plan undoes audit record #{record} in the live ERP. The policy still "
                "says otherwise: until the policy follows (revert its change in git too), "
                "drift reports the difference and the next apply from the policy redoes it."
            ).format(record=record_id),
        ),
        guards=verdicts,
        reverts=record_id,
    )
    return plan, skipped


def reverted_record(changes: list[dict[str, Any]]) -> int | None:
    """The audit record an applied change set undid, when it was a revert (every change
    of a revert plan carries its reason, which apply checked against the record)."""
    found = set()
    for change in changes:
        match = _REASON.fullmatch(str(change.get("reason", "")))
        found.add(None if match is None else int(match[1]))
    return found.pop() if len(found) == 1 else None
