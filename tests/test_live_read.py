"""The live ERP read in a forked child while the policy loads (erpsync.live_read)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from erpsync import live_read
from erpsync.adapters import connected
from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.adapters.reference.database import init_database
from erpsync.commands.plan import read_with_digest
from erpsync.config import ResolvedTarget
from erpsync.errors import DatabaseError, ErpsyncError, InternalError


@pytest.fixture(params=["sqlite", "postgresql"])
def sample(request: pytest.FixtureRequest, tmp_path: Path) -> ResolvedTarget:
    """The sample reference ERP, on a SQLite file or in a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'erp.db'}"
    else:
        engine = request.getfixturevalue("pg_engine")
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url = f"{request.getfixturevalue('pg_url')}?options={quote(f'-csearch_path={schema}')}"
    init_database(url, True)
    return ResolvedTarget("erp", "reference", url)


def plain(adapter: Adapter) -> LiveSnapshot:
    return adapter.read()


def test_the_child_reads_what_this_process_reads(sample: ResolvedTarget) -> None:
    with live_read.started(sample, read_with_digest) as live:
        assert live.in_child
        got = live.result()
    with connected(sample) as adapter:
        here = adapter.read()

    assert got == here
    assert got.state.users  # the sample company
    assert got.attribution  # with who changed what, and when
    assert "_digest" in vars(got.state)  # worked out by the child, not again here
    assert got.state.digest() == here.state.digest()


def test_an_error_of_the_child_is_raised_here_when_the_result_is_asked_for(
    tmp_path: Path,
) -> None:
    missing = ResolvedTarget("erp", "reference", f"sqlite:///{tmp_path / 'nowhere.db'}")
    with live_read.started(missing, plain) as live:
        assert live.in_child
        with pytest.raises(DatabaseError, match=r"nowhere\.db does not exist"):
            live.result()


def broken(adapter: Adapter) -> LiveSnapshot:
    raise ValueError("boom")


def test_a_bug_in_the_child_is_an_internal_error_naming_where(sample: ResolvedTarget) -> None:
    with live_read.started(sample, broken) as live, pytest.raises(InternalError) as caught:
        live.result()
    assert "test_live_read.py:" in str(caught.value)
    assert "ValueError('boom')" in str(caught.value)


class TwoPartError(ErpsyncError):
    """An error whose constructor pickle cannot call again with its message."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


def odd_error(adapter: Adapter) -> LiveSnapshot:
    raise TwoPartError("the ERP", "is odd")


def test_an_error_that_does_not_pickle_comes_through_with_its_message(
    sample: ResolvedTarget,
) -> None:
    with live_read.started(sample, odd_error) as live, pytest.raises(ErpsyncError) as caught:
        live.result()
    assert type(caught.value) is ErpsyncError  # exit 1, as the original's would be
    assert str(caught.value) == "the ERP: is odd"


def unpicklable(adapter: Adapter) -> object:
    return lambda: adapter


def test_a_result_that_does_not_pickle_is_an_internal_error(sample: ResolvedTarget) -> None:
    with live_read.started(sample, unpicklable) as live, pytest.raises(InternalError) as caught:
        live.result()
    assert "sending the live state back" in str(caught.value)
    assert "please report it" in str(caught.value)
    assert any("Traceback" in note for note in caught.value.__notes__)  # shown by -v


def killed(adapter: Adapter) -> LiveSnapshot:
    os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
    return adapter.read()


def test_a_child_that_dies_is_an_internal_error_saying_how(sample: ResolvedTarget) -> None:
    with live_read.started(sample, killed) as live, pytest.raises(InternalError) as caught:
        live.result()
    assert "ended without a whole answer (killed by signal 9)" in str(caught.value)


def stuck(adapter: Adapter) -> LiveSnapshot:
    time.sleep(600)
    return adapter.read()


def test_leaving_early_stops_and_reaps_the_child(sample: ResolvedTarget) -> None:
    pid = None

    def fail_while_reading() -> None:
        nonlocal pid
        with live_read.started(sample, stuck) as live:
            assert isinstance(live, live_read._Child)
            pid = live.pid
            raise RuntimeError("the policy did not load")

    with pytest.raises(RuntimeError, match="did not load"):
        fail_while_reading()
    assert pid is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # no such child: it was stopped and reaped


ORPHAN = """
import sys, time
from erpsync import live_read
from erpsync.config import ResolvedTarget

def stuck(adapter):
    time.sleep(600)

with live_read.started(ResolvedTarget("erp", "reference", sys.argv[1]), stuck) as live:
    print(live.pid, flush=True)
    time.sleep(600)
"""


def gone(pid: int) -> bool:
    """No such process, or only its zombie (nobody here reaps an orphan's)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_the_child_dies_with_a_parent_killed_outright(sample: ResolvedTarget) -> None:
    command = [sys.executable, "-c", ORPHAN, sample.url]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not gone(child)  # reading (stuck)
        parent.kill()  # SIGKILL: no finally runs in the parent
    for _ in range(500):  # the kernel's SIGKILL lands at once; allow a loaded machine
        if gone(child):
            break
        time.sleep(0.02)
    assert gone(child)


def test_this_process_reads_when_another_thread_runs(sample: ResolvedTarget) -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        with live_read.started(sample, plain) as live:
            assert not live.in_child  # forking a threaded process is not safe
            got = live.result()
    finally:
        release.set()
        thread.join()
    assert got.state.users


def test_the_switch_turns_the_child_off(
    sample: ResolvedTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(live_read.SWITCH, "0")
    with live_read.started(sample, read_with_digest) as live:
        assert not live.in_child
        got = live.result()
    with connected(sample) as adapter:
        assert got == adapter.read()


STARTS_LIGHT = """
import os, sys
from erpsync.cli import main
code = main(["--no-color", *sys.argv[1:]])
print(code, "sqlalchemy" in sys.modules)
"""


def test_validate_and_the_planning_process_never_import_sqlalchemy(
    sample: ResolvedTarget, tmp_path: Path
) -> None:
    """SQLAlchemy costs 0.15 s to import; only the process that reads pays it."""
    shutil.copytree(Path(__file__).resolve().parent.parent / "policies", tmp_path / "policies")
    out = tmp_path / "plan.json"
    for args in (["validate"], ["--db", sample.url, "plan", "--out", str(out)]):
        found = subprocess.run(
            [sys.executable, "-c", STARTS_LIGHT, *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        assert found.stdout.split()[-2:] == ["0", "False"], found.stderr
    assert out.exists()
