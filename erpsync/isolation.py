"""One snapshot per transaction: how erpsync begins its reads and apply's transaction on
each database, and what a concurrency failure there means.

apply re-reads the live state, compares its digest with the plan's (the stale check) and
writes, in one transaction. That is only safe if the check and the writes see the same
rows: another session (the ERP's admin UI, a script) may hold an uncommitted change to
a row the plan writes, and commit it while apply runs. At the default READ COMMITTED of
PostgreSQL, apply's UPDATE waited for that session, then overwrote its change and
recorded a "before" that was never the final value (a lost update).

PostgreSQL: REPEATABLE READ
    The stale check and the writes see one snapshot, and an UPDATE or DELETE of a row
    another session changed and committed after that snapshot fails with a serialization
    failure (SQLSTATE 40001): apply refuses, nothing written. SERIALIZABLE would add
    nothing here: its extra checks (predicate locks) only catch conflicts between two
    serializable transactions, and the ERP's own sessions run at READ COMMITTED; only one
    apply runs at a time (the apply lock). REPEATABLE READ gives the same protection
    without SERIALIZABLE's false alarms.

MariaDB with ``innodb_snapshot_isolation`` (10.6.18+, 10.11.8+, 11.4+; default on from 11.8)
    REPEATABLE READ with that session variable on behaves as PostgreSQL does: reads see
    one snapshot, and locking a row changed after it fails with error 1020 ("Record has
    changed since last read"). Without the variable, InnoDB's UPDATE silently writes
    over the latest committed row: the lost update.

MySQL and older MariaDB: SERIALIZABLE
    Every read of the transaction becomes a shared-lock read: the stale check waits for
    a session holding an uncommitted change to any row it reads, then sees what that
    session committed (the plan is stale) or the unchanged row. Safe, but it also waits
    on rows the plan does not write.

Row-lock waits are bounded by apply's ``--lock-timeout`` (PostgreSQL ``lock_timeout``,
InnoDB ``innodb_lock_wait_timeout``, per statement). Concurrency failures become
:class:`~erpsync.errors.StalePlanError` (another session changed rows this plan writes)
or :class:`~erpsync.errors.ApplyRefused` (another session held rows longer than the
timeout); either way the transaction is rolled back and nothing was changed.

Reads outside apply (plan, drift, doctor, ...) run at REPEATABLE READ too, read-only on
PostgreSQL: an adapter reads one table per statement, and at READ COMMITTED a commit
between two of them would give a state that never existed (a user's role row gone but
the role still there).

SQLite needs none of this: apply takes its write lock at ``BEGIN IMMEDIATE``
(:mod:`erpsync.apply`) and readers see one snapshot per transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from erpsync.errors import ApplyRefused, ErpsyncError, StalePlanError
from erpsync.i18n import N_

CHANGED = N_(
    "plan is stale: another session changed rows this plan writes while apply ran; "
    "nothing was changed. Make a new plan and review it."
)
DEADLOCK = N_(
    "plan is stale: another session was changing rows this plan writes (a deadlock with "
    "it); nothing was changed. Make a new plan and review it."
)
HELD = N_(
    "another session held rows this apply reads or writes for more than {seconds}s "
    "(--lock-timeout); nothing was changed. Try again when it has finished (with a new "
    "plan if it changed them)."
)

# What each failure is called on each server: SQLSTATEs (PostgreSQL), error numbers (MySQL).
_CHANGED = {"40001", 1020}  # serialization failure; InnoDB "record has changed"
_DEADLOCK = {"40P01", 1213}
_HELD = {"55P03", 1205}  # lock_not_available (lock_timeout); innodb_lock_wait_timeout


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that reads one snapshot; rolled back at the end."""
    with engine.connect() as conn:
        options: dict[str, object] = {}
        if engine.dialect.name == "postgresql":
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        elif engine.dialect.name == "mysql":
            options = {"isolation_level": "REPEATABLE READ"}
        with conn.execution_options(**options).begin():
            yield conn


@contextmanager
def apply_transaction(engine: Engine, lock_wait: float) -> Iterator[Connection]:
    """A connection in apply's transaction, committed when the block ends without error.

    At the isolation this database needs (see the module notes), row-lock waits bounded
    by ``lock_wait`` seconds; a concurrency failure anywhere in the block or at commit is
    raised as StalePlanError or ApplyRefused, after the rollback.
    """
    dialect = engine.dialect.name
    with engine.connect() as conn:
        if dialect == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        restore = _prepare_mysql(conn, lock_wait) if dialect == "mysql" else _nothing
        try:
            with _concurrency_failures(lock_wait), conn.begin():
                if dialect == "postgresql":
                    milliseconds = max(1, round(lock_wait * 1000))
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")
                yield conn
        finally:
            restore()


def _nothing() -> None:
    pass


def _prepare_mysql(conn: Connection, lock_wait: float) -> Callable[[], None]:
    """Set the session up for apply; returns what puts it back (the connection is pooled)."""
    saved = {"innodb_lock_wait_timeout": _session_variable(conn, "innodb_lock_wait_timeout")}
    snapshot_isolation = _snapshot_isolation(conn)
    wanted: dict[str, object] = {"innodb_lock_wait_timeout": max(1, math.ceil(lock_wait))}
    if snapshot_isolation is None:
        conn.execution_options(isolation_level="SERIALIZABLE")
    else:
        saved["innodb_snapshot_isolation"] = snapshot_isolation
        wanted["innodb_snapshot_isolation"] = 1
        conn.execution_options(isolation_level="REPEATABLE READ")
    _set_session(conn, wanted)

    def restore() -> None:
        try:
            _set_session(conn, saved)
        except SQLAlchemyError:
            conn.invalidate()  # never hand the pool a session set up for apply

    return restore


def _snapshot_isolation(conn: Connection) -> object | None:
    """The session's ``innodb_snapshot_isolation`` (None: the server has no such variable:
    MySQL, or MariaDB before 10.6.18)."""
    return _session_variable(conn, "innodb_snapshot_isolation")


def _session_variable(conn: Connection, name: str) -> object | None:
    """The session's value of a server variable, or None when the server has no such one."""
    try:
        value = conn.exec_driver_sql(f"SELECT @@SESSION.{name}").scalar()
    except SQLAlchemyError as exc:
        conn.rollback()
        if _code(exc) == 1193:  # unknown system variable
            return None
        raise
    conn.rollback()
    return value


def _set_session(conn: Connection, values: dict[str, object]) -> None:
    assignments = ", ".join(f"SESSION {name} = {int(str(v))}" for name, v in values.items())
    conn.exec_driver_sql(f"SET {assignments}")
    conn.rollback()  # SET autobegan a transaction: end it before apply's begins


@contextmanager
def _concurrency_failures(lock_wait: float) -> Iterator[None]:
    try:
        yield
    except (SQLAlchemyError, ErpsyncError) as exc:
        refusal = concurrency_refusal(exc, lock_wait)
        if refusal is None:
            raise
        raise refusal from None


def concurrency_refusal(exc: BaseException, lock_wait: float) -> ApplyRefused | None:
    """What ``exc`` means when it is a concurrency failure (also one an adapter wrapped in
    its own error), else None."""
    code = _code(_database_cause(exc))
    if code in _CHANGED:
        return StalePlanError(CHANGED)
    if code in _DEADLOCK:
        return StalePlanError(DEADLOCK)
    if code in _HELD:
        return ApplyRefused(HELD.format(seconds=f"{lock_wait:g}"))
    return None


def _database_cause(exc: BaseException) -> BaseException | None:
    """``exc`` or the SQLAlchemy error it was raised from (``raise ... from None`` still
    keeps it as the context)."""
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, SQLAlchemyError):
        seen = seen.__cause__ or seen.__context__
    return seen


def _code(exc: BaseException | None) -> str | int | None:
    """The SQLSTATE (PostgreSQL drivers) or error number (MySQL drivers) of ``exc``."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return None
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # MySQL drivers (PyMySQL also has a vague sqlstate)
        return args[0]
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return sqlstate if isinstance(sqlstate, str) else None
