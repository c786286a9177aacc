"""The apply lock: two applies against one ERP never interleave, whichever process or
machine they run on.

:func:`hold` waits up to ``timeout`` seconds, polling every
:data:`POLL_SECONDS`, then raises :class:`~erpsync.errors.LockTimeout` naming
the holder (who, host, pid, since when). Lock names are the caller's: one per
ERP, e.g. ``"apply"`` (or ``"apply:<target>"`` when targets share a state
database).

PostgreSQL
    A session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
    connection kept open while the lock is held. Its 64-bit key is derived
    from the schema and the name (:func:`advisory_key`), so ERPs in different
    schemas of one database do not block each other. PostgreSQL itself drops
    the lock when that session ends, so a crashed holder never blocks
    anyone. The ``erpsync_lock`` row is written only to say who holds it; a
    row whose advisory lock is gone is stale and ignored.

SQLite and other databases
    The ``erpsync_lock`` row is the lock: taken by an ``INSERT`` (the name is
    the primary key) in a short transaction of its own, or by an ``UPDATE``
    when the row's ``expires_at`` has passed (a crashed holder blocks others
    for at most ``ttl``), and deleted on exit. A row whose holder ran on this
    host and whose pid no longer exists (:func:`is_dead`) is taken over at once,
    without waiting for ``ttl``: hostnames must be unique among the machines (and
    containers) that apply to one ERP. The row is never refreshed, so
    ``ttl`` must outlast any apply: :data:`DEFAULT_TTL_SECONDS` is 15 minutes.
    Expiry compares the clocks of the machines involved: keep them in sync.
    On SQLite the lock uses an engine of its own (same file, no pool), so
    whatever the caller's engine does at ``BEGIN`` never applies to it, and a
    database kept busy by a running apply counts as "held", not as an error.

:func:`status` says who holds a lock; :func:`force_unlock` removes a stale row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import Connection, Engine, create_engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from erpsync.errors import DatabaseError, LockTimeout
from erpsync.i18n import N_
from erpsync.owntables import LOCK_TABLE_NAME, ensure_tables, erpsync_lock, has_table

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
DEFAULT_TTL_SECONDS = 15 * 60.0
SQLITE_BUSY_MS = 200  # how long one SQLite attempt waits for a busy database
RELEASE_WAIT_SECONDS = 10.0  # how long releasing a lock row retries a busy database


@dataclass(frozen=True)
class Holder:
    """Who holds a lock. ``pid`` is the holder's OS process id on ``host``.

    ``expires_at`` is when a lock row may be taken over (not on PostgreSQL);
    ``backend_pid`` is the PostgreSQL server process of the session holding
    the advisory lock, where it is visible.
    """

    holder: str
    host: str
    pid: int
    started_at: dt.datetime | None
    expires_at: dt.datetime | None = None
    backend_pid: int | None = None

    def describe(self) -> str:
        """``erpsync on host h (pid 1) since …, PostgreSQL session pid 2``: English data
        from a template marked N_, said in a view."""
        session = self.backend_pid is not None and self.backend_pid != self.pid
        return _DESCRIBE[(self.started_at is not None, session)].format(
            holder=self.holder,
            host=self.host,
            pid=self.pid,
            since=_show(self.started_at) if self.started_at else "",
            session=self.backend_pid,
        )


# Messages are English data made from templates marked N_; a view says them in the run's
# language (erpsync.i18n.said). A lock's holder: (since when is known, a PostgreSQL
# session of its own) -> how it is described.
_DESCRIBE = {
    (False, False): N_("{holder} on host {host} (pid {pid})"),
    (True, False): N_("{holder} on host {host} (pid {pid}) since {since}"),
    (False, True): N_("{holder} on host {host} (pid {pid}), PostgreSQL session pid {session}"),
    (True, True): N_(
        "{holder} on host {host} (pid {pid}) since {since}, PostgreSQL session pid {session}"
    ),
}
_COULD_NOT = {
    "take": N_("could not take the lock {name}: {reason}"),
    "read": N_("could not read the lock {name}: {reason}"),
    "remove": N_("could not remove the lock {name}: {reason}"),
}


def _show(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _me(who: str, ttl: float) -> Holder:
    now = _now()
    return Holder(who, socket.gethostname(), os.getpid(), now, now + dt.timedelta(seconds=ttl))


def _is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def hold(
    engine: Engine,
    name: str,
    timeout: float,
    ttl: float = DEFAULT_TTL_SECONDS,
    who: str = "erpsync",
) -> Iterator[Holder]:
    """Hold the lock ``name`` of the database behind ``engine`` for the ``with`` block.

    Waits up to ``timeout`` seconds (0: try once), then raises LockTimeout. A
    failure to release is logged, never raised: the block's own outcome (an
    apply that committed) must not be reported as a failure.
    """
    if _is_postgres(engine):
        with _hold_advisory(engine, name, timeout, ttl, who) as holder:
            yield holder
    else:
        with _row_engine(engine) as own, _hold_row(own, name, timeout, ttl, who) as holder:
            yield holder


@contextmanager
def _database_errors(name: str, doing: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise DatabaseError(_COULD_NOT[doing].format(name=repr(name), reason=exc)) from None


def _wait(attempt: Callable[[], bool], timeout: float) -> bool:
    """Call ``attempt`` until it succeeds or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        if attempt():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(POLL_SECONDS, remaining))


def _timeout_message(name: str, timeout: float, holder: Holder | None, advice: str) -> str:
    who = holder.describe() if holder else N_("another process (it could not be identified)")
    return N_(
        "could not take the lock {name} within {seconds}s: it is held by {detail}. {message}"
    ).format(name=repr(name), seconds=f"{timeout:g}", detail=who, message=advice)


# --- PostgreSQL: advisory lock ---------------------------------------------------------------


def advisory_key(schema: str, name: str) -> int:
    """The stable signed 64-bit advisory lock key of lock ``name`` in ``schema``."""
    digest = hashlib.sha256(f"erpsync-lock\0{schema}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _key_of(conn: Connection, name: str) -> int:
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return advisory_key(str(schema), name)


def _try_advisory(conn: Connection, key: int) -> bool:
    taken = conn.execute(text("SELECT pg_try_advisory_lock(CAST(:k AS BIGINT))"), {"k": key})
    result = bool(taken.scalar_one())
    conn.commit()  # never sit "idle in transaction"; the session-level lock stays
    return result


def _backend_pid(conn: Connection, key: int) -> int | None:
    """The server pid of the session holding advisory lock ``key``, if one does."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    query = text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"
    )
    pid = conn.execute(query, {"hi": unsigned >> 32, "lo": unsigned & 0xFFFF_FFFF}).scalar()
    return None if pid is None else int(pid)


@contextmanager
def _hold_advisory(
    engine: Engine, name: str, timeout: float, ttl: float, who: str
) -> Iterator[Holder]:
    with _database_errors(name, "take"):
        conn = engine.connect()
    try:
        with _database_errors(name, "take"):
            key = _key_of(conn, name)
            if not _wait(lambda: _try_advisory(conn, key), timeout):
                holder = _pg_status(conn, name, key)
                advice = N_("PostgreSQL releases it when that session ends.")
                raise LockTimeout(_timeout_message(name, timeout, holder, advice))
        try:
            with _database_errors(name, "take"):
                me = _me(who, ttl)
                _write_row(conn, name, me)
            yield me
        finally:
            _release_advisory(conn, name, key)
    finally:
        conn.close()


def _write_row(conn: Connection, name: str, me: Holder) -> None:
    """Record who holds the lock (a stale row of a dead holder is replaced)."""
    ensure_tables(conn)  # under the advisory lock: no two erpsyncs create tables at once
    conn.execute(delete(erpsync_lock).where(erpsync_lock.c.name == name))
    conn.execute(insert(erpsync_lock).values(_row_values(name, me)))
    conn.commit()


def _release_advisory(conn: Connection, name: str, key: int) -> None:
    try:
        conn.rollback()
        conn.execute(delete(erpsync_lock).where(erpsync_lock.c.name == name))
        conn.execute(text("SELECT pg_advisory_unlock(CAST(:k AS BIGINT))"), {"k": key})
        conn.commit()
    except SQLAlchemyError as exc:
        # Ending the session is what releases a session-level lock for sure.
        conn.invalidate()
        log.warning("releasing the lock %r failed (%s); its session was closed instead", name, exc)


def _pg_status(conn: Connection, name: str, key: int) -> Holder | None:
    backend = _backend_pid(conn, key)
    if backend is None:
        return None
    row = _read_row(conn, name)
    if row is None:
        unknown = "a session without an erpsync lock record"
        return Holder(unknown, "the database server", backend, None, None, backend)
    return Holder(row.holder, row.host, row.pid, row.started_at, None, backend)


# --- SQLite and others: the lock row ----------------------------------------------------------


@contextmanager
def _row_engine(engine: Engine) -> Iterator[Engine]:
    """For a SQLite file, an engine of the lock's own (see the module notes); else ``engine``."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield engine
        return
    # One attempt waits only briefly for a busy database: hold() polls instead.
    busy_wait = {"timeout": SQLITE_BUSY_MS / 1000}
    own = create_engine(engine.url, poolclass=NullPool, connect_args=busy_wait)
    try:
        yield own
    finally:
        own.dispose()


def _is_busy(exc: OperationalError) -> bool:
    """Whether SQLite refused because another connection is writing."""
    return getattr(exc.orig, "sqlite_errorname", "") in {"SQLITE_BUSY", "SQLITE_LOCKED"}


def _row_values(name: str, me: Holder) -> dict[str, object]:
    return {
        "name": name,
        "holder": me.holder,
        "host": me.host,
        "pid": me.pid,
        "started_at": me.started_at,
        "expires_at": me.expires_at,
    }


def _claim(engine: Engine, name: str, me: Holder) -> bool:
    """One attempt: insert the row, or take over an expired one. False when held or busy."""
    try:
        with engine.begin() as conn:
            ensure_tables(conn)
            conn.execute(insert(erpsync_lock).values(_row_values(name, me)))
        return True
    except IntegrityError:
        pass
    expired = (erpsync_lock.c.name == name) & (erpsync_lock.c.expires_at < me.started_at)
    with engine.begin() as conn:
        taken = conn.execute(update(erpsync_lock).where(expired).values(_row_values(name, me)))
    if taken.rowcount == 1:
        log.warning("took over the expired lock %r", name)
        return True
    return _take_over_dead(engine, name, me)


def _take_over_dead(engine: Engine, name: str, me: Holder) -> bool:
    """Take over the row of a holder that :func:`is_dead`: only that very row (same host,
    pid and start), so a holder that took it meanwhile keeps it."""
    with engine.begin() as conn:
        found = _read_row(conn, name)
        if found is None or not is_dead(found):
            return False
        same = (
            (erpsync_lock.c.name == name)
            & (erpsync_lock.c.host == found.host)
            & (erpsync_lock.c.pid == found.pid)
            & (erpsync_lock.c.started_at == found.started_at)
        )
        taken = conn.execute(update(erpsync_lock).where(same).values(_row_values(name, me)))
    if taken.rowcount != 1:
        return False
    log.warning(
        "took over the lock %r left by a dead process (%s): it ran on this host and is gone",
        name,
        found.describe(),
    )
    return True


def _try_claim(engine: Engine, name: str, me: Holder) -> bool:
    try:
        return _claim(engine, name, me)
    except OperationalError as exc:
        if _is_busy(exc):
            return False
        raise


@contextmanager
def _hold_row(engine: Engine, name: str, timeout: float, ttl: float, who: str) -> Iterator[Holder]:
    me = _me(who, ttl)

    def attempt() -> bool:
        nonlocal me
        me = _me(who, ttl)
        return _try_claim(engine, name, me)

    with _database_errors(name, "take"):
        if not _wait(attempt, timeout):
            holder = _row_status(engine, name)
            raise LockTimeout(_timeout_message(name, timeout, holder, _row_advice(holder)))
    try:
        yield me
    finally:
        _release_row(engine, name, me)


def _row_advice(holder: Holder | None) -> str:
    if holder is not None and holder.expires_at is not None:
        return N_(
            "If that apply is no longer running, run `erpsync force-unlock`. The lock expires "
            "at {when}."
        ).format(when=_show(holder.expires_at))
    return N_("If that apply is no longer running, run `erpsync force-unlock`.")


def _release_row(engine: Engine, name: str, me: Holder) -> None:
    """Delete our row (not one that took ours over), retrying a busy database for a while."""
    mine = (
        (erpsync_lock.c.name == name)
        & (erpsync_lock.c.host == me.host)
        & (erpsync_lock.c.pid == me.pid)
        & (erpsync_lock.c.started_at == me.started_at)
    )
    deleted: list[int] = []

    def attempt() -> bool:
        try:
            with engine.begin() as conn:
                deleted.append(conn.execute(delete(erpsync_lock).where(mine)).rowcount)
        except OperationalError as exc:
            if _is_busy(exc):
                return False
            raise
        return True

    try:
        released = _wait(attempt, RELEASE_WAIT_SECONDS)
    except SQLAlchemyError as exc:
        log.warning("could not release the lock %r: %s; run `erpsync force-unlock`", name, exc)
        return
    if not released:
        log.warning("could not release the lock %r: the database stayed busy", name)
    elif deleted and deleted[-1] != 1:
        log.warning("the lock %r expired while held and was taken over by another", name)


def _row_status(engine: Engine, name: str) -> Holder | None:
    try:
        with engine.connect() as conn:
            return _read_row(conn, name)
    except OperationalError as exc:
        if _is_busy(exc):
            return None
        raise


# --- status and force_unlock --------------------------------------------------------------------


def is_dead(holder: Holder) -> bool:
    """Whether the holder's process is known to be gone: it ran on this host (the same
    hostname) and no process has its pid any more. A holder on another host, or one
    whose pid cannot be checked, counts as alive."""
    return holder.host == socket.gethostname() and not _pid_alive(holder.pid)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix" or pid <= 0:
        return True  # no signal 0 to ask with; assume the worst
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user's process
        return True
    return True


def _read_row(conn: Connection, name: str) -> Holder | None:
    if not has_table(conn, LOCK_TABLE_NAME):
        return None
    row = conn.execute(select(erpsync_lock).where(erpsync_lock.c.name == name)).first()
    if row is None:
        return None
    return Holder(row.holder, row.host, row.pid, row.started_at, row.expires_at)


def status(engine: Engine, name: str) -> Holder | None:
    """Who holds lock ``name`` now, or None.

    On PostgreSQL only a live advisory lock counts (a row left by a crashed
    holder does not); elsewhere the row counts until removed or taken over.
    """
    try:
        if _is_postgres(engine):
            with engine.connect() as conn:
                return _pg_status(conn, name, _key_of(conn, name))
        with _row_engine(engine) as own:
            return _row_status(own, name)
    except SQLAlchemyError as exc:
        raise DatabaseError(_COULD_NOT["read"].format(name=repr(name), reason=exc)) from None


def force_unlock(engine: Engine, name: str) -> Holder | None:
    """Remove the lock row of ``name``; returns what it said (None: there was none).

    On PostgreSQL this removes only the record: the advisory lock itself is
    released when the holding session ends (its server pid is in the returned
    ``backend_pid`` when it still runs; ``pg_terminate_backend`` ends it).
    """
    try:
        with _row_engine(engine) as own, own.begin() as conn:
            holder = _read_row(conn, name)
            if holder is not None:
                conn.execute(delete(erpsync_lock).where(erpsync_lock.c.name == name))
            if _is_postgres(engine):
                backend = _backend_pid(conn, _key_of(conn, name))
                if holder is not None:
                    holder = replace(holder, expires_at=None, backend_pid=backend)
            return holder
    except SQLAlchemyError as exc:
        raise DatabaseError(_COULD_NOT["remove"].format(name=repr(name), reason=exc)) from None
