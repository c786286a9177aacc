"""A policy that relies on what the target ERP cannot store is refused before planning."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from erpsync.adapters.base import LiveSnapshot
from erpsync.adapters.tryton import TrytonAdapter
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import PolicyError
from erpsync.plan import Plan
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.state import State

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
TARGET = ResolvedTarget("t", "tryton", "sqlite://")


def plan(tmp_path: Path, text: str) -> Plan:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    return make_plan(
        load_policy(tmp_path),
        LiveSnapshot(State(), {}),
        Settings(),
        TrytonAdapter,
        TARGET,
        NOW.date(),
        NOW,
    )


def test_departments_and_data_scope_are_refused_for_tryton(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        plan(
            tmp_path,
            "departments:\n  hq: {name: 总部}\nusers:\n  li.na: {name: 李娜, department: hq}\n"
            "roles:\n  clerk: {name: Clerk, data_scope: all}\n",
        )
    found = [str(d) for d in info.value.diagnostics]
    assert any("department hq: the tryton adapter cannot store departments" in f for f in found)
    assert any("user li.na: department: the tryton adapter cannot store" in f for f in found)
    assert any(
        "role clerk: data_scope: the tryton adapter cannot store data scopes" in f for f in found
    )
    assert all(":" in f.split(" error: ")[0] for f in found)  # each names file:line:col


def test_what_tryton_stores_plans(tmp_path: Path) -> None:
    made = plan(
        tmp_path,
        "users:\n  li.na: {name: 李娜, email: li.na@example.com, roles: [clerk]}\n"
        "roles:\n  clerk: {name: clerk}\n",
    )
    assert [(str(c.action), c.key) for c in made.changes] == [
        ("create", "clerk"),
        ("create", "li.na"),
        ("grant", "li.na/clerk"),
    ]
