"""A policy with thousands of mistakes: validate (text, GitHub annotations) and the error of
plan show the first diagnostics in full and count the rest by kind; JSON lists every one.
'Did you mean' hints stay bounded whatever the number of unknown names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from erpsync import cli, diagnostics
from erpsync.policy.suggest import MAX_HINTS, Suggester

REPO = Path(__file__).resolve().parents[2]
USERS, ROLES_EACH = 30, 100  # 3,000 unknown roles
DEPARTMENTS = 7  # and 7 unknown departments


@pytest.fixture
def flooded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample repository (the cwd) plus users naming 3,007 things that do not exist."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copy(REPO / "erpsync.yaml", tmp_path / "erpsync.yaml")
    lines = ["users:"]
    for u in range(USERS):
        lines += [f"  flood.{u}:", f"    name: Flood {u}", "    roles:"]
        lines += [f"      - ap-clerk-{u}-{r}" for r in range(ROLES_EACH)]
        if u >= USERS - DEPARTMENTS:  # all past the first diagnostics shown
            lines.append(f"    department: no-such-department-{u}")
    (tmp_path / "policies" / "users" / "flood.yaml").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


TOTAL = USERS * ROLES_EACH + DEPARTMENTS
REST = TOTAL - diagnostics.SHOWN


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_shows_the_first_in_full_and_counts_the_rest(
    flooded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "validate")
    assert code == 1
    lines = out.splitlines()
    full = [line for line in lines if ": error: user flood." in line]
    assert len(full) == diagnostics.SHOWN
    assert (
        f"… and {REST:,} more errors: {REST - DEPARTMENTS:,} unknown role, "
        f"{DEPARTMENTS} unknown department (--format json lists them all)"
    ) in lines
    assert f": invalid ({TOTAL} error(s), 0 warning(s))" in lines[-1]
    assert len(lines) == diagnostics.SHOWN + 2


def test_json_lists_every_diagnostic(flooded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["errors"] == TOTAL
    assert len(doc["diagnostics"]) == TOTAL


def test_github_annotations_are_capped_with_a_notice(
    flooded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "validate", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert len([line for line in lines if line.startswith("::error ")]) == diagnostics.SHOWN
    notice = [line for line in lines if line.startswith("::notice ")]
    assert notice == [
        f"::notice title=erpsync validate::… and {REST:,} more errors: "
        f"{REST - DEPARTMENTS:,} unknown role, {DEPARTMENTS} unknown department "
        "(--format json lists them all)"
    ]
    assert lines[-1] == f"erpsync validate: {TOTAL} error(s), 0 warning(s)"


def test_plan_refusing_an_invalid_policy_is_capped_too(
    flooded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["refdb", "init", "sqlite:///demo/erp.db", "--sample"]) == 0
    code, _, err = run(capsys, "plan")
    assert code == 1
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if ": error: " in line]) == diagnostics.SHOWN
    assert f"… and {REST:,} more errors" in err
    assert f"policy is invalid: {TOTAL} error(s)" in err


def test_hints_are_given_first_then_stop(flooded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--format", "json")
    assert code == 1
    messages = [d["message"] for d in json.loads(out)["diagnostics"]]
    hinted = [m for m in messages if "did you mean" in m]
    assert 0 < len(hinted) <= MAX_HINTS < len(messages)


def test_a_large_candidate_set_still_finds_the_near_miss() -> None:
    logins = {f"user.{i:06d}" for i in range(100_000)} | {"zhang.wei"}
    suggest = Suggester()
    assert suggest.hint("zhang.wie", logins) == " (did you mean 'zhang.wei'?)"
    assert suggest.hint("user.01234x", logins).startswith(" (did you mean 'user.0")
    assert suggest.hint("qqqqqqqqqqqq", logins) == ""


def test_the_hint_budget_runs_out() -> None:
    suggest = Suggester(max_hints=2)
    roles = ["ap-clerk", "buyer"]
    assert suggest.hint("ap-clerc", roles) == " (did you mean 'ap-clerk'?)"
    assert suggest.hint("buyr", roles) == " (did you mean 'buyer'?)"
    assert suggest.hint("buyr", roles) == ""
