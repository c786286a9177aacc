"""The pull-request comment: removals first, changes open, warnings folded, the size limit."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from erpsync.plan import Action, Change, Kind, Plan, Target
from erpsync.render.markdown import LEVELS, Detail, Mode, markdown_view, prepare, render
from tests.render import change, huge_plan, plan_dict, small_plan

ARTIFACT = "see the plan artifact / `erpsync plan --format json`"
SEE_JSON = "not shown; " + ARTIFACT
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
    removals, additions = md.index("### ⚠️ Removals (5)"), md.index("### Additions and updates (10)")
    assert removals < additions
    deactivate = md.index("| deactivate | user | `wang.fang` |  | 已离职 (expires 2026-10-31) |")
    revoke = md.index("| `auditor` | `finance.payment:approve` | not declared: removed by policy |")
    create = md.index("| create | user | `zhao.lei` |")
    assert removals < deactivate < revoke < additions < create


def test_changes_are_open_and_only_warnings_and_unmanaged_are_folded() -> None:
    md = markdown_view(small_plan())
    assert "**Permissions granted to roles (2)**\n\n| Role | Permission | Reason |" in md
    assert "**Role memberships granted to users (2)**\n\n| User | Role | Reason |" in md
    assert "**Role memberships revoked from users (2)**" in md
    assert md.count("<details>") == 2
    assert "<details><summary>Unmanaged objects, left alone (1)</summary>" in md
    assert "<details><summary>⚠️ 1 warning: 1 × department … is not declared" in md
    assert md.index("<details>") > md.index("| `li.na` | `ap-clerk` |")  # after every change
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


def test_the_huge_plan_fits_a_comment_grouped_by_pattern() -> None:
    md = markdown_view(huge_plan())
    assert len(md) <= 65_000
    assert "| 3,000 | 0 | 0 | 500 | 0 | 6,000 | 1,000 |" in md
    assert (
        "- 3,000 users created in `sales` with roles `sales-clerk`, `viewer` "
        "(6,000 membership grants)\n"
    ) in md
    assert "| deactivate | user | `left499` |" in md  # every deactivation is listed
    assert "- 500 memberships of role `ap-clerk` revoked from 500 users\n" in md
    assert "the 1,000 permission and membership changes are not listed one by one" in md
    assert md.index("### ⚠️ Removals (1,500)") < md.index("### Additions and updates (9,000)")
    assert "the 9,000 additions and updates are not listed one by one" in md
    assert_whole(md)


def test_detail_is_grouped_section_by_section_last_first() -> None:
    plan = small_plan()
    prepared = prepare(plan)
    grouped = render(prepared, Detail(additions=Mode.PATTERNS))
    md = markdown_view(plan, limit=len(grouped))
    assert md == grouped
    assert "| deactivate | user | `wang.fang` |" in md  # removals still listed
    assert "| create | user | `zhao.lei` |" not in md
    assert (
        "- 1 user created in 销售一部 (`sales`) with role `sales-clerk` (1 membership grant)\n"
        in md
    )
    assert "- 1 membership of role `ap-clerk` granted to user `li.na`\n" in md
    assert '- 1 department updated: name → `"销售一部"`\n' in md
    assert "the 10 additions and updates are not listed one by one; " + ARTIFACT in md


@pytest.mark.parametrize("limit", range(1_530, 3_200, 53))
def test_any_limit_is_kept_with_whole_tables(limit: int) -> None:
    md = markdown_view(small_plan(), limit=limit)
    assert len(md) <= limit
    assert "**Plan: 3 to create," in md
    assert md.index("### ⚠️ Removals (5)") < md.index("### Additions and updates (10)")
    assert_whole(md)


def test_removals_that_do_not_fit_are_grouped_never_dropped() -> None:
    plan = small_plan()
    prepared = prepare(plan)
    md = markdown_view(
        plan, limit=len(render(prepared, Detail(Mode.PATTERNS, Mode.PATTERNS, Mode.KINDS)))
    )
    assert "| deactivate | user | `wang.fang` |" not in md
    assert "- 1 user deactivated losing role `ap-clerk` (1 membership revoke)\n" in md
    assert "- 1 role deleted with data scope `all`\n" in md
    assert "- 1 revoke of `finance.payment:approve` from role `auditor`\n" in md
    assert "- 1 membership of role `sales-clerk` revoked from user `li.na`\n" in md
    assert "the 5 removals are not listed one by one" in md
    assert "| user | create | 1 |" in md  # additions counted per kind
    smallest = markdown_view(plan, limit=len(render(prepared, LEVELS[-1])))
    assert "| user | deactivate | 1 |" in smallest
    assert "| membership | revoke | 2 |" in smallest
    assert "1 warning, 1 unmanaged object " + SEE_JSON in smallest


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


def onboarding(users: int) -> dict[str, object]:
    """A new sales department and ``users`` new users in it, each with one role."""
    changes = [change("create", "department", "sales", after={"name": "销售部", "parent": None})]
    for n in range(users):
        login = f"new{n:05d}"
        after = {"name": f"员工{n}", "email": f"{login}@corp.cn", "department": "sales"}
        changes.append(change("create", "user", login, after=after))
    for n in range(users):
        changes.append(change("grant", "membership", f"new{n:05d}/sales-clerk", "default role"))
    return plan_dict(changes)


def test_a_3000_user_onboarding_names_its_pattern_within_githubs_limit() -> None:
    md = markdown_view(onboarding(3000))
    assert len(md) < 65_536
    assert (
        "- 3,000 users created in 销售部 (`sales`) with role `sales-clerk` "
        "(3,000 membership grants)\n"
    ) in md
    assert "- 1 department created\n" in md
    assert "the 6,001 additions and updates are not listed one by one" in md
    assert_whole(md)


def mixed(total: int) -> list[dict[str, object]]:
    """``total`` changes of every kind and action, spread over many departments and roles."""
    makers = [
        lambda n: change("create", "user", f"u{n}", after={"department": f"d{n % 37}"}),
        lambda n: change("update", "user", f"v{n}", before={"email": "a"}, after={"email": f"{n}"}),
        lambda n: change("deactivate", "user", f"w{n}"),
        lambda n: change("grant", "permission", f"r{n % 53}/m{n % 11}.x:read"),
        lambda n: change("revoke", "permission", f"r{n % 41}/m{n % 7}.y:write"),
        lambda n: change("grant", "membership", f"x{n}/r{n % 29}"),
        lambda n: change("revoke", "membership", f"y{n}/r{n % 31}"),
        lambda n: change("create", "role", f"role{n}", after={"name": "r", "data_scope": "all"}),
        lambda n: change("delete", "department", f"old{n}", before={"name": "o", "parent": "hq"}),
        lambda n: change("reactivate", "user", f"z{n}"),
    ]
    return [makers[n % len(makers)](n) for n in range(total)]


def test_10000_mixed_changes_fit_and_every_change_is_counted() -> None:
    md = markdown_view(plan_dict(mixed(10_000)))
    assert len(md) <= 65_000
    assert md.index("### ⚠️ Removals (4,000)") < md.index("### Additions and updates (6,000)")
    # every change is either listed as a row or counted in a pattern or a kind
    counted = sum(int(n.replace(",", "")) for n in re.findall(r"^- ([\d,]+) ", md, re.M))
    counted += sum(int(n.replace(",", "")) for n in re.findall(r"\| ([\d,]+) \|$", md, re.M)[1:])
    rows = len(
        re.findall(
            r"^\| (?:(?:create|update|delete|deactivate|reactivate) \| (?:department|role|user) "
            r"\||`)",
            md,
            re.M,
        )
    )
    assert counted + rows == 10_000
    assert_whole(md)


def test_removals_are_listed_first_and_counted_whenever_not_listed() -> None:
    changes = mixed(10_000)
    for limit in (65_000, 20_000, 6_000, 3_000):
        md = markdown_view(plan_dict(changes), limit=limit)
        assert len(md) <= limit
        removals = md.index("### ⚠️ Removals (4,000)")
        assert removals < md.index("### Additions and updates (6,000)")
        listed = "| deactivate | user |" in md
        assert listed or re.search(
            r"^- 1,000 users deactivated$|\| user \| deactivate \| 1,000 \|", md, re.M
        )


def test_warnings_are_folded_under_a_summary_counting_each_kind() -> None:
    warnings = [
        f"policies/org.yaml:{n}:3: warning: department d{n}: no user in this department or below it"
        for n in range(7)
    ]
    warnings += [
        "catalogue: module sales differs between the policy and the ERP (run `erpsync catalog`)",
        "role legacy is not declared but users erpsync does not manage hold it (admin); it is kept",
    ]
    md = markdown_view(plan_dict([change("create", "user", "a")], warnings=warnings))
    assert (
        "<details><summary>⚠️ 9 warnings: 7 × department: no user in this department or below "
        "it; 1 × catalogue; 1 × role … is not declared but users erpsync does not manage hold "
        "it</summary>\n\n- policies/org.yaml:0:3: warning: department d0:"
    ) in md
    assert md.index("| create | user | `a` |") < md.index("<details>")
    assert_whole(md)


def test_changes_to_roles_of_note_come_after_removals_and_before_the_rest() -> None:
    plan = small_plan()
    plan["roles_of_note"] = {
        "ap-clerk": {"risk": "critical", "sod_rules": ["pay-vs-approve"]},
        "auditor": {"risk": None, "sod_rules": ["pay-vs-approve"]},
    }
    md = markdown_view(plan)
    removals = md.index("### ⚠️ Removals (5)")
    noted = md.index("### ⚠️ High-risk roles and separation of duties (4)")
    additions = md.index("### Additions and updates (6)")
    assert removals < noted < additions
    flag = "⚠️ role `ap-clerk`: risk critical, SoD rule `pay-vs-approve`<br>"
    assert md.index("| create | role | `ap-clerk` |") > noted
    assert f"| `ap-clerk` | `finance.payment:read` | {flag}role ap-clerk declares it |" in md
    revoke = md.index("| `wang.fang` | `ap-clerk` | ⚠️ role `ap-clerk`: risk critical")
    assert removals < revoke < noted  # removals keep their place and carry the flag
    assert md.index("| create | user | `zhao.lei` |") > additions
    assert_whole(md)
