"""``erpsync report access|sod|expiring [--format text|csv|json|html] [--days N] [--out FILE]``.

``access``: one row per (user, permission) with department, roles and status.
``sod``: separation-of-duties violations with severity, exception and expiry
(the rules and exceptions come from the policy; the holdings from the live ERP
or, with ``desired``, from the policy). ``expiring``: users and SoD exceptions
expiring within ``days`` days, and those already expired (with the live ERP:
whether each user is still active there).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from rich.console import Console

from erpsync import reports
from erpsync.commands import show, write_raw
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import UsageError

KINDS = ("access", "sod", "expiring")
FORMATS = ("text", "csv", "json", "html")
DEFAULT_DAYS = 30
TEXT_FILE_WIDTH = 160  # columns of the text view written with --out


def build(
    project: Project,
    target: ResolvedTarget | None,
    policy_dir: Path,
    kind: str,
    days: int,
    use_desired: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    """The report's JSON form, stamped with its source and time."""
    today = now.date()
    if kind == "access":
        model = show.model(project, target, policy_dir, use_desired, today)
        return show.stamp(reports.access_listing(model).to_dict(), target, now)
    if kind not in KINDS:
        raise UsageError(f"unknown report '{kind}' (known: {', '.join(KINDS)})")
    if days < 0:
        raise UsageError("--days must be 0 or more")
    loaded = show.load(project, policy_dir)
    model = show.desired(loaded, today) if use_desired else show.live(target)
    policy = loaded.policy
    if kind == "sod":
        found: reports.Report = reports.sod_report(
            policy.sod_rules, policy.sod_exceptions, model, today
        )
    else:
        found = reports.expiring(policy, today, days, None if use_desired else model)
    return show.stamp(found.to_dict(), target, now)


def render(doc: dict[str, Any], fmt: str) -> str:
    """The report in ``fmt`` as text (the CSV starts with a byte order mark)."""
    if fmt == "csv":
        from erpsync.render.report_csv import csv_view

        return csv_view(doc)
    if fmt == "json":
        from erpsync.render.report_json import json_view

        return json_view(doc)
    if fmt == "html":
        from erpsync.render.report_html import html_view

        return html_view(doc)
    raise UsageError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)})")


def write(text: str, out: Path) -> None:
    """Write ``text`` as UTF-8 exactly (CSV keeps its ``\\r\\n``), via a temporary file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(text.encode("utf-8"))
    tmp.replace(out)


def run(
    project: Project,
    target: ResolvedTarget | None,
    policy_dir: Path,
    kind: str,
    fmt: str,
    days: int,
    out: Path | None,
    use_desired: bool,
    console: Console,
    now: dt.datetime | None = None,
) -> int:
    now = now or dt.datetime.now(dt.UTC)
    doc = build(project, target, policy_dir, kind, days, use_desired, now)
    if fmt == "text":
        from erpsync.render.report_text import text_view

        if out is None:
            console.print(text_view(doc))
            return 0
        buffer = io.StringIO()
        Console(file=buffer, width=TEXT_FILE_WIDTH, color_system=None).print(text_view(doc))
        write(buffer.getvalue(), out)
    elif out is None:
        text = render(doc, fmt)
        write_raw(console, text)  # as is: rich would not keep the CSV's \r\n
        return 0
    else:
        write(render(doc, fmt), out)
    console.print(f"Wrote the {kind} report ({fmt}) to {out}.", markup=False)
    return 0
