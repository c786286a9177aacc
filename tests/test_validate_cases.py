"""Golden validation cases: ``tests/cases/validate/<name>/policy/`` and ``expected.txt``.

Each case runs ``erpsync validate`` on its policy folder (from the case folder,
so paths read ``policy/...``) with today fixed to TODAY, unless the case has a
``today`` file, and compares the complete text output and the exit code.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from erpsync.commands import validate as validate_cmd
from tests.casefiles import case_dirs, check_golden

TODAY = dt.date(2026, 11, 28)


def run_case(case: Path) -> tuple[int, str]:
    today_file = case / "today"
    today = dt.date.fromisoformat(today_file.read_text().strip()) if today_file.exists() else TODAY
    out = io.StringIO()
    console = Console(file=out, no_color=True, width=400, soft_wrap=True)
    cwd = Path.cwd()
    os.chdir(case)
    try:
        code = validate_cmd.run(Path("policy"), "text", console, today, 50 * 1024 * 1024)
    finally:
        os.chdir(cwd)
    return code, out.getvalue()


@pytest.mark.parametrize("case", case_dirs("validate"), ids=lambda p: p.name)
def test_validate_case(case: Path) -> None:
    code, output = run_case(case)
    check_golden(case / "expected.txt", f"exit {code}\n{output}")
    has_error_line = any(": error: " in line for line in output.splitlines())
    assert code == (1 if has_error_line else 0)
