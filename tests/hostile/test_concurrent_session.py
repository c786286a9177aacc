"""apply against a second, real session holding an uncommitted change (issue 15, item 4).

On the real PostgreSQL and MariaDB servers, for the reference ERP (PostgreSQL) and RuoYi
(both): a plan changes user X's email; another session updates X's email and does not
commit; apply runs in a thread and waits for it. Then the other session

- commits: apply refuses as stale, the other session's value stays, nothing is written
  and no audit record is made;
- rolls back: apply succeeds, and its audit record's "before" is the true previous value;
- changed another user Y instead: apply succeeds without waiting, and Y's change, committed
  afterwards, stays.

MySQL and MariaDB before 10.6.18 have no ``innodb_snapshot_isolation``; apply then reads at
SERIALIZABLE, tested here on the same MariaDB server with the variable hidden from apply.
Every wait is bounded, and both sessions are closed whatever happens.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, make_url, text

from erpsync import audit, isolation
from erpsync.adapters.base import Adapter
from erpsync.adapters.ruoyi import RuoYiAdapter
from erpsync.apply import ApplyOptions, ApplyResult, execute
from erpsync.commands import import_cmd
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import ApplyRefused, StalePlanError
from erpsync.importer import import_policy
from erpsync.livefile import load as load_live
from erpsync.plan import Action, Kind, Plan
from erpsync.planner import make_plan
from erpsync.policy.dump import Source
from erpsync.policy.loader import load_policy
from erpsync.scope import Scope
from erpsync.state import State
from tests.adapters import ruoyi_fixture as fx
from tests.apply.helpers import seeded
from tests.casefiles import case_dirs

NEW = "planned@example.com"  # what the policy says X's email is
OTHER = "other-session@example.com"  # what the other session writes
LOCK_TIMEOUT = 30.0  # apply's --lock-timeout: long enough never to cut a test's wait short
WAIT = 20.0  # how long a test waits for apply to block on the other session
JOIN = 60.0  # how long a test waits for apply to finish
# InnoDB refreshes what information_schema shows of transactions only when it was not read
# for 0.1 s: polling faster would see the first answer forever.
POLL = 0.25

CHANGED = "another session changed rows this plan writes"


@dataclass
class Erp:
    """A seeded ERP on a real server, and the policy that changes X's email."""

    engine: Engine
    adapter: Adapter
    target: ResolvedTarget
    users: str  # the users table
    id: str  # its primary key column
    login: str  # its login column
    x: str  # the user the plan changes
    y: str  # a user the plan does not touch
    x_email: str  # X's email before the plan
    policies: Path

    def email(self, login: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                text(f"SELECT email FROM {self.users} WHERE {self.login} = :login"),
                {"login": login},
            ).scalar_one()

    def state(self) -> State:
        return self.adapter.read().state

    def records(self) -> list[audit.AuditRecord]:
        with self.engine.connect() as conn:
            return audit.records(conn)

    def plan(self) -> Plan:
        now = dt.datetime.now(dt.UTC)
        snapshot = self.adapter.read()
        loaded = load_policy(self.policies)
        return make_plan(
            loaded, snapshot, Settings(), type(self.adapter), self.target, now.date(), now
        )

    def apply(self, plan: Plan, lock_timeout: float = LOCK_TIMEOUT) -> ApplyResult:
        options = ApplyOptions(lock_timeout=lock_timeout, allow_mass_removal=True, actor="t")
        return execute(
            self.adapter, self.target, load_policy(self.policies), Settings(), options, plan
        )


def _pg_url(engine: Engine, pg_url: str) -> str:
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _policy_changing_email(adapter: Adapter, target: ResolvedTarget, to: Path, old: str) -> None:
    """The live state imported as a policy, with the one email ``old`` changed to NEW."""
    scope = Scope.from_settings(Settings(), adapter.builtin_users, adapter.builtin_roles)
    snapshot = adapter.read()
    source = Source(target.name, target.adapter, target.url, dt.date.today())
    import_cmd.write_files(import_cmd.render(import_policy(snapshot, scope), source), to)
    adapter.bind(snapshot)
    edited = 0
    for path in sorted(to.rglob("*.yaml")):
        body = path.read_text(encoding="utf-8")
        if old in body:
            path.write_text(body.replace(old, NEW), encoding="utf-8")
            edited += body.count(old)
    assert edited == 1


ERPS = [
    pytest.param("reference-postgresql", marks=pytest.mark.postgres),
    pytest.param("ruoyi-postgresql", marks=pytest.mark.postgres),
    pytest.param("ruoyi-mariadb", marks=pytest.mark.mysql),
]


def make_erp(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Erp:
    policies = tmp_path / "policies"
    if kind == "reference-postgresql":
        engine: Engine = request.getfixturevalue("pg_engine")
        live = case_dirs("plan")[0].parent / "transfer" / "live.yaml"
        adapter: Adapter = seeded(engine, load_live(live)[0])
        target = ResolvedTarget(
            "test", "reference", _pg_url(engine, request.getfixturevalue("pg_url"))
        )
        erp = Erp(
            engine,
            adapter,
            target,
            users="erp_user",
            id="id",
            login="login",
            x="zhao.lei",
            y="sun.li",
            x_email="zhao.lei@example.com",
            policies=policies,
        )
    else:
        database = kind.removeprefix("ruoyi-")
        engine = request.getfixturevalue(
            "pg_engine" if database == "postgresql" else "mysql_engine"
        )
        fx.create_schema(engine, "vue")
        fx.seed_company(engine, "vue")
        if database == "postgresql":
            url = _pg_url(engine, request.getfixturevalue("pg_url"))
        else:
            url = engine.url.render_as_string(hide_password=False)
        adapter = RuoYiAdapter(engine)
        target = ResolvedTarget("test", "ruoyi", url)
        erp = Erp(
            engine,
            adapter,
            target,
            users="sys_user",
            id="user_id",
            login="user_name",
            x="ry",
            y="zhang.wei",
            x_email="ry@qq.com",
            policies=policies,
        )
    _policy_changing_email(erp.adapter, erp.target, policies, erp.x_email)
    return erp


@pytest.fixture(params=ERPS)
def erp(request: pytest.FixtureRequest, tmp_path: Path) -> Erp:
    return make_erp(request, request.param, tmp_path)


@pytest.fixture
def mariadb_erp(request: pytest.FixtureRequest, tmp_path: Path) -> Erp:
    return make_erp(request, "ruoyi-mariadb", tmp_path)


# --------------------------------------------------------------------------------------------
# Two sessions
# --------------------------------------------------------------------------------------------


class OtherSession:
    """A second connection with an open transaction (the ERP's admin UI, mid-edit)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection = engine.connect()
        is_pg = engine.dialect.name == "postgresql"
        query = "SELECT pg_backend_pid()" if is_pg else "SELECT CONNECTION_ID()"
        self.id = int(self.conn.execute(text(query)).scalar_one())

    def set_email(self, erp: Erp, login: str, email: str) -> None:
        """Update one user's row by its primary key, as the ERP's own screens do (at
        REPEATABLE READ, InnoDB would lock every row a WHERE on an unindexed column scans,
        and RuoYi has no index on its logins)."""
        with self.engine.connect() as conn:
            row_id = conn.execute(
                text(f"SELECT {erp.id} FROM {erp.users} WHERE {erp.login} = :login"),
                {"login": login},
            ).scalar_one()
        self.conn.execute(
            text(f"UPDATE {erp.users} SET email = :email WHERE {erp.id} = :id"),
            {"email": email, "id": row_id},
        )

    def blocks_someone(self) -> bool:
        """Whether another session now waits for a lock this one holds."""
        if self.engine.dialect.name == "postgresql":
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE CAST(:id AS integer) = "
                "ANY(pg_blocking_pids(pid))"
            )
        else:
            query = (
                "SELECT count(*) FROM information_schema.innodb_lock_waits w"
                " JOIN information_schema.innodb_trx t ON t.trx_id = w.blocking_trx_id"
                " WHERE t.trx_mysql_thread_id = :id"
            )
        with self.engine.connect() as monitor:
            return bool(monitor.execute(text(query), {"id": self.id}).scalar_one())

    def close(self) -> None:
        if self.conn.in_transaction():
            self.conn.rollback()
        self.conn.close()


class Race:
    """The other session, and apply running in a thread; on exit the other session is
    rolled back and closed first (which frees apply), then the thread is joined."""

    def __init__(self, erp: Erp) -> None:
        self.erp = erp
        self.other = OtherSession(erp.engine)
        self.thread: threading.Thread | None = None
        self.result: ApplyResult | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> Race:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.other.close()
        if self.thread is not None:
            self.thread.join(JOIN)

    def start_apply(self, plan: Plan, lock_timeout: float = LOCK_TIMEOUT) -> None:
        def run() -> None:
            try:
                self.result = self.erp.apply(plan, lock_timeout)
            except BaseException as exc:  # handed to the test
                self.error = exc

        self.thread = threading.Thread(target=run, name="apply", daemon=True)
        self.thread.start()

    def wait_until_apply_blocks(self) -> None:
        assert self.thread is not None
        wait_until(self.other.blocks_someone, lambda: not self.thread_alive(), "apply to wait")

    def thread_alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def finished(self) -> ApplyResult:
        """apply's result; raises what apply raised."""
        assert self.thread is not None
        self.thread.join(JOIN)
        assert not self.thread.is_alive(), f"apply did not finish within {JOIN}s"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def wait_until(condition: Callable[[], bool], gave_up: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        assert not gave_up(), f"gave up waiting for {what}: it will not happen"
        time.sleep(POLL)
    pytest.fail(f"waited {WAIT}s for {what}")


def with_email(state: State, login: str, email: str) -> State:
    users = dict(state.users)
    users[login] = dataclasses.replace(users[login], email=email)
    return dataclasses.replace(state, users=users)


def the_plan(erp: Erp) -> Plan:
    plan = erp.plan()
    assert [(c.action, c.kind, c.key) for c in plan.changes] == [(Action.UPDATE, Kind.USER, erp.x)]
    return plan


# --------------------------------------------------------------------------------------------
# Snapshot isolation: PostgreSQL, and MariaDB with innodb_snapshot_isolation
# --------------------------------------------------------------------------------------------


def test_a_concurrent_commit_to_a_row_the_plan_writes_makes_apply_refuse(erp: Erp) -> None:
    plan = the_plan(erp)
    before = erp.state()
    with Race(erp) as race:
        race.other.set_email(erp, erp.x, OTHER)
        race.start_apply(plan)
        race.wait_until_apply_blocks()
        race.other.conn.commit()
        with pytest.raises(StalePlanError, match=CHANGED):
            race.finished()
    assert erp.email(erp.x) == OTHER
    assert erp.state() == with_email(before, erp.x, OTHER)
    assert erp.records() == []


def test_a_concurrent_rollback_lets_apply_write_and_record_the_true_before(erp: Erp) -> None:
    plan = the_plan(erp)
    before = erp.state()
    with Race(erp) as race:
        race.other.set_email(erp, erp.x, OTHER)
        race.start_apply(plan)
        race.wait_until_apply_blocks()
        race.other.conn.rollback()
        assert race.finished().applied == 1
    assert erp.email(erp.x) == NEW
    assert erp.state() == with_email(before, erp.x, NEW)
    [record] = erp.records()
    [change] = record.entry.changes
    assert (change["key"], change["before"]["email"], change["after"]["email"]) == (
        erp.x,
        erp.x_email,
        NEW,
    )


def test_a_concurrent_change_to_another_row_is_neither_waited_for_nor_lost(erp: Erp) -> None:
    plan = the_plan(erp)
    before = erp.state()
    with Race(erp) as race:
        race.other.set_email(erp, erp.y, OTHER)
        race.start_apply(plan)
        assert race.finished().applied == 1  # while the other session still holds Y
        race.other.conn.commit()
    assert (erp.email(erp.x), erp.email(erp.y)) == (NEW, OTHER)
    assert erp.state() == with_email(with_email(before, erp.x, NEW), erp.y, OTHER)
    assert len(erp.records()) == 1


def test_a_session_holding_the_row_longer_than_the_lock_timeout_makes_apply_refuse(
    erp: Erp,
) -> None:
    plan = the_plan(erp)
    before = erp.state()
    with Race(erp) as race:
        race.other.set_email(erp, erp.x, OTHER)
        race.start_apply(plan, lock_timeout=1.0)
        with pytest.raises(ApplyRefused, match=r"another session held rows .* for more than 1s"):
            race.finished()
        race.other.conn.commit()
    assert erp.state() == with_email(before, erp.x, OTHER)
    assert erp.records() == []


# --------------------------------------------------------------------------------------------
# MySQL and older MariaDB: SERIALIZABLE (this server, with innodb_snapshot_isolation hidden)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def without_snapshot_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "_snapshot_isolation", lambda conn: None)


@pytest.mark.mysql
@pytest.mark.usefixtures("without_snapshot_isolation")
def test_serializable_reads_wait_for_the_other_session_and_then_see_its_commit(
    mariadb_erp: Erp,
) -> None:
    erp = mariadb_erp
    plan = the_plan(erp)
    before = erp.state()
    with Race(erp) as race:
        race.other.set_email(erp, erp.x, OTHER)
        race.start_apply(plan)
        race.wait_until_apply_blocks()
        race.other.conn.commit()
        with pytest.raises(StalePlanError, match="the ERP changed since the plan was made"):
            race.finished()
    assert erp.state() == with_email(before, erp.x, OTHER)
    assert erp.records() == []


@pytest.mark.mysql
@pytest.mark.usefixtures("without_snapshot_isolation")
def test_serializable_reads_wait_for_a_rollback_then_apply_writes(mariadb_erp: Erp) -> None:
    erp = mariadb_erp
    plan = the_plan(erp)
    with Race(erp) as race:
        race.other.set_email(erp, erp.x, OTHER)
        race.start_apply(plan)
        race.wait_until_apply_blocks()
        race.other.conn.rollback()
        assert race.finished().applied == 1
    assert erp.email(erp.x) == NEW
    [record] = erp.records()
    assert record.entry.changes[0]["before"]["email"] == erp.x_email


@pytest.mark.mysql
@pytest.mark.usefixtures("without_snapshot_isolation")
def test_serializable_reads_wait_for_other_rows_too_and_refuse_after_the_timeout(
    mariadb_erp: Erp,
) -> None:
    erp = mariadb_erp
    plan = the_plan(erp)
    before = erp.state()
    with Race(erp) as race:
        race.other.set_email(erp, erp.y, OTHER)
        race.start_apply(plan, lock_timeout=1.0)
        with pytest.raises(ApplyRefused, match="another session held rows"):
            race.finished()
        race.other.conn.commit()
    assert erp.state() == with_email(before, erp.y, OTHER)
    assert erp.records() == []


@pytest.mark.mysql
def test_apply_leaves_the_pooled_session_as_it_found_it(mariadb_erp: Erp) -> None:
    erp = mariadb_erp
    query = text("SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.innodb_snapshot_isolation")
    with erp.engine.connect() as conn:
        settings = tuple(conn.execute(query).one())
    erp.apply(the_plan(erp), lock_timeout=3.0)
    pool = erp.engine.pool
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    pooled = [erp.engine.connect() for _ in range(pool.checkedin())]  # type: ignore[attr-defined]
    try:
        assert pooled
        for conn in pooled:
            assert tuple(conn.execute(query).one()) == settings
    finally:
        for conn in pooled:
            conn.close()


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


@pytest.mark.mysql
def test_the_command_line_refuses_with_exit_1_and_a_clear_message(
    mariadb_erp: Erp, tmp_path: Path
) -> None:
    erp = mariadb_erp
    password = make_url(erp.target.url).password
    assert password
    (tmp_path / "erpsync.yaml").write_text(
        "policies: policies/\n"
        f"targets:\n  erp:\n    adapter: ruoyi\n    url: '{erp.target.url}'\n"
        "default_target: erp\n",
        encoding="utf-8",
    )
    env = {**os.environ, "ERPSYNC_ACTOR": "tester", "ERPSYNC_READ_IN_PARALLEL": "0"}
    command = [sys.executable, "-m", "erpsync"]
    made = subprocess.run(
        [*command, "plan", "--format", "json", "--out", "plan.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=JOIN,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    other = OtherSession(erp.engine)
    proc: subprocess.Popen[str] | None = None
    try:
        other.set_email(erp, erp.x, OTHER)
        proc = subprocess.Popen(
            [*command, "apply", "plan.json", "--lock-timeout", str(LOCK_TIMEOUT)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running = proc
        wait_until(other.blocks_someone, lambda: running.poll() is not None, "apply to wait")
        other.conn.commit()
        out, err = proc.communicate(timeout=JOIN)
    finally:
        other.close()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    assert f"plan is stale: {CHANGED} while apply ran; nothing was changed" in err
    assert "Traceback" not in err + out
    assert password not in err + out
    assert erp.email(erp.x) == OTHER
    assert erp.records() == []


# --------------------------------------------------------------------------------------------
# Reads (plan, drift, doctor): one snapshot across the adapter's statements
# --------------------------------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mysql),
    ]
)
def server(request: pytest.FixtureRequest) -> Engine:
    engine: Engine = request.getfixturevalue(
        "pg_engine" if request.param == "postgresql" else "mysql_engine"
    )
    with engine.begin() as conn:
        for table in ("roles", "memberships"):
            conn.execute(text(f"CREATE TABLE {table} (name varchar(20) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO roles VALUES ('clerk')"))
        conn.execute(text("INSERT INTO memberships VALUES ('clerk')"))
    return engine


def test_a_read_sees_one_state_whatever_commits_between_its_statements(server: Engine) -> None:
    with isolation.read_transaction(server) as conn:
        roles = conn.execute(text("SELECT name FROM roles")).scalars().all()
        with server.begin() as other:  # the role and its memberships go, between two reads
            other.execute(text("DELETE FROM memberships"))
            other.execute(text("DELETE FROM roles"))
        memberships = conn.execute(text("SELECT name FROM memberships")).scalars().all()
    assert (roles, memberships) == (["clerk"], ["clerk"])


@pytest.mark.postgres
def test_a_read_on_postgresql_cannot_write(pg_engine: Engine) -> None:
    with isolation.read_transaction(pg_engine) as conn:
        assert conn.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
        assert conn.execute(text("SHOW transaction_read_only")).scalar() == "on"
