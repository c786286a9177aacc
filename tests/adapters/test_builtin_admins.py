"""Built-in administrators and the auditor's reports, on real ERPs.

RuoYi (our own seed on PostgreSQL and MariaDB, and RuoYi-Vue's upstream seed on MariaDB
when ``../shared/erp-schemas`` is present), Tryton (a ``trytond-admin`` database) and the
reference ERP's sample company: ``show user admin``, ``show role``, ``who-can``, ``report
access`` and ``report sod`` show the ERP's built-in administrator holding every
permission, marked built-in and unmanaged; inactive users are listed with their status;
permission codes carry the ERP's own labels; text tables do not break a code mid-word.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from erpsync.adapters.reference.database import init_database
from erpsync.commands import report as report_cmd
from erpsync.commands import show as show_cmd
from erpsync.config import Config, Project, ResolvedTarget
from erpsync.reports import BUILTIN, BUILTIN_TEXT
from tests.adapters import ruoyi_fixture as fx
from tests.adapters.test_ruoyi import VARIANTS, Erp, _engine, _upstream, _url, import_to
from tests.adapters.tryton_db import Erp as TrytonErp
from tests.output import captured

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=VARIANTS)
def ruoyi(request: pytest.FixtureRequest) -> Erp:
    """Our own RuoYi seed: admin (1) holding role admin (1), ry holding common, zhang.wei
    disabled (status '1')."""
    flavour, database = request.param
    engine = _engine(request, database)
    fx.create_schema(engine, flavour)
    fx.seed_company(engine, flavour)
    return Erp(engine, flavour, _url(request, engine))


@pytest.fixture
def ruoyi_upstream(request: pytest.FixtureRequest) -> Erp:
    """RuoYi-Vue's own, unchanged seed on MariaDB (skipped without ../shared)."""
    return _upstream(request, "vue")


def _project(tmp_path: Path, policies: Path | None = None) -> tuple[Project, Path]:
    policies = policies or tmp_path / "p"
    policies.mkdir(parents=True, exist_ok=True)
    return Project(Config(policies=str(policies)), tmp_path), policies


def _show(kind: str, target: ResolvedTarget, tmp_path: Path, arg: str, fmt: str = "json") -> Any:
    project, policies = _project(tmp_path)
    console = Console(file=io.StringIO(), width=80)
    run = {"user": show_cmd.user, "role": show_cmd.role, "who-can": show_cmd.who_can}[kind]
    assert run(project, target, policies, arg, False, fmt, console) == 0
    out = captured(console)
    return json.loads(out) if fmt == "json" else out


def _report(
    kind: str, target: ResolvedTarget, project: Project, policies: Path, fmt: str = "json"
) -> str:
    console = Console(file=io.StringIO(), width=80)
    assert report_cmd.run(project, target, policies, kind, fmt, 30, None, False, console) == 0
    return captured(console)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def _no_code_broken(text: str, codes: set[str]) -> None:
    """Every permission code in a text report stands whole on one line."""
    assert codes
    lines = text.splitlines()
    whole = {code for code in codes if any(code in line for line in lines)}
    assert whole == codes, sorted(codes - whole)[:5]


def _every_permission(target: ResolvedTarget, tmp_path: Path, login: str) -> dict[str, Any]:
    """``show user LOGIN`` of a built-in administrator: every permission, marked built-in."""
    shown = _show("user", target, tmp_path, login)
    assert shown["builtin_administrator"]
    perms = shown["permissions"]
    assert perms  # not "Permissions: 0"
    for p in perms:
        assert any(BUILTIN_TEXT in path["text"] for path in p["paths"]), p
    return shown


# --- RuoYi ----------------------------------------------------------------------------------


def _ruoyi_checks(erp: Erp, tmp_path: Path, catalogue_size: int) -> None:
    target = erp.target
    shown = _every_permission(target, tmp_path, "admin")
    perms = {p["permission"]: p for p in shown["permissions"]}
    assert len(perms) == catalogue_size
    assert perms["system:user:add"]["label"] == "用户新增"
    text = _show("user", target, tmp_path, "admin", "text")
    assert "built-in administrator, unmanaged (the ERP grants every permission)" in " ".join(
        text.split()
    )
    lines = text.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith("system:user:add ")]
    assert "用户新增" in lines[at] + lines[at + 1]  # the label beside (or below) its code
    _no_code_broken(text, set(perms))

    role = _show("role", target, tmp_path, "admin")
    assert role["builtin_administrator"]
    assert len(role["permissions"]) == catalogue_size
    assert [h["login"] for h in role["holders"]] == ["admin"]

    who = _show("who-can", target, tmp_path, "system:user:add")
    holders = {h["login"]: h for h in who["holders"]}
    assert "admin" in holders
    assert "ry" in holders
    assert holders["admin"]["builtin_administrator"]
    assert [p["source"] for p in holders["admin"]["paths"]] == [BUILTIN]
    assert holders["ry"]["builtin_administrator"] is None
    assert who["label"] == "用户新增"

    project, policies = _project(tmp_path)
    rows = _csv(_report("access", target, project, policies, "csv"))
    admin_rows = [r for r in rows if r["login"] == "admin"]
    assert len(admin_rows) == catalogue_size
    assert {r["builtin_administrator"] for r in admin_rows} == {"true"}
    labels = {r["permission"]: r["permission_label"] for r in rows}
    assert labels["system:user:add"] == "用户新增"
    text = _report("access", target, project, policies, "text")
    assert "admin" in text
    assert BUILTIN_TEXT in " ".join(text.split())
    _no_code_broken(text, set(perms))


@pytest.mark.mysql
@pytest.mark.postgres
def test_ruoyi_seed_shows_admin_holding_every_permission(ruoyi: Erp, tmp_path: Path) -> None:
    catalogue = {m[4] for m in fx.SEED_MENUS if m[4]}
    _ruoyi_checks(ruoyi, tmp_path, len(catalogue))
    # the disabled user is listed, with its status, though it holds nothing
    project, policies = _project(tmp_path)
    rows = _csv(_report("access", ruoyi.target, project, policies, "csv"))
    zhang = [r for r in rows if r["login"] == "zhang.wei"]
    assert [(r["status"], r["active"], r["permission"]) for r in zhang] == [
        ("inactive", "false", "")
    ]
    html = _report("access", ruoyi.target, project, policies, "html")
    assert "用户新增" in html
    assert "zhang.wei" in html
    assert "inactive" in html


@pytest.mark.mysql
@pytest.mark.postgres
def test_ruoyi_sod_counts_the_super_administrator_as_built_in(ruoyi: Erp, tmp_path: Path) -> None:
    import_to(ruoyi, tmp_path / "p")
    (tmp_path / "p" / "sod.yaml").write_text(
        "sod_rules:\n"
        "  SOD-ADM-01:\n"
        "    description: 新增用户与新增角色分离\n"
        "    severity: high\n"
        "    conflicts:\n"
        "      - [system:user:add]\n"
        "      - [system:role:add]\n",
        encoding="utf-8",
    )
    project, policies = _project(tmp_path)
    doc = json.loads(_report("sod", ruoyi.target, project, policies))
    [entry] = doc["violations"]
    assert (entry["user"], entry["status"], entry["blocking"]) == ("admin", BUILTIN, False)
    assert entry["builtin_administrator"]
    assert doc["summary"]["builtin_administrator"] == 1
    assert doc["summary"]["blocking"] == 0
    text = " ".join(_report("sod", ruoyi.target, project, policies, "text").split())
    assert "Built-in administrators: 1" in text
    assert "Blocking (high/critical, unmitigated): 0" in text


@pytest.mark.mysql
def test_upstream_ruoyi_vue_admin_is_shown_holding_every_permission(
    ruoyi_upstream: Erp, tmp_path: Path
) -> None:
    snapshot = ruoyi_upstream.adapter().read()
    catalogue_size = sum(len(actions) for actions in snapshot.catalogue.values())
    assert catalogue_size > 50
    assert {(a.kind, a.key) for a in snapshot.administrators} == {
        ("user", "admin"),
        ("role", "admin"),
    }
    _ruoyi_checks(ruoyi_upstream, tmp_path, catalogue_size)


# --- Tryton ---------------------------------------------------------------------------------


def test_tryton_admin_is_an_administrator_holding_every_permission(
    erp: TrytonErp, tmp_path: Path
) -> None:
    url = erp.adapter.engine.url.render_as_string(hide_password=False)
    target = ResolvedTarget("t", "tryton", url)
    snapshot = erp.adapter.read()
    assert [(a.kind, a.key) for a in snapshot.administrators] == [("user", "admin")]
    catalogue_size = sum(len(actions) for actions in snapshot.catalogue.values())
    shown = _every_permission(target, tmp_path, "admin")
    assert len(shown["permissions"]) == catalogue_size
    labels = {p["permission"]: p["label"] for p in shown["permissions"]}
    assert labels["sale.sale:read"] == snapshot.module_names["sale.sale"]
    who = _show("who-can", target, tmp_path, "sale.sale:delete")
    assert [h["login"] for h in who["holders"] if h["builtin_administrator"]] == ["admin"]
    project, policies = _project(tmp_path)
    rows = _csv(_report("access", target, project, policies, "csv"))
    assert sum(1 for r in rows if r["login"] == "admin") == catalogue_size


# --- the reference ERP ----------------------------------------------------------------------


def test_reference_sample_admin_and_inactive_users(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, sample=True)
    target = ResolvedTarget("t", "reference", url)
    shown = _every_permission(target, tmp_path, "admin")
    codes = {p["permission"] for p in shown["permissions"]}
    assert "finance.payment:approve" in codes
    labels = {p["permission"]: p["label"] for p in shown["permissions"]}
    assert all(labels.values())  # the catalogue's module names
    who = _show("who-can", target, tmp_path, "finance.payment:approve")
    assert any(h["login"] == "admin" and h["builtin_administrator"] for h in who["holders"])

    project = Project(Config(policies=str(REPO / "policies")), tmp_path)
    policies = REPO / "policies"
    rows = _csv(_report("access", target, project, policies, "csv"))
    statuses = {r["login"]: r["status"] for r in rows}
    assert statuses["huang.mei"] == "inactive"  # on leave: listed, not dropped
    text = _report("access", target, project, policies, "text")
    _no_code_broken(text, {r["permission"] for r in rows if r["permission"]})

    sod = json.loads(_report("sod", target, project, policies))
    admin = [v for v in sod["violations"] if v["user"] == "admin"]
    assert admin
    assert {v["status"] for v in admin} == {BUILTIN}
    assert not any(v["blocking"] for v in admin)


def test_reference_drift_lists_admin_sod_as_built_in_not_as_drift(tmp_path: Path) -> None:
    from erpsync.commands import drift as drift_cmd

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, sample=True)
    target = ResolvedTarget("t", "reference", url)
    project = Project(Config(policies=str(REPO / "policies")), tmp_path)
    console = Console(file=io.StringIO(), width=200)
    drift_cmd.run(project, target, REPO / "policies", "json", None, console)
    sod = json.loads(captured(console))["sod"]
    admin = [s for s in sod if s["user"] == "admin"]
    assert admin  # the administrator holds conflicting duties: listed
    for finding in admin:
        assert finding["counts_as_drift"] is False
        assert finding["note"].startswith(BUILTIN_TEXT)
    assert any(s["user"] != "admin" and s["counts_as_drift"] for s in sod)  # the sample's (f)
