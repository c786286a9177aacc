"""The behaviour every adapter must show, run against each adapter on each database it supports.

A harness seeds an ERP with a canonical State in the adapter's own way and
hands back a connected adapter. Adding an adapter means adding a harness here;
the behaviours stay the same. (Writing behaviours — create, update, move,
deactivate, idempotence — join when adapters can apply plans.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from erpsync import livefile
from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.adapters.memory import MemoryAdapter
from erpsync.adapters.reference import ReferenceAdapter, create_schema, load_state
from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.config import ResolvedTarget, Settings
from erpsync.diff import diff
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.scope import Scope
from erpsync.state import Desired, State

Harness = Callable[[State], Adapter]

LIVE = """\
departments:
  hq: {name: 公司总部, manager: wang.jianguo}
  finance: {name: 财务部, parent: hq, manager: chen.jing}
roles:
  admin: {name: 超级管理员, permissions: [system.user:create, finance.payment:approve]}
  ap-clerk:
    name: 应付会计
    description: 录入供应商发票
    data_scope: custom
    data_departments: [finance]
    permissions: [finance.ap_invoice:create, finance.ap_invoice:read, finance.payment:read]
users:
  admin: {name: 系统管理员, roles: [admin]}
  chen.jing: {name: 陈静, email: chen.jing@example.com, department: finance, roles: [ap-clerk]}
  wang.jianguo: {name: 王建国, department: hq, active: false}
"""

POLICY = """\
departments:
  hq: {name: 公司总部, manager: wang.jianguo}
  finance: {name: 财务部, parent: hq, manager: chen.jing}
roles:
  ap-clerk:
    name: 应付会计
    description: 录入供应商发票
    data_scope: custom
    data_departments: [finance]
    permissions: {finance.ap_invoice: [create, read], finance.payment: [read]}
users:
  chen.jing: {name: 陈静, email: chen.jing@example.com, department: finance, roles: [ap-clerk]}
  wang.jianguo: {name: 王建国, department: hq, active: false}
"""


def memory(state: State) -> Adapter:
    return MemoryAdapter(LiveSnapshot(state, dict(REFERENCE_CATALOGUE)))


@pytest.fixture(params=["memory", "reference-sqlite", "reference-postgresql"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    if request.param == "memory":
        return memory
    if request.param == "reference-sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    else:
        engine = request.getfixturevalue("pg_engine")

    def seed(state: State) -> Adapter:
        create_schema(engine)
        load_state(engine, state)
        return ReferenceAdapter(engine)

    return seed


def test_reads_back_what_was_seeded(harness: Harness) -> None:
    state, _ = livefile.parse(LIVE)
    assert harness(state).read().state == state


def test_catalogue_covers_every_grant(harness: Harness) -> None:
    state, _ = livefile.parse(LIVE)
    snapshot = harness(state).read()
    listed = {f"{m}:{a}" for m, actions in snapshot.catalogue.items() for a in actions}
    assert {perm for _, perm in snapshot.state.grants} <= listed


def test_reading_twice_gives_the_same_digest(harness: Harness) -> None:
    adapter = harness(livefile.parse(LIVE)[0])
    assert adapter.read().state.digest() == adapter.read().state.digest()


def test_live_state_equal_to_the_policy_plans_no_changes(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "policy.yaml").write_text(POLICY, encoding="utf-8")
    adapter = harness(livefile.parse(LIVE)[0])
    settings = Settings(protected_users=["admin"], protected_roles=["admin"])
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    target = ResolvedTarget("t", "reference", "sqlite://")
    plan = make_plan(
        load_policy(tmp_path / "p"),
        adapter.read(),
        settings,
        type(adapter),
        target,
        now.date(),
        now,
    )
    assert plan.changes == ()
    assert {(str(u.kind), u.key) for u in plan.unmanaged} == {("user", "admin"), ("role", "admin")}


def test_a_different_live_state_is_seen(harness: Harness) -> None:
    state, _ = livefile.parse(LIVE)
    desired = Desired(state)
    drifted, _ = livefile.parse(LIVE.replace("陈静, email", "陈晶, email"))
    changes = diff(desired, harness(drifted).read().state, Scope()).changes
    assert [(str(c.action), c.key, c.after) for c in changes] == [
        ("update", "chen.jing", {"name": "陈静"})
    ]
