"""A saved plan file is untrusted input: too big, too deep, not JSON, of the wrong shape or
of another format version, it is refused with exit 1 and a message naming the file, and
nothing is written."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from erpsync import cli, planfile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copy(REPO / "erpsync.yaml", tmp_path / "erpsync.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    assert cli.main(["refdb", "init", "sqlite:///demo/erp.db", "--sample"]) == 0
    return tmp_path


def erp_rows(project: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(project / "demo" / "erp.db") as conn:
        return conn.execute("SELECT login, email, active FROM erp_user ORDER BY login").fetchall()


def refused(project: Path, plan: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Apply ``plan``: exit 1, the ERP untouched, no traceback; the error text."""
    before = erp_rows(project)
    capsys.readouterr()
    assert cli.main(["apply", str(plan)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert str(plan) in err
    assert erp_rows(project) == before
    return err


def saved(project: Path) -> dict[str, object]:
    assert cli.main(["plan", "--format", "json", "--out", "plan.json"]) == 0
    doc: dict[str, object] = json.loads((project / "plan.json").read_text(encoding="utf-8"))
    return doc


def test_a_plan_nested_100000_deep_is_refused_before_parsing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = project / "deep.json"
    plan.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    err = refused(project, plan, capsys)
    assert "nests 100000 levels deep, over the limit of 64" in err


def test_a_deep_object_inside_a_valid_plan_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = saved(project)
    deep: object = {}
    for _ in range(planfile.MAX_DEPTH):
        deep = {"x": deep}
    doc["changes"][0]["after"] = deep  # type: ignore[index]
    plan = project / "plan.json"
    plan.write_text(json.dumps(doc), encoding="utf-8")
    assert "levels deep, over the limit of 64" in refused(project, plan, capsys)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert planfile.nesting_depth('{"a": "[[[[{{{{\\"]]"}') == 1
    assert planfile.nesting_depth('[[1], [[2]], "]]]]"]') == 3
    assert planfile.nesting_depth("") == 0


def test_a_plan_over_the_size_limit_is_refused_without_reading_it_all(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    saved(project)
    size = (project / "plan.json").stat().st_size
    monkeypatch.setattr(planfile, "MAX_BYTES", size - 1)
    err = refused(project, project / "plan.json", capsys)
    assert "larger than the" in err
    assert "MiB limit" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json at all", "invalid JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[1, 2]", "expected a JSON object, got an array"),
        (b"null", "expected a JSON object, got null"),
        (b'{"format_version": "9"}', "plan format '9' is not supported"),
        (b"{}", "plan format None is not supported"),
    ],
)
def test_a_file_that_is_no_plan_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    plan = project / "plan.json"
    plan.write_bytes(content)
    assert message in refused(project, plan, capsys)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("changes",), "all", "changes: Input should be a valid list"),
        (("changes", 0, "kind"), "backdoor", "changes.0.kind"),
        (("changes", 0, "key"), ["li.na"], "changes.0.key"),
        (("summary", "create"), "many", "summary.create"),
        (("policy_digest",), "sha256:00", "policy_digest"),
        (("target",), None, "target"),
    ],
)
def test_a_plan_of_the_wrong_shape_is_refused(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    path: tuple[object, ...],
    value: object,
    message: str,
) -> None:
    doc = saved(project)
    node: object = doc
    for part in path[:-1]:
        node = node[part]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    plan = project / "plan.json"
    plan.write_text(json.dumps(doc), encoding="utf-8")
    err = refused(project, plan, capsys)
    assert "not a valid erpsync plan" in err
    assert message in err


def test_a_missing_plan_file_names_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(project, project / "nowhere.json", capsys)
    assert "cannot read the plan file" in err


def test_ci_guards_reads_plans_within_the_same_limits(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = project / "deep.json"
    plan.write_text("{" * 50_000, encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["ci", "guards", str(plan)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{plan} is not a plan file: its JSON nests 50000 levels deep" in err


def test_a_valid_plan_still_applies(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved(project)
    assert cli.main(["apply", "plan.json"]) == 0
    assert "Apply complete" in capsys.readouterr().out


def test_plan_comment_metadata_nested_deep_is_ignored_not_a_crash() -> None:
    from erpsync.ci.sticky_comment import MARKER, Metadata

    body = f'<!-- {MARKER} {{"a": {"[" * 100_000}{"]" * 100_000}}} -->\nbody'
    assert Metadata.parse(body) is None
