"""`erpsync plan`, `catalog`, `refdb init` and `demo` from the command line, on real databases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from erpsync import cli
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.plan_schema import PlanDocument
from erpsync.state import State

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the sample policy repository with a sample ERP, as the cwd."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copy(REPO / "erpsync.yaml", tmp_path / "erpsync.yaml")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["refdb", "init", "sqlite:///demo/erp.db", "--sample"]) == 0
    return tmp_path


def test_plan_text_and_detailed_exitcode(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli.main(["--no-color", "plan"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(
        "Plan: 1 to create, 3 to update, 1 to deactivate, 5 to grant, 7 to revoke."
    )
    assert '~ department: "purchasing" -> "finance-arap"' in out
    assert cli.main(["plan", "--detailed-exitcode"]) == 2


def test_saved_plan_is_valid_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli.main(["plan", "--format", "json", "--out", "out/plan.json"]) == 0
    saved = json.loads((project / "out" / "plan.json").read_text(encoding="utf-8"))
    PlanDocument.model_validate(saved)
    assert saved["summary"]["revoke"] == 7
    assert json.loads(capsys.readouterr().out) == saved


def test_markdown_lists_removals_first(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli.main(["plan", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.index("Removals") < out.index("Additions and updates")


def test_catalog_then_validate_offline(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "policies" / "catalog.yaml").unlink()
    assert cli.main(["catalog"]) == 0
    written = (project / "policies" / "catalog.yaml").read_text(encoding="utf-8")
    assert "finance.gl_journal:" in written
    assert "name: 总账凭证" in written
    assert cli.main(["validate"]) == 0


def test_missing_database_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    assert cli.main(["--db", "sqlite:///nope/erp.db", "plan"]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err
    assert "erpsync refdb init" in err
    assert "Traceback" not in err


def test_an_unreachable_database_is_a_clear_error_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    url = "postgresql+psycopg://erp:s3cret-pw@127.0.0.1:1/erp"  # nothing listens on port 1
    for command in ("plan", "drift"):  # both read in a child process while the policy loads
        assert cli.main(["--db", url, command]) == 1
        err = capsys.readouterr().err
        assert "connection failed" in err
        assert "s3cret-pw" not in err
        assert "Traceback" not in err


def test_postgres_plan_never_shows_the_password(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = make_url(pg_url).set(password="s3cret-pw").render_as_string(hide_password=False)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    assert cli.main(["refdb", "init", url]) == 0  # trust auth: the password is ignored
    assert cli.main(["--db", url, "plan", "--out", "plan.json"]) == 0
    assert cli.main(["--db", url, "plan", "--format", "markdown"]) == 0
    shown = capsys.readouterr()
    everything = shown.out + shown.err + (tmp_path / "plan.json").read_text(encoding="utf-8")
    assert "s3cret-pw" not in everything
    assert "***" in everything


def test_demo_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--no-color", "demo"]) == 0
    out = capsys.readouterr().out
    assert "Plan: 1 to create" in out
    assert "No changes. The ERP matches the policy." in out  # the walk-through applied
    # the demo target's ERP is left with the change, for the README's tour to review
    shutil.copy(REPO / "erpsync.yaml", tmp_path / "erpsync.yaml")
    assert cli.main(["--no-color", "plan", "--detailed-exitcode"]) == 2
    assert "Plan: 1 to create, 3 to update" in capsys.readouterr().out


def test_a_change_the_erp_would_refuse_fails_the_plan_at_its_declaration(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A role name longer than the reference ERP's column: plan and apply (without a plan
    file) fail at the role's key, exit 1, write no plan file and change nothing."""
    long_name = "长" * 201
    (project / "policies" / "extra.yaml").write_text(
        f"roles:\n  long-name:\n    name: {long_name}\n", encoding="utf-8"
    )
    capsys.readouterr()
    before = live_state(project)
    assert cli.main(["--no-color", "plan", "--out", "out/refused.json"]) == 1
    err = capsys.readouterr().err
    assert (
        f"{Path('policies') / 'extra.yaml'}:2:3: error: role long-name: cannot create role "
        "long-name: the name is 201 characters; the reference ERP holds 200 (the reference "
        "adapter refuses it)"
    ) in err
    assert "Traceback" not in err
    assert not (project / "out" / "refused.json").exists()
    assert cli.main(["--no-color", "apply", "--auto-approve"]) == 1
    assert "the reference ERP holds 200" in capsys.readouterr().err
    assert live_state(project) == before


def live_state(project: Path) -> State:
    engine = create_engine(f"sqlite:///{project / 'demo' / 'erp.db'}")
    try:
        return ReferenceAdapter(engine).read().state
    finally:
        engine.dispose()
