"""From a loaded policy and a live snapshot to a :class:`Plan`.

This is the whole pipeline between reading and rendering: check the policy
against the live catalogue and what the adapter allows, resolve the desired
state, diff it against the live state within the managed scope, have the adapter
check the changes against the live state (what its writer would refuse is an
error at the declaration the change came from, :mod:`erpsync.declared`), and
stamp the result with both digests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from erpsync import access, guards, moves, removals
from erpsync import diagnostics as diag
from erpsync.adapters.base import Adapter, LiveSnapshot, Refusal
from erpsync.config import ResolvedTarget, Settings
from erpsync.declared import refusal_diagnostics
from erpsync.diagnostics import Position
from erpsync.diff import diff
from erpsync.errors import PolicyError, UsageError
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Plan, Target
from erpsync.policy import capabilities
from erpsync.policy.confusables import confusable_keys
from erpsync.policy.loader import LoadedPolicy
from erpsync.policy.validate import validate
from erpsync.roles_of_note import roles_of_note
from erpsync.scope import Scope
from erpsync.state import Desired, desired_state, policy_digest


def catalogue_warnings(
    written: Mapping[str, tuple[str, ...]], live: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """Where the policy's catalog.yaml and the ERP's own catalogue disagree."""
    if not written:
        return []
    out = []
    for module in sorted(written.keys() | live.keys()):
        if set(written.get(module, ())) != set(live.get(module, ())):
            out.append(
                N_(
                    "catalogue: module {module} differs between the policy and the ERP "
                    "(run `erpsync catalog` to refresh catalog.yaml)"
                ).format(module=module)
            )
    return out


def refusal_error(
    refused: Sequence[Refusal],
    desired: Desired,
    target: ResolvedTarget,
    adapter: str,
    found: Sequence[diag.Diagnostic] = (),
) -> PolicyError:
    """The error of a plan the adapter refuses: each refusal at its declaration (a change
    no declaration gave, at the target), with the policy's other findings."""
    live = Position(f"target {target.name}")
    return PolicyError(
        diag.ordered([*refusal_diagnostics(refused, desired, live, adapter), *found])
    )


def make_plan(
    loaded: LoadedPolicy,
    snapshot: LiveSnapshot,
    settings: Settings,
    adapter: type[Adapter],
    target: ResolvedTarget,
    today: dt.date,
    now: dt.datetime,
    check: bool = True,
    recent: removals.Recent | None = None,
) -> Plan:
    """The plan that makes ``snapshot`` match the policy; raises PolicyError when invalid,
    or (``check``) when the adapter would refuse a change (drift, which only reports,
    passes ``check=False``). ``recent`` is what the audit trail says was removed within
    ``settings.max_removals_window``, for the guards' verdicts (None: nothing)."""
    catalogue = dict(snapshot.catalogue) or None
    resolution = access.Resolution(loaded.policy, catalogue, today)
    found = validate(loaded, today, catalogue, resolution, snapshot.requires or None)
    found += adapter.check_policy(loaded, settings)
    if diag.has_errors(found):
        raise PolicyError(found)
    scope = Scope.for_adapter(settings, adapter)
    found += confusable_keys(loaded, scope.protected_users, scope.protected_roles)
    desired = capabilities.storable(
        desired_state(loaded, catalogue, today, resolution), adapter.capabilities
    )
    live = snapshot.state
    desired = capabilities.undeclared_as_live(desired, live, adapter.capabilities)
    adoptions = moves.adoptions(
        {"department": desired.state.departments, "role": desired.state.roles, "user": {}},
        {"department": live.departments, "role": live.roles, "user": live.users},
        snapshot.unbound,
        adapter.natural_keys(desired.state) if snapshot.unbound else {},
    )
    result = diff(desired, live, scope, adoptions)
    if result.errors:
        problem = "\n  ".join(result.errors)
        raise UsageError(N_("cannot plan:\n  {problem}").format(problem=problem))
    refused = adapter.check_plan(snapshot, result.changes) if check and result.changes else []
    if refused:
        raise refusal_error(refused, desired, target, adapter.name, found)
    written = {k: tuple(m.actions) for k, m in loaded.policy.modules.items()}
    warnings = [
        *(N_("live data: {problem}").format(problem=p) for p in snapshot.problems),
        *catalogue_warnings(written, snapshot.catalogue),
        *result.warnings,
        *adapter.plan_warnings(snapshot, result.changes),
        *(str(d) for d in found),
    ]
    verdicts = guards.verdicts(
        result.changes,
        result.unmanaged,
        live,
        scope,
        settings,
        recent or removals.Recent(settings.max_removals_window),
    )
    return Plan(
        target=Target(target.name, target.adapter, target.display_url, target.tenant),
        created_at=now,
        policy_digest=policy_digest(loaded, catalogue, today),
        live_digest=snapshot.state.digest(),
        changes=tuple(result.changes),
        unmanaged=tuple(result.unmanaged),
        warnings=tuple(warnings),
        notes=(*deleted_notes(result.changes, snapshot), *adapter.plan_notes(result.changes)),
        guards=verdicts,
        roles_of_note=roles_of_note(loaded.policy, (desired.state, live), result.changes),
    )


def deleted_notes(changes: Sequence[Change], snapshot: LiveSnapshot) -> list[str]:
    """What apply does about a declared object the ERP deleted itself (a soft-deleted row):
    it creates a new row; the deleted one stays deleted."""
    notes = []
    for change in changes:
        gone = snapshot.deleted.get((str(change.kind), change.key))
        if gone is None or change.action is not Action.CREATE:
            continue
        when = gone.at.strftime("%Y-%m-%d %H:%M UTC") if gone.at is not None else None
        if gone.by and when:
            recorded = N_("last recorded change by {who} on {when}").format(who=gone.by, when=when)
        elif gone.by:
            recorded = N_("last recorded change by {who}").format(who=gone.by)
        elif when:
            recorded = N_("last recorded change by someone on {when}").format(when=when)
        else:
            recorded = N_("who and when not recorded by the ERP")
        template = DELETED_IN_ERP.get(str(change.kind), DELETED_IN_ERP[""])
        notes.append(template.format(kind=change.kind, key=change.key, detail=recorded))
    return notes


# What apply does about a declared object the ERP deleted itself, per kind ("": others).
DELETED_IN_ERP = {
    "department": N_(
        "department {key} was deleted in the ERP ({detail}); apply creates a new row, it "
        "does not restore the deleted one."
    ),
    "role": N_(
        "role {key} was deleted in the ERP ({detail}); apply creates a new row, it does not "
        "restore the deleted one."
    ),
    "user": N_(
        "user {key} was deleted in the ERP ({detail}); apply creates a new row, it does not "
        "restore the deleted one, and the new user has no password until one is set in the "
        "ERP."
    ),
    "": N_(
        "{kind} {key} was deleted in the ERP ({detail}); apply creates a new row, it does not "
        "restore the deleted one."
    ),
}
