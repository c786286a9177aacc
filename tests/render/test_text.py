"""The terminal view: markers, grouping, attribute diffs, the final Plan: line, plain text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console
from rich.text import Text

from erpsync.plan import Action, Change, Kind, Plan, Target
from erpsync.render.text import text_view
from tests.render import change, plan_dict, small_plan


def lines(plan: dict[str, Any]) -> list[str]:
    return text_view(plan).plain.splitlines()


def follows(haystack: list[str], *needles: str) -> bool:
    """The needles occur as consecutive lines."""
    n = len(needles)
    return any(tuple(haystack[i : i + n]) == needles for i in range(len(haystack)))


def style_at(text: Text, fragment: str) -> str:
    start = text.plain.index(fragment)
    return " ".join(str(s.style) for s in text.spans if s.start == start)


def test_header_and_a_legend_of_the_markers_used() -> None:
    out = lines(small_plan())
    assert (
        out[0] == "erpsync plan for target prod (adapter ruoyi, mysql+pymysql://erpsync:***@db/ry)"
    )
    assert follows(
        out,
        "Changes are marked with these symbols:",
        "  + create, grant",
        "  ~ update",
        "  - delete, revoke",
        "  x deactivate",
        "  ^ reactivate",
    )


def test_the_legend_lists_only_markers_that_occur() -> None:
    out = lines(plan_dict([change("grant", "membership", "li.na/ap-clerk")]))
    assert follows(out, "Changes are marked with these symbols:", "  + grant", "")


def test_updates_show_only_changed_attributes() -> None:
    out = lines(small_plan())
    assert follows(
        out,
        "  ~ user li.na  # differs from policies/users/finance.yaml:8",
        '      ~ department: "sales" -> "finance"',
        "      roles:",
    )
    assert follows(
        out,
        "  ~ department sales  # differs from policies/org.yaml:3",
        '      ~ name: "销售部" -> "销售一部"',
    )


def test_created_objects_list_their_attributes_without_nulls() -> None:
    out = lines(small_plan())
    assert follows(
        out,
        "  + department finance-ap  # declared in policies/org.yaml:12",
        '      + name: "应付组"',
        '      + parent: "finance"',
        "  ~ department sales  # differs from policies/org.yaml:3",
    )
    assert '      + name: "赵磊"' in out
    assert "      + active: true" in out


def test_deleted_objects_list_what_goes() -> None:
    assert follows(
        lines(small_plan()),
        "  - role legacy  # not declared: removed by policy",
        '      - name: "旧角色|临时"',
        '      - data_scope: "all"',
    )


def test_permissions_nest_under_their_role_even_when_the_role_does_not_change() -> None:
    assert follows(
        lines(small_plan()),
        "    role auditor",
        "      permissions:",
        "        + finance.ledger:read  # role auditor declares it",
        "        - finance.payment:approve  # not declared: removed by policy",
    )


def test_memberships_nest_under_their_user_with_reasons() -> None:
    out = lines(small_plan())
    assert follows(
        out,
        "  x user wang.fang  # 已离职 (expires 2026-10-31)",
        "      roles:",
        "        - ap-clerk  # user wang.fang is deactivated: 已离职 (expires 2026-10-31)",
    )
    assert "  ^ user chen.jie  # declared active in policies/users/x.yaml:2" in out


def test_sections_in_apply_order_then_unmanaged_warnings_notes() -> None:
    out = lines(small_plan())
    order = ["Departments", "Roles", "Users", "Unmanaged (erpsync leaves these alone):"]
    order += ["Warnings:", "Notes:"]
    assert [out.index(title) for title in order] == sorted(out.index(t) for t in order)
    assert "  user admin  # protected account" in out
    assert "  ! department old-sales is not declared but still holds users; it is kept" in out
    assert "  * wang.fang keeps her department sales" in out


def test_last_line_counts_every_non_zero_action_in_order() -> None:
    assert lines(small_plan())[-1] == (
        "Plan: 3 to create, 2 to update, 1 to delete, 1 to deactivate, 1 to reactivate, "
        "4 to grant, 3 to revoke."
    )
    counts = {"create": 3, "update": 2, "deactivate": 1, "grant": 7, "revoke": 4}
    changes = [change(a, "user", f"u{i}") for a, n in counts.items() for i in range(n)]
    assert lines(plan_dict(changes))[-1] == (
        "Plan: 3 to create, 2 to update, 1 to deactivate, 7 to grant, 4 to revoke."
    )


def test_an_empty_plan() -> None:
    out = lines(plan_dict([]))
    assert out[-1] == "No changes. The ERP matches the policy."
    assert not any("marked" in line for line in out)


def test_colours_follow_the_action_and_plain_has_none() -> None:
    text = text_view(small_plan())
    assert style_at(text, "+ user zhao.lei") == "green"
    assert style_at(text, "~ user li.na") == "yellow"
    assert style_at(text, "x user wang.fang") == "red"
    assert style_at(text, "- finance.payment:approve") == "red"
    assert style_at(text, "^ user chen.jie") == "cyan"
    assert "\x1b" not in text.plain
    console = Console(force_terminal=True, color_system="standard", width=200)
    with console.capture() as captured:
        console.print(text)
    assert "\x1b[32m+ user zhao.lei" in captured.get()


def test_more_than_twenty_unmanaged_objects_are_cut_short() -> None:
    unmanaged = [{"kind": "user", "key": f"u{i:02d}", "reason": "protected"} for i in range(25)]
    out = lines(plan_dict([], unmanaged=unmanaged))
    assert "  user u19  # protected" in out
    assert "  user u20  # protected" not in out
    assert "  … and 5 more" in out


def test_names_cannot_forge_lines_or_colours() -> None:
    evil = change("create", "user", "mallory", "line\nPlan: 0 to create.\x1b[31m", after={})
    out = lines(plan_dict([evil]))
    assert "  + user mallory  # line\\nPlan: 0 to create.\\x1b[31m" in out
    assert out[-1] == "Plan: 1 to create."


def test_renders_the_json_form_of_a_real_plan() -> None:
    plan = Plan(
        Target("prod", "ruoyi", "mysql+pymysql://erpsync:***@db/ry"),
        dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC),
        "sha256:p",
        "sha256:l",
        changes=(
            Change(Action.CREATE, Kind.USER, "li.na", "declared", None, {"name": "李娜"}),
            Change(Action.GRANT, Kind.MEMBERSHIP, "li.na/ap-clerk", "default role"),
        ),
    )
    out = lines(plan.to_dict())
    assert follows(out, "  + user li.na  # declared", '      + name: "李娜"', "      roles:")
    assert out[-1] == "Plan: 1 to create, 1 to grant."
