"""Apply a plan to the live ERP: boringly safe.

Under the apply lock, in ONE database transaction: read the live state again and
refuse a stale plan (the ERP or the policy changed since it was made); make the plan
again from the policy and that state (:mod:`erpsync.replan`: validation, separation
of duties, the adapter's checks) and refuse unless it is exactly the plan given;
check the guards on it; write every change in the plan's order, and append the
hash-chained audit record. Commit, release the lock, then let the adapter tell the
running ERP (cache signals). Any error before the commit rolls everything back: the
ERP is either fully changed or untouched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import SQLAlchemyError

from erpsync import __version__, audit, isolation, lock, owntables, removals, replan
from erpsync.adapters.base import Adapter, Progress
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import DatabaseError, StalePlanError, UsageError
from erpsync.guards import enforce
from erpsync.i18n import N_
from erpsync.plan import Plan
from erpsync.planner import make_plan
from erpsync.policy.loader import LoadedPolicy

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
    """A saved plan is applied only by the same erpsync version to the same target (by
    name, adapter and database)."""
    if plan.erpsync_version != __version__:
        raise UsageError(
            N_(
                "the plan was made by erpsync {made_by}; this is {this}: make a new plan with "
                "this version"
            ).format(made_by=plan.erpsync_version, this=__version__)
        )
    if (plan.target.name, plan.target.adapter) != (target.name, target.adapter):
        raise UsageError(
            N_("the plan is for target {name} ({adapter}), not {target} ({kind})").format(
                name=plan.target.name,
                adapter=plan.target.adapter,
                target=target.name,
                kind=target.adapter,
            )
        )
    if plan.target.url != target.display_url:
        raise UsageError(
            N_(
                "the plan is for database {url}, but target {target} is {actual}: make a new "
                "plan for this target"
            ).format(url=plan.target.url, target=target.name, actual=target.display_url)
        )
    if plan.target.tenant != target.tenant:
        if not plan.target.tenant:
            template = N_(
                "the plan is for tenant (default), but target {target} is tenant {actual}: "
                "make a new plan for it"
            )
        elif not target.tenant:
            template = N_(
                "the plan is for tenant {tenant}, but target {target} is tenant (default): "
                "make a new plan for it"
            )
        else:
            template = N_(
                "the plan is for tenant {tenant}, but target {target} is tenant {actual}: "
                "make a new plan for it"
            )
        raise UsageError(
            template.format(tenant=plan.target.tenant, target=target.name, actual=target.tenant)
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
    slip in between planning and applying), its guards are checked, and it is passed
    to ``review``, which may show it and ask for confirmation; ``False`` cancels.
    """
    engine = adapter.engine
    _immediate_sqlite_transactions(engine)
    who = options.actor
    with lock.hold(engine, LOCK_NAME, options.lock_timeout, LOCK_TTL_SECONDS, who):
        now = dt.datetime.now(dt.UTC)
        if plan is None:
            plan = _plan_now(adapter, target, loaded, settings, now)
            enforce(plan.guards, options.allow_mass_removal)  # before anyone is asked
            if review is not None and plan.changes and not review(plan):
                return ApplyResult(0, cancelled=True, plan=plan)
        if not plan.changes:
            return ApplyResult(0, plan=plan)
        try:
            with isolation.apply_transaction(engine, options.lock_timeout) as conn:
                record = _in_transaction(
                    conn, adapter, target, plan, loaded, settings, options, now, progress
                )
        except SQLAlchemyError as exc:
            raise DatabaseError(
                N_("apply failed and was rolled back, nothing was changed: {cause}").format(
                    cause=adapter.explain(exc)
                )
            ) from None
    notes = adapter.after_commit(plan.changes)
    return ApplyResult(len(plan.changes), record, notes, plan=plan)


def _plan_now(
    adapter: Adapter,
    target: ResolvedTarget,
    loaded: LoadedPolicy,
    settings: Settings,
    now: dt.datetime,
) -> Plan:
    """The plan for an apply without a plan file, with its guards' verdicts."""
    snapshot = adapter.read()
    recent = removals.read_recent(adapter, settings.max_removals_window, now, target)
    kind = type(adapter)
    return make_plan(loaded, snapshot, settings, kind, target, now.date(), now, recent=recent)


def _in_transaction(
    conn: Connection,
    adapter: Adapter,
    target: ResolvedTarget,
    plan: Plan,
    loaded: LoadedPolicy,
    settings: Settings,
    options: ApplyOptions,
    now: dt.datetime,
    progress: Progress | None,
) -> audit.AuditRecord | None:
    owntables.ensure_tables(conn)
    snapshot = adapter.read_from(conn)
    if snapshot.state.digest() != plan.live_digest:
        raise StalePlanError(
            N_(
                "plan is stale: the ERP changed since the plan was made; nothing was changed. "
                "Make a new plan and review it."
            )
        )
    derived = replan.derive(conn, adapter, target, plan, loaded, snapshot, settings, now)
    replan.check_same(plan, derived)
    enforce(derived.guards, options.allow_mass_removal)
    if not derived.changes:
        return None
    adapter.write(conn, derived.changes, options.actor, progress)
    # stamped after the writes, so the rows' own change times are not later than the record
    entry = audit.entry_from_plan(
        derived.to_dict(), options.actor, (options.git_commit, options.git_branch)
    )
    return audit.append(conn, entry)
