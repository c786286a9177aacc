"""``erpsync codeowners``: which policy file goes to whom, and a CODEOWNERS that keeps
everything outside erpsync's section."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from erpsync import codeowners
from erpsync.commands import codeowners as codeowners_cmd
from erpsync.config import load_project
from erpsync.errors import PolicyError, UsageError
from erpsync.policy.loader import load_policy

REPO = Path(__file__).resolve().parent.parent

DEPARTMENTS = """\
departments:
  hq: {name: HQ, owners: ["@acme/board"]}
  finance: {name: Finance, parent: hq, owners: ["@acme/finance-leads", "cfo@acme.example"]}
  finance-ap: {name: AP, parent: finance}
  sales: {name: Sales, parent: hq, owners: ["@acme/sales-leads"]}
  lab: {name: Lab}
"""
ROLES_FINANCE = """\
roles:
  ap-clerk: {name: AP clerk, owners: ["@acme/finance-leads"]}
  payment-approver: {name: Approver, owners: ["@acme/treasury"]}
"""
ROLES_COMMON = """\
roles:
  employee: {name: Employee}
"""
USERS = {
    "users/finance.yaml": "users:\n  ada: {name: Ada, department: finance-ap, roles: [ap-clerk]}\n",
    "users/sales team.yaml": "users:\n  li: {name: Li, department: sales, roles: [employee]}\n",
    "users/lab.yaml": "users:\n  bo: {name: Bo, department: lab, roles: [employee]}\n",
    "users/mixed.yaml": (
        "users:\n  cy: {name: Cy, department: sales}\n  di: {name: Di, department: finance}\n"
    ),
    "users/nobody.yaml": "users:\n  ed: {name: Ed}\n",
}


def make_repo(root: Path) -> Path:
    files = {
        "departments.yaml": DEPARTMENTS,
        "roles/finance.yaml": ROLES_FINANCE,
        "roles/common.yaml": ROLES_COMMON,
        **USERS,
    }
    for name, text in files.items():
        path = root / "policies" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "erpsync.yaml").write_text("policies: policies/\n")
    return root


def run(root: Path, check: bool = False, out: Path | None = None) -> tuple[int, str]:
    project = load_project(root / "erpsync.yaml")
    stream = io.StringIO()
    console = Console(file=stream, width=300, no_color=True)
    code = codeowners_cmd.run(project, project.policy_dir, out, check, console)
    return code, stream.getvalue()


def rules(root: Path) -> dict[str, str]:
    loaded = load_policy(root / "policies")
    return {r.path: " ".join(r.owners) for r in codeowners.build(loaded, root).rules}


def test_each_file_goes_to_the_owners_of_what_it_declares(tmp_path: Path) -> None:
    assert rules(make_repo(tmp_path)) == {
        # every department with owners, inherited ones included (finance-ap: finance's)
        "policies/departments.yaml": (
            "@acme/board @acme/finance-leads @acme/sales-leads cfo@acme.example"
        ),
        "policies/roles/finance.yaml": "@acme/finance-leads @acme/treasury",
        # a user of finance-ap, which has no owners of its own: finance's
        "policies/users/finance.yaml": "@acme/finance-leads cfo@acme.example",
        "policies/users/mixed.yaml": "@acme/finance-leads @acme/sales-leads cfo@acme.example",
        "policies/users/sales team.yaml": "@acme/sales-leads",
        # roles/common.yaml, users/lab.yaml and users/nobody.yaml: nobody owns them
    }


def test_files_mixing_owners_are_named_in_a_warning(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    warnings = codeowners.build(load_policy(root / "policies"), root).warnings
    named = sorted(w.split(" ", 1)[0] for w in warnings)
    assert named == [
        "policies/departments.yaml",
        "policies/roles/finance.yaml",
        "policies/users/mixed.yaml",
    ]
    assert any("(some with none)" in w for w in warnings if w.startswith("policies/dep"))


def test_the_section_is_written_after_the_rest_and_then_replaced_in_place(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path)
    path = root / ".github" / "CODEOWNERS"
    path.parent.mkdir()
    path.write_text("# our defaults\n* @acme/erp-admins\n/docs/ @acme/writers\n")
    code, said = run(root)
    assert code == 0
    assert "Wrote the erpsync section" in said
    assert "5 policy files" in said
    text = path.read_text()
    assert text.startswith("# our defaults\n* @acme/erp-admins\n/docs/ @acme/writers\n\n")
    assert text.endswith(codeowners.END + "\n")
    assert "/policies/users/sales\\ team.yaml @acme/sales-leads\n" in text

    # someone adds their own rule after the section, and the owners change
    path.write_text(text + "/erpsync.yaml @acme/erp-admins\n")
    departments = root / "policies" / "departments.yaml"
    departments.write_text(DEPARTMENTS.replace("@acme/sales-leads", "@acme/new-sales"))
    assert run(root, check=True)[0] == 1
    assert run(root)[0] == 0
    updated = path.read_text()
    assert updated.count(codeowners.BEGIN) == 1
    assert "@acme/new-sales" in updated
    assert "@acme/sales-leads" not in updated
    assert updated.startswith("# our defaults\n* @acme/erp-admins\n")
    assert updated.endswith(codeowners.END + "\n/erpsync.yaml @acme/erp-admins\n")

    before = path.stat().st_mtime_ns
    code, said = run(root)
    assert code == 0
    assert "already up to date" in said
    assert path.stat().st_mtime_ns == before
    code, said = run(root, check=True)
    assert code == 0
    assert said.endswith(f"{path} is up to date (5 policy files).\n")


def test_an_existing_codeowners_elsewhere_is_the_one_updated(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    (root / "CODEOWNERS").write_text("* @acme/erp-admins")  # no final newline
    run(root)
    assert not (root / ".github" / "CODEOWNERS").exists()
    text = (root / "CODEOWNERS").read_text()
    assert text.startswith("* @acme/erp-admins\n\n" + codeowners.BEGIN)


def test_paths_are_relative_to_the_repository_holding_codeowners(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo" / "erp")  # erpsync.yaml one level below the root
    out = tmp_path / "repo" / "docs" / "CODEOWNERS"
    out.parent.mkdir(parents=True)
    run(root, out=out)
    assert "/erp/policies/users/finance.yaml @acme/finance-leads cfo@acme.example" in (
        out.read_text()
    )
    elsewhere = tmp_path / "other" / ".github" / "CODEOWNERS"
    with pytest.raises(UsageError, match="not inside the repository"):
        run(root, out=elsewhere)


def test_a_malformed_owner_is_an_error_with_its_position(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    roles = root / "policies" / "roles" / "finance.yaml"
    roles.write_text(ROLES_FINANCE.replace('"@acme/treasury"', '"treasury team"'))
    with pytest.raises(PolicyError) as caught:
        run(root)
    (problem,) = caught.value.diagnostics
    assert problem.object == "role payment-approver"
    assert "'treasury team' is not a GitHub owner" in problem.message
    assert (problem.position.line, problem.position.col) == (3, 47)
    assert not (root / ".github" / "CODEOWNERS").exists()


def test_broken_markers_are_refused() -> None:
    section = codeowners.render([codeowners.Rule("policies/a.yaml", ("@x",))])
    with pytest.raises(UsageError, match="expected one of each"):
        codeowners.merge(f"{codeowners.BEGIN}\n/a @b\n", section)
    with pytest.raises(UsageError, match="expected one of each"):
        codeowners.merge(f"{codeowners.END}\n{codeowners.BEGIN}\n", section)


def test_without_owners_nothing_is_written(tmp_path: Path) -> None:
    root = tmp_path
    (root / "policies").mkdir()
    (root / "policies" / "d.yaml").write_text("departments:\n  a: {name: A}\n")
    (root / "erpsync.yaml").write_text("policies: policies/\n")
    code, said = run(root)
    assert code == 0
    assert "no CODEOWNERS to write" in said
    assert not (root / ".github").exists()
    assert run(root, check=True)[0] == 0


def test_department_owners_are_inherited_and_cycles_end() -> None:
    from erpsync.policy.model import Department

    departments = {
        "a": Department(name="A", parent="b"),
        "b": Department(name="B", parent="a"),
        "c": Department(name="C", parent="d", owners=["@x"]),
        "d": Department(name="D", owners=["@y"]),
        "e": Department(name="E", parent="c"),
    }
    assert codeowners.department_owners(departments) == {
        "a": (),
        "b": (),
        "c": ("@x",),
        "d": ("@y",),
        "e": ("@x",),
    }


def test_the_sample_company_routes_finance_users_to_the_finance_leads(tmp_path: Path) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    found = rules(tmp_path)
    assert found["policies/users/finance.yaml"] == "@hdjm-mfg/finance-leads"
    assert "@hdjm-mfg/production-leads" in found["policies/users/production.yaml"]
