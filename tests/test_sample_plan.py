"""The demo company: its sample ERP drifted from policies/ in the documented ways,
and the plan against the real reference ERP (SQLite and PostgreSQL) says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_sample
from erpsync.adapters.reference.schema import create_schema
from erpsync.config import ResolvedTarget, Settings
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy

REPO = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    found: Engine = request.getfixturevalue("pg_engine")
    return found


def plan_changes(engine: Engine) -> dict[tuple[str, str, str], dict[str, object]]:
    create_schema(engine)
    load_sample(engine)
    loaded = load_policy(REPO / "policies")
    target = ResolvedTarget("sample", "reference", "sqlite:///sample.db")
    settings = Settings(protected_users=["admin"], protected_roles=["admin"])
    snapshot = ReferenceAdapter(engine).read()
    plan = make_plan(loaded, snapshot, settings, ReferenceAdapter, target, NOW.date(), NOW)
    doc = plan.to_dict()
    assert {(u["kind"], u["key"]) for u in doc["unmanaged"]} == {
        ("user", "admin"),
        ("role", "admin"),
    }
    return {(c["action"], c["kind"], c["key"]): c for c in doc["changes"]}


def test_every_drift_case_appears_with_its_reason(engine: Engine) -> None:
    changes = plan_changes(engine)
    reasons = {key: c["reason"] for key, c in changes.items()}
    # (a) a leaver still active
    assert reasons[("deactivate", "user", "gao.yuan")] == "not declared: removed by policy"
    assert ("revoke", "membership", "gao.yuan/buyer") in reasons
    # (b) a transfer done on paper only
    assert changes[("update", "user", "deng.li")]["before"] == {"department": "purchasing"}
    assert changes[("update", "user", "deng.li")]["after"] == {"department": "finance-arap"}
    assert reasons[("grant", "membership", "deng.li/finance-viewer")] == (
        "default role of department finance"
    )
    assert ("revoke", "membership", "deng.li/buyer") in reasons
    # (c) a new hire missing
    assert changes[("create", "user", "chen.xi")]["after"]["department"] == "sales"
    assert reasons[("grant", "membership", "chen.xi/employee")] == "default role of department hq"
    # (d) a grant added by hand, (e) a role widened out of band
    assert reasons[("revoke", "membership", "zhang.wei2/vendor-master")] == (
        "not among the roles the policy gives zhang.wei2"
    )
    assert ("revoke", "permission", "ap-clerk/finance.payment:approve") in reasons
    # nothing else
    assert len(changes) == 17
    assert all("admin" not in key for _, _, key in changes)
