"""Where a refused change is reported: the declaration it came from (erpsync.declared)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from erpsync.adapters.base import Refusal
from erpsync.declared import declaration, refusal_diagnostics
from erpsync.diagnostics import Position
from erpsync.plan import Action, Change, Kind
from erpsync.policy.loader import load_policy
from erpsync.state import Desired, desired_state

TODAY = dt.date(2026, 11, 28)

POLICY = """\
departments:
  hq: {name: HQ, default_roles: [staff]}
  sales: {name: Sales, parent: hq, default_roles: [clerk]}
roles:
  staff:
    name: staff
    permissions:
      hr.employee: [read]
  clerk:
    name: clerk
    includes: [staff]
    permissions:
      sales.order: [read, create]
      finance.report: ['*']
users:
  li.na:
    name: 李娜
    department: sales
    roles: [auditor, clerk]
    warehouses: [二号仓, 一号仓]
"""


def desired(tmp_path: Path) -> tuple[Desired, Path]:
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "q.yaml").write_text("roles:\n  auditor: {name: auditor}\n", encoding="utf-8")
    loaded = load_policy(tmp_path)
    return desired_state(loaded, {"finance.report": ("read", "export")}, TODAY), tmp_path / "p.yaml"


def at(change: Change, tmp_path: Path) -> str:
    d, _ = desired(tmp_path)
    found = declaration(d, change)
    return "none" if found is None else f"{found[0]} {found[1]}"


def test_each_kind_of_change_points_at_its_declaration(tmp_path: Path) -> None:
    _, p = desired(tmp_path)
    cases = {
        Change(Action.CREATE, Kind.DEPARTMENT, "sales", "r"): f"{p}:3:3 department sales",
        Change(Action.UPDATE, Kind.ROLE, "clerk", "r"): f"{p}:9:3 role clerk",
        Change(Action.DEACTIVATE, Kind.USER, "li.na", "r"): f"{p}:16:3 user li.na",
        # a grant: the action in the role's permissions entry, through includes, or '*'
        Change(Action.GRANT, Kind.PERMISSION, "clerk/sales.order:create", "r"): (
            f"{p}:13:27 role clerk"
        ),
        Change(Action.GRANT, Kind.PERMISSION, "clerk/hr.employee:read", "r"): (
            f"{p}:8:21 role staff"
        ),
        Change(Action.GRANT, Kind.PERMISSION, "clerk/finance.report:export", "r"): (
            f"{p}:14:24 role clerk"
        ),
        # a membership: the user's roles item, or the department default that gave it
        Change(Action.GRANT, Kind.MEMBERSHIP, "li.na/auditor", "r"): f"{p}:19:13 user li.na",
        Change(Action.GRANT, Kind.MEMBERSHIP, "li.na/staff", "r"): f"{p}:2:34 department hq",
        # removals: the owner, when it is declared
        Change(Action.REVOKE, Kind.PERMISSION, "clerk/sales.order:delete", "r"): (
            f"{p}:13:7 role clerk"
        ),
        Change(Action.REVOKE, Kind.MEMBERSHIP, "li.na/old", "r"): f"{p}:16:3 user li.na",
        Change(Action.DELETE, Kind.USER, "gone", "r"): "none",
        Change(Action.REVOKE, Kind.MEMBERSHIP, "gone/clerk", "r"): "none",
    }
    assert {c.key: at(c, tmp_path) for c in cases} == {c.key: w for c, w in cases.items()}


def test_a_change_without_a_declaration_names_the_live_object(tmp_path: Path) -> None:
    d, _ = desired(tmp_path)
    refused = [
        Refusal(Change(Action.DELETE, Kind.DEPARTMENT, "old", "r"), "it still has users"),
        Refusal(Change(Action.REVOKE, Kind.MEMBERSHIP, "gone/clerk", "r"), "no"),
    ]
    found = refusal_diagnostics(refused, d, Position("target prod"), "ruoyi")
    assert [str(x) for x in found] == [
        "target prod: error: department old (live, not declared): cannot delete department "
        "old: it still has users (the ruoyi adapter refuses it)",
        "target prod: error: user gone (live, not declared): cannot revoke membership "
        "gone/clerk: no (the ruoyi adapter refuses it)",
    ]


def test_a_refused_value_is_reported_where_it_is_written(tmp_path: Path) -> None:
    d, p = desired(tmp_path)
    change = Change(Action.UPDATE, Kind.USER, "li.na", "r")
    refused = [Refusal(change, "no post clerk", at=("roles", 1))]
    found = refusal_diagnostics(refused, d, Position("target prod"), "ruoyi-vue-pro")
    assert [str(x) for x in found] == [
        f"{p}:19:22: error: user li.na: cannot update user li.na: no post clerk "
        "(the ruoyi-vue-pro adapter refuses it)"
    ]


def test_a_users_assignment_refused_by_its_value_is_reported_at_its_item(
    tmp_path: Path,
) -> None:
    """An adapter sees a change's sorted list, not the policy's: it names the refused item
    by its value, and the planner finds it in the user's list."""
    d, p = desired(tmp_path)
    change = Change(Action.UPDATE, Kind.USER, "li.na", "r")
    refused = [
        Refusal(change, "no 一号仓", at=("warehouses", "一号仓")),
        Refusal(change, "no 三号仓", at=("warehouses", "三号仓")),  # not written: the list
    ]
    found = refusal_diagnostics(refused, d, Position("target prod"), "jsherp")
    assert [str(x).split(": error")[0] for x in found] == [f"{p}:20:23", f"{p}:20:5"]


def test_a_refused_list_item_named_by_its_value_is_reported_at_its_index(tmp_path: Path) -> None:
    """An adapter sees a user's posts sorted; naming the post finds it as written."""
    (tmp_path / "p.yaml").write_text(
        "users:\n  lina2026:\n    name: 李娜\n    posts: [user, hr]\n", encoding="utf-8"
    )
    d = desired_state(load_policy(tmp_path), {}, TODAY)
    change = Change(Action.UPDATE, Kind.USER, "lina2026", "r")
    refused = [Refusal(change, "no post hr", at=("posts", "hr"))]
    found = refusal_diagnostics(refused, d, Position("target prod"), "ruoyi-vue-pro")
    assert [str(x) for x in found] == [
        f"{tmp_path / 'p.yaml'}:4:19: error: user lina2026: cannot update user lina2026: "
        "no post hr (the ruoyi-vue-pro adapter refuses it)"
    ]
