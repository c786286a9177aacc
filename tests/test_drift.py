"""Drift: golden cases, the pieces of the report, and the real reference ERP.

Golden cases live in ``tests/cases/drift/<name>/``: ``policy/``, ``live.yaml`` (the
:mod:`erpsync.livefile` form; a department, role or user may also carry
``updated_by``/``updated_at``, read as the ERP's attribution), and optionally
``settings.yaml``, ``driftignore`` (a ``.erpsyncignore``) and ``last_apply`` (the ISO
time of erpsync's last audited apply; without it erpsync never applied). The report
is made with a fixed clock and compared with ``drift.json``, ``drift.txt`` and
``drift.md`` (``ERPSYNC_REGENERATE=1`` rewrites them).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from erpsync import driftignore
from erpsync.adapters.base import Attribution, LiveSnapshot
from erpsync.adapters.memory import MemoryAdapter
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_sample
from erpsync.adapters.reference.schema import create_schema
from erpsync.apply import ApplyOptions, execute
from erpsync.audit import AuditEntry, AuditRecord
from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.commands import drift as drift_cmd
from erpsync.config import Config, Project, ResolvedTarget, Settings, load_config
from erpsync.drift import DriftReport, LastApply, build_report, out_of_band, sod_holdings
from erpsync.errors import PolicyError, UsageError
from erpsync.livefile import load as load_live
from erpsync.policy.loader import load_policy
from erpsync.policy.model import SodRule
from erpsync.render import drift_html
from erpsync.render.drift_html import html_view
from erpsync.render.drift_markdown import markdown_view
from erpsync.render.drift_text import summary_sentence, text_view
from erpsync.state import State, UserRec, by_user
from erpsync.yamlsafe import load_file
from tests.apply.helpers import engine_for
from tests.casefiles import case_dirs, check_golden
from tests.output import captured

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
TARGET = ResolvedTarget("golden", "memory", "postgresql://erpsync:secret@db/erp")
REPO = Path(__file__).resolve().parent.parent
NO_DRIFT_CASES = {"clean", "unmanaged", "ignored"}


# -- golden cases --------------------------------------------------------------------------


def attribution_of(live: dict[str, Any]) -> dict[tuple[str, str], Attribution]:
    found = {}
    for section, kind in (("departments", "department"), ("users", "user"), ("roles", "role")):
        for key, row in (live.get(section) or {}).items():
            by, at = row.get("updated_by"), row.get("updated_at")
            if by is None and at is None:
                continue
            when = None
            if at is not None:
                when = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(at)
            found[(kind, key)] = Attribution(by, when)
    return found


def snapshot_of(case: Path) -> LiveSnapshot:
    state, catalogue = load_live(case / "live.yaml")
    raw = load_file(case / "live.yaml") or {}
    return LiveSnapshot(
        state, catalogue or dict(REFERENCE_CATALOGUE), attribution=attribution_of(raw)
    )


def last_apply_of(case: Path) -> AuditRecord | None:
    path = case / "last_apply"
    if not path.exists():
        return None
    applied_at = dt.datetime.fromisoformat(path.read_text(encoding="utf-8").strip())
    entry = AuditEntry(
        applied_at=applied_at,
        actor="ci:github:octocat",
        git_commit="0123456789abcdef0123456789abcdef01234567",
        git_branch="main",
        target="golden",
        adapter="memory",
        erpsync_version="0.1.0",
        policy_digest="sha256:p",
        live_digest="sha256:l",
        changes=[],
    )
    return AuditRecord(7, entry, "0" * 64, "f" * 64)


def report_of(case: Path) -> DriftReport:
    cwd = Path.cwd()
    os.chdir(case)  # reasons then read "policy/org.yaml:3"
    try:
        loaded = load_policy(Path("policy"))
        ignore = driftignore.load(Path("driftignore"))
    finally:
        os.chdir(cwd)
    path = case / "settings.yaml"
    settings = Settings.model_validate(load_file(path)) if path.exists() else Settings()
    return build_report(
        loaded,
        snapshot_of(case),
        settings,
        MemoryAdapter,
        TARGET,
        last_apply_of(case),
        ignore,
        NOW.date(),
        NOW,
    )


@pytest.mark.parametrize("case", case_dirs("drift"), ids=lambda p: p.name)
def test_drift_case(case: Path) -> None:
    report = report_of(case)
    doc = report.to_dict()
    check_golden(case / "drift.json", json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    check_golden(case / "drift.txt", text_view(doc).plain + "\n")
    check_golden(case / "drift.md", markdown_view(doc))
    assert report.has_drift is (case.name not in NO_DRIFT_CASES)
    assert "secret" not in json.dumps(doc) + text_view(doc).plain + html_view(doc)


def test_every_category_has_a_case() -> None:
    seen: set[str] = set()
    for case in case_dirs("drift"):
        summary = report_of(case).summary
        seen |= {k for k in ("changed", "missing", "extra", "unmanaged", "accepted") if summary[k]}
        seen |= {k for k in ("sod_violations", "expired_active", "out_of_band") if summary[k]}
    assert seen == {
        "changed",
        "missing",
        "extra",
        "unmanaged",
        "accepted",
        "sod_violations",
        "expired_active",
        "out_of_band",
    }


# -- the pieces ----------------------------------------------------------------------------

CASES = REPO / "tests" / "cases" / "drift"


def test_changed_fields_carry_attribution_and_out_of_band() -> None:
    report = report_of(CASES / "changed")
    by_key = {(c.kind, c.key): c for c in report.changed}
    moved = by_key[("user", "li.na")]
    assert [(f.field, f.declared, f.live) for f in moved.fields] == [
        ("department", "finance", "sales")
    ]
    assert (moved.stamp.by, moved.stamp.out_of_band) == ("ui-admin", True)
    assert by_key[("user", "wang.fang")].stamp.out_of_band is False  # written before the apply
    assert by_key[("user", "chen.jing")].stamp.out_of_band is None  # no time recorded
    disabled = by_key[("user", "zhao.lei")]
    assert [(f.field, f.declared, f.live) for f in disabled.fields] == [("active", True, False)]
    assert report.summary["out_of_band"] == 4


def test_without_an_apply_every_change_is_out_of_band() -> None:
    report = report_of(CASES / "changed-never-applied")
    assert report.last_apply is None
    assert [c.stamp.out_of_band for c in report.changed] == [True]


def test_out_of_band_compares_with_the_last_apply() -> None:
    record = last_apply_of(CASES / "changed")
    assert record is not None
    last = LastApply.of(record)
    before = record.entry.applied_at - dt.timedelta(seconds=1)
    after = record.entry.applied_at + dt.timedelta(seconds=1)
    assert out_of_band(after, last) is True
    assert out_of_band(record.entry.applied_at, last) is False
    assert out_of_band(before, last) is False
    assert out_of_band(None, last) is None
    assert out_of_band(None, None) is True


def test_sod_statuses_in_the_live_state() -> None:
    report = report_of(CASES / "sod")
    found = {(s.rule, s.user): s for s in report.sod}
    assert found[("SOD-P2P-01", "zhang.wei")].counts
    assert found[("SOD-P2P-01", "zhang.wei")].status == "unmitigated"
    assert found[("SOD-P2P-01", "li.lei")].status == "exception_expired"
    assert found[("SOD-P2P-01", "li.lei")].counts
    assert found[("SOD-P2P-01", "wang.fang")].status == "exception"
    assert not found[("SOD-P2P-01", "wang.fang")].counts
    assert not found[("SOD-O2C-01", "sun.li")].counts  # medium: the policy allows it
    assert not found[("SOD-P2P-01", "svc-pay")].counts  # ignored user
    assert not found[("SOD-P2P-01", "svc-pay")].managed
    assert ("SOD-P2P-01", "old.hand") not in found  # inactive users hold nothing
    assert report.summary["sod_violations"] == 2


def test_expired_users_are_not_listed_again_as_extra() -> None:
    report = report_of(CASES / "expired-active")
    assert [(e.login, e.roles) for e in report.expired_active] == [
        ("tang.lu", ("ap-clerk", "employee"))
    ]
    assert all(not e.key.startswith("tang.lu") for e in report.extra)
    # qian.bo is already inactive: the role left on the account is still extra
    assert [e.key for e in report.extra] == ["qian.bo/ap-clerk", "zhou.min/employee"]
    assert [(c.key, c.fields[0].field) for c in report.changed] == [("zhou.min", "active")]


def test_coverage_counts_managed_live_users() -> None:
    coverage = report_of(CASES / "unmanaged").to_dict()["coverage"]
    assert coverage == {"managed_users": 1, "live_users": 4, "percent": 25.0}


def test_accepted_drift_does_not_count_and_stale_entries_warn() -> None:
    report = report_of(CASES / "ignored")
    assert not report.has_drift
    assert {(a.category, a.key) for a in report.accepted} == {
        ("changed", "li.na"),
        ("extra", "ap-clerk/finance.payment:approve"),
        ("extra", "zhang.wei/ap-clerk"),
        ("sod_violations", "SOD-P2P-01/zhang.wei"),
    }
    assert any("'role tmp-*' matches no drift" in w for w in report.warnings)


def test_sod_holdings_join_active_memberships_with_the_grants_rules_name() -> None:
    state = State(
        users={u: UserRec(u, u.upper(), active=u != "b") for u in ("a", "b", "c", "d")},
        grants=frozenset(
            {("r1", "m:x"), ("r2", "m:y"), ("r2", "m:z"), ("r3", "n:read"), ("r4", "w:*")}
        ),
        user_roles=by_user(
            {("a", "r1"), ("a", "r2"), ("b", "r1"), ("c", "r3"), ("d", "r4"), ("d", "r1")}
        ),
    )
    rule = SodRule(description="d", severity="high", conflicts=[["m:x", "m:y"], ["w:approve"]])
    assert sod_holdings(state, {"R": rule}) == {
        "a": frozenset({"m:x", "m:y"}),  # m:z is named by no rule; b is inactive
        "d": frozenset({"m:x", "w:*"}),  # w:* holds w:approve; c holds nothing named
    }


def test_an_invalid_policy_raises(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.yaml").write_text(
        "users:\n  li.na: {name: 李娜, department: nowhere}\n", encoding="utf-8"
    )
    (tmp_path / "live.yaml").write_text("{}\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        report_of(tmp_path)


# -- .erpsyncignore ------------------------------------------------------------------------


def test_ignore_file_format() -> None:
    parsed = driftignore.parse(
        "# heading comment\n"
        "\n"
        "user li.na   # on leave\n"
        "membership zhang.wei2/*\n"
        "permission ap-clerk/finance.payment:approve#not-a-comment\n"
        "   sod SOD-*/wang.fang #  two-person branch  \n",
        "x/.erpsyncignore",
    )
    assert [(e.kind, e.pattern, e.reason, e.line) for e in parsed.entries] == [
        ("user", "li.na", "on leave", 3),
        ("membership", "zhang.wei2/*", "", 4),
        ("permission", "ap-clerk/finance.payment:approve#not-a-comment", "", 5),
        ("sod", "SOD-*/wang.fang", "two-person branch", 6),
    ]
    assert parsed.match("membership", "zhang.wei2/vendor-master") is parsed.entries[1]
    assert parsed.match("user", "zhang.wei2/vendor-master") is None  # kinds must agree
    assert parsed.match("user", "li.nana") is None  # a key matches whole
    assert parsed.match("sod", "SOD-P2P-01/wang.fang") is parsed.entries[3]


@pytest.mark.parametrize(
    "line", ["li.na", "users li.na", "user li.na extra", "user", "group admins"]
)
def test_a_bad_ignore_line_is_an_error_naming_file_and_line(line: str) -> None:
    with pytest.raises(UsageError, match=r"^x/\.erpsyncignore:2: expected `KIND PATTERN"):
        driftignore.parse(f"# ok\n{line}\n", "x/.erpsyncignore")


def test_a_missing_ignore_file_is_an_empty_list(tmp_path: Path) -> None:
    assert driftignore.load(tmp_path / ".erpsyncignore").entries == ()


# -- views ---------------------------------------------------------------------------------


def big_report(extra: int) -> dict[str, Any]:
    doc = report_of(CASES / "extra").to_dict()
    item = doc["extra"][-1]
    doc["extra"] = [{**item, "key": f"user{i:05d}/ap-clerk"} for i in range(extra)]
    doc["summary"]["extra"] = extra
    return doc


def test_markdown_fits_an_issue_by_leaving_rows_out() -> None:
    doc = big_report(5000)
    full = markdown_view(doc, limit=10**9)
    assert len(full) > 65_000
    fitted = markdown_view(doc)
    assert len(fitted) <= 65_000
    assert "**Drift: 5,000 extra" in fitted
    assert "more rows not shown; see `erpsync drift --format json`." in fitted
    assert fitted.rstrip().endswith("</sub>")


def test_markdown_escapes_table_breakers() -> None:
    doc = report_of(CASES / "missing").to_dict()
    doc["missing"][0]["name"] = "a | b <img src=x>"
    text = markdown_view(doc)
    assert "a \\| b \\<img src=x\\>" in text


def test_html_is_self_contained_and_escaped() -> None:
    doc = report_of(CASES / "changed").to_dict()
    doc["changed"][0]["name"] = "<script>alert(1)</script>"
    page = html_view(doc)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for outside in ("http://", "https://", "src=", "href=", "@import", "url("):
        assert outside not in page
    assert "<style>" in page
    assert "Access drift report: golden" in page


def test_html_lists_at_most_max_rows_per_table() -> None:
    page = html_view(big_report(drift_html.MAX_ROWS + 5))
    assert "… and 5 more rows not shown here" in page
    assert page.count("user01999/ap-clerk") == 1
    assert "user02001/ap-clerk" not in page


def test_summary_sentence() -> None:
    assert summary_sentence({"summary": {}}) == "No drift: the ERP matches the policy."
    doc = {"summary": {"changed": 2, "sod_violations": 1, "out_of_band": 2}}
    assert summary_sentence(doc) == "Drift: 2 changed, 1 SoD violation; 2 out of band."


# -- the real reference ERP ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    """The sample company's reference ERP and a URL that reaches it."""
    engine = engine_for(request, tmp_path)
    create_schema(engine)
    load_sample(engine)
    if engine.dialect.name == "sqlite":
        yield engine, str(engine.url)
        return
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    url = make_url(request.getfixturevalue("pg_url"))
    yield (
        engine,
        url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        ),
    )


def sample_project(root: Path) -> Project:
    config = load_config(REPO / "erpsync.yaml")
    root.mkdir(parents=True, exist_ok=True)
    return Project(Config(policies=str(REPO / "policies"), settings=config.settings), root)


def run_drift(
    project: Project, url: str, fmt: str = "json", out: Path | None = None
) -> tuple[int, str]:
    """The command's exit code and what it printed."""
    target = ResolvedTarget("sample", "reference", url)
    console = Console(file=io.StringIO(), width=200)
    code = drift_cmd.run(project, target, project.policy_dir, fmt, out, console)
    return code, captured(console)


def test_the_sample_erp_after_apply_has_no_drift_then_sql_edits_show(
    erp: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, url = erp
    project = sample_project(tmp_path / "project")
    code, shown = run_drift(project, url)
    assert code == 2  # the sample ERP is not yet what the policy says
    first = json.loads(shown)
    assert first["last_apply"] is None
    assert all(c["out_of_band"] is True for c in first["changed"])

    adapter = ReferenceAdapter(engine)
    loaded = load_policy(project.policy_dir)
    options = ApplyOptions(5.0, True, "test")
    target = ResolvedTarget("sample", "reference", url)
    assert execute(adapter, target, loaded, project.config.settings, options).applied
    code, shown = run_drift(project, url, "text")
    assert code == 0
    assert "No drift: the ERP matches the policy." in shown

    later = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) + dt.timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE erp_user SET department_id = "
                "(SELECT id FROM erp_department WHERE code = 'sales'), "
                "updated_by = 'ui-admin', updated_at = :at WHERE login = 'wu.xia'"
            ),
            {"at": later},
        )
    code, shown = run_drift(project, url)
    assert code == 2
    doc = json.loads(shown)
    assert doc["last_apply"]["actor"] == "test"
    assert doc["summary"]["changed"] == 1
    assert doc["summary"]["out_of_band"] == 1
    [changed] = doc["changed"]
    assert (changed["kind"], changed["key"], changed["changed_by"]) == (
        "user",
        "wu.xia",
        "ui-admin",
    )
    assert changed["fields"] == [{"field": "department", "declared": "finance-gl", "live": "sales"}]
    assert changed["out_of_band"] is True
    assert changed["changed_at"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")

    code, shown = run_drift(project, url, "text")
    assert code == 2
    assert '~ department: "finance-gl" -> "sales"' in shown
    assert "[out of band: ui-admin," in shown

    page = tmp_path / "drift.html"
    code, shown = run_drift(project, url, "html", page)
    assert code == 2
    assert "ui-admin" in page.read_text(encoding="utf-8")
    assert f"Wrote the drift report (html) to {page}." in shown

    (project.root / ".erpsyncignore").write_text(
        "user wu.xia  # moving to sales next month\n", encoding="utf-8"
    )
    code, shown = run_drift(project, url)
    assert code == 0
    assert json.loads(shown)["accepted"][0]["reason"] == "moving to sales next month"


def test_reading_the_reference_erp_records_attribution_and_never_the_password(
    erp: tuple[Engine, str],
) -> None:
    engine, _ = erp
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE erp_user SET updated_by = 'ui-admin', updated_at = :at, "
                "password_hash = 'never-read' WHERE login = 'wu.xia'"
            ),
            {"at": dt.datetime(2030, 1, 2, 3, 4, 5)},
        )
        conn.execute(
            text(
                "UPDATE erp_role SET updated_by = NULL, updated_at = NULL WHERE code = 'sys-admin'"
            )
        )
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(str(a[2])))
    snapshot = ReferenceAdapter(engine).read()
    assert snapshot.attribution[("user", "wu.xia")] == Attribution(
        "ui-admin", dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    )
    assert ("role", "sys-admin") not in snapshot.attribution
    assert snapshot.attribution[("department", "finance")].by == "erpsync-sample"
    assert {k for k, _ in snapshot.attribution} == {"department", "user", "role"}
    assert not any("password_hash" in s for s in statements)
    assert len(statements) == 7  # one SELECT per table, as before


def test_unreadable_updated_at_on_sqlite_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    create_schema(engine)
    load_sample(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE erp_user SET updated_at = 'yesterday' WHERE login = 'wu.xia'"))
    snapshot = ReferenceAdapter(engine).read()
    assert snapshot.attribution[("user", "wu.xia")].at is None
    assert any("unreadable updated_at 'yesterday'" in p for p in snapshot.problems)


def test_drift_without_the_audit_table_treats_everything_as_out_of_band(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    create_schema(engine)
    load_sample(engine)
    assert not inspect(engine).has_table("erpsync_audit")
    report = drift_cmd.compute(
        sample_project(tmp_path / "p"),
        ResolvedTarget("s", "reference", str(engine.url)),
        REPO / "policies",
        NOW,
    )
    assert report.last_apply is None
    # every change and every extra object, grant and membership; missing ones are what
    # erpsync has not applied yet (it never applied), not changes made in the ERP
    assert report.extra
    assert any(e.kind in ("permission", "membership") for e in report.extra)
    assert report.summary["out_of_band"] == report.summary["changed"] + report.summary["extra"]


def test_an_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    project = sample_project(tmp_path / "p")
    target = ResolvedTarget("s", "reference", "sqlite://")
    with pytest.raises(UsageError, match="unknown drift format 'pdf'"):
        drift_cmd.run(project, target, project.policy_dir, "pdf", None, Console())
