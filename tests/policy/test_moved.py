"""The policy's ``moved:`` list: validated at each entry, and planned as renames in place."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from erpsync.adapters.base import LiveSnapshot
from erpsync.adapters.memory import MemoryAdapter, apply_changes
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import UsageError
from erpsync.plan import Action, Kind, Plan
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.policy.validate import validate
from erpsync.state import DepartmentRec, RoleRec, State, UserRec

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)

POLICY = """\
departments:
  sales: {name: 销售部, manager: li.na}
roles:
  sales-operations: {name: 销售运营}
users:
  li.na: {name: 李娜, department: sales, roles: [sales-operations]}
"""

# The ERP as an earlier policy left it: the same objects under their old keys.
LIVE = State(
    {"sales-dept": DepartmentRec("sales-dept", "销售部", None, "lina")},
    {"lina": UserRec("lina", "李娜", None, "sales-dept")},
    {"sales-ops": RoleRec("sales-ops", "销售运营")},
    frozenset(),
    {"lina": frozenset({"sales-ops"})},
)

MOVES = """\
moved:
  - {kind: role, from: sales-ops, to: sales-operations}
  - {kind: department, from: sales-dept, to: sales}
  - {kind: user, from: lina, to: li.na}
"""


def findings(tmp_path: Path, text: str) -> list[tuple[str, int, int, str]]:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    found = validate(load_policy(tmp_path), NOW.date())
    return [
        (d.severity, d.position.line, d.position.col, d.message) for d in found if d.code == "moved"
    ]


def plan(tmp_path: Path, text: str, live: State) -> Plan:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    return make_plan(
        load_policy(tmp_path),
        LiveSnapshot(live, {}),
        Settings(),
        MemoryAdapter,
        ResolvedTarget("t", "memory", "memory://"),
        NOW.date(),
        NOW,
    )


def test_renames_plan_as_updates_of_the_same_objects_and_then_nothing(tmp_path: Path) -> None:
    made = plan(tmp_path, POLICY + MOVES, LIVE)
    assert [(c.action, c.kind, c.renamed_from, c.key) for c in made.changes] == [
        (Action.UPDATE, Kind.DEPARTMENT, "sales-dept", "sales"),
        (Action.UPDATE, Kind.ROLE, "sales-ops", "sales-operations"),
        (Action.UPDATE, Kind.USER, "lina", "li.na"),
    ]
    assert all("(moved:)" in c.reason for c in made.changes)
    after = apply_changes(LIVE, made.changes)
    assert after.departments["sales"].manager == "li.na"  # references follow the renames
    assert after.user_roles == {"li.na": frozenset({"sales-operations"})}
    # The entries stay as history: applied, they change nothing.
    assert plan(tmp_path, POLICY + MOVES, after).changes == ()


def test_without_moved_the_same_change_is_a_delete_and_a_create(tmp_path: Path) -> None:
    actions = {(c.action, c.kind) for c in plan(tmp_path, POLICY, LIVE).changes}
    assert (Action.CREATE, Kind.ROLE) in actions
    assert (Action.DELETE, Kind.ROLE) in actions


def test_a_rename_onto_a_key_the_erp_has_is_refused(tmp_path: Path) -> None:
    live = State(
        LIVE.departments,
        LIVE.users,
        {**LIVE.roles, "sales-operations": RoleRec("sales-operations", "别的")},
        frozenset(),
        LIVE.user_roles,
    )
    with pytest.raises(UsageError, match="cannot rename role sales-ops to sales-operations"):
        plan(tmp_path, POLICY + MOVES, live)


def test_unusable_entries_are_errors_at_the_entry(tmp_path: Path) -> None:
    text = POLICY + (
        "moved:\n"
        "  - {kind: role, from: sales-operations, to: x}\n"  # still declared; x undeclared
        "  - {kind: role, from: a, to: sales-operations}\n"
        "  - {kind: role, from: b, to: sales-operations}\n"  # two into one
        "  - {kind: role, from: a, to: c}\n"  # a renamed twice
        "  - {kind: user, from: p, to: q}\n"
        "  - {kind: user, from: q, to: p}\n"  # a cycle
        "  - {kind: department, from: sales, to: sales}\n"
    )
    assert findings(tmp_path, text) == [
        (
            "error",
            8,
            18,
            "role sales-operations is still declared: a renamed key is declared only under "
            "its new name (x)",
        ),
        ("error", 10, 27, "two keys are renamed to role sales-operations (also by moved #2)"),
        ("error", 11, 18, "role a is renamed twice (also by moved #2)"),
        ("error", 12, 27, "the renames of users form a cycle: p → q → p"),
        ("error", 14, 37, "renames department sales to itself"),
    ]


def test_an_entry_that_renames_nothing_is_a_warning(tmp_path: Path) -> None:
    text = POLICY + "moved:\n  - {kind: role, from: old, to: gone}\n"
    assert findings(tmp_path, text) == [
        ("warning", 8, 29, "role gone is not declared: this entry renames nothing")
    ]


def test_a_chain_leads_an_old_key_to_the_current_one(tmp_path: Path) -> None:
    text = POLICY + (
        "moved:\n"
        "  - {kind: role, from: sales-ops, to: sales-team}\n"
        "  - {kind: role, from: sales-team, to: sales-operations}\n"
    )
    assert findings(tmp_path, text) == []
    made = plan(tmp_path, text, LIVE)
    renamed = [(c.renamed_from, c.key) for c in made.changes if c.kind is Kind.ROLE]
    assert renamed == [("sales-ops", "sales-operations")]
