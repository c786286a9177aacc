"""Shared pieces of the apply tests: real reference ERPs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_state
from erpsync.adapters.reference.schema import create_schema, erp_permission
from erpsync.apply import ApplyOptions, ApplyResult, execute
from erpsync.config import ResolvedTarget, Settings
from erpsync.plan import Plan
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.state import State

TARGET = ResolvedTarget("test", "reference", "sqlite://")
OPTIONS = ApplyOptions(lock_timeout=5.0, allow_mass_removal=True, actor="test")


def engine_for(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    found: Engine = request.getfixturevalue("pg_engine")
    return found


def seeded(
    engine: Engine, state: State, catalogue: Mapping[str, Sequence[str]] | None = None
) -> ReferenceAdapter:
    """A reference ERP holding ``state``; with ``catalogue``, that is its module catalogue
    (a golden case's ERP with modules of its own) instead of the reference one."""
    create_schema(engine)
    if catalogue:
        with engine.begin() as conn:
            conn.execute(erp_permission.delete())
            rows = [
                {"module": m, "action": a, "module_name": m}
                for m, actions in catalogue.items()
                for a in actions
            ]
            conn.execute(erp_permission.insert(), rows)
    load_state(engine, state)
    return ReferenceAdapter(engine)


def plan_for(adapter: ReferenceAdapter, policy: Path, settings: Settings | None = None) -> Plan:
    now = dt.datetime.now(dt.UTC)
    return make_plan(
        load_policy(policy),
        adapter.read(),
        settings or Settings(),
        ReferenceAdapter,
        TARGET,
        now.date(),
        now,
    )


def apply_policy(
    adapter: ReferenceAdapter,
    policy: Path,
    settings: Settings | None = None,
    plan: Plan | None = None,
    options: ApplyOptions = OPTIONS,
) -> ApplyResult:
    return execute(adapter, TARGET, load_policy(policy), settings or Settings(), options, plan)
