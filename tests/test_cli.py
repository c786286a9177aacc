"""The command line maps outcomes to the spec's exit codes and never shows a traceback
for an expected error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from erpsync import cli
from erpsync.commands import validate as validate_cmd

REPO = Path(__file__).resolve().parent.parent


def test_sample_policies_validate(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--no-color", "validate", str(REPO / "policies")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "valid (0 error(s)" in out


def test_invalid_policy_exits_1_with_file_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "u.yaml").write_text("users:\n  li.na: {name: 李娜, roles: [ghost]}\n")
    code = cli.main(["--no-color", "validate", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{tmp_path}/u.yaml:2:29: error: user li.na: roles[0]: unknown role 'ghost'" in (
        captured.out
    )
    assert "Traceback" not in captured.out + captured.err


def test_config_error_exits_1_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "erpsync.yaml"
    config.write_text("targets:\n  prod: {url: '${NOPE_NOT_SET}'}\n")
    code = cli.main(["--config", str(config), "validate"])
    err = capsys.readouterr().err
    assert code == 1
    assert "NOPE_NOT_SET is not set" in err
    assert "Traceback" not in err


def test_bad_usage_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--format", "yaml"]) == 1
    assert "Invalid value for '--format'" in capsys.readouterr().err


def test_internal_error_exits_3_and_says_where_to_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError("kaput")

    monkeypatch.setattr(validate_cmd, "run_many", boom)
    assert cli.main(["validate", str(REPO / "policies")]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err
    assert "report" in err
    assert "Traceback" not in err
    assert cli.main(["-v", "validate", str(REPO / "policies")]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(validate_cmd, "run_many", interrupted)
    assert cli.main(["validate", str(REPO / "policies")]) == 130
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["json", "github"])
def test_machine_formats(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.yaml").write_text("roles:\n  a: {name: A, includes: [a]}\n")
    assert cli.main(["validate", "--format", fmt, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    if fmt == "json":
        import json

        doc = json.loads(out)
        assert doc["valid"] is False
        assert doc["diagnostics"][0]["code"] == "cycle"
        assert doc["diagnostics"][0]["position"]["line"] == 2
    else:
        assert out.startswith("::error file=")
        assert ",line=2,col=" in out


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "erpsync", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "erpsync, version 0.1.0" in result.stdout


def _erpsync(*args: str, stdout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpsync", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )


def test_the_executable_exits_with_the_commands_code() -> None:
    """``python -m erpsync`` ends the process itself (cli.script); the code still comes
    through, and so does the output written just before."""
    policy = str(REPO / "policies")
    ok = subprocess.run(
        [sys.executable, "-m", "erpsync", "validate", "--format", "json", policy],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0
    assert ok.stdout.rstrip().endswith("}")  # the whole document, flushed before the end
    missing = _erpsync("validate", str(REPO / "no-such-dir"), stdout=subprocess.PIPE)
    assert missing.returncode == 1
    assert "no-such-dir: error: policy directory not found" in missing.stdout


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_an_error_not_a_bug() -> None:
    with open("/dev/full", "w", encoding="utf-8") as full:
        result = _erpsync(
            "validate", "--format", "json", str(REPO / "policies"), stdout=full.fileno()
        )
    assert result.returncode == 1
    assert "No space left on device" in result.stderr
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_reader_that_went_away_ends_the_command_quietly() -> None:
    """``erpsync plan | head``: once the reader has gone, there is no one to tell."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = _erpsync("validate", "--format", "json", str(REPO / "policies"), stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == ""


def test_the_executable_runs_exit_handlers_and_tolerates_closed_streams(tmp_path: Path) -> None:
    """cli.script ends the process itself: what atexit holds (coverage, logging) still
    runs, and a command started with stdout or stderr closed is not failed for it."""
    marker = tmp_path / "ran"
    program = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
        "sys.argv = ['erpsync', '--version']\n"
        "from erpsync.cli import script\n"
        "script()\n"
    )
    assert subprocess.run([sys.executable, "-c", program], check=False).returncode == 0
    assert marker.exists()
    for closed in ("1>&-", "2>&-"):
        shell = f"exec {closed}; exec {sys.executable} -m erpsync --version"
        assert subprocess.run(shell, shell=True, check=False).returncode == 0, closed


def test_a_plan_nobody_reads_is_not_reported_as_changes(tmp_path: Path) -> None:
    """--detailed-exitcode promises 2 only for a plan that was delivered."""
    import os

    shutil.copytree(REPO / "policies", tmp_path / "policies")
    assert cli.main(["refdb", "init", f"sqlite:///{tmp_path / 'erp.db'}", "--sample"]) == 0
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    argv = [sys.executable, "-m", "erpsync", "--db", url, "plan", "--detailed-exitcode"]
    delivered = subprocess.run(argv, stdout=subprocess.DEVNULL, check=False, cwd=tmp_path)
    assert delivered.returncode == 2  # the sample ERP differs from the policy
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            argv,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            cwd=tmp_path,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == ""
