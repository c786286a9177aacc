"""One module per subcommand; each exposes ``run(...) -> int`` (the exit code).

Commands print their result; they raise :mod:`erpsync.errors` for failures and
leave exit handling to :mod:`erpsync.cli`.
"""

from rich.console import Console


def write_raw(console: Console, text: str) -> None:
    """Write machine-readable output (JSON, Markdown, CSV) to the console's stream as it
    is: rich would re-scan it for wrapping and styles, which it has none of, and that
    costs half a second on a 6,000-change plan."""
    console.file.write(text)
    console.file.flush()
