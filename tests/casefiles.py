"""Golden case folders: compare an output with the file that holds what it should be.

Set ``ERPSYNC_REGENERATE=1`` to rewrite the expected files after an intended
change; review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

CASES = Path(__file__).parent / "cases"


def case_dirs(kind: str) -> list[Path]:
    return sorted(p for p in (CASES / kind).iterdir() if p.is_dir())


def regenerating() -> bool:
    return os.environ.get("ERPSYNC_REGENERATE") == "1"


def check_golden(path: Path, actual: str) -> None:
    """Assert ``actual`` equals the file's text, or rewrite the file when regenerating."""
    if regenerating():
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with ERPSYNC_REGENERATE=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path}"
