"""``erpsync doctor``: is this project ready to plan and apply? One check per line.

:func:`diagnose` runs the checks in order, each giving a :class:`Check` with
``ok``, ``warn`` or ``fail`` and, unless ok, a fix hint; a check that needs
what an earlier one could not provide (no target, no database) is ``skip``.
Nothing is written: the schema check inspects the tables without creating
any, the lock is only looked at, the audit chain is only read.

1. config: ``erpsync.yaml`` found and valid
2. policy: the policy loads and validates (against its catalog.yaml)
3. target: which target, its adapter known, its URL parses (shown redacted), and
   whether the adapter can store what the policy uses (with what the ERP lacks,
   e.g. that Tryton has no departments)
4. database: reachable (timed)
5. schema: the adapter's tables have the shape erpsync reads and writes
6. live state: readable (timed), and how many dirty-data problems it has
7. own tables: ``erpsync_audit`` and ``erpsync_lock`` present, with their columns
8. lock: who holds the apply lock, if anyone
9. audit: the hash chain verifies (and its head, to keep); no trail where erpsync has
   evidently applied before is a warning (a dropped table a failure)
10. last apply: how long ago, by whom
11. catalogue: the policy's catalog.yaml agrees with the live catalogue

No message carries a secret: every text passes :func:`erpsync.secrets.redact`, with the
target's secrets (its URL's password and secret parameters, and what erpsync.yaml took
from the environment into them).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from erpsync import audit, audit_anchor, connect, diagnostics, lock, owntables, secrets
from erpsync.adapters import adapter_class, open_adapter
from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.apply import LOCK_NAME
from erpsync.catalogue_diff import differences as catalogue_differences
from erpsync.config import Project, ResolvedTarget, load_project
from erpsync.errors import ConnectError, ErpsyncError, PolicyError
from erpsync.policy.loader import LoadedPolicy, load_policy
from erpsync.policy.validate import validate


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


# The checks that need a reachable database, skipped without one.
DATABASE_CHECKS = (
    "schema",
    "live state",
    "own tables",
    "lock",
    "audit",
    "last apply",
    "catalogue",
)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    hint: str = ""


@dataclass
class _Context:
    """What the checks found so far, for the checks after them."""

    project: Project | None = None
    loaded: LoadedPolicy | None = None
    target: ResolvedTarget | None = None
    adapter: Adapter | None = None
    snapshot: LiveSnapshot | None = None
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, status: Status, message: str, hint: str = "") -> None:
        """Record a check; a message of several lines (a config error) becomes one line."""
        one_line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
        self.checks.append(Check(name, status, one_line.replace(":;", ":"), hint))


def diagnose(
    config_path: Path | None,
    target_name: str | None,
    db_url: str | None,
    now: dt.datetime,
    cwd: Path | None = None,
) -> list[Check]:
    """Every check, in order; never raises for what it checks."""
    ctx = _Context()
    _config(ctx, config_path, cwd or Path.cwd())
    _policy(ctx, now.date(), target_name)
    _target(ctx, target_name, db_url)
    _connect(ctx)
    try:
        if ctx.adapter is not None and ctx.target is not None and _database(ctx, ctx.adapter):
            _database_checks(ctx, ctx.adapter, ctx.target.adapter, now)
        else:
            if ctx.target is None:
                ctx.add("database", Status.SKIP, "needs a target")
            for name in DATABASE_CHECKS:
                ctx.add(name, Status.SKIP, "needs the database")
    finally:
        if ctx.adapter is not None:
            ctx.adapter.engine.dispose()
    known = secrets.remembered()  # every target resolved, even one that failed a check
    return [scrub(check, known) for check in ctx.checks]


def scrub(check: Check, known: Sequence[str]) -> Check:
    """The check without a secret: every URL's, and each of ``known``."""
    return replace(
        check,
        message=secrets.redact(check.message, known),
        hint=secrets.redact(check.hint, known),
    )


def _database_checks(ctx: _Context, adapter: Adapter, kind: str, now: dt.datetime) -> None:
    _schema(ctx, adapter, kind)
    _live(ctx, adapter)
    _own_tables(ctx, adapter)
    _lock(ctx, adapter.engine, now)
    _audit(ctx, adapter.engine, now)
    _catalogue(ctx, now.date())


# --- configuration and policy ----------------------------------------------------------------


def _config(ctx: _Context, config_path: Path | None, cwd: Path) -> None:
    try:
        ctx.project = load_project(config_path, cwd)
    except ErpsyncError as exc:
        hint = "correct erpsync.yaml at the position shown"
        ctx.add("config", Status.FAIL, str(exc), hint)
        return
    if ctx.project.path is None:
        ctx.add(
            "config",
            Status.WARN,
            f"no erpsync.yaml in {cwd} or above it; defaults apply",
            "run erpsync in the policy repository, give --config FILE, or create erpsync.yaml",
        )
    else:
        ctx.add("config", Status.OK, f"{ctx.project.path} is valid")


def _policy(ctx: _Context, today: dt.date, target_name: str | None) -> None:
    if ctx.project is None:
        ctx.add("policy", Status.SKIP, "needs a valid erpsync.yaml")
        return
    directory = ctx.project.policy_dir_for(target_name)
    try:
        loaded = load_policy(directory, ctx.project.config.settings.max_file_mib * 1024 * 1024)
    except PolicyError as exc:
        first = exc.diagnostics[0] if exc.diagnostics else None
        detail = f": {first.position}: {first.message}" if first else ""
        ctx.add("policy", Status.FAIL, f"{directory} does not load{detail}", "erpsync validate")
        return
    ctx.loaded = loaded
    found = validate(loaded, today)
    errors = sum(1 for d in found if d.is_error)
    summary = diagnostics.summary_line(found)
    described = f"{directory}: {len(loaded.files)} files, {len(loaded.policy.users)} users"
    if errors:
        hint = "run `erpsync validate` for every error with its file and line"
        ctx.add("policy", Status.FAIL, f"{described}: invalid ({summary})", hint)
    elif found:
        hint = "run `erpsync validate` to see the warnings"
        ctx.add("policy", Status.WARN, f"{described}: valid ({summary})", hint)
    else:
        ctx.add("policy", Status.OK, f"{described}: valid")


# --- target and database ------------------------------------------------------------------------


def _target(ctx: _Context, target_name: str | None, db_url: str | None) -> None:
    if ctx.project is None:
        ctx.add("target", Status.SKIP, "needs a valid erpsync.yaml")
        return
    try:
        target = ctx.project.target(target_name, db_url)
        adapter_class(target.adapter)
    except ErpsyncError as exc:
        hint = "set default_target in erpsync.yaml, or give --target NAME or --db URL"
        ctx.add("target", Status.FAIL, str(exc), hint)
        return
    try:
        connect.parse(target)
    except ErpsyncError as exc:
        hint = "write the url as a SQLAlchemy URL, e.g. postgresql+psycopg://user:${PW}@host/db"
        ctx.add("target", Status.FAIL, str(exc), hint)
        return
    ctx.target = target
    described = f"{target.name} ({target.adapter}) at {target.display_url}"
    cls = adapter_class(target.adapter)
    if cls.target_note:
        described += f"; {cls.target_note}"
    refused = []
    if ctx.loaded is not None:
        found = cls.check_policy(ctx.loaded, ctx.project.config.settings)
        refused = [d for d in found if d.is_error]
    if refused:
        message = (
            f"{described}; the policy uses {len(refused)} thing(s) the {target.adapter} adapter "
            f"cannot store: {_listed([str(d) for d in refused])}"
        )
        hint = "`erpsync validate` lists each with its file and line; plan refuses the policy"
        ctx.add("target", Status.FAIL, message, hint)
    else:
        ctx.add("target", Status.OK, described)


_UNREACHABLE = (
    "check that the server runs and accepts connections, and the url's host, port, "
    "database and user (the password belongs in an environment variable)"
)


_NO_FILE = (
    "create the reference ERP with `erpsync refdb init URL`, or fix the path in the url "
    "(a relative path is relative to the working directory)"
)


def _connect(ctx: _Context) -> None:
    """Make the target's adapter (no connection yet); a missing SQLite file fails here."""
    if ctx.target is None:
        return
    try:
        ctx.adapter = open_adapter(ctx.target)
    except ConnectError as exc:
        ctx.add("database", Status.FAIL, exc.reason, exc.hint)
    except ErpsyncError as exc:
        sqlite = make_url(ctx.target.url).get_backend_name() == "sqlite"
        ctx.add("database", Status.FAIL, str(exc), _NO_FILE if sqlite else _UNREACHABLE)


def _database(ctx: _Context, adapter: Adapter) -> bool:
    hint = _UNREACHABLE
    started = time.perf_counter()
    try:
        with adapter.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except ConnectError as exc:
        ctx.add("database", Status.FAIL, f"unreachable: {exc.reason}", exc.hint)
        return False
    except SQLAlchemyError as exc:
        ctx.add("database", Status.FAIL, f"unreachable: {adapter.explain(exc)}", hint)
        return False
    ms = (time.perf_counter() - started) * 1000
    ctx.add("database", Status.OK, f"reachable in {ms:.0f} ms ({adapter.engine.dialect.name})")
    return True


@contextmanager
def _read_only(engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction is rolled back: the checks never write."""
    with engine.connect() as conn:
        try:
            yield conn
        finally:
            conn.rollback()


# --- the adapter's schema ---------------------------------------------------------------------


def _schema(ctx: _Context, adapter: Adapter, kind: str) -> None:
    hint = adapter.schema_hint
    try:
        with _read_only(adapter.engine) as conn:
            problems = adapter.schema_problems(conn)
    except SQLAlchemyError as exc:
        ctx.add("schema", Status.FAIL, f"cannot inspect: {adapter.explain(exc)}", hint)
        return
    if problems:
        ctx.add("schema", Status.FAIL, _listed(problems), hint)
    else:
        ctx.add("schema", Status.OK, f"compatible with the {kind} adapter")


def _live(ctx: _Context, adapter: Adapter) -> None:
    started = time.perf_counter()
    try:
        snapshot = adapter.read()
    except ErpsyncError as exc:
        ctx.add("live state", Status.FAIL, str(exc), "fix the schema problem above first")
        return
    ms = (time.perf_counter() - started) * 1000
    ctx.snapshot = snapshot
    s = snapshot.state
    counts = (
        f"{len(s.users)} users, {len(s.roles)} roles, {len(s.departments)} departments, "
        f"{len(s.memberships)} memberships read in {ms:.0f} ms"
    )
    if snapshot.problems:
        n = len(snapshot.problems)
        hint = "`erpsync plan` lists them as warnings; fix or delete the rows in the ERP"
        message = f"{counts}; {n} dirty-data problem(s), e.g. {snapshot.problems[0]}"
        ctx.add("live state", Status.WARN, message, hint)
    else:
        ctx.add("live state", Status.OK, f"{counts}; no dirty data")


# --- erpsync's own tables, lock and audit trail ------------------------------------------------


def _own_tables(ctx: _Context, adapter: Adapter) -> None:
    try:
        with _read_only(adapter.engine) as conn:
            inspector = inspect(conn)
            present = set(inspector.get_table_names())
            absent = [n for n in owntables.METADATA.tables if n not in present]
            problems = []
            for name, table in owntables.METADATA.tables.items():
                if name in present:
                    have = {c["name"] for c in inspector.get_columns(name)}
                    missing = [c.name for c in table.columns if c.name not in have]
                    if missing:
                        problems.append(f"{name}: missing columns {', '.join(missing)}")
    except SQLAlchemyError as exc:
        ctx.add("own tables", Status.FAIL, f"cannot inspect: {adapter.explain(exc)}")
        return
    if problems:
        hint = "these tables are erpsync's own: restore them from a backup"
        ctx.add("own tables", Status.FAIL, _listed(problems), hint)
    elif absent:
        message = f"{', '.join(absent)} not created yet"
        ctx.add("own tables", Status.WARN, message, "the first `erpsync apply` creates them")
    else:
        names = ", ".join(owntables.METADATA.tables)
        ctx.add("own tables", Status.OK, f"{names} present")


def _lock(ctx: _Context, engine: Engine, now: dt.datetime) -> None:
    try:
        holder = lock.status(engine, LOCK_NAME)
    except ErpsyncError as exc:
        ctx.add("lock", Status.FAIL, str(exc))
        return
    if holder is None:
        ctx.add("lock", Status.OK, "the apply lock is free")
        return
    if lock.is_dead(holder):
        message = (
            f"left by a dead process (pid {holder.pid} on this host) — the next apply takes it over"
        )
        hint = f"taken by {holder.describe()}; `erpsync force-unlock --yes` removes it now"
        ctx.add("lock", Status.WARN, message, hint)
        return
    if holder.expires_at is not None and holder.expires_at < now:
        hint = "a crashed apply left it; the next apply takes it over, or `erpsync force-unlock`"
        ctx.add("lock", Status.WARN, f"stale lock of {holder.describe()}", hint)
        return
    hint = "an apply is running; if it is not, run `erpsync force-unlock`"
    ctx.add("lock", Status.WARN, f"held by {holder.describe()}", hint)


def _audit(ctx: _Context, engine: Engine, now: dt.datetime) -> None:
    try:
        with _read_only(engine) as conn:
            if not audit.hashes(conn):  # no table, or no records
                _no_trail(ctx, audit_anchor.missing_trail(conn))
                return
            problems = audit.verify(conn)
            count = len(audit.records(conn)) if not problems else None
            newest = _newest(conn)
            head = audit_anchor.head(conn)
    except (SQLAlchemyError, ErpsyncError) as exc:
        ctx.add("audit", Status.FAIL, f"cannot read the audit trail: {exc}")
        return
    if problems:
        hint = (
            "`erpsync audit verify` lists every problem; find out who changed erpsync_audit "
            "and compare with the latest hash kept in your CI logs"
        )
        ctx.add("audit", Status.FAIL, f"the chain does not verify: {_listed(problems)}", hint)
    else:
        ctx.add("audit", Status.OK, f"{count} record(s), hash chain intact, head {head}")
    _last_apply(ctx, newest, now)


def _no_trail(ctx: _Context, missing: tuple[str, bool] | None) -> None:
    """No audit records: fine on a target never applied to, not when erpsync has been here."""
    if missing is None:
        ctx.add("audit", Status.OK, "no audit trail yet (nothing applied)")
    else:
        hint = (
            "compare with the head kept from the last apply: "
            "`erpsync audit verify --expect-head ID:HASH` (or `--against` an export)"
        )
        ctx.add("audit", Status.FAIL if missing[1] else Status.WARN, missing[0], hint)
    ctx.add("last apply", Status.WARN, "never applied", _NEVER)


_NEVER = "run `erpsync plan`, review it, then `erpsync apply`"


def _newest(conn: Connection) -> audit.AuditRecord | str | None:
    """The newest record, or why it cannot be read."""
    try:
        return audit.last(conn)
    except ErpsyncError as exc:
        return str(exc)


def _last_apply(ctx: _Context, newest: audit.AuditRecord | str | None, now: dt.datetime) -> None:
    if newest is None:
        ctx.add("last apply", Status.WARN, "never applied", _NEVER)
    elif isinstance(newest, str):
        ctx.add("last apply", Status.WARN, newest, "see the audit check above")
    else:
        e = newest.entry
        when = e.applied_at.strftime("%Y-%m-%d %H:%M UTC")
        message = (
            f"{ago(now - e.applied_at)} ({when}, record #{newest.id} by {e.actor}, "
            f"target {e.target})"
        )
        ctx.add("last apply", Status.OK, message)


def ago(delta: dt.timedelta) -> str:
    """``just now``, ``5 minutes ago``, ``3 hours ago``, ``2 days ago``."""
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "in the future (check the clocks)"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


# --- catalogue ---------------------------------------------------------------------------------


def _catalogue(ctx: _Context, today: dt.date) -> None:
    if ctx.loaded is None or ctx.snapshot is None:
        ctx.add("catalogue", Status.SKIP, "needs the policy and the live state")
        return
    live = ctx.snapshot.catalogue
    unknown = [
        d
        for d in validate(ctx.loaded, today, dict(live) or None)
        if d.is_error and d.code in ("unknown-module", "unknown-action")
    ]
    if unknown:
        hint = "fix the permissions, or the ERP's catalogue: `erpsync plan` refuses this policy"
        message = f"the ERP does not know {len(unknown)} permission(s) the policy uses: "
        ctx.add("catalogue", Status.FAIL, message + _listed([str(d) for d in unknown]), hint)
        return
    written = {k: tuple(m.actions) for k, m in ctx.loaded.policy.modules.items()}
    if not written:
        hint = "run `erpsync catalog` so that `erpsync validate` can check permissions offline"
        ctx.add("catalogue", Status.WARN, "the policy has no catalog.yaml", hint)
        return
    differs = catalogue_differences(ctx.loaded.policy.modules, ctx.snapshot)
    if differs:
        hint = (
            "run `erpsync catalog`: it refreshes catalog.yaml, or writes catalog.yaml.generated "
            "beside a hand-edited one"
        )
        message = f"catalog.yaml differs from the ERP in {len(differs)} place(s): "
        ctx.add("catalogue", Status.WARN, message + _listed(differs), hint)
    else:
        ctx.add("catalogue", Status.OK, f"catalog.yaml matches the ERP ({len(live)} modules)")


def _listed(items: Sequence[str], shown: int = 3) -> str:
    more = len(items) - shown
    return "; ".join(items[:shown]) + (f"; and {more} more" if more > 0 else "")
