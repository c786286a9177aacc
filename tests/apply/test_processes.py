"""apply as separate processes, the way CI runs it: killed mid-apply (SIGKILL) the ERP is
either untouched or fully changed; two concurrent applies serialise on the lock.

Runs on SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text

from bench.generate import organisation, write
from erpsync import audit
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.schema import create_schema
from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.policy.loader import load_policy
from erpsync.state import desired_state
from tests.apply.helpers import engine_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Engine, str]:
    """An empty reference ERP and the URL a child process reaches it by."""
    engine = engine_for(request, tmp_path)
    create_schema(engine)
    if engine.dialect.name == "sqlite":
        return engine, str(engine.url)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    base = request.getfixturevalue("pg_url")
    return engine, f"{base}?options={quote(f'-csearch_path={schema}')}"


def project(tmp_path: Path, name: str, url: str, users: int, seed: int = 7) -> Path:
    """A policy repository with a generated organisation and a config naming the ERP."""
    root = tmp_path / name
    write(organisation(users, seed=seed), root / "policies")
    (root / "erpsync.yaml").write_text(
        f"policies: policies\ntargets:\n  erp: {{adapter: reference, url: '{url}'}}\n"
        "settings: {max_removals: 100%}\n",
        encoding="utf-8",
    )
    return root


def apply_process(root: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ERPSYNC_ACTOR": f"test:{root.name}"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "erpsync",
            "--config",
            str(root / "erpsync.yaml"),
            "apply",
            "--auto-approve",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Wait for the process and close its pipes; its exit code and standard error."""
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err.decode("utf-8", errors="replace")


def desired_digest(root: Path) -> str:
    loaded = load_policy(root / "policies")
    return desired_state(loaded, dict(REFERENCE_CATALOGUE), dt.date.today()).state.digest()


def test_sigkill_during_apply_leaves_the_erp_untouched_or_fully_applied(
    erp: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, url = erp
    root = project(tmp_path, "big", url, users=3000)
    adapter = ReferenceAdapter(engine)
    empty, full = adapter.read().state.digest(), desired_digest(root)
    started = time.monotonic()
    code, err = finish(apply_process(root))
    assert code == 0, err
    duration = time.monotonic() - started
    assert adapter.read().state.digest() == full
    rng = random.Random(42)
    outcomes = []
    for attempt in range(8):
        reset(engine)
        proc = apply_process(root)
        time.sleep(rng.uniform(0.05, duration))
        proc.send_signal(signal.SIGKILL)
        finish(proc)
        after = adapter.read().state.digest()
        assert after in (empty, full), f"attempt {attempt}: the ERP was left half-applied"
        outcomes.append(after == full)
        force = subprocess.run(
            [
                sys.executable,
                "-m",
                "erpsync",
                "--config",
                str(root / "erpsync.yaml"),
                "force-unlock",
                "--yes",
            ],
            capture_output=True,
            cwd=REPO,
            check=False,
        )
        assert force.returncode == 0, force.stderr
    with engine.connect() as conn:
        assert audit.verify(conn) == []


def reset(engine: Engine) -> None:
    """Back to an empty ERP (catalogue kept) and no audit trail."""
    with engine.begin() as conn:
        for table in (
            "erp_user_role",
            "erp_role_permission",
            "erp_role_department",
            "erp_user",
            "erp_role",
            "erp_department",
            "erpsync_audit",
        ):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE erp_department SET parent_id = NULL"))


def test_two_concurrent_applies_serialise(erp: tuple[Engine, str], tmp_path: Path) -> None:
    engine, url = erp
    first = project(tmp_path, "a", url, users=400, seed=1)
    second = project(tmp_path, "b", url, users=400, seed=2)
    procs = [
        apply_process(first, "--lock-timeout", "120"),
        apply_process(second, "--lock-timeout", "120"),
    ]
    for proc in procs:
        code, err = finish(proc)
        assert code == 0, err
    with engine.connect() as conn:
        records = audit.records(conn)
        assert audit.verify(conn) == []
    assert [r.id for r in records] == [1, 2]
    assert sorted(r.entry.actor for r in records) == ["test:a", "test:b"]
    last = first if records[1].entry.actor == "test:a" else second
    assert ReferenceAdapter(engine).read().state.digest() == desired_digest(last)
