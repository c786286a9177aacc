"""Several ERPs in one repository: targets with their own policy directories, and
``plan --all-targets`` / ``drift --all-targets`` over reference ERPs on SQLite files and
on the real PostgreSQL server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text

from erpsync import all_targets, cli
from erpsync.commands import plan as plan_cmd
from erpsync.config import load_project
from erpsync.policy import loader

REPO = Path(__file__).resolve().parent.parent
# A name only the acme directory's policy gives the warehouse department.
ACME_NAME = "Acme 仓储中心"
DOWN = "postgresql+psycopg://erp:s3cret-pw@127.0.0.1:1/erp"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--no-color", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out + captured.err


def pg_schema_url(engine: Engine, pg_url: str) -> str:
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return f"{pg_url}?options={quote(f'-csearch_path={schema}')}"


def write_config(root: Path, pg: str, extra: str = "") -> None:
    (root / "erpsync.yaml").write_text(
        "policies: policies\n"
        "targets:\n"
        "  ledger: {url: 'sqlite:///ledger.db'}\n"
        "  acme: {url: 'sqlite:///acme.db', policies: acme}\n"
        f"  pg: {{url: '{pg}'}}\n"
        f"{extra}"
        "settings:\n"
        "  protected_users: [admin]\n"
        "  protected_roles: [admin]\n",
        encoding="utf-8",
    )


@pytest.fixture
def repo(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pg_engine: Engine,
    pg_url: str,
) -> Path:
    """Three targets holding the sample company: ledger (SQLite, shared policies, changes),
    acme (SQLite, its own policy directory, changes), pg (PostgreSQL, shared policies,
    already applied: no changes)."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "policies", tmp_path / "acme")
    departments = tmp_path / "acme" / "departments.yaml"
    text_ = departments.read_text(encoding="utf-8")
    assert "仓储物流部" in text_
    departments.write_text(text_.replace("仓储物流部", ACME_NAME), encoding="utf-8")
    pg = pg_schema_url(pg_engine, pg_url)
    write_config(tmp_path, pg)
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:///ledger.db", "sqlite:///acme.db", pg):
        assert cli.main(["refdb", "init", url, "--sample"]) == 0
    code, out = run(["--target", "pg", "apply", "--auto-approve"], capsys)
    assert code == 0, out
    return tmp_path


def sections(out: str) -> dict[str, str]:
    """The text output's section per target."""
    found: dict[str, str] = {}
    for part in out.split("=== target ")[1:]:
        name, _, body = part.partition(" ===")
        found[name] = body
    return found


@pytest.mark.postgres
def test_plan_all_targets_prints_each_and_exits_with_the_worst(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(["plan", "--all-targets", "--detailed-exitcode"], capsys)
    assert code == 2
    parts = sections(out)
    assert list(parts) == ["ledger", "acme", "pg"]
    assert "erpsync plan for target ledger (adapter reference, sqlite:///ledger.db)" in out
    assert "Plan: 1 to create, 3 to update" in parts["ledger"]
    assert ACME_NAME in parts["acme"]
    assert "acme/departments.yaml" in parts["acme"]
    assert ACME_NAME not in parts["ledger"] + parts["pg"]
    assert "No changes" in parts["pg"]
    assert out.rstrip().endswith("3 target(s): 2 with changes, 1 without.")
    code, _ = run(["plan", "--all-targets"], capsys)
    assert code == 0  # changes exit 2 only with --detailed-exitcode


@pytest.mark.postgres
def test_json_has_an_entry_per_target(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["plan", "--all-targets", "--format", "json", "--detailed-exitcode"], capsys)
    assert code == 2
    doc = json.loads(out)
    assert doc["format_version"] == "1"
    entries = {e["target"]: e for e in doc["targets"]}
    assert [e["target"] for e in doc["targets"]] == ["ledger", "acme", "pg"]
    assert {n: e["exit_code"] for n, e in entries.items()} == {"ledger": 2, "acme": 2, "pg": 0}
    assert entries["pg"]["plan"]["changes"] == []
    assert entries["acme"]["plan"]["target"]["name"] == "acme"
    # --jobs 1 runs them one after the other, to the same result
    code, out = run(["plan", "--all-targets", "--format", "json", "--jobs", "1"], capsys)
    assert code == 0
    again = json.loads(out)
    assert [e["plan"]["changes_digest"] for e in again["targets"]] == [
        e["plan"]["changes_digest"] for e in doc["targets"]
    ]


@pytest.mark.postgres
def test_markdown_has_a_section_per_target(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["plan", "--all-targets", "--format", "markdown"], capsys)
    assert code == 0
    for name in ("ledger", "acme", "pg"):
        assert out.count(f"## erpsync plan for `{name}` (reference)") == 1
    assert "- `acme`: changes (exit 0)" in out
    assert "- `pg`: no changes (exit 0)" in out
    assert len(out) <= 65_000


@pytest.mark.postgres
def test_an_unreachable_target_fails_alone(
    repo: Path, capsys: pytest.CaptureFixture[str], pg_engine: Engine, pg_url: str
) -> None:
    extra = f"  down: {{url: '{DOWN}', connect_timeout: 3}}\n"
    write_config(repo, pg_schema_url(pg_engine, pg_url), extra)
    code, out = run(["plan", "--all-targets", "--detailed-exitcode"], capsys)
    assert code == 1
    parts = sections(out)
    assert list(parts) == ["ledger", "acme", "pg", "down"]
    assert "error: target down: cannot connect to" in parts["down"]
    assert "Plan: 1 to create" in parts["ledger"]
    assert "s3cret-pw" not in out
    assert "3 target(s)" not in out
    assert "4 target(s): 1 failed, 2 with changes, 1 without." in out
    code, out = run(["plan", "--all-targets", "--format", "json"], capsys)
    assert code == 1
    down = json.loads(out)["targets"][3]
    assert down["exit_code"] == 1
    assert "cannot connect" in down["error"]
    assert "plan" not in down
    assert "s3cret-pw" not in out
    code, out = run(["plan", "--all-targets", "--format", "markdown"], capsys)
    assert code == 1
    assert "## erpsync plan for `down`: failed" in out
    assert "## erpsync plan for `ledger` (reference)" in out


@pytest.mark.postgres
def test_saved_plans_apply_per_target(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["plan", "--all-targets", "--out", "plans"], capsys)
    assert code == 0
    assert "apply one exactly with `erpsync apply --target TARGET plans/TARGET.json`" in out
    assert sorted(p.name for p in (repo / "plans").iterdir()) == [
        "acme.json",
        "ledger.json",
        "pg.json",
    ]
    code, out = run(["apply", "--target", "acme", "--auto-approve", "plans/acme.json"], capsys)
    assert code == 0, out
    code, out = run(["plan", "--target", "acme", "--detailed-exitcode"], capsys)
    assert code == 0, out
    code, out = run(["plan", "--all-targets", "--format", "json", "--detailed-exitcode"], capsys)
    codes = {e["target"]: e["exit_code"] for e in json.loads(out)["targets"]}
    assert codes == {"ledger": 2, "acme": 0, "pg": 0}
    # the ledger's saved plan is not the acme's: applying it there is refused
    code, out = run(["apply", "--target", "acme", "--auto-approve", "plans/ledger.json"], capsys)
    assert code == 1


@pytest.mark.postgres
def test_a_target_policy_directory_is_used_by_every_command(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(["validate"], capsys)
    assert code == 0, out
    assert "policies: 13 files" in out
    assert "acme: 13 files" in out
    (repo / "acme" / "broken.yaml").write_text("users:\n  bad.user: {roles: [nope]}\n")
    code, out = run(["validate"], capsys)
    assert code == 1
    assert "acme/broken.yaml:2:" in out
    code, out = run(["validate", "--target", "ledger"], capsys)
    assert code == 0
    assert "acme" not in out
    code, out = run(["validate", "--target", "acme"], capsys)
    assert code == 1
    assert "acme/broken.yaml:2:" in out
    code, out = run(["--target", "acme", "plan"], capsys)
    assert code == 1
    assert "acme/broken.yaml:2:" in out
    code, out = run(["--target", "acme", "drift"], capsys)
    assert code == 1
    assert "acme/broken.yaml:2:" in out
    # --all-targets: the invalid policy fails its target only
    code, out = run(["plan", "--all-targets", "--detailed-exitcode"], capsys)
    assert code == 1
    parts = sections(out)
    assert "acme/broken.yaml:2:" in parts["acme"]
    assert "nothing was changed" not in parts["acme"]
    assert "Plan: 1 to create" in parts["ledger"]
    (repo / "acme" / "broken.yaml").unlink()
    code, out = run(["--target", "acme", "show", "role", "ap-clerk", "--desired"], capsys)
    assert code == 0, out
    code, out = run(["--target", "acme", "doctor"], capsys)
    assert "acme: 13 files" in out


@pytest.mark.postgres
def test_drift_all_targets(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["drift", "--all-targets"], capsys)
    assert code == 2
    parts = sections(out)
    assert list(parts) == ["ledger", "acme", "pg"]
    assert "No drift" in parts["pg"]
    assert "No drift" not in parts["acme"]
    assert ACME_NAME in parts["acme"]
    code, out = run(["drift", "--all-targets", "--format", "json"], capsys)
    doc = json.loads(out)
    codes = {e["target"]: e["exit_code"] for e in doc["targets"]}
    assert codes == {"ledger": 2, "acme": 2, "pg": 0}
    assert doc["targets"][2]["report"]["report"] == "drift"
    code, out = run(["drift", "--all-targets", "--format", "markdown", "--out", "drift"], capsys)
    assert code == 2
    assert sorted(p.name for p in (repo / "drift").iterdir()) == ["acme.md", "ledger.md", "pg.md"]
    code, out = run(["drift", "--all-targets", "--format", "html"], capsys)
    assert code == 1
    assert "not 'html'" in out


@pytest.mark.postgres
def test_each_policy_directory_loads_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded: list[Path] = []

    def counting(directory: Path, max_bytes: int) -> loader.LoadedPolicy:
        loaded.append(directory)
        return loader.load_policy(directory, max_bytes)

    monkeypatch.setattr(all_targets, "load_policy", counting)
    outcomes = all_targets.run_all(load_project(), plan_cmd.compute_with, jobs=3)
    assert [o.target.name for o in outcomes] == ["ledger", "acme", "pg"]
    assert all(o.error is None for o in outcomes)
    assert sorted(p.name for p in loaded) == ["acme", "policies"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--all-targets", "--target", "ledger"], "leave out --target and --db"),
        (["--db", "sqlite:///x.db", "drift", "--all-targets"], "leave out --target and --db"),
        (["plan", "--jobs", "2"], "--jobs goes with --all-targets"),
    ],
)
def test_contradicting_options_are_usage_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, "sqlite:///pg.db")
    code, out = run(args, capsys)
    assert code == 1
    assert message in out


def test_no_targets_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "erpsync.yaml").write_text("policies: policies\n", encoding="utf-8")
    code, out = run(["plan", "--all-targets"], capsys)
    assert code == 1
    assert "erpsync.yaml defines no targets" in out
