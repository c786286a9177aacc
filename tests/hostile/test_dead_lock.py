"""A lock left by a process killed on this host: recognised by doctor, taken over by the next
apply (only that very row), and removable by ``force-unlock --yes`` without a terminal."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import Engine, create_engine, insert, text, update

from erpsync import cli, lock
from erpsync.apply import LOCK_NAME
from erpsync.commands import doctor as doctor_cmd
from erpsync.errors import LockTimeout
from erpsync.owntables import ensure_tables, erpsync_lock
from tests.test_reports import sample_erp

REPO = Path(__file__).resolve().parents[2]

# Takes the apply lock as an apply would, says "ready", and waits to be killed.
CHILD = """
import sys, time
from sqlalchemy import create_engine
from erpsync import lock
from erpsync.apply import LOCK_NAME

with lock.hold(create_engine(sys.argv[1]), LOCK_NAME, timeout=10, ttl=900, who="killed-apply"):
    print("ready", flush=True)
    time.sleep(600)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Engine]]:
    """The sample policy repository (the cwd) on its sample ERP; its URL and an engine."""
    with sample_erp(request, tmp_path, monkeypatch) as (_root, url, engine):
        yield url, engine


def killed_holder(url: str) -> int:
    """The pid of a process that took the apply lock and was then SIGKILLed."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    finally:
        child.kill()  # SIGKILL: no finally block, no release
        child.wait(timeout=10)
        if child.stdout:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return child.pid


def doctor_lock_line() -> str:
    console = Console(file=io.StringIO(), width=400, color_system=None)
    doctor_cmd.run(None, None, None, console)
    out: str = console.file.getvalue()  # type: ignore[attr-defined]
    return next(line for line in out.splitlines() if line[6:16].strip() == "lock")


def put_row(engine: Engine, host: str, pid: int, hours_left: float = 1.0) -> None:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        ensure_tables(conn)
        conn.execute(
            insert(erpsync_lock).values(
                name=LOCK_NAME,
                holder="os:ghost",
                host=host,
                pid=pid,
                started_at=now,
                expires_at=now + dt.timedelta(hours=hours_left),
            )
        )


def dead_pid() -> int:
    """A pid no process has: a child that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=10)
    return child.pid


def test_apply_takes_over_the_lock_of_a_killed_apply_and_says_so(
    erp: tuple[str, Engine], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    url, engine = erp
    pid = killed_holder(url)
    held = lock.status(engine, LOCK_NAME)
    if engine.dialect.name == "postgresql":
        # The advisory lock ended with the killed session: nothing is held.
        assert held is None
        assert doctor_lock_line().startswith("ok")
    else:
        assert held is not None
        assert held.pid == pid
        assert lock.is_dead(held)
        line = doctor_lock_line()
        assert line.startswith("warn")
        assert f"left by a dead process (pid {pid} on this host)" in line
        assert "the next apply takes it over" in line
        assert "an apply is running" not in line
    capsys.readouterr()
    began = time.monotonic()
    assert cli.main(["apply", "--auto-approve", "--lock-timeout", "0"]) == 0
    assert time.monotonic() - began < 60
    assert "Apply complete" in capsys.readouterr().out
    if engine.dialect.name != "postgresql":  # a warning, on stderr without logging set up
        said = caplog.text
        assert "took over the lock 'apply' left by a dead process (killed-apply on host" in said
        assert f"(pid {pid})" in said
    assert lock.status(engine, LOCK_NAME) is None  # released after the apply
    assert doctor_lock_line().startswith("ok")


def test_a_live_holder_on_this_host_is_not_taken_over(erp: tuple[str, Engine]) -> None:
    _, engine = erp
    with lock.hold(engine, LOCK_NAME, timeout=0, who="running-apply") as me:
        assert not lock.is_dead(me)
        with (
            pytest.raises(LockTimeout, match="running-apply"),
            lock.hold(engine, LOCK_NAME, timeout=0.3, who="second"),
        ):
            pass


def test_a_dead_pid_on_another_host_is_not_taken_over(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    pid = dead_pid()
    put_row(engine, "some-other-host", pid)
    with (
        pytest.raises(LockTimeout, match=f"some-other-host \\(pid {pid}\\)"),
        lock.hold(engine, LOCK_NAME, timeout=0.3, who="second"),
    ):
        pass
    put_row_same_host = lock.status(engine, LOCK_NAME)
    assert put_row_same_host is not None
    assert not lock.is_dead(put_row_same_host)
    # The same row on this host is dead, and is taken over at once.
    with engine.begin() as conn:
        conn.execute(update(erpsync_lock).values(host=socket.gethostname()))
    with lock.hold(engine, LOCK_NAME, timeout=0, who="second") as me:
        assert lock.status(engine, LOCK_NAME) == me
    engine.dispose()


def test_only_the_row_inspected_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between reading a dead holder's row and replacing it, another apply took it over:
    that apply keeps the lock."""
    engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    put_row(engine, socket.gethostname(), dead_pid())
    real_read = lock._read_row

    def read_then_lose_the_race(conn, name):  # type: ignore[no-untyped-def]
        found = real_read(conn, name)
        other = engine.connect()  # another process replaces the row meanwhile
        other.execute(update(erpsync_lock).values(holder="faster-apply", pid=os.getpid()))
        other.commit()
        other.close()
        return found

    monkeypatch.setattr(lock, "_read_row", read_then_lose_the_race)
    me = lock._me("second", 60)
    assert lock._take_over_dead(engine, LOCK_NAME, me) is False
    monkeypatch.undo()
    held = lock.status(engine, LOCK_NAME)
    assert held is not None
    assert held.holder == "faster-apply"
    engine.dispose()


def test_a_pid_owned_by_another_user_counts_as_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "kill", refuse)
    holder = lock.Holder("other-user", socket.gethostname(), 12345, None)
    assert not lock.is_dead(holder)


def erpsync_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real executable, with no terminal: standard input is /dev/null."""
    return subprocess.run(
        [sys.executable, "-m", "erpsync", *args],
        check=False,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("erp", ["sqlite"], indirect=True)  # PostgreSQL's lock has no row
def test_force_unlock_without_a_terminal(erp: tuple[str, Engine]) -> None:
    url, engine = erp
    pid = killed_holder(url)
    asked = erpsync_cli("force-unlock", cwd=Path.cwd())
    assert asked.returncode == 1, asked.stderr
    assert "add --yes" in asked.stderr
    assert "Traceback" not in asked.stderr
    assert lock.status(engine, LOCK_NAME) is not None  # kept
    done = erpsync_cli("force-unlock", "--yes", cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    assert f"Its process (pid {pid}) is no longer running on this host." in done.stdout
    assert "Lock removed." in done.stdout
    assert lock.status(engine, LOCK_NAME) is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM erpsync_lock")).scalar_one() == 0
