"""erpsync's commands on a real Tryton 8.2 database: import then plan is clean, groups made
by Tryton's modules are left alone, and doctor checks the schema and explains departments.

The databases come from the ``erp`` (SQLite) and ``pg_erp`` (PostgreSQL) fixtures in
``conftest.py``; commands run through :func:`erpsync.cli.main`, as a person would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from erpsync import cli
from erpsync.plan import Action, Change, Kind
from tests.adapters.tryton_db import Erp

# The groups trytond-admin makes for company, party, product and sale (with dependencies),
# by the key erpsync reads them under (the module's XML id) and their names.
MODULE_GROUPS = {
    "account_product.group_account_product_admin": "Account Product Administration",
    "account.group_account": "Accounting",
    "account.group_account_admin": "Accounting Administration",
    "company.group_company_admin": "Company Administration",
    "currency.group_currency_admin": "Currency Administration",
    "company.group_employee_admin": "Employee Administration",
    "party.group_party_admin": "Party Administration",
    "product.group_product_admin": "Product Administration",
    "sale.group_sale": "Sales",
    "sale.group_sale_admin": "Sales Administrator",
    "stock.group_stock": "Stock",
    "stock.group_stock_admin": "Stock Administration",
    "stock.group_stock_cancellation": "Stock Cancellation",
    "stock.group_stock_force_assignment": "Stock Force Assignment",
}

OWN_GROUP = """\
roles:
  clerks:
    name: clerks
    permissions: {sale.sale: [read, create, update]}
users:
  li.na: {name: Li Na, email: li.na@example.com, roles: [clerks]}
  # holds a module group in the ERP and nothing the policy declares: nothing changes
  dave: {name: Dave}
  # gets clerks; keeps the module group the ERP gave him
  carol: {name: Carol, roles: [clerks]}
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_erp(request: pytest.FixtureRequest) -> Erp:
    erp: Erp = request.getfixturevalue("erp" if request.param == "sqlite" else "pg_erp")
    return erp


def project(root: Path, erp: Erp, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An erpsync.yaml in ``root`` (the cwd from now on) whose target is ``erp``."""
    url = erp.adapter.engine.url.render_as_string(hide_password=False)
    (root / "erpsync.yaml").write_text(
        f"policies: policies\ntargets:\n  erp: {{adapter: tryton, url: '{url}'}}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["--no-color", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out + captured.err


def plan_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out = run(capsys, "plan", "--format", "json", "--detailed-exitcode")
    plan: dict[str, object] = json.loads(out)
    assert code == (2 if plan["changes"] else 0), out
    return plan


def unmanaged(plan: dict[str, object]) -> dict[str, str]:
    found = plan["unmanaged"]
    assert isinstance(found, list)
    return {f"{u['kind']} {u['key']}": u["reason"] for u in found}


def declared_roles(policies: Path) -> dict[str, dict[str, object]]:
    roles: dict[str, dict[str, object]] = {}
    for path in sorted((policies / "roles").glob("*.yaml")):
        roles.update(yaml.safe_load(path.read_bytes())["roles"])
    return roles


def test_import_of_a_fresh_database_then_plan_is_clean(
    any_erp: Erp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project(tmp_path, any_erp, monkeypatch)
    code, out = run(capsys, "import", "--out", "policies")
    assert code == 0, out
    written = sorted(p.name for p in (tmp_path / "policies").rglob("*.yaml"))
    assert written == ["catalog.yaml"]  # no departments, users or groups to declare
    catalogue = (tmp_path / "policies" / "catalog.yaml").read_text(encoding="utf-8")
    assert "  sale.sale:" in catalogue
    assert "departments" not in catalogue
    assert "role company.group_company_admin: held by no active user erpsync manages" in out

    code, out = run(capsys, "validate")
    assert code == 0, out
    plan = plan_json(capsys)
    assert plan["changes"] == []
    left = unmanaged(plan)
    assert left["user admin"] == "protected"
    for group in MODULE_GROUPS:
        assert "tryton adapter leaves undeclared roles alone" in left[f"role {group}"]
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out
    assert "No changes" in out


def test_an_import_declares_the_groups_managed_users_hold(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sales and Sales Administrator are held by a user erpsync manages: declared, under
    their XML ids, with their names."""
    erp.apply(
        [
            Change(Action.CREATE, Kind.USER, "bob", "test", None, {"name": "Bob"}),
            Change(Action.GRANT, Kind.MEMBERSHIP, "bob/sale.group_sale", "test"),
            Change(Action.GRANT, Kind.MEMBERSHIP, "bob/sale.group_sale_admin", "test"),
        ]
    )
    project(tmp_path, erp, monkeypatch)
    code, out = run(capsys, "import", "--out", "policies")
    assert code == 0, out
    users = yaml.safe_load((tmp_path / "policies" / "users" / "unassigned.yaml").read_bytes())
    assert users["users"]["bob"]["roles"] == ["sale.group_sale", "sale.group_sale_admin"]
    roles = declared_roles(tmp_path / "policies")
    assert roles["sale.group_sale_admin"]["name"] == "Sales Administrator"
    plan = plan_json(capsys)
    assert plan["changes"] == []
    assert "role sale.group_sale" not in unmanaged(plan)
    assert "role sale.group_sale_admin" not in unmanaged(plan)


def test_a_policy_of_its_own_groups_leaves_the_module_groups_alone(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    erp.apply(
        [
            Change(Action.CREATE, Kind.USER, "bob", "test", None, {"name": "Bob"}),
            Change(Action.CREATE, Kind.USER, "carol", "test", None, {"name": "Carol"}),
            Change(Action.CREATE, Kind.USER, "dave", "test", None, {"name": "Dave"}),
            Change(Action.GRANT, Kind.MEMBERSHIP, "bob/sale.group_sale", "test"),
            Change(Action.GRANT, Kind.MEMBERSHIP, "carol/sale.group_sale", "test"),
            Change(Action.GRANT, Kind.MEMBERSHIP, "dave/stock.group_stock", "test"),
        ]
    )
    before = erp.adapter.read().state
    project(tmp_path, erp, monkeypatch)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "sales.yaml").write_text(OWN_GROUP, encoding="utf-8")

    plan = plan_json(capsys)
    changes = {(c["action"], c["kind"], c["key"]) for c in plan["changes"]}  # type: ignore[union-attr,index]
    assert changes == {
        ("create", "role", "clerks"),
        *(("grant", "permission", f"clerks/sale.sale:{a}") for a in ("read", "create", "update")),
        ("create", "user", "li.na"),
        ("grant", "membership", "li.na/clerks"),
        ("grant", "membership", "carol/clerks"),
        ("deactivate", "user", "bob"),  # not declared; his Sales membership stays
    }
    assert all(f"role {g}" in unmanaged(plan) for g in MODULE_GROUPS)
    assert "user bob is deactivated but keeps its membership of roles erpsync leaves alone " in (
        " ".join(plan["warnings"])  # type: ignore[arg-type]
    )

    code, out = run(capsys, "apply", "--auto-approve", "--allow-mass-removal")
    assert code == 0, out
    after = erp.adapter.read().state
    assert plan_json(capsys)["changes"] == []
    kept = {(login, g) for login, g in before.memberships if g in MODULE_GROUPS}
    assert kept <= after.memberships  # bob, carol, dave and admin keep their module groups
    assert {g: before.roles[g] for g in MODULE_GROUPS} == {g: after.roles[g] for g in MODULE_GROUPS}
    assert {x for x in before.grants if x[0] in MODULE_GROUPS} == {
        x for x in after.grants if x[0] in MODULE_GROUPS
    }
    assert not after.users["bob"].active
    assert erp.disagreements(["sale.sale", "party.party", "product.template"]) == []
    # Tryton itself: li.na may read, create and write sales orders but not delete them
    assert erp.access("li.na", "sale.sale") == {
        "read": True,
        "create": True,
        "write": True,
        "delete": False,
    }


POLICY_ONLY_DEPARTMENTS = """\
departments:
  hq: {name: Head office, default_roles: [readers]}
  sales: {name: Sales, parent: hq, manager: li.na, default_roles: [clerks]}
roles:
  readers: {name: readers, permissions: {sale.sale: [read]}}
  clerks: {name: clerks, permissions: {sale.sale: [create, update]}}
users:
  li.na: {name: Li Na, department: sales}
  wang.fang: {name: Wang Fang, department: hq}
"""


def test_departments_are_policy_only_and_give_default_roles(
    any_erp: Erp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project(tmp_path, any_erp, monkeypatch)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "org.yaml").write_text(POLICY_ONLY_DEPARTMENTS, encoding="utf-8")
    code, out = run(capsys, "validate")
    assert code == 0, out
    assert "the tryton adapter stores no departments" in out

    plan = plan_json(capsys)
    changes = {(c["action"], c["kind"], c["key"]) for c in plan["changes"]}  # type: ignore[union-attr,index]
    assert {c for c in changes if c[1] in ("department", "membership")} == {
        ("grant", "membership", "li.na/clerks"),  # default of sales
        ("grant", "membership", "li.na/readers"),  # default of hq, above sales
        ("grant", "membership", "wang.fang/readers"),
    }
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 0, out
    assert plan_json(capsys)["changes"] == []  # nothing about departments reads back as drift
    # Tryton itself: the roles the departments gave are the access its users have
    assert any_erp.access("li.na", "sale.sale") == {
        "read": True,
        "create": True,
        "write": True,
        "delete": False,
    }
    assert any_erp.access("wang.fang", "sale.sale") == {
        "read": True,
        "create": False,
        "write": False,
        "delete": False,
    }
    assert any_erp.disagreements(["sale.sale", "party.party", "product.template"]) == []


def test_scope_roles_all_manages_the_module_groups(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, erp, monkeypatch)
    with (tmp_path / "erpsync.yaml").open("a", encoding="utf-8") as config:
        config.write("settings:\n  scope: {roles: all}\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "sales.yaml").write_text(OWN_GROUP, encoding="utf-8")
    plan = plan_json(capsys)
    deleted = {c["key"] for c in plan["changes"] if c["action"] == "delete"}  # type: ignore[union-attr,index]
    assert deleted >= set(MODULE_GROUPS)
    assert "role sale.group_sale" not in unmanaged(plan)


def test_doctor_checks_the_tryton_schema_and_explains_departments(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, erp, monkeypatch)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "sales.yaml").write_text(OWN_GROUP, encoding="utf-8")
    code, out = run(capsys, "doctor")
    lines = {line[6:16].strip(): line for line in out.splitlines()[:-1]}
    assert lines["schema"].startswith("ok"), out
    assert "compatible with the tryton adapter" in lines["schema"]
    assert lines["target"].startswith("ok")
    assert "Tryton stores no departments" in lines["target"]
    assert code == 0, out

    (tmp_path / "policies" / "org.yaml").write_text(
        "departments:\n  sales: {name: Sales, default_roles: [clerks]}\n", encoding="utf-8"
    )
    code, out = run(capsys, "doctor")  # departments are policy-only: nothing to refuse
    lines = {line[6:16].strip(): line for line in out.splitlines()[:-1]}
    assert lines["target"].startswith("ok"), out
    assert "departments are policy-only" in lines["target"]

    (tmp_path / "policies" / "scoped.yaml").write_text(
        "roles:\n  viewers: {name: viewers, data_scope: all}\n", encoding="utf-8"
    )
    code, out = run(capsys, "doctor")
    lines = {line[6:16].strip(): line for line in out.splitlines()[:-1]}
    assert code == 1
    assert lines["target"].startswith("fail")
    assert (
        "policies/scoped.yaml:2:28: error: role viewers: data_scope: the tryton adapter cannot"
        in (lines["target"])
    )

    with erp.adapter.engine.begin() as conn:
        conn.execute(text("DROP TABLE ir_cache"))
    code, out = run(capsys, "doctor")
    lines = {line[6:16].strip(): line for line in out.splitlines()[:-1]}
    assert code == 1
    assert lines["schema"].startswith("fail")
    assert "no table ir_cache (is this a Tryton database?)" in lines["schema"]
    assert "trytond-admin" in lines["schema"]


CLERK = """\
roles:
  sales-clerk:
    name: Sales Clerk
    permissions: {sale.sale: [read, create, update]}
users:
  li.na: {name: Li Na, roles: [sales-clerk]}
"""


def agreed(erp: Erp, login: str) -> bool:
    """Tryton's own check agrees with erpsync for ``login`` (bob holds Sales Administrator,
    which inherits accesses erpsync does not model)."""
    found = erp.disagreements(["sale.sale", "party.party", "product.template"])
    return not [d for d in found if d.startswith(f"{login} ")]


def test_keys_are_the_authors_and_a_module_group_is_renamed_in_place(
    any_erp: Erp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A role's key is the author's (its name is Tryton's); a module group imported under
    its XML id keeps its res_group row when the policy gives it another name."""
    any_erp.apply(
        [
            Change(Action.CREATE, Kind.USER, "bob", "test", None, {"name": "Bob"}),
            Change(Action.GRANT, Kind.MEMBERSHIP, "bob/sale.group_sale_admin", "test"),
        ]
    )
    project(tmp_path, any_erp, monkeypatch)
    code, out = run(capsys, "import", "--out", "policies")
    assert code == 0, out
    (tmp_path / "policies" / "clerk.yaml").write_text(CLERK, encoding="utf-8")
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 0, out
    assert any_erp.access("li.na", "sale.sale") == {
        "read": True,
        "create": True,
        "write": True,
        "delete": False,
    }
    assert agreed(any_erp, "li.na")
    with any_erp.adapter.engine.connect() as conn:
        names = dict(conn.execute(text("SELECT name, id FROM res_group")).all())
    assert "Sales Clerk" in names

    roles_file = next((tmp_path / "policies" / "roles").glob("*.yaml"))
    text_before = roles_file.read_text(encoding="utf-8")
    assert "name: Sales Administrator" in text_before
    roles_file.write_text(
        text_before.replace("name: Sales Administrator", "name: Sales Managers"), encoding="utf-8"
    )
    plan = plan_json(capsys)
    assert [(c["action"], c["kind"], c["key"], c["after"]) for c in plan["changes"]] == [  # type: ignore[union-attr,index]
        ("update", "role", "sale.group_sale_admin", {"name": "Sales Managers"})
    ]
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 0, out
    with any_erp.adapter.engine.connect() as conn:
        after = dict(conn.execute(text("SELECT name, id FROM res_group")).all())
    assert after["Sales Managers"] == names["Sales Administrator"]
    assert "Sales Administrator" not in after
    assert plan_json(capsys)["changes"] == []
    assert agreed(any_erp, "li.na")


def test_plan_refuses_a_group_tryton_already_has_at_its_declaration(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An inactive group keeps its name in Tryton: creating a group of that name is refused
    by plan, at the role's declaration; exit 1, no plan file, nothing written."""
    erp.apply([Change(Action.CREATE, Kind.ROLE, "clerks", "test", None, {"name": "clerks"})])
    with erp.adapter.engine.begin() as conn:
        conn.execute(text("UPDATE res_group SET active = false WHERE name = 'clerks'"))
    project(tmp_path, erp, monkeypatch)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "own.yaml").write_text(OWN_GROUP, encoding="utf-8")
    before = erp.adapter.read().state
    code, out = run(capsys, "plan", "--out", "plan.json")
    assert code == 1, out
    where = Path("policies") / "own.yaml"
    assert (
        f"{where}:2:3: error: role clerks: cannot create role clerks: Tryton has a group "
        "named 'clerks' (the tryton adapter refuses it)"
    ) in out
    assert "nothing was changed" in out
    assert not (tmp_path / "plan.json").exists()
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 1, out
    assert "Tryton has a group named 'clerks'" in out
    assert erp.adapter.read().state == before


def test_removed_users_delete_is_refused_at_the_setting(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, erp, monkeypatch)
    with (tmp_path / "erpsync.yaml").open("a", encoding="utf-8") as config:
        config.write("settings:\n  max_removals: 100%\n  removed_users: delete\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "own.yaml").write_text(OWN_GROUP, encoding="utf-8")
    expected = (
        f"{tmp_path / 'erpsync.yaml'}:6:3: error: settings.removed_users: delete: the tryton "
        "adapter cannot delete users (it deactivates them): set settings.removed_users to "
        "deactivate"
    )
    for command in (["validate"], ["plan", "--out", "plan.json"]):
        code, out = run(capsys, *command)
        assert code == 1, out
        assert expected in out
    assert not (tmp_path / "plan.json").exists()
    code, out = run(capsys, "doctor")
    assert "settings.removed_users: delete" in out
