"""Apply a plan to the live ERP: boringly safe.

Under the apply lock, in ONE database transaction: read the live state again
and refuse a stale plan (the ERP or the policy changed since it was made),
have the adapter check the changes again (as plan did), check the guards,
write every change in the plan's order, and append the hash-chained audit
record. Commit, release the lock, then let the adapter
tell the running ERP (cache signals). Any error before the commit rolls
everything back: the ERP is either fully changed or untouched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import SQLAlchemyError

from erpsync import __version__, audit, isolation, lock, owntables
from erpsync import diagnostics as diag
from erpsync.adapters.base import Adapter, Progress
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import DatabaseError, PolicyError, StalePlanError, UsageError
from erpsync.guards import check_mass_removal, check_protected
from erpsync.plan import Plan
from erpsync.planner import make_plan, refusal_error
from erpsync.policy.loader import LoadedPolicy
from erpsync.policy.validate import validate
from erpsync.scope import Scope
from erpsync.state import desired_state, policy_digest

LOCK_NAME = "apply"
LOCK_TTL_SECONDS = 15 * 60


@dataclass(frozen=True)
class ApplyOptions:
    lock_timeout: float = 60.0
    allow_mass_removal: bool = False
    actor: str = "unknown"
    git_commit: str | None = None
    git_branch: str | None = None


@dataclass
class ApplyResult:
    applied: int
    record: audit.AuditRecord | None = None
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False
    plan: Plan | None = None


def check_origin(plan: Plan, target: ResolvedTarget) -> None:
    """A saved plan is applied only by the same erpsync version to the same target."""
    if plan.erpsync_version != __version__:
        raise UsageError(
            f"the plan was made by erpsync {plan.erpsync_version}; this is {__version__}: "
            "make a new plan with this version"
        )
    if (plan.target.name, plan.target.adapter) != (target.name, target.adapter):
        raise UsageError(
            f"the plan is for target {plan.target.name} ({plan.target.adapter}), not "
            f"{target.name} ({target.adapter})"
        )


def _immediate_sqlite_transactions(engine: Engine) -> None:
    """Make SQLite take its write lock at BEGIN, so the stale check and the writes see one
    state (the default deferred BEGIN would let another writer in between)."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_erpsync_immediate", False):
        return

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine._erpsync_immediate = True  # type: ignore[attr-defined]
    engine.dispose()  # pooled connections predate the listeners


Review = Callable[[Plan], bool]


def execute(
    adapter: Adapter,
    target: ResolvedTarget,
    loaded: LoadedPolicy,
    settings: Settings,
    options: ApplyOptions,
    plan: Plan | None = None,
    review: Review | None = None,
    progress: Progress | None = None,
) -> ApplyResult:
    """Apply ``plan`` exactly, or raise and change nothing.

    Without a plan, the plan is made under the lock (so a concurrent apply cannot
    slip in between planning and applying) and passed to ``review``, which may
    show it and ask for confirmation; ``False`` cancels.
    """
    engine = adapter.engine
    _immediate_sqlite_transactions(engine)
    who = options.actor
    with lock.hold(engine, LOCK_NAME, options.lock_timeout, LOCK_TTL_SECONDS, who):
        now = dt.datetime.now(dt.UTC)
        if plan is None:
            snapshot = adapter.read()
            plan = make_plan(loaded, snapshot, settings, type(adapter), target, now.date(), now)
            if review is not None and plan.changes and not review(plan):
                return ApplyResult(0, cancelled=True, plan=plan)
        if not plan.changes:
            return ApplyResult(0, plan=plan)
        scope = Scope.for_adapter(settings, adapter)
        check_protected(plan.changes, scope)
        try:
            with isolation.apply_transaction(engine, options.lock_timeout) as conn:
                record = _in_transaction(
                    conn, adapter, target, plan, loaded, settings, options, now.date(), progress
                )
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"apply failed and was rolled back, nothing was changed: {adapter.explain(exc)}"
            ) from None
    notes = adapter.after_commit(plan.changes)
    return ApplyResult(len(plan.changes), record, notes, plan=plan)


def _in_transaction(
    conn: Connection,
    adapter: Adapter,
    target: ResolvedTarget,
    plan: Plan,
    loaded: LoadedPolicy,
    settings: Settings,
    options: ApplyOptions,
    today: dt.date,
    progress: Progress | None,
) -> audit.AuditRecord | None:
    owntables.ensure_tables(conn)
    snapshot = adapter.read_from(conn)
    if snapshot.state.digest() != plan.live_digest:
        raise StalePlanError(
            "plan is stale: the ERP changed since the plan was made; nothing was changed. "
            "Make a new plan and review it."
        )
    catalogue = dict(snapshot.catalogue) or None
    found = validate(loaded, today, catalogue, requires=snapshot.requires or None)
    found += adapter.check_policy(loaded, settings)
    if diag.has_errors(found):
        raise PolicyError(found)
    if policy_digest(loaded, catalogue, today) != plan.policy_digest:
        raise StalePlanError(
            "plan is stale: the policy (or what it means today) changed since the plan was "
            "made; nothing was changed. Make a new plan and review it."
        )
    refused = adapter.check_plan(snapshot, plan.changes) if plan.changes else []
    if refused:  # what the state's digest does not cover (RuoYi's menus) may have moved
        desired = desired_state(loaded, catalogue, today)
        raise refusal_error(refused, desired, target, adapter.name)
    check_mass_removal(plan, snapshot.state, settings, options.allow_mass_removal)
    if not plan.changes:
        return None
    adapter.write(conn, plan.changes, options.actor, progress)
    entry = audit.entry_from_plan(
        plan.to_dict(), options.actor, (options.git_commit, options.git_branch)
    )
    return audit.append(conn, entry)
