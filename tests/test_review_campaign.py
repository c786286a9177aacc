"""Who reviews whom and what the decisions become (erpsync.review.campaign, .decisions),
on the demo company: its live ERP as the sample loads it, its policy as in policies/."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest

from erpsync.adapters.base import LiveSnapshot
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import sample_state
from erpsync.config import Settings
from erpsync.errors import ReviewSheetError
from erpsync.policy.edit import apply_edits, write_edits
from erpsync.policy.loader import load_policy
from erpsync.reports import AccessModel, live_model
from erpsync.review.campaign import UNASSIGNED, Previous, build_sheets
from erpsync.review.decisions import decide, pr_description
from erpsync.review.model import Answer, Filled, Sheet
from erpsync.scope import Scope

REPO = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 12, 3)


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "policies", tmp_path / "policies"))


def model() -> AccessModel:
    return live_model(LiveSnapshot(sample_state(), {}))


def scope() -> Scope:
    settings = Settings(protected_users=["admin"], protected_roles=["admin"])
    return Scope.for_adapter(settings, ReferenceAdapter)


def department_sheets(policies: Path, previous: Previous | None = None) -> list[Sheet]:
    loaded = load_policy(policies)
    return build_sheets(model(), loaded.policy, scope(), "department", "c1", DAY, None, previous)


def test_each_person_is_reviewed_once_by_a_manager_above_them(policies: Path) -> None:
    sheets = department_sheets(policies)
    reviewed = Counter(line.login for s in sheets for line in s.lines if line.kind == "account")
    live = model()
    active = {u for u, rec in live.users.items() if rec.active and u != "admin"}
    assert set(reviewed) == active  # everyone active, once; the protected admin not at all
    assert set(reviewed.values()) == {1}
    by_reviewer = {s.reviewer: s for s in sheets}
    assert all(line.login != s.reviewer for s in sheets for line in s.lines)  # never oneself
    # 王建国 manages the company: his direct reports' managers are on his sheet …
    assert {"chen.jing", "lin.zhiqiang"} <= {
        line.login for line in by_reviewer["wang.jianguo"].lines
    }
    # … and his own access goes to the owners of his department (总经理办公室)
    assert "wang.jianguo" in {line.login for line in by_reviewer["@hdjm-mfg/gm-office"].lines}
    assert UNASSIGNED not in by_reviewer
    assert by_reviewer["xie.ping"].reviewer_name == "谢萍"


def test_a_persons_roles_of_note_come_first_with_their_risk(policies: Path) -> None:
    sheets = department_sheets(policies)
    lines = [line for s in sheets for line in s.lines if line.login == "zhang.wei2"]
    assert lines[0].kind == "account"
    roles = [line.role for line in lines[1:]]
    noted = [line.role for line in lines[1:] if line.risk]
    assert roles[: len(noted)] == noted  # roles of note before the others
    vendor = next(line for line in lines if line.role == "vendor-master")
    assert vendor.risk.startswith("high; SOD-P2P-01")
    assert vendor.high_risk_permissions  # what makes it risky, listed
    assert next(line for line in lines if line.role == "employee").risk == ""


def test_what_changed_since_the_last_campaign(policies: Path) -> None:
    first = department_sheets(policies)
    listed = {(line.login, line.role) for s in first for line in s.lines}
    listed -= {("zhang.wei2", "vendor-master"), ("gao.yuan", None), ("gao.yuan", "buyer")}
    again = department_sheets(policies, Previous("c0", frozenset(listed)))
    since = {(line.login, line.role): line.since_last_review for s in again for line in s.lines}
    assert since[("zhang.wei2", "vendor-master")] == "role added"
    assert since[("gao.yuan", None)] == "new since c0"
    assert since[("gao.yuan", "buyer")] == "new"
    assert since[("li.na", None)] == ""
    assert {line.since_last_review for s in first for line in s.lines} == {"first review"}


def test_role_scope_goes_to_the_roles_owner(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "roles:\n  buyer: {name: 采购员, owners: ['@hdjm/purchasing-leads']}\n", "utf-8"
    )
    loaded = load_policy(tmp_path)
    sheets = build_sheets(model(), loaded.policy, scope(), "role", "c2", DAY, None)
    owner = next(s for s in sheets if s.reviewer == "@hdjm/purchasing-leads")
    assert {line.role for line in owner.lines} == {"buyer"}
    assert {line.kind for line in owner.lines} == {"role"}
    assert "gao.yuan" in {line.login for line in owner.lines}


def answer(sheet: Sheet, **decided: tuple[str, dt.date | None]) -> Filled:
    """``decided``: "login" or "login/role" (with / as __) -> (decision, expires)."""
    answers = []
    for line in sheet.lines:
        key = line.login if line.role is None else f"{line.login}/{line.role}"
        decision, expires = decided.get(
            key.replace(".", "_").replace("/", "__").replace("-", "_"), (None, None)
        )
        answers.append(Answer(line.number, decision, expires, "checked in Q4" if decision else ""))  # type: ignore[arg-type]
    return Filled(
        f"{sheet.file_stem}.xlsx", sheet.campaign, sheet.reviewer, sheet.digest(), tuple(answers)
    )


def test_decisions_become_policy_edits_and_a_pull_request(policies: Path) -> None:
    loaded = load_policy(policies)
    sheets = department_sheets(policies)
    by_reviewer = {s.reviewer: s for s in sheets}
    filled = [
        answer(by_reviewer["xie.ping"], zhang_wei2__ap_clerk=("revoke", None)),
        answer(
            by_reviewer["zhang.wei"],
            li_na=("expire", dt.date(2027, 1, 31)),
            li_na__employee=("revoke", None),  # comes with the company: a hand edit
        ),
        answer(by_reviewer["xu.gang"], gao_yuan=("revoke", None)),  # not declared at all
    ]
    outcome = decide(sheets, filled, loaded)
    texts = apply_edits(outcome.edits)
    assert len(texts) == 2  # finance.yaml and sales.yaml
    before = {p: p.read_text("utf-8") for p in texts}
    write_edits(texts)
    for path, old in before.items():
        new_lines, old_lines = path.read_text("utf-8").splitlines(), old.splitlines()
        changed = [x for x in old_lines if x not in new_lines] + [
            x for x in new_lines if x not in old_lines
        ]
        assert len(changed) in (1, 2), changed  # one line each (a flow list: one changed)
    reloaded = load_policy(policies).policy
    assert reloaded.users["zhang.wei2"].roles == []
    assert reloaded.users["li.na"].expires == dt.date(2027, 1, 31)
    assert len(outcome.manual) == 1
    assert "department `hq` (default_roles)" in outcome.manual[0]
    assert "gao.yuan" in outcome.notes[0]
    assert outcome.counts["xie.ping"]["revoke"] == 1
    assert outcome.counts["dong.haitao"] == Counter({"not returned": 23})
    body = pr_description(
        "c1", sheets, outcome, "ci", dt.datetime(2026, 12, 4, tzinfo=dt.UTC), None
    )
    assert "revoke role `ap-clerk` (应付会计) from `zhang.wei2` (张伟) (by 谢萍 (xie.ping))" in body
    assert "expire `li.na` (李娜) on 2027-01-31" in body
    assert "3 of 12 sheet(s) returned" in body


def test_one_reviewers_sheet_returned_twice_is_refused(policies: Path) -> None:
    sheets = department_sheets(policies)
    twice = [answer(sheets[0]), answer(sheets[0])]
    with pytest.raises(ReviewSheetError, match="a second sheet of reviewer"):
        decide(sheets, twice, load_policy(policies))


def test_a_revoked_role_the_department_also_gives_needs_a_hand_edit(policies: Path) -> None:
    finance = policies / "users/finance.yaml"
    text = finance.read_text("utf-8")
    head, _, tail = text.partition("  zhang.wei2:")
    tail = tail.replace("    roles: [ap-clerk]", "    roles: [ap-clerk, finance-viewer]", 1)
    finance.write_text(f"{head}  zhang.wei2:{tail}", "utf-8")
    loaded = load_policy(policies)
    sheets = department_sheets(policies)
    xie = next(s for s in sheets if s.reviewer == "xie.ping")
    comment = "x\n\n### Changes to the policy\n\n- deactivate `wang.jianguo`"
    answers = tuple(
        Answer(line.number, "revoke" if line.role == "finance-viewer" else None, None, comment)
        for line in xie.lines
        if line.login == "zhang.wei2"
    )
    filled = Filled("x.csv", "c1", "xie.ping", xie.digest(), answers)
    outcome = decide(sheets, [filled], loaded)
    assert len(outcome.edits) == 1  # taken out of the user's roles …
    assert "department `finance` (default_roles)" in outcome.manual[0]  # … but still given
    body = pr_description(
        "c1", sheets, outcome, "ci", dt.datetime(2026, 12, 4, tzinfo=dt.UTC), None
    )
    assert "\n### Changes to the policy" in body
    assert body.count("### Changes to the policy") == 1  # the comment cannot forge one
    assert "\\#\\#\\# Changes" in body
