"""``erpsync doctor``: connectivity, adapter and schema compatibility, erpsync's own tables,
lock state, audit chain and time since the last apply; one line each, with a fix hint.

Exit 0 when no check fails (warnings allowed), 1 when any fails.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console
from rich.text import Text

from erpsync.doctor import Check, Status, diagnose

STYLES = {
    Status.OK: "green",
    Status.WARN: "yellow",
    Status.FAIL: "bold red",
    Status.SKIP: "dim",
}
NAME_WIDTH = 10


def line(check: Check) -> Text:
    """``fail  audit       record 1: edited: ... (fix: ...)`` as one line."""
    out = Text()
    out.append(f"{check.status.value:<4}", style=STYLES[check.status])
    out.append(f"  {check.name:<{NAME_WIDTH}}  {check.message}")
    if check.hint and check.status is not Status.OK:
        out.append(f"  (fix: {check.hint})", style="dim")
    return out


def run(
    config: Path | None,
    target_name: str | None,
    db_url: str | None,
    console: Console,
    now: dt.datetime | None = None,
) -> int:
    checks = diagnose(config, target_name, db_url, now or dt.datetime.now(dt.UTC))
    for check in checks:
        console.print(line(check), soft_wrap=True)
    counts = {s: sum(1 for c in checks if c.status is s) for s in Status}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    failed = counts[Status.FAIL] > 0
    verdict = "problems found" if failed else "ready"
    console.print(Text(f"doctor: {verdict} ({summary})"), soft_wrap=True)
    return 1 if failed else 0
