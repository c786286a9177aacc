"""Access reports: ``show user``/``show role``/``who-can`` and ``report access|sod|expiring``.

The acceptance test: on every golden plan case, who-can and show user agree
with :func:`erpsync.state.desired_state` (the plan's effective-access
computation), from the desired view and from the live view after the case's
plan has been applied in memory. Then the paths on a small policy that uses
every way a permission can arrive, the views, and the commands on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
from rich.console import Console
from sqlalchemy import Engine, create_engine, text

from erpsync import access, cli, reports
from erpsync.adapters.base import LiveSnapshot
from erpsync.adapters.memory import apply_changes
from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.commands import report as report_cmd
from erpsync.commands import show as show_cmd
from erpsync.config import load_project
from erpsync.errors import UsageError
from erpsync.livefile import parse as parse_live
from erpsync.policy.loader import LoadedPolicy, load_policy
from erpsync.render.report_csv import csv_view
from erpsync.render.report_html import html_view
from erpsync.render.report_text import text_view
from erpsync.state import State, by_user, desired_state
from tests.casefiles import case_dirs
from tests.test_plan_cases import NOW, plan_case, snapshot_of

REPO = Path(__file__).resolve().parent.parent
TODAY = NOW.date()

# --- agreement with the plan's effective access, on every golden case --------------------------


def _held(state: State) -> dict[str, frozenset[str]]:
    """login -> the union of the flattened grants of the user's memberships."""
    flat: dict[str, set[str]] = {}
    for role, perm in state.grants:
        flat.setdefault(role, set()).add(perm)
    held: dict[str, set[str]] = {}
    for login, role in state.memberships:
        held.setdefault(login, set()).update(flat.get(role, ()))
    return {login: frozenset(perms) for login, perms in held.items()}


def assert_agrees(model: reports.AccessModel, expected: State, logins: Iterable[str]) -> None:
    """show_user and who_can on ``model`` say what ``expected`` says for ``logins``."""
    logins = sorted(logins)
    held = _held(expected)
    for login in logins:
        shown = reports.show_user(model, login).to_dict()
        listed = {p["permission"] for p in shown["permissions"]}
        want = held.get(login, frozenset()) if expected.users[login].active else frozenset()
        assert listed == want, login
        assert all(p["paths"] for p in shown["permissions"])
    wanted = {perm for _, perm in expected.grants} | {
        f"{access.split_permission(perm)[0]}:*" for _, perm in expected.grants
    }
    for perm in sorted(wanted):
        holders = {h["login"] for h in reports.who_can(model, perm).to_dict()["holders"]}
        want_holders = {
            login
            for login in logins
            if expected.users[login].active and access.holds(held.get(login, frozenset()), perm)
        }
        assert holders & set(logins) == want_holders, perm


@pytest.mark.parametrize("case", case_dirs("plan"), ids=lambda p: p.name)
def test_desired_view_agrees_with_the_plan(case: Path) -> None:
    snapshot = snapshot_of(case)
    desired = desired_state(load_policy(case / "policy"), dict(snapshot.catalogue) or None, TODAY)
    model = reports.desired_model(desired)
    assert_agrees(model, desired.state, desired.state.users)


@pytest.mark.parametrize("case", case_dirs("plan"), ids=lambda p: p.name)
def test_live_view_after_the_plan_agrees_with_the_plan(case: Path) -> None:
    snapshot = snapshot_of(case)
    plan = plan_case(case, snapshot)
    after = apply_changes(snapshot.state, plan.changes)
    desired = desired_state(load_policy(case / "policy"), dict(snapshot.catalogue) or None, TODAY)
    unmanaged = {(u["kind"], u["key"]) for u in plan.to_dict()["unmanaged"]}
    # What erpsync leaves alone stays as it was: memberships of protected or ignored roles.
    managed_roles = {
        (login, role) for login, role in after.memberships if ("role", role) not in unmanaged
    }
    managed_state = replace(after, user_roles=by_user(managed_roles))
    model = reports.live_model(LiveSnapshot(managed_state, snapshot.catalogue))
    managed_users = {u for u in desired.state.users if ("user", u) not in unmanaged}
    assert_agrees(model, desired.state, managed_users)
    # Every live user, managed or not, agrees with the live state itself.
    whole = reports.live_model(LiveSnapshot(after, snapshot.catalogue))
    assert_agrees(whole, after, after.users)


# --- paths on a policy using every way in ------------------------------------------------------

POLICY = """\
departments:
  hq: {name: 总部, default_roles: [employee]}
  finance: {name: 财务部, parent: hq, default_roles: [fin-viewer]}
  finance-gl: {name: 总账组, parent: finance}
roles:
  employee: {name: 员工, permissions: {hr.employee: [read]}}
  report-reader: {name: 报表查询, permissions: {finance.report: [read]}}
  fin-viewer:
    name: 财务查询
    permissions: {finance.gl_journal: [read]}
    includes: [report-reader]
  gl-clerk:
    name: 总账会计
    permissions: {finance.gl_journal: [create]}
    includes: [fin-viewer]
  stock-admin: {name: 库存管理, permissions: {inventory.stock: ["*"]}}
  payer: {name: 出纳, permissions: {finance.payment: [create, approve]}}
users:
  li.na: {name: 李娜, department: finance-gl, roles: [gl-clerk, stock-admin]}
  wang.fang: {name: 王芳, department: finance, roles: [payer]}
  old.hand: {name: 老张, department: finance, roles: [payer], active: false}
  temp.staff: {name: 临时工, department: hq, roles: [payer], expires: 2026-11-01}
  leaving.soon: {name: 将离职, department: hq, expires: 2026-12-10}
sod_rules:
  SOD-PAY:
    description: 付款创建与审批分离
    severity: critical
    conflicts: [[finance.payment:create], [finance.payment:approve]]
  SOD-GL:
    description: 制单与查询（示例）
    severity: low
    conflicts: [[finance.gl_journal:create], [finance.report:read]]
sod_exceptions:
  - {rule: SOD-PAY, user: wang.fang, reason: 两人分支, approved_by: li.na, expires: 2026-11-20}
  - {rule: SOD-GL, user: li.na, reason: 示例, approved_by: wang.fang, expires: 2027-01-31}
"""


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedPolicy:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "org.yaml").write_text(POLICY, encoding="utf-8")
    return load_policy(tmp_path / "policy")


@pytest.fixture
def model(loaded: LoadedPolicy) -> reports.AccessModel:
    return reports.desired_model(desired_state(loaded, dict(REFERENCE_CATALOGUE), TODAY))


def _paths(model: reports.AccessModel, login: str) -> dict[str, list[str]]:
    shown = reports.show_user(model, login).to_dict()
    return {p["permission"]: [x["text"] for x in p["paths"]] for p in shown["permissions"]}


def test_every_path_names_the_role_its_source_and_the_include_chain(
    model: reports.AccessModel,
) -> None:
    paths = _paths(model, "li.na")
    assert paths["hr.employee:read"] == ["role employee (default of department hq)"]
    assert paths["finance.report:read"] == [
        "role fin-viewer via included role report-reader (default of department finance)",
        "role gl-clerk via included roles fin-viewer -> report-reader (explicit)",
    ]
    assert paths["finance.gl_journal:read"] == [
        "role fin-viewer (default of department finance)",
        "role gl-clerk via included role fin-viewer (explicit)",
    ]
    assert paths["finance.gl_journal:create"] == ["role gl-clerk (explicit)"]
    stock = sorted(p for p in paths if p.startswith("inventory.stock:"))
    assert stock == [f"inventory.stock:{a}" for a in sorted(REFERENCE_CATALOGUE["inventory.stock"])]
    roles = reports.show_user(model, "li.na").to_dict()["roles"]
    assert [(r["role"], r["text"]) for r in roles] == [
        ("employee", "default of department hq"),
        ("fin-viewer", "default of department finance"),
        ("gl-clerk", "explicit"),
        ("stock-admin", "explicit"),
    ]


def test_inactive_and_expired_users_hold_nothing(model: reports.AccessModel) -> None:
    cases = (
        ("old.hand", "inactive", "active: false in "),
        ("temp.staff", "expired", "expired 2026-11-01"),
    )
    for login, status, reason in cases:
        shown = reports.show_user(model, login).to_dict()
        assert shown["status"] == status
        assert reason in shown["status_reason"]
        assert shown["permissions"] == []
    holders = reports.who_can(model, "finance.payment:create").to_dict()["holders"]
    assert [h["login"] for h in holders] == ["wang.fang"]


def test_who_can_follows_the_star_semantics_of_holds(model: reports.AccessModel) -> None:
    anything = reports.who_can(model, "inventory.stock:*").to_dict()
    assert [h["login"] for h in anything["holders"]] == ["li.na"]
    assert len(anything["holders"][0]["paths"]) == len(REFERENCE_CATALOGUE["inventory.stock"])
    everyone = reports.who_can(model, "hr.employee:read").to_dict()
    assert [h["login"] for h in everyone["holders"]] == ["leaving.soon", "li.na", "wang.fang"]


def test_a_star_without_a_catalogue_matches_every_action(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    model = reports.desired_model(desired_state(load_policy(tmp_path), None, TODAY))
    assert _paths(model, "li.na")["inventory.stock:*"] == ["role stock-admin (explicit)"]
    found = reports.who_can(model, "inventory.stock:adjust").to_dict()
    assert [(h["login"], h["paths"][0]["permission"]) for h in found["holders"]] == [
        ("li.na", "inventory.stock:*")
    ]


def test_show_role_separates_own_and_included_permissions_and_lists_holders(
    model: reports.AccessModel,
) -> None:
    role = reports.show_role(model, "fin-viewer").to_dict()
    assert role["own"] == ["finance.gl_journal:read"]
    assert role["included"] == [{"permission": "finance.report:read", "from": ["report-reader"]}]
    assert role["included_by"] == ["gl-clerk"]
    assert [(h["login"], h["text"]) for h in role["holders"]] == [
        ("li.na", "default of department finance"),
        ("li.na", "through role gl-clerk (explicit)"),
        ("wang.fang", "default of department finance"),
    ]
    deep = reports.show_role(model, "report-reader").to_dict()
    assert deep["included_by"] == ["fin-viewer", "gl-clerk"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: reports.show_user(m, "li.nb"), "unknown user 'li.nb' (did you mean 'li.na'?)"),
        (lambda m: reports.show_role(m, "gl-clerc"), "unknown role 'gl-clerc' (did you mean"),
        (
            lambda m: reports.who_can(m, "finance.paymnt:approve"),
            "unknown module 'finance.paymnt' (did you mean 'finance.payment'?)",
        ),
        (
            lambda m: reports.who_can(m, "finance.payment:aprove"),
            "module 'finance.payment' has no action 'aprove' (did you mean 'approve'?)",
        ),
        (lambda m: reports.who_can(m, "finance.payment"), "write it as MODULE:ACTION"),
    ],
)
def test_unknown_names_are_usage_errors_with_a_hint(
    model: reports.AccessModel, call: Callable[[reports.AccessModel], object], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        call(model)
    assert message in str(caught.value)


def test_sod_report_shows_severity_exception_and_its_status(
    loaded: LoadedPolicy, model: reports.AccessModel
) -> None:
    policy = loaded.policy
    found = reports.sod_report(policy.sod_rules, policy.sod_exceptions, model, TODAY).to_dict()
    rows = [(v["severity"], v["rule"], v["user"], v["status"]) for v in found["violations"]]
    assert rows == [
        ("critical", "SOD-PAY", "wang.fang", "exception expired"),
        ("low", "SOD-GL", "li.na", "mitigated"),
    ]
    pay = found["violations"][0]
    assert pay["held"] == [["finance.payment:create"], ["finance.payment:approve"]]
    assert pay["roles"] == {
        "finance.payment:approve": ["payer"],
        "finance.payment:create": ["payer"],
    }
    assert pay["exception"] == {
        "reason": "两人分支",
        "approved_by": "li.na",
        "expires": "2026-11-20",
    }
    assert pay["blocking"] is True
    assert found["summary"] == {
        "violations": 2,
        "unmitigated": 0,
        "exception_expired": 1,
        "mitigated": 1,
        "builtin_administrator": 0,
        "blocking": 1,
    }
    # Without its exception the low rule is an unmitigated violation, still not blocking.
    bare = reports.sod_report(policy.sod_rules, [], model, TODAY).to_dict()
    assert [(v["rule"], v["status"], v["blocking"]) for v in bare["violations"]] == [
        ("SOD-PAY", "unmitigated", True),
        ("SOD-GL", "unmitigated", False),
    ]


def test_expiring_lists_what_expires_within_the_window_and_what_has_expired(
    loaded: LoadedPolicy,
) -> None:
    found = reports.expiring(loaded.policy, TODAY, 14).to_dict()
    rows = [(e["kind"], e["key"], e["status"], e["days_left"]) for e in found["entries"]]
    assert rows == [
        ("user", "temp.staff", "expired", -27),
        ("sod_exception", "SOD-PAY/wang.fang", "expired", -8),
        ("user", "leaving.soon", "expiring", 12),
    ]
    assert found["summary"] == {"expired": 2, "expiring": 1}
    wider = reports.expiring(loaded.policy, TODAY, 90).to_dict()
    assert [e["key"] for e in wider["entries"]][-1] == "SOD-GL/li.na"
    with pytest.raises(UsageError, match="--days"):
        reports.expiring(loaded.policy, TODAY, -1)


# --- the live view -------------------------------------------------------------------------------

LIVE = """\
departments:
  hq: {name: 总部}
roles:
  payer: {name: 出纳, permissions: [finance.payment:create, finance.payment:approve]}
  viewer: {name: "<b>查询</b>", permissions: [finance.report:read]}
users:
  temp.staff: {name: 临时工, department: hq, roles: [payer]}
  old.hand: {name: 老张, department: hq, active: false, roles: [payer, viewer]}
  x.odd: {name: "=1+2 <script>alert(1)</script>", department: hq, roles: [viewer]}
"""


@pytest.fixture
def live() -> reports.AccessModel:
    state, _ = parse_live(LIVE)
    return reports.live_model(LiveSnapshot(state, REFERENCE_CATALOGUE))


def test_live_paths_are_via_the_stored_role(live: reports.AccessModel) -> None:
    assert _paths(live, "temp.staff") == {
        "finance.payment:approve": ["via role payer"],
        "finance.payment:create": ["via role payer"],
    }
    role = reports.show_role(live, "payer").to_dict()
    assert role["own"] == role["permissions"]
    assert role["included"] == []
    assert [(h["login"], h["active"]) for h in role["holders"]] == [
        ("old.hand", False),
        ("temp.staff", True),
    ]


def test_an_inactive_users_stored_memberships_are_dormant_not_access(
    live: reports.AccessModel,
) -> None:
    shown = reports.show_user(live, "old.hand").to_dict()
    assert shown["permissions"] == []
    assert [r["role"] for r in shown["roles"]] == ["payer", "viewer"]
    assert shown["dormant_permissions"] == [
        "finance.payment:approve",
        "finance.payment:create",
        "finance.report:read",
    ]
    assert [
        h["login"] for h in reports.who_can(live, "finance.report:read").to_dict()["holders"]
    ] == ["x.odd"]
    listing = reports.access_listing(live).to_dict()
    assert {(r["login"], r["permission"]) for r in listing["rows"] if not r["active"]} == {
        ("old.hand", "finance.payment:approve"),
        ("old.hand", "finance.payment:create"),
        ("old.hand", "finance.report:read"),
    }


def test_expiring_against_the_live_erp_says_who_is_still_active(loaded: LoadedPolicy) -> None:
    state, _ = parse_live(LIVE)
    live = reports.live_model(LiveSnapshot(state, REFERENCE_CATALOGUE))
    found = reports.expiring(loaded.policy, TODAY, 14, live).to_dict()
    assert {e["key"]: e["live_active"] for e in found["entries"] if e["kind"] == "user"} == {
        "temp.staff": True,
        "leaving.soon": False,
    }


# --- views ---------------------------------------------------------------------------------------


def _csv_rows(text_: str) -> list[dict[str, str]]:
    assert text_.startswith("\ufeff")  # Excel reads UTF-8 by its byte order mark
    return list(csv.DictReader(io.StringIO(text_.removeprefix("\ufeff"), newline="")))


@pytest.mark.parametrize("side", ["desired", "live"])
def test_access_csv_has_one_row_per_user_and_permission(
    side: str, model: reports.AccessModel, live: reports.AccessModel
) -> None:
    chosen = model if side == "desired" else live
    rows = _csv_rows(csv_view(reports.access_listing(chosen).to_dict()))
    pairs = [(r["login"], r["permission"]) for r in rows]
    assert len(pairs) == len(set(pairs))
    expected = {(login, perm) for login in chosen.users for perm in chosen.granted(login)}
    # a user granted nothing is listed all the same, with its status and no permission
    expected |= {(login, "") for login in chosen.users if not chosen.granted(login)}
    assert set(pairs) == expected
    assert {r["login"] for r in rows} == set(chosen.users)
    for r in rows:
        assert r["status"] in {"active", "inactive", "expired"}
        assert (r["status"] == "active") == (r["active"] == "true")
    assert list(rows[0]) == [
        "login",
        "name",
        "department",
        "department_name",
        "active",
        "status",
        "permission",
        "permission_label",
        "roles",
        "builtin_administrator",
    ]


def test_csv_keeps_unicode_and_defuses_formulas(live: reports.AccessModel) -> None:
    rows = _csv_rows(csv_view(reports.access_listing(live).to_dict()))
    names = {r["login"]: r["name"] for r in rows}
    assert names["temp.staff"] == "临时工"
    assert names["x.odd"] == "'=1+2 <script>alert(1)</script>"
    assert {r["active"] for r in rows} == {"true", "false"}


def test_sod_and_expiring_have_csv_views(loaded: LoadedPolicy, model: reports.AccessModel) -> None:
    policy = loaded.policy
    sod_rows = _csv_rows(
        csv_view(
            reports.sod_report(policy.sod_rules, policy.sod_exceptions, model, TODAY).to_dict()
        )
    )
    assert [(r["rule"], r["status"], r["exception_expires"]) for r in sod_rows] == [
        ("SOD-PAY", "exception expired", "2026-11-20"),
        ("SOD-GL", "mitigated", "2027-01-31"),
    ]
    expiry_rows = _csv_rows(csv_view(reports.expiring(policy, TODAY, 14).to_dict()))
    assert [r["days_left"] for r in expiry_rows] == ["-27", "-8", "12"]
    with pytest.raises(UsageError, match="CSV is available"):
        csv_view(reports.show_user(model, "li.na").to_dict())


def _every_report(
    loaded: LoadedPolicy, model: reports.AccessModel, live: reports.AccessModel
) -> list[reports.Report]:
    policy = loaded.policy
    return [
        reports.show_user(model, "li.na"),
        reports.show_user(live, "old.hand"),
        reports.show_role(model, "fin-viewer"),
        reports.show_role(live, "viewer"),
        reports.who_can(model, "finance.report:read"),
        reports.who_can(live, "finance.payment:*"),
        reports.access_listing(live),
        reports.sod_report(policy.sod_rules, policy.sod_exceptions, model, TODAY),
        reports.expiring(policy, TODAY, 30, live),
    ]


def test_html_is_one_self_contained_escaped_page(
    loaded: LoadedPolicy, model: reports.AccessModel, live: reports.AccessModel
) -> None:
    for found in _every_report(loaded, model, live):
        page = html_view(found.to_dict())
        assert page.startswith("<!DOCTYPE html>")
        assert "http://" not in page
        assert "https://" not in page
        assert "<script" not in page
        assert "<link" not in page
        assert "<b>" not in page
    page = html_view(reports.access_listing(live).to_dict())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.index("Users") < page.index("<table>")  # the summary comes first


def test_text_and_json_views_render_every_report(
    loaded: LoadedPolicy, model: reports.AccessModel, live: reports.AccessModel
) -> None:
    for found in _every_report(loaded, model, live):
        doc = found.to_dict()
        assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc
        console = Console(file=io.StringIO(), width=200, color_system=None)
        console.print(text_view(doc))
        out = console.file.getvalue()  # type: ignore[attr-defined]
        assert out.strip()
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(text_view(reports.show_role(live, "viewer").to_dict()))
    assert "<b>查询</b>" in console.file.getvalue()  # type: ignore[attr-defined]


# --- the commands, on a real reference ERP (SQLite and PostgreSQL) -----------------------------


def erp_url(request: pytest.FixtureRequest, root: Path) -> str:
    """A database URL for the test's reference ERP: a SQLite file or a fresh PG schema."""
    if request.param == "sqlite":
        return f"sqlite:///{root / 'erp.db'}"
    engine = request.getfixturevalue("pg_engine")
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    base = request.getfixturevalue("pg_url")
    return f"{base}?options={quote(f'-csearch_path={schema}')}"


def sample_project(root: Path, url: str) -> None:
    """The sample policies and an erpsync.yaml naming ``url``; the sample ERP loaded there."""
    shutil.copytree(REPO / "policies", root / "policies")
    (root / "erpsync.yaml").write_text(
        f"policies: policies/\ntargets:\n  erp: {{adapter: reference, url: '{url}'}}\n"
        "default_target: erp\n"
        "settings: {protected_users: [admin], protected_roles: [admin], "
        "ignore: {users: ['svc-*']}}\n",
        encoding="utf-8",
    )
    assert cli.main(["refdb", "init", url, "--sample"]) == 0


@contextmanager
def sample_erp(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    actor: str = "tester",
) -> Iterator[tuple[Path, str, Engine]]:
    """The sample policy repository (made the cwd) on its sample ERP, not applied: its
    root, the ERP's URL and an engine on it (for fixtures parametrized by ``erp_url``)."""
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("ERPSYNC_ACTOR", actor)
    url = erp_url(request, root)
    sample_project(root, url)
    engine = create_engine(url)
    try:
        yield root, url, engine
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def applied(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A policy repository whose sample ERP has had the policy applied; the cwd."""
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    sample_project(root, erp_url(request, root))
    assert cli.main(["apply", "--auto-approve"]) == 0
    return root


def _console() -> Console:
    return Console(file=io.StringIO(), width=200, color_system=None)


def _out(console: Console) -> str:
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_show_and_who_can_from_the_live_erp_agree_with_desired_after_apply(applied: Path) -> None:
    project = load_project()
    target = project.target()
    docs = {}
    for use_desired in (False, True):
        console = _console()
        assert (
            show_cmd.user(
                project, target, project.policy_dir, "zhou.min", use_desired, "json", console
            )
            == 0
        )
        docs[use_desired] = json.loads(_out(console))
    live_doc, desired_doc = docs[False], docs[True]
    assert live_doc["view"] == "live"
    assert live_doc["target"]["name"] == "erp"
    assert desired_doc["view"] == "desired"
    listed = [{p["permission"] for p in d["permissions"]} for d in (live_doc, desired_doc)]
    assert listed[0] == listed[1]
    assert "finance.gl_journal:post" in listed[0]

    console = _console()
    assert (
        show_cmd.who_can(
            project, target, project.policy_dir, "finance.payment:approve", False, "text", console
        )
        == 0
    )
    out = _out(console)
    assert "chen.jing" in out
    assert "via role finance-manager" in out

    console = _console()
    assert (
        show_cmd.role(project, target, project.policy_dir, "gl-reviewer", False, "text", console)
        == 0
    )
    assert "zhou.min" in _out(console)
    with pytest.raises(UsageError, match=r"did you mean 'zhou\.min'"):
        show_cmd.user(project, target, project.policy_dir, "zhou.mim", False, "text", _console())


def test_report_files_from_the_live_erp(applied: Path) -> None:
    project = load_project()
    target = project.target()
    for fmt in report_cmd.FORMATS:
        for kind in (k for k in report_cmd.KINDS if k != "review"):  # review: tests/test_review
            out = applied / "out" / f"{kind}.{fmt}"
            console = _console()
            code = report_cmd.run(
                project, target, project.policy_dir, kind, fmt, 30, out, False, console
            )
            assert code == 0
            assert f"Wrote the {kind} report ({fmt}) to {out}" in _out(console)
    access_csv = (applied / "out" / "access.csv").read_bytes()
    assert access_csv.startswith(b"\xef\xbb\xbf")
    with (applied / "out" / "access.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = {(r["login"], r["permission"]) for r in rows}
    assert len(pairs) == len(rows)
    live_doc = json.loads((applied / "out" / "access.json").read_text(encoding="utf-8"))
    assert len(rows) == live_doc["summary"]["rows"] == len(live_doc["rows"])
    html_page = (applied / "out" / "sod.html").read_text(encoding="utf-8")
    assert "SOD-R2R-01" in html_page
    assert "http://" not in html_page
    assert "https://" not in html_page
    sod_doc = json.loads((applied / "out" / "sod.json").read_text(encoding="utf-8"))
    statuses = {(v["rule"], v["user"]): v["status"] for v in sod_doc["violations"]}
    assert statuses[("SOD-R2R-01", "zhou.min")] == "mitigated"
    text_report = (applied / "out" / "expiring.text").read_text(encoding="utf-8")
    assert "Expiring within 30 days" in text_report


def test_desired_reports_need_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    project = load_project()
    console = _console()
    code = report_cmd.run(
        project, None, project.policy_dir, "access", "csv", 30, None, True, console
    )
    assert code == 0
    rows = _csv_rows(_out(console))
    # inactive users are listed with their status, holding nothing
    assert {r["status"] for r in rows if r["active"] == "true"} == {"active"}
    inactive = [r for r in rows if r["active"] == "false"]
    assert inactive
    assert all(r["status"] in {"inactive", "expired"} and not r["permission"] for r in inactive)
    with pytest.raises(UsageError, match="--desired"):
        report_cmd.run(project, None, project.policy_dir, "access", "csv", 30, None, False, console)


def test_a_long_text_table_is_cut_with_a_note(
    live: reports.AccessModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from erpsync.render import report_text

    monkeypatch.setattr(report_text, "MAX_ROWS", 2)
    console = _console()
    console.print(text_view(reports.access_listing(live).to_dict()))
    out = _out(console)
    assert "… and 4 more rows: use --format csv, json or html" in out
    assert "x.odd" not in out


# --- the ERP's own vocabulary -------------------------------------------------------------------


@pytest.fixture
def native() -> reports.AccessModel:
    """The desired access of the golden case whose ERP names modules as RuoYi does."""
    case = REPO / "tests" / "cases" / "plan" / "native-vocabulary"
    _, catalogue = parse_live((case / "live.yaml").read_text(encoding="utf-8"))
    return reports.desired_model(desired_state(load_policy(case / "policy"), catalogue, TODAY))


def test_who_can_takes_a_permission_in_the_erps_own_words(native: reports.AccessModel) -> None:
    found = reports.who_can(native, "system:user:add").to_dict()
    assert [(h["login"], [p["permission"] for p in h["paths"]]) for h in found["holders"]] == [
        ("li.na", ["system:user:add"])
    ]
    everyone = reports.who_can(native, "system:role:list").to_dict()
    assert [h["login"] for h in everyone["holders"]] == ["li.na", "wang.fang", "zhao.lei"]
    assert {
        p["permission"] for p in reports.show_user(native, "zhao.lei").to_dict()["permissions"]
    } == {
        "monitor:online:list",
        "system:user:list",
        "system:role:list",
        "finance.payment:read",
    }


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ("system.user:add", "unknown module 'system.user': the ERP writes it 'system:user'"),
        ("system:usr:add", "unknown module 'system:usr' (did you mean 'system:user'?)"),
        ("system:user:ad", "module 'system:user' has no action 'ad' (did you mean 'add'?)"),
        ("system::user:add", "write it as MODULE:ACTION"),
        ("system:user:", "write it as MODULE:ACTION"),
    ],
)
def test_who_can_names_the_erps_spelling_of_a_module(
    native: reports.AccessModel, wanted: str, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        reports.who_can(native, wanted)
    assert message in str(caught.value)


def test_text_tables_fit_80_columns_without_breaking_a_code(live: reports.AccessModel) -> None:
    from erpsync.render.report_text import fit, text_view

    doc = reports.access_listing(live).to_dict()
    buffer = io.StringIO()
    Console(file=buffer, width=80, color_system=None).print(text_view(doc))
    lines = buffer.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    codes = {r["permission"] for r in doc["rows"] if r["permission"]}
    assert {c for c in codes if any(c in line for line in lines)} == codes
    # each column gets its longest word; the last columns give way first, never below
    # their header
    roomy = fit([30, 20, 40], [10, 5, 12], 50)
    assert roomy is not None
    assert sum(roomy) == 50
    assert all(w >= word for w, word in zip(roomy, [10, 5, 12], strict=True))
    assert fit([30, 20, 40], [10, 5, 12], 25, [4, 4, 9]) == [10, 5, 10]
    assert fit([30, 20, 40], [30, 20, 40], 10) is None
