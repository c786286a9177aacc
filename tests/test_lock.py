"""The apply lock (erpsync.lock), on SQLite and PostgreSQL, within and across processes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.pool import NullPool

from erpsync import lock
from erpsync.errors import LockTimeout
from erpsync.owntables import ensure_tables, erpsync_lock

NAME = "apply"

# Takes the lock, says "ready", and holds it until its stdin closes (or it is killed).
CHILD = """
import sys
from sqlalchemy import create_engine
from erpsync import lock

url, schema, name, ttl = sys.argv[1:5]
args = {"options": f"-csearch_path={schema}"} if schema else {}
engine = create_engine(url, connect_args=args)
with lock.hold(engine, name, timeout=10, ttl=float(ttl), who="child-apply"):
    print("ready", flush=True)
    sys.stdin.read()
"""


@dataclass
class Db:
    engine: Engine
    url: str
    schema: str  # PostgreSQL: the test's private schema; SQLite: ""

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Db]:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    engine = create_engine(url)
    yield Db(engine, url, "")
    engine.dispose()


@pytest.fixture
def pg_db(pg_engine: Engine, pg_url: str) -> Db:
    with pg_engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return Db(pg_engine, pg_url, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Db:
    db: Db = request.getfixturevalue("pg_db" if request.param == "postgresql" else "sqlite_db")
    return db


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            if stream:
                stream.close()


def start_holder(db: Db, children: list[subprocess.Popen[str]], ttl: float) -> int:
    """A child process holding the lock; returns its pid once it holds it."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db.url, db.schema, NAME, str(ttl)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    children.append(child)
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    return child.pid


def stale_row(db: Db, expires_in: float) -> lock.Holder:
    """A lock row as a crashed holder leaves it."""
    started = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    holder = lock.Holder(
        "os:ghost", "gone-host", 4242, started, started + dt.timedelta(hours=1, seconds=expires_in)
    )
    with db.engine.begin() as conn:
        ensure_tables(conn)
        conn.execute(
            insert(erpsync_lock).values(
                name=NAME,
                holder=holder.holder,
                host=holder.host,
                pid=holder.pid,
                started_at=holder.started_at,
                expires_at=holder.expires_at,
            )
        )
    return holder


def rows(db: Db) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM erpsync_lock")).scalar_one())


# --- one process -------------------------------------------------------------------------------


def test_sequential_holds_succeed_and_status_names_the_holder(db: Db) -> None:
    assert lock.status(db.engine, NAME) is None
    for who in ("os:alice", "ci:github:octocat"):
        with lock.hold(db.engine, NAME, timeout=0, ttl=60, who=who) as me:
            held = lock.status(db.engine, NAME)
            assert held is not None
            assert (held.holder, held.host, held.pid) == (who, socket.gethostname(), os.getpid())
            assert held.started_at == me.started_at
        assert lock.status(db.engine, NAME) is None
        assert rows(db) == 0


def test_a_second_hold_times_out_naming_the_first(db: Db) -> None:
    with lock.hold(db.engine, NAME, timeout=0, ttl=60, who="os:李娜"):
        began = time.monotonic()
        with (
            pytest.raises(LockTimeout) as raised,
            lock.hold(db.engine, NAME, timeout=0.3, ttl=60, who="os:bob"),
        ):
            pytest.fail("the lock was taken twice")
        waited = time.monotonic() - began
    message = str(raised.value)
    assert f"os:李娜 on host {socket.gethostname()} (pid {os.getpid()}) since 20" in message
    assert "within 0.3s" in message
    assert 0.3 <= waited < 2
    with lock.hold(db.engine, NAME, timeout=0, ttl=60, who="os:bob"):
        pass  # free again


def test_other_lock_names_do_not_block(db: Db) -> None:
    with (
        lock.hold(db.engine, "apply:prod", timeout=0, ttl=60, who="a"),
        lock.hold(db.engine, "apply:demo", timeout=0, ttl=60, who="b"),
    ):
        assert rows(db) == 2


def test_an_error_in_the_block_propagates_and_releases(db: Db) -> None:
    with (
        pytest.raises(KeyError, match="boom"),
        lock.hold(db.engine, NAME, timeout=0, ttl=60, who="a"),
    ):
        raise KeyError("boom")
    assert lock.status(db.engine, NAME) is None
    assert rows(db) == 0


def test_an_expired_row_is_taken_over(db: Db) -> None:
    stale_row(db, expires_in=-1)
    with lock.hold(db.engine, NAME, timeout=0, ttl=60, who="os:new") as me:
        held = lock.status(db.engine, NAME)
        assert held is not None
        assert (held.holder, held.started_at) == ("os:new", me.started_at)
    assert rows(db) == 0


def test_force_unlock_removes_a_stale_row(db: Db) -> None:
    ghost = stale_row(db, expires_in=600)
    if db.postgres:  # on PostgreSQL the row says nothing about expiry
        ghost = replace(ghost, expires_at=None)
    if not db.postgres:  # the row is the lock until it expires
        with (
            pytest.raises(LockTimeout, match=r"os:ghost on host gone-host \(pid 4242\).*expires"),
            lock.hold(db.engine, NAME, timeout=0, ttl=60, who="os:new"),
        ):
            pass
    removed = lock.force_unlock(db.engine, NAME)
    assert removed == ghost  # backend_pid None: no PostgreSQL session holds it
    assert rows(db) == 0
    assert lock.force_unlock(db.engine, NAME) is None
    with lock.hold(db.engine, NAME, timeout=0, ttl=60, who="os:new"):
        pass


def test_a_busy_sqlite_database_counts_as_held(sqlite_db: Db) -> None:
    """A running apply keeps SQLite's write lock for its whole transaction."""
    db = sqlite_db
    assert db.engine.url.database is not None
    with lock.hold(db.engine, NAME, timeout=0, ttl=60, who="os:applying"):
        writer = sqlite3.connect(db.engine.url.database, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            began = time.monotonic()
            with (
                pytest.raises(LockTimeout, match="held by os:applying"),
                lock.hold(db.engine, NAME, timeout=0.3, ttl=60, who="os:bob"),
            ):
                pass
            assert time.monotonic() - began < 2
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    assert rows(db) == 0


@pytest.mark.postgres
def test_postgres_names_a_foreign_session_holding_the_key(pg_db: Db) -> None:
    db = pg_db
    key = lock.advisory_key(db.schema, NAME)
    other = create_engine(db.url, poolclass=NullPool)
    try:
        with other.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with (
                pytest.raises(LockTimeout, match=f"without an erpsync lock record.*pid {backend}"),
                lock.hold(db.engine, NAME, timeout=0, ttl=60, who="os:bob"),
            ):
                pass
            held = lock.status(db.engine, NAME)
            assert held is not None
            assert held.backend_pid == backend
    finally:
        other.dispose()


def test_advisory_keys_are_stable_and_per_schema() -> None:
    assert lock.advisory_key("public", "apply") == lock.advisory_key("public", "apply")
    assert lock.advisory_key("public", "apply") == -2175491809706225145
    assert lock.advisory_key("erp2", "apply") != lock.advisory_key("public", "apply")
    assert -(2**63) <= lock.advisory_key("x", "y") < 2**63


# --- across processes --------------------------------------------------------------------------


def test_another_process_holding_it_is_named_then_released(
    db: Db, children: list[subprocess.Popen[str]]
) -> None:
    pid = start_holder(db, children, ttl=60)
    with (
        pytest.raises(LockTimeout, match=rf"child-apply on host .* \(pid {pid}\)"),
        lock.hold(db.engine, NAME, timeout=0.2, ttl=60, who="parent"),
    ):
        pass
    held = lock.status(db.engine, NAME)
    assert held is not None
    assert held.pid == pid
    child = children[-1]
    assert child.stdin is not None
    child.stdin.close()  # the child leaves its with-block and exits
    assert child.wait(timeout=10) == 0
    with lock.hold(db.engine, NAME, timeout=0, ttl=60, who="parent"):
        assert rows(db) == 1


def test_a_killed_holder_does_not_block_forever(
    db: Db, children: list[subprocess.Popen[str]]
) -> None:
    # PostgreSQL drops the advisory lock with the killed session; a SQLite row expires.
    ttl = 60 if db.postgres else 1.0
    pid = start_holder(db, children, ttl=ttl)
    with (
        pytest.raises(LockTimeout, match=f"pid {pid}"),
        lock.hold(db.engine, NAME, timeout=0, ttl=60, who="parent"),
    ):
        pass
    os.kill(pid, signal.SIGKILL)
    children[-1].wait(timeout=10)
    began = time.monotonic()
    with lock.hold(db.engine, NAME, timeout=5, ttl=60, who="parent") as me:
        held = lock.status(db.engine, NAME)
        assert held is not None
        assert (held.holder, held.pid) == ("parent", me.pid)
    assert time.monotonic() - began < (2 if db.postgres else ttl + 2)
