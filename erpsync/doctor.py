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

Every message and hint is made in English from a template marked ``N_`` (data); the
``doctor`` command says them in the run's language (:func:`erpsync.i18n.said`). A check
that lists problems keeps its ``lead`` and its ``items`` apart, so each is said.
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
from erpsync.i18n import N_
from erpsync.policy.loader import LoadedPolicy, load_policy
from erpsync.policy.validate import validate


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


# The checks' names, as the doctor command says them.
NAMES = (
    N_("config"),
    N_("policy"),
    N_("target"),
    N_("database"),
    N_("schema"),
    N_("live state"),
    N_("own tables"),
    N_("lock"),
    N_("audit"),
    N_("last apply"),
    N_("catalogue"),
)

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
    lead: str = ""  # with items: the message before its list
    items: tuple[str, ...] = ()  # the problems the message lists (all of them)


@dataclass
class _Context:
    """What the checks found so far, for the checks after them."""

    project: Project | None = None
    loaded: LoadedPolicy | None = None
    target: ResolvedTarget | None = None
    adapter: Adapter | None = None
    snapshot: LiveSnapshot | None = None
    checks: list[Check] = field(default_factory=list)

    def add(
        self, name: str, status: Status, message: str, hint: str = "", items: Sequence[str] = ()
    ) -> None:
        """Record a check; a message of several lines (a config error) becomes one line.
        With ``items``, the message is ``message: item; item; item; and 2 more``."""
        lead = message if items else ""
        if items:
            listed = _listed(items)
            message = f"{message}: {listed}" if message else listed
        one_line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
        check = Check(name, status, one_line.replace(":;", ":"), hint, lead, tuple(items))
        self.checks.append(check)


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
                ctx.add("database", Status.SKIP, N_("needs a target"))
            for name in DATABASE_CHECKS:
                ctx.add(name, Status.SKIP, N_("needs the database"))
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
        lead=secrets.redact(check.lead, known),
        items=tuple(secrets.redact(item, known) for item in check.items),
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
        hint = N_("correct erpsync.yaml at the position shown")
        ctx.add("config", Status.FAIL, str(exc), hint)
        return
    if ctx.project.path is None:
        ctx.add(
            "config",
            Status.WARN,
            N_("no erpsync.yaml in {directory} or above it; defaults apply").format(directory=cwd),
            N_("run erpsync in the policy repository, give --config FILE, or create erpsync.yaml"),
        )
    else:
        ctx.add("config", Status.OK, N_("{file} is valid").format(file=ctx.project.path))


def _policy(ctx: _Context, today: dt.date, target_name: str | None) -> None:
    if ctx.project is None:
        ctx.add("policy", Status.SKIP, N_("needs a valid erpsync.yaml"))
        return
    directory = ctx.project.policy_dir_for(target_name)
    try:
        loaded = load_policy(directory, ctx.project.config.settings.max_file_mib * 1024 * 1024)
    except PolicyError as exc:
        first = exc.diagnostics[0] if exc.diagnostics else None
        if first:
            message = N_("{directory} does not load: {position}: {detail}").format(
                directory=directory, position=first.position, detail=first.message
            )
        else:
            message = N_("{directory} does not load").format(directory=directory)
        ctx.add("policy", Status.FAIL, message, "erpsync validate")
        return
    ctx.loaded = loaded
    found = validate(loaded, today)
    errors = sum(1 for d in found if d.is_error)
    values = {
        "directory": directory,
        "files": len(loaded.files),
        "users": len(loaded.policy.users),
        "detail": diagnostics.summary_line(found),
    }
    if errors:
        hint = N_("run `erpsync validate` for every error with its file and line")
        message = N_("{directory}: {files} files, {users} users: invalid ({detail})")
        ctx.add("policy", Status.FAIL, message.format(**values), hint)
    elif found:
        hint = N_("run `erpsync validate` to see the warnings")
        message = N_("{directory}: {files} files, {users} users: valid ({detail})")
        ctx.add("policy", Status.WARN, message.format(**values), hint)
    else:
        message = N_("{directory}: {files} files, {users} users: valid")
        ctx.add("policy", Status.OK, message.format(**values))


# --- target and database ------------------------------------------------------------------------


def _target(ctx: _Context, target_name: str | None, db_url: str | None) -> None:
    if ctx.project is None:
        ctx.add("target", Status.SKIP, N_("needs a valid erpsync.yaml"))
        return
    try:
        target = ctx.project.target(target_name, db_url)
        adapter_class(target.adapter)
    except ErpsyncError as exc:
        hint = N_("set default_target in erpsync.yaml, or give --target NAME or --db URL")
        ctx.add("target", Status.FAIL, str(exc), hint)
        return
    try:
        connect.parse(target)
    except ErpsyncError as exc:
        hint = N_("write the url as a SQLAlchemy URL, e.g. postgresql+psycopg://user:${PW}@host/db")
        ctx.add("target", Status.FAIL, str(exc), hint)
        return
    ctx.target = target
    cls = adapter_class(target.adapter)
    where = {"name": target.name, "adapter": target.adapter, "url": target.display_url}
    if cls.target_note:
        described = N_("{name} ({adapter}) at {url}; {detail}").format(
            **where, detail=cls.target_note
        )
    else:
        described = N_("{name} ({adapter}) at {url}").format(**where)
    refused = []
    if ctx.loaded is not None:
        found = cls.check_policy(ctx.loaded, ctx.project.config.settings)
        refused = [d for d in found if d.is_error]
    if refused:
        message = N_(
            "{message}; the policy uses {n} thing(s) the {adapter} adapter cannot store"
        ).format(message=described, n=len(refused), adapter=target.adapter)
        hint = N_("`erpsync validate` lists each with its file and line; plan refuses the policy")
        ctx.add("target", Status.FAIL, message, hint, [str(d) for d in refused])
    else:
        ctx.add("target", Status.OK, described)


_UNREACHABLE = N_(
    "check that the server runs and accepts connections, and the url's host, port, "
    "database and user (the password belongs in an environment variable)"
)


_NO_FILE = N_(
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
        message = N_("unreachable: {reason}").format(reason=exc.reason)
        ctx.add("database", Status.FAIL, message, exc.hint)
        return False
    except SQLAlchemyError as exc:
        message = N_("unreachable: {reason}").format(reason=adapter.explain(exc))
        ctx.add("database", Status.FAIL, message, hint)
        return False
    ms = f"{(time.perf_counter() - started) * 1000:.0f}"
    message = N_("reachable in {ms} ms ({dialect})").format(
        ms=ms, dialect=adapter.engine.dialect.name
    )
    ctx.add("database", Status.OK, message)
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
        message = N_("cannot inspect: {reason}").format(reason=adapter.explain(exc))
        ctx.add("schema", Status.FAIL, message, hint)
        return
    if problems:
        ctx.add("schema", Status.FAIL, "", hint, problems)
    else:
        ctx.add(
            "schema", Status.OK, N_("compatible with the {adapter} adapter").format(adapter=kind)
        )


def _live(ctx: _Context, adapter: Adapter) -> None:
    started = time.perf_counter()
    try:
        snapshot = adapter.read()
    except ErpsyncError as exc:
        ctx.add("live state", Status.FAIL, str(exc), N_("fix the schema problem above first"))
        return
    ms = (time.perf_counter() - started) * 1000
    ctx.snapshot = snapshot
    s = snapshot.state
    counts = {
        "users": len(s.users),
        "roles": len(s.roles),
        "departments": len(s.departments),
        "memberships": len(s.memberships),
        "ms": f"{ms:.0f}",
    }
    if snapshot.problems:
        hint = N_("`erpsync plan` lists them as warnings; fix or delete the rows in the ERP")
        message = N_(
            "{users} users, {roles} roles, {departments} departments, {memberships} memberships "
            "read in {ms} ms; {n} dirty-data problem(s), e.g. {problem}"
        ).format(**counts, n=len(snapshot.problems), problem=snapshot.problems[0])
        ctx.add("live state", Status.WARN, message, hint)
    else:
        message = N_(
            "{users} users, {roles} roles, {departments} departments, {memberships} memberships "
            "read in {ms} ms; no dirty data"
        ).format(**counts)
        ctx.add("live state", Status.OK, message)


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
                        problems.append(
                            N_("{table}: missing columns {columns}").format(
                                table=name, columns=", ".join(missing)
                            )
                        )
    except SQLAlchemyError as exc:
        message = N_("cannot inspect: {reason}").format(reason=adapter.explain(exc))
        ctx.add("own tables", Status.FAIL, message)
        return
    if problems:
        hint = N_("these tables are erpsync's own: restore them from a backup")
        ctx.add("own tables", Status.FAIL, "", hint, problems)
    elif absent:
        message = N_("{tables} not created yet").format(tables=", ".join(absent))
        hint = N_("the first `erpsync apply` creates them")
        ctx.add("own tables", Status.WARN, message, hint)
    else:
        names = ", ".join(owntables.METADATA.tables)
        # erpsync's tables all start erpsync_: a template that only ends in "present"
        # would be matched by any message ending so
        rest = names.removeprefix("erpsync_")
        ctx.add("own tables", Status.OK, N_("erpsync_{tables} present").format(tables=rest))


def _lock(ctx: _Context, engine: Engine, now: dt.datetime) -> None:
    try:
        holder = lock.status(engine, LOCK_NAME)
    except ErpsyncError as exc:
        ctx.add("lock", Status.FAIL, str(exc))
        return
    if holder is None:
        ctx.add("lock", Status.OK, N_("the apply lock is free"))
        return
    if lock.is_dead(holder):
        message = N_(
            "left by a dead process (pid {pid} on this host) — the next apply takes it over"
        ).format(pid=holder.pid)
        hint = N_("taken by {holder}; `erpsync force-unlock --yes` removes it now").format(
            holder=holder.describe()
        )
        ctx.add("lock", Status.WARN, message, hint)
        return
    if holder.expires_at is not None and holder.expires_at < now:
        hint = N_(
            "a crashed apply left it; the next apply takes it over, or `erpsync force-unlock`"
        )
        message = N_("stale lock of {holder}").format(holder=holder.describe())
        ctx.add("lock", Status.WARN, message, hint)
        return
    hint = N_("an apply is running; if it is not, run `erpsync force-unlock`")
    ctx.add("lock", Status.WARN, N_("held by {holder}").format(holder=holder.describe()), hint)


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
        message = N_("cannot read the audit trail: {reason}").format(reason=exc)
        ctx.add("audit", Status.FAIL, message)
        return
    if problems:
        hint = N_(
            "`erpsync audit verify` lists every problem; find out who changed erpsync_audit "
            "and compare with the latest hash kept in your CI logs"
        )
        ctx.add("audit", Status.FAIL, N_("the chain does not verify"), hint, problems)
    else:
        message = N_("{count} record(s), hash chain intact, head {head}").format(
            count=count, head=head
        )
        ctx.add("audit", Status.OK, message)
    _last_apply(ctx, newest, now)


def _no_trail(ctx: _Context, missing: tuple[str, bool] | None) -> None:
    """No audit records: fine on a target never applied to, not when erpsync has been here."""
    if missing is None:
        ctx.add("audit", Status.OK, N_("no audit trail yet (nothing applied)"))
    else:
        hint = N_(
            "compare with the head kept from the last apply: "
            "`erpsync audit verify --expect-head ID:HASH` (or `--against` an export)"
        )
        ctx.add("audit", Status.FAIL if missing[1] else Status.WARN, missing[0], hint)
    ctx.add("last apply", Status.WARN, N_("never applied"), _NEVER)


_NEVER = N_("run `erpsync plan`, review it, then `erpsync apply`")


def _newest(conn: Connection) -> audit.AuditRecord | str | None:
    """The newest record, or why it cannot be read."""
    try:
        return audit.last(conn)
    except ErpsyncError as exc:
        return str(exc)


def _last_apply(ctx: _Context, newest: audit.AuditRecord | str | None, now: dt.datetime) -> None:
    if newest is None:
        ctx.add("last apply", Status.WARN, N_("never applied"), _NEVER)
    elif isinstance(newest, str):
        ctx.add("last apply", Status.WARN, newest, N_("see the audit check above"))
    else:
        e = newest.entry
        when = e.applied_at.strftime("%Y-%m-%d %H:%M UTC")
        message = N_("{detail} ({when}, record #{id} by {actor}, target {target})").format(
            detail=ago(now - e.applied_at), when=when, id=newest.id, actor=e.actor, target=e.target
        )
        ctx.add("last apply", Status.OK, message)


_AGO = {
    "day": (N_("{n} day ago"), N_("{n} days ago")),
    "hour": (N_("{n} hour ago"), N_("{n} hours ago")),
    "minute": (N_("{n} minute ago"), N_("{n} minutes ago")),
}


def ago(delta: dt.timedelta) -> str:
    """``just now``, ``5 minutes ago``, ``3 hours ago``, ``2 days ago``."""
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return N_("in the future (check the clocks)")
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return _AGO[unit][n != 1].format(n=n)
    return N_("just now")


# --- catalogue ---------------------------------------------------------------------------------


def _catalogue(ctx: _Context, today: dt.date) -> None:
    if ctx.loaded is None or ctx.snapshot is None:
        ctx.add("catalogue", Status.SKIP, N_("needs the policy and the live state"))
        return
    live = ctx.snapshot.catalogue
    unknown = [
        d
        for d in validate(ctx.loaded, today, dict(live) or None)
        if d.is_error and d.code in ("unknown-module", "unknown-action")
    ]
    if unknown:
        hint = N_("fix the permissions, or the ERP's catalogue: `erpsync plan` refuses this policy")
        message = N_("the ERP does not know {n} permission(s) the policy uses").format(
            n=len(unknown)
        )
        ctx.add("catalogue", Status.FAIL, message, hint, [str(d) for d in unknown])
        return
    written = {k: tuple(m.actions) for k, m in ctx.loaded.policy.modules.items()}
    if not written:
        hint = N_("run `erpsync catalog` so that `erpsync validate` can check permissions offline")
        ctx.add("catalogue", Status.WARN, N_("the policy has no catalog.yaml"), hint)
        return
    differs = catalogue_differences(ctx.loaded.policy.modules, ctx.snapshot)
    if differs:
        hint = N_(
            "run `erpsync catalog`: it refreshes catalog.yaml, or writes catalog.yaml.generated "
            "beside a hand-edited one"
        )
        message = N_("catalog.yaml differs from the ERP in {n} place(s)").format(n=len(differs))
        ctx.add("catalogue", Status.WARN, message, hint, differs)
    else:
        message = N_("catalog.yaml matches the ERP ({n} modules)").format(n=len(live))
        ctx.add("catalogue", Status.OK, message)


SHOWN = 3  # the problems a check lists; the rest are counted


def _listed(items: Sequence[str], shown: int = SHOWN) -> str:
    more = len(items) - shown
    return "; ".join(items[:shown]) + (f"; and {more} more" if more > 0 else "")
