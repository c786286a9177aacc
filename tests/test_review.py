"""Access certification campaigns end to end on the demo company in the reference ERP
(SQLite and PostgreSQL), from the command line: ``review start`` writes one sheet per
manager; two filled sheets (a revoke, an expiry) closed with ``review close`` become
exactly two policy lines, a clean ``validate`` and a plan with exactly their effect; a
sheet edited outside its decision cells is refused; the evidence survives, verifies
and is printed by ``report review``."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import create_engine, text

from tests.test_dormant import erpsync, project, url  # noqa: F401  (the url fixture)

MANAGERS = {
    "@hdjm-mfg/gm-office",  # 王建国's own access goes to his department's owners
    "chen.jing",
    "dong.haitao",
    "guo.qiang",
    "lin.zhiqiang",
    "peng.hui",
    "wang.jianguo",
    "xie.ping",
    "xu.gang",
    "zhang.wei",
    "zhao.lei",
    "zhou.min",
}
DECISION, EXPIRES, COMMENT = 10, 11, 12  # columns K, L, M (0-based)


def stem_hash(reviewer: str) -> str:
    """A handle whose file name had to change carries a short hash, so two never collide."""
    return hashlib.sha256(reviewer.encode("utf-8")).hexdigest()[:6]


def folder(root: Path) -> Path:
    (found,) = (root / "reviews").iterdir()
    return found


def fill_xlsx(path: Path, login: str, role: str | None, decision: str) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book["Review"]
    for row in sheet.iter_rows(min_row=10):
        if row[2].value == login and (row[5].value or None) == role:
            row[DECISION].value = decision
            row[COMMENT].value = "离岗"
    book.save(path)


def fill_csv(path: Path, login: str, decision: str, expires: dt.date | None = None) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    for row in rows:
        if len(row) > COMMENT and row[2] == login and row[1] == "account":
            row[DECISION], row[COMMENT] = decision, "调岗"
            row[EXPIRES] = expires.isoformat() if expires else ""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8-sig")


def policy_lines(root: Path) -> dict[Path, list[str]]:
    return {p: p.read_text("utf-8").splitlines() for p in (root / "policies").rglob("*.yaml")}


def plan_changes(capsys: pytest.CaptureFixture[str]) -> set[tuple[str, str]]:
    code, out = erpsync(capsys, "plan", "--format", "json")
    assert code == 0, out
    return {(c["action"], c["key"]) for c in json.loads(out)["changes"]}


def diff_lines(before: dict[Path, list[str]], after: dict[Path, list[str]]) -> dict[str, list[str]]:
    """file name -> its changed lines, as ``git diff`` shows them (-old, +new)."""
    out = {}
    for path, lines in after.items():
        diff = difflib.unified_diff(before[path], lines, lineterm="", n=0)
        changed = [x for x in diff if x[:1] in "+-" and x[:3] not in ("+++", "---")]
        if changed:
            out[path.name] = changed
    return out


def start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """review start: one sheet per manager, in three formats; a second one is refused."""
    code, said = erpsync(capsys, "review", "start", "--due", "2099-12-31")
    assert code == 0, said
    where = folder(tmp_path)
    stems = {p.stem for p in where.iterdir()}
    assert {s for s in stems if "_" not in s} == MANAGERS - {"@hdjm-mfg/gm-office"}
    assert {s for s in stems if "_" in s} == {
        "hdjm-mfg_gm-office-" + stem_hash("@hdjm-mfg/gm-office")
    }
    assert len(list(where.glob("*.xlsx"))) == len(list(where.glob("*.html"))) == 12
    code, again = erpsync(capsys, "review", "start")
    assert code == 1
    assert "is still open: close it first" in again
    return where


def refuse_a_tampered_sheet(
    tmp_path: Path, where: Path, before: dict[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A sheet edited outside its decision cells: refused, nothing recorded or edited."""
    tampered = tmp_path / "tampered.xlsx"
    book = openpyxl.load_workbook(where / "xie.ping.xlsx")
    book["Review"]["C10"].value = "someone.else"
    book.save(tampered)
    code, said = erpsync(capsys, "review", "close", str(tampered), str(where / "zhang.wei.csv"))
    assert code == 1
    assert "row 10, column C (login)" in said
    assert "only the decision, expires and comment cells may be edited" in said
    assert policy_lines(tmp_path) == before
    code, out = erpsync(capsys, "review", "status")
    assert "zhang.wei (张伟): 1/12 decided, started" in out
    assert "Decided 2 of 154 line(s)." in out


def check_the_evidence(
    tmp_path: Path, db_url: str, head: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """report review: the closed campaign, its decisions, its intact chain; then not intact
    once a record is edited in the database."""
    code, out = erpsync(capsys, "report", "review", "--format", "json")
    doc = json.loads(out)
    assert doc["status"] == "closed"
    assert doc["evidence"] == {"records": [1, 2], "intact": True, "problems": [], "head": head}
    assert doc["started_by"] == doc["closed_by"] == "auditor"
    decided = [d for d in doc["decisions"] if d["decision"]]
    assert [(d["reviewer"], d["login"], d["role"], d["decision"]) for d in decided] == [
        ("xie.ping", "zhang.wei2", "ap-clerk", "revoke"),
        ("zhang.wei", "li.na", None, "expire"),
    ]
    code, out = erpsync(capsys, "report", "review", "--format", "csv")
    assert out.lstrip("\ufeff").startswith("campaign,reviewer,line,kind,login,role,decision")
    code, out = erpsync(capsys, "report", "review", "--format", "html", "--out", "r.html")
    assert "离岗" in (tmp_path / "r.html").read_text("utf-8")
    engine = create_engine(db_url)  # someone edits the evidence in the database
    with engine.begin() as conn:
        conn.execute(text("UPDATE erpsync_review SET actor = 'someone' WHERE id = 2"))
    engine.dispose()
    code, out = erpsync(capsys, "report", "review", "--format", "json")
    assert json.loads(out)["evidence"]["intact"] is False
    code, out = erpsync(capsys, "review", "status")
    assert code == 1
    assert "the review evidence is not intact" in out


def test_a_campaign_from_start_to_evidence(
    url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project(tmp_path, url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERPSYNC_ACTOR", "auditor")
    where = start(tmp_path, capsys)
    before_policy, before_plan = policy_lines(tmp_path), plan_changes(capsys)
    today = dt.datetime.now(dt.UTC).date()
    fill_xlsx(where / "xie.ping.xlsx", "zhang.wei2", "ap-clerk", "revoke")
    fill_csv(where / "zhang.wei.csv", "li.na", "expire", today)
    refuse_a_tampered_sheet(tmp_path, where, before_policy, capsys)

    sheets = [str(where / "xie.ping.xlsx"), str(where / "zhang.wei.csv")]
    code, said = erpsync(capsys, "review", "close", *sheets, "--pr-body", "pr.md")
    assert code == 0, said
    assert diff_lines(before_policy, policy_lines(tmp_path)) == {
        "finance.yaml": ["-    roles: [ap-clerk]", "+    roles: []"],
        "operations.yaml": [f"+    expires: {today}  # access review {where.name}, zhang.wei"],
    }
    code, out = erpsync(capsys, "validate")
    assert code == 0, out
    after_plan = plan_changes(capsys)
    assert after_plan - before_plan == {
        ("revoke", "zhang.wei2/ap-clerk"),
        ("deactivate", "li.na"),
        ("revoke", "li.na/employee"),
        ("revoke", "li.na/operations-viewer"),
        ("revoke", "li.na/sales-clerk"),
    }
    assert before_plan - after_plan == set()
    body = (tmp_path / "pr.md").read_text("utf-8")
    assert "revoke role `ap-clerk` (应付会计) from `zhang.wei2` (张伟) (by 谢萍 (xie.ping))" in body
    assert "2 of 12 sheet(s) returned" in body
    printed = re.search(r"Evidence head \(keep it with the pull request\): (\S+)", said)
    assert printed is not None
    check_the_evidence(tmp_path, url, printed.group(1), capsys)


def test_the_next_campaign_says_what_changed_since(
    url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project(tmp_path, url)
    monkeypatch.chdir(tmp_path)
    assert erpsync(capsys, "review", "start", "--format", "csv")[0] == 0
    first = folder(tmp_path)
    code, said = erpsync(capsys, "review", "close", str(first / "zhou.min.csv"))
    assert code == 1  # nobody filled it in: refused, not recorded as every line undecided
    assert "no decision on the sheet" in said
    fill_csv(first / "zhou.min.csv", "wu.xia", "keep")
    assert erpsync(capsys, "review", "close", str(first / "zhou.min.csv"))[0] == 0
    code, said = erpsync(capsys, "review", "start", "--scope", "department", "--out", "next")
    assert code == 0, said
    (second,) = (tmp_path / "next").iterdir()
    rows = list(csv.reader(io.StringIO((second / "zhou.min.csv").read_text("utf-8-sig"))))
    listed = [r for r in rows if len(r) > 9 and r[2] == "wu.xia"]
    assert listed
    assert {r[9] for r in listed} == {""}  # nothing changed since the first campaign
