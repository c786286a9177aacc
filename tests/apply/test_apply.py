"""apply on the real reference ERP (SQLite and PostgreSQL): idempotence for every golden
case, stale plans, guards, and convergence for random states."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, create_engine, text

from erpsync import audit
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_state
from erpsync.adapters.reference.schema import create_schema
from erpsync.apply import ApplyOptions
from erpsync.config import Settings
from erpsync.diff import diff
from erpsync.errors import GuardError, PolicyError, StalePlanError
from erpsync.livefile import load as load_live
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.scope import Scope
from erpsync.state import Desired, State
from tests.apply.helpers import OPTIONS, TARGET, apply_policy, engine_for, plan_for, seeded
from tests.casefiles import case_dirs
from tests.pipeline.strategies import states
from tests.test_plan_cases import settings_of


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    return engine_for(request, tmp_path)


# Golden cases the reference ERP cannot hold: users' posts, warehouses and customers (the
# ruoyi-vue-pro and jsherp suites apply those on their own ERPs).
NOT_FOR_THE_REFERENCE_ERP = {"user-assignments"}


@pytest.mark.parametrize(
    "case",
    [c for c in case_dirs("plan") if c.name not in NOT_FOR_THE_REFERENCE_ERP],
    ids=lambda p: p.name,
)
def test_apply_then_plan_is_clean_for_every_golden_case(engine: Engine, case: Path) -> None:
    adapter = seeded(engine, *load_live(case / "live.yaml"))
    result = apply_policy(adapter, case / "policy", settings_of(case))
    assert result.plan is not None
    assert plan_for(adapter, case / "policy", settings_of(case)).changes == ()
    with engine.connect() as conn:
        records = audit.records(conn) if result.applied else []
    assert len(records) == (1 if result.plan.changes else 0)
    if records:
        assert [c["key"] for c in records[0].entry.changes] == [c.key for c in result.plan.changes]


CASE = case_dirs("plan")[0].parent / "transfer"


def test_a_stale_plan_is_refused_and_writes_nothing(engine: Engine) -> None:
    adapter = seeded(engine, load_live(CASE / "live.yaml")[0])
    plan = plan_for(adapter, CASE / "policy")
    with engine.begin() as conn:  # someone edits the ERP in its admin UI
        conn.execute(text("UPDATE erp_user SET name = '改名' WHERE login = 'zhao.lei'"))
    before = adapter.read().state.digest()
    with pytest.raises(StalePlanError, match="plan is stale"):
        apply_policy(adapter, CASE / "policy", plan=plan)
    assert adapter.read().state.digest() == before
    with engine.connect() as conn:
        assert audit.records(conn) == []


def test_a_changed_policy_makes_a_saved_plan_stale(engine: Engine, tmp_path: Path) -> None:
    adapter = seeded(engine, load_live(CASE / "live.yaml")[0])
    policy = tmp_path / "policy"
    policy.mkdir()
    for source in (CASE / "policy").iterdir():
        (policy / source.name).write_bytes(source.read_bytes())
    plan = plan_for(adapter, policy)
    first = next(policy.iterdir())
    first.write_text(first.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(StalePlanError, match="policy"):
        apply_policy(adapter, policy, plan=plan)


def test_a_saved_plan_the_erp_would_refuse_is_refused_before_writing(
    engine: Engine, tmp_path: Path
) -> None:
    """apply checks a saved plan's changes with the adapter again (what the state's digest
    does not cover may have moved): refused at the declaration, nothing written."""
    adapter = seeded(engine, load_live(CASE / "live.yaml")[0])
    policy = tmp_path / "policy"
    shutil.copytree(CASE / "policy", policy)
    (policy / "long.yaml").write_text(f"roles:\n  long:\n    name: {'长' * 201}\n", "utf-8")
    now = dt.datetime.now(dt.UTC)
    unchecked = make_plan(
        load_policy(policy),
        adapter.read(),
        Settings(),
        ReferenceAdapter,
        TARGET,
        now.date(),
        now,
        check=False,
    )
    before = adapter.read().state.digest()
    with pytest.raises(PolicyError) as raised:
        apply_policy(adapter, policy, plan=unchecked)
    assert [str(d) for d in raised.value.diagnostics if d.is_error] == [
        f"{policy / 'long.yaml'}:2:3: error: role long: cannot create role long: the name is "
        "201 characters; the reference ERP holds 200 (the reference adapter refuses it)"
    ]
    assert adapter.read().state.digest() == before
    with engine.connect() as conn:
        assert audit.records(conn) == []


def test_max_removals_guard_and_its_override(engine: Engine) -> None:
    case = CASE.parent / "leaver-still-active"
    adapter = seeded(engine, *load_live(case / "live.yaml"))
    strict = Settings(max_removals=0)
    guarded = ApplyOptions(lock_timeout=5.0, allow_mass_removal=False, actor="test")
    with pytest.raises(GuardError, match=r"max_removals.*--allow-mass-removal"):
        apply_policy(adapter, case / "policy", strict, options=guarded)
    assert plan_for(adapter, case / "policy", strict).changes != ()
    apply_policy(adapter, case / "policy", strict, options=OPTIONS)
    assert plan_for(adapter, case / "policy", strict).changes == ()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(states(consistent_memberships=True), states(consistent_memberships=False))
def test_apply_converges_in_one_step_on_sqlite(tmp_path: Path, want: State, live: State) -> None:
    database = tmp_path / f"erp-{uuid.uuid4().hex}.db"
    engine = create_engine(f"sqlite:///{database}")
    try:
        create_schema(engine)
        load_state(engine, live)
        adapter = ReferenceAdapter(engine)
        changes = diff(Desired(want), adapter.read().state, Scope()).changes
        with engine.begin() as conn:
            adapter.write(conn, changes, "hypothesis")
        assert diff(Desired(want), adapter.read().state, Scope()).changes == []
    finally:
        engine.dispose()
        database.unlink(missing_ok=True)
