"""A policy that relies on what the target ERP cannot store is refused before planning;
departments, where the ERP has none, are policy-only."""

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


def test_data_scope_is_refused_for_tryton_with_its_place(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        plan(
            tmp_path,
            "departments:\n  hq: {name: 总部}\nusers:\n  li.na: {name: 李娜, department: hq}\n"
            "roles:\n  clerk: {name: clerk, data_scope: all}\n",
        )
    errors = [str(d) for d in info.value.diagnostics if d.is_error]
    assert errors == [
        f"{tmp_path / 'p.yaml'}:6:24: error: role clerk: data_scope: the tryton adapter "
        "cannot store data scopes"
    ]


def test_departments_are_policy_only_for_tryton(tmp_path: Path) -> None:
    made = plan(
        tmp_path,
        "departments:\n"
        "  hq: {name: 总部, manager: li.na, default_roles: [staff]}\n"
        "  sales: {name: 销售部, parent: hq, default_roles: [clerk]}\n"
        "users:\n  li.na: {name: 李娜, department: sales}\n"
        "roles:\n  clerk: {name: clerk}\n  staff: {name: staff}\n",
    )
    # The departments give their default roles (down the tree) but are never written.
    assert [(str(c.action), str(c.kind), c.key, c.reason) for c in made.changes] == [
        ("create", "role", "clerk", f"declared in {tmp_path / 'p.yaml'}:7"),
        ("create", "role", "staff", f"declared in {tmp_path / 'p.yaml'}:8"),
        ("create", "user", "li.na", f"declared in {tmp_path / 'p.yaml'}:5"),
        ("grant", "membership", "li.na/clerk", "default role of department sales"),
        ("grant", "membership", "li.na/staff", "default role of department hq"),
    ]
    created = next(c for c in made.changes if c.key == "li.na")
    assert created.after is not None
    assert created.after["department"] is None
    assert [w for w in made.warnings if "policy-only" in w or "stores no departments" in w] == [
        f"{tmp_path / 'p.yaml'}:2:3: warning: department hq: the tryton adapter stores no "
        "departments: the policy's 2 department(s) give their members default roles and "
        "appear in reports, but are not written to the ERP"
    ]


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
