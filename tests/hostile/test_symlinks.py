"""A policy file or directory that resolves outside the policy directory is an error at the
link, in every command that loads the policy, and what it leads to is never read: a secret
there appears in no output. Links that stay inside are read like what they lead to."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from erpsync import cli
from erpsync.errors import PolicyError
from erpsync.policy.loader import load_policy

REPO = Path(__file__).resolve().parents[2]
SECRET = "ghp_SECRETTOKEN0123456789"
# Outside the policies: an unknown key would be echoed in a schema error if it were read.
LEAK = f"{SECRET}: [1]\nusers: {{x: {{name: {SECRET}}}}}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample repository (the cwd) and, beside it, a directory outside the policies."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(REPO / "policies", root / "policies")
    shutil.copy(REPO / "erpsync.yaml", root / "erpsync.yaml")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secrets.yaml").write_text(LEAK, encoding="utf-8")
    (outside / "README.md").write_text(SECRET, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    return root


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["validate", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def test_a_file_linked_from_outside_is_an_error_and_never_read(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "policies" / "users" / "extra.yaml").symlink_to(
        project.parent / "outside" / "secrets.yaml"
    )
    for fmt in ("text", "json", "github"):
        code, out = validate(capsys, "--format", fmt)
        assert code == 1
        assert "extra.yaml" in out
        assert "symbolic link that resolves outside the policy directory" in out
        assert SECRET not in out


def test_a_directory_linked_from_outside_is_an_error_and_never_read(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "policies" / "more").symlink_to(project.parent / "outside")
    code, out = validate(capsys)
    assert code == 1
    assert "policies/more: error: a symbolic link that resolves outside" in out
    assert SECRET not in out
    assert "secrets.yaml" not in out


def test_a_link_to_a_link_leading_out_is_caught(project: Path) -> None:
    hop = project / "policies" / "roles" / "hop.yaml"
    hop.symlink_to(project.parent / "outside" / "secrets.yaml")
    (project / "policies" / "users" / "via.yml").symlink_to(hop)
    with pytest.raises(PolicyError) as raised:
        load_policy(project / "policies")
    where = sorted(d.position.file for d in raised.value.diagnostics)
    assert where == [
        str(project / "policies/roles/hop.yaml"),
        str(project / "policies/users/via.yml"),
    ]


def test_plan_and_apply_refuse_and_write_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["refdb", "init", "sqlite:///demo/erp.db", "--sample"]) == 0
    (project / "policies" / "more").symlink_to(project.parent / "outside")
    capsys.readouterr()
    for args in (["plan"], ["apply", "--auto-approve"]):
        assert cli.main(args) == 1
        out, err = capsys.readouterr()
        assert "policies/more" in err
        assert SECRET not in out + err
        assert "Traceback" not in err
    with sqlite3.connect(project / "demo" / "erp.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "erpsync_audit" not in tables


def test_a_dangling_link_is_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "policies" / "gone.yaml").symlink_to(project / "policies" / "nowhere.yaml")
    code, out = validate(capsys)
    assert code == 1
    assert "gone.yaml: error: a symbolic link that resolves outside the policy directory" in out


def test_links_that_stay_inside_are_read(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policies = project / "policies"
    shared = policies / ".shared"  # hidden: read only through the links below
    shared.mkdir()
    shutil.move(policies / "sod.yaml", shared / "sod.yaml")
    shutil.move(policies / "users", shared / "users")
    (policies / "sod.yaml").symlink_to(Path(".shared") / "sod.yaml")  # relative link
    (policies / "users").symlink_to(shared / "users")  # absolute link, to a directory
    (policies / "roles" / "up").symlink_to(policies)  # a loop back up: not walked again
    (policies / "notes.md").symlink_to(project.parent / "outside" / "README.md")  # not policy
    code, out = validate(capsys)
    assert code == 0, out
    assert "41 users" in out
    loaded = load_policy(policies)
    assert str(policies / "users" / "finance.yaml") in loaded.files
    assert str(policies / "sod.yaml") in loaded.files
    assert not [f for f in loaded.files if "/up/" in f]


def test_the_policy_directory_itself_may_be_a_link(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.move(project / "policies", project.parent / "real-policies")
    (project / "policies").symlink_to(project.parent / "real-policies")
    code, out = validate(capsys)
    assert code == 0, out
