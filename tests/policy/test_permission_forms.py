"""A role's two permission forms: module -> actions, and a list of MODULE:ACTION.

Both resolve to the same permissions; the list form keeps where each item was
written, for validation and for the plan's reasons.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from erpsync.policy.loader import load_policy
from erpsync.policy.model import Role, split_permission
from erpsync.state import desired_state

CATALOGUE = {"system:user": ("list", "add", "edit"), "finance.payment": ("read", "approve")}

POLICY = """\
roles:
  listed:
    name: Listed
    permissions:
      - finance.payment:read
      - system:user:*
      - finance.payment:approve
  mapped:
    name: Mapped
    permissions:
      finance.payment: [read]
      system:user: [list, add]
users:
  li.na: {name: Li Na, roles: [listed, mapped]}
"""


@pytest.mark.parametrize(
    ("perm", "parts"),
    [
        ("system:user:list", ("system:user", "list")),
        ("finance.payment:approve", ("finance.payment", "approve")),
        ("tool:gen:code:edit", ("tool:gen:code", "edit")),
        ("inventory.stock:*", ("inventory.stock", "*")),
    ],
)
def test_the_action_is_what_follows_the_last_colon(perm: str, parts: tuple[str, str]) -> None:
    assert split_permission(perm) == parts


def test_both_forms_give_the_same_modules_and_actions() -> None:
    listed = Role(name="x", permissions=["system:user:list", "a.b:read", "system:user:add"])
    mapped = Role(name="x", permissions={"system:user": ["list", "add"], "a.b": ["read"]})
    assert (
        listed.by_module()
        == mapped.by_module()
        == {
            "system:user": ["list", "add"],
            "a.b": ["read"],
        }
    )


def test_where_a_permission_is_declared_in_either_form() -> None:
    listed = Role(name="x", permissions=["a.b:read", "system:user:*", "system:user:list"])
    assert listed.declared_at("a.b:read") == ("permissions", 0)
    assert listed.declared_at("system:user:add") == ("permissions", 1)  # through the '*'
    assert listed.declared_at("system:user:list") == ("permissions", 1)  # the first that holds
    assert listed.declared_at("c.d:read") == ("permissions",)
    mapped = Role(name="x", permissions={"system:user": ["list"]})
    assert mapped.declared_at("system:user:list") == ("permissions", "system:user")
    assert mapped.declared_at("c.d:read") == ("permissions",)


def test_the_plan_reason_names_the_line_of_the_list_item(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "roles.yaml").write_text(POLICY, encoding="utf-8")
    loaded = load_policy(tmp_path / "p")
    desired = desired_state(loaded, CATALOGUE, dt.date(2026, 11, 28))
    file = tmp_path / "p" / "roles.yaml"
    assert {perm for role, perm in desired.state.grants if role == "listed"} == {
        "finance.payment:read",
        "finance.payment:approve",
        "system:user:list",
        "system:user:add",
        "system:user:edit",
    }
    assert desired.grant_reason("listed", "finance.payment:read") == f"declared in {file}:5"
    assert desired.grant_reason("listed", "system:user:edit") == f"declared in {file}:6"
    assert desired.grant_reason("listed", "finance.payment:approve") == f"declared in {file}:7"
    assert desired.grant_reason("mapped", "system:user:add") == f"declared in {file}:12"
