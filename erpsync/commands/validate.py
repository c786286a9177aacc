"""``erpsync validate``: check the policy without a database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console
from rich.text import Text

from erpsync import diagnostics as diag
from erpsync.commands import write_raw
from erpsync.errors import PolicyError
from erpsync.policy.loader import load_policy
from erpsync.policy.validate import validate

FORMATS = ("text", "json", "github")
_STYLE = {diag.Severity.ERROR: "bold red", diag.Severity.WARNING: "yellow"}


def check(directory: Path, today: dt.date, max_bytes: int) -> tuple[list[diag.Diagnostic], str]:
    """Every diagnostic for the policy in ``directory`` and a one-line description of it."""
    try:
        loaded = load_policy(directory, max_bytes)
    except PolicyError as exc:
        return exc.diagnostics, f"{directory}"
    p = loaded.policy
    counts = (
        f"{directory}: {len(loaded.files)} files, {len(p.departments)} departments, "
        f"{len(p.roles)} roles, {len(p.users)} users, {len(p.sod_rules)} SoD rules"
    )
    return validate(loaded, today), counts


def run(directory: Path, fmt: str, console: Console, today: dt.date, max_bytes: int) -> int:
    found, described = check(directory, today, max_bytes)
    if fmt == "json":
        write_raw(console, diag.to_json(found))
    elif fmt == "github":
        write_raw(console, diag.to_github(found))
        write_raw(console, f"erpsync validate: {diag.summary_line(found)}\n")
    else:
        for d in found:
            line = Text(f"{d.position}: ")
            line.append(str(d.severity), style=_STYLE[d.severity])
            line.append(f": {d.object}: {d.message}" if d.object else f": {d.message}")
            console.print(line, soft_wrap=True)
        verdict = "invalid" if diag.has_errors(found) else "valid"
        console.print(Text(f"{described}: {verdict} ({diag.summary_line(found)})"), soft_wrap=True)
    return 1 if diag.has_errors(found) else 0
