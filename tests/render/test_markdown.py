"""The pull-request comment: removals first, whole tables, <details>, and the size limit."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from erpsync.plan import Action, Change, Kind, Plan, Target
from erpsync.render.markdown import Additions, Detail, markdown_view, prepare, render
from tests.render import change, huge_plan, plan_dict, small_plan

SEE_JSON = "not shown; see the plan artifact / `erpsync plan --format json`"
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def assert_whole(md: str) -> None:
    """Every table row is one line opening and closing with |, as wide as its header;
    every <details> is closed."""
    widths: list[int] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            assert line.endswith("|"), line
            widths.append(len(UNESCAPED_PIPE.findall(line)))
        else:
            assert len(set(widths)) <= 1, widths
            widths = []
    assert md.count("<details") == md.count("</details>")
    assert md.count("<summary>") == md.count("</summary>")


def test_title_summary_and_sentence() -> None:
    md = markdown_view(small_plan())
    assert md.startswith("## erpsync plan for `prod` (ruoyi)\n\n")
    assert (
        "| create | update | delete | deactivate | reactivate | grant | revoke |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n"
        "| 3 | 2 | 1 | 1 | 1 | 4 | 3 |\n\n"
        "**Plan: 3 to create, 2 to update, 1 to delete, 1 to deactivate, 1 to reactivate, "
        "4 to grant, 3 to revoke.**\n"
    ) in md
    assert_whole(md)


def test_removals_come_first_under_a_warning_heading() -> None:
    md = markdown_view(small_plan())
    removals, additions = md.index("### ⚠️ Removals"), md.index("### Additions and updates")
    assert removals < additions
    deactivate = md.index("| deactivate | user | `wang.fang` |  | 已离职 (expires 2026-10-31) |")
    revoke = md.index("| `auditor` | `finance.payment:approve` | not declared: removed by policy |")
    create = md.index("| create | user | `zhao.lei` |")
    assert removals < deactivate < revoke < additions < create


def test_long_detail_is_folded() -> None:
    md = markdown_view(small_plan())
    assert "<details><summary>Permissions granted to roles (2)</summary>" in md
    assert "<details><summary>Role memberships granted to users (2)</summary>" in md
    assert "<details><summary>Unmanaged objects, left alone (1)</summary>" in md
    assert "<details open><summary>⚠️ Warnings (1)</summary>" in md
    assert md.rstrip().splitlines()[-1].startswith("<sub>policy `sha256:aaaa")


def test_cells_show_attribute_changes_and_escape_table_breakers() -> None:
    md = markdown_view(small_plan())
    assert '| update | user | `li.na` | department: "sales" → "finance" |' in md
    assert '| delete | role | `legacy` | name: "旧角色\\|临时"<br>data\\_scope: "all" |' in md
    evil = change("create", "user", "a|b", "two\nlines | <script>", after={"name": "x`y"})
    md = markdown_view(plan_dict([evil]))
    assert '| create | user | `a\\|b` | name: "x\\`y" | two<br>lines \\| \\<script\\> |' in md
    assert_whole(md)


def test_an_empty_plan() -> None:
    md = markdown_view(plan_dict([]))
    assert "**No changes. The ERP matches the policy.**" in md
    assert "Removals" not in md
    assert "| create |" not in md


def test_the_huge_plan_fits_a_comment_and_keeps_summary_and_removals() -> None:
    md = markdown_view(huge_plan())
    assert len(md) <= 65_000
    assert "| 3,000 | 0 | 0 | 500 | 0 | 6,000 | 1,000 |" in md
    assert "### ⚠️ Removals" in md
    assert "| deactivate | user | `left499` |" in md  # every deactivation fits
    assert re.search(rf"\n… and [\d,]+ more membership revokes {re.escape(SEE_JSON)}\.\n", md)
    assert "| user | create | 3,000 |" in md  # additions counted per kind
    assert md.index("### ⚠️ Removals") < md.index("### Additions and updates")
    assert_whole(md)


def test_detail_is_dropped_step_by_step() -> None:
    plan = small_plan()
    prepared = prepare(plan)
    objects_only = render(prepared, Detail(Additions.OBJECTS))
    md = markdown_view(plan, limit=len(objects_only))
    assert md == objects_only
    assert "<summary>Permissions granted to roles" not in md
    assert "**Objects created, updated or reactivated (6)**" in md
    left_out = "2 permission grants, 2 membership grants"
    assert f"\n{left_out} {SEE_JSON}.\n" in md
    counted = render(prepared, Detail(Additions.COUNTS))
    md = markdown_view(plan, limit=len(counted))
    assert "| user | create | 1 |" in md
    assert f"The 10 additions and updates are counted above, {SEE_JSON}." in md


@pytest.mark.parametrize("limit", range(1_450, 3_200, 53))
def test_any_limit_is_kept_with_whole_tables(limit: int) -> None:
    md = markdown_view(small_plan(), limit=limit)
    assert len(md) <= limit
    assert "**Plan: 3 to create," in md
    assert_whole(md)


def test_removal_rows_are_cut_to_fit_and_counted() -> None:
    plan = small_plan()
    floor = len(render(prepare(plan), Detail(Additions.COUNTS, removal_rows=1)))
    md = markdown_view(plan, limit=floor)
    assert "| deactivate | user | `wang.fang` |" in md
    assert "| delete | role | `legacy` |" not in md
    assert f"\n… and 1 more role deletion {SEE_JSON}.\n" in md
    assert f"\n1 permission revoke {SEE_JSON}.\n" in md
    assert f"\n2 membership revokes {SEE_JSON}.\n" in md


def test_a_limit_below_the_summary_is_an_error() -> None:
    with pytest.raises(ValueError, match="summary alone"):
        markdown_view(small_plan(), limit=300)


def test_renders_the_json_form_of_a_real_plan() -> None:
    plan = Plan(
        Target("prod", "ruoyi", "mysql+pymysql://erpsync:***@db/ry"),
        dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC),
        "sha256:p",
        "sha256:l",
        changes=(Change(Action.REVOKE, Kind.PERMISSION, "ap-clerk/gl:post", "removed"),),
    )
    md = markdown_view(plan.to_dict())
    assert "| `ap-clerk` | `gl:post` | removed |" in md
    assert "**Plan: 1 to revoke.**" in md
