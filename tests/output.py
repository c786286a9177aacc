"""Reading back what a command wrote to its console."""

from __future__ import annotations

import io

from rich.console import Console


def captured(console: Console) -> str:
    """Everything written to ``console``, which must have been made with
    ``file=io.StringIO()`` (commands write JSON and CSV straight to the file)."""
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()
