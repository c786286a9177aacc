"""``erpsync doctor``: connectivity, adapter and schema compatibility, erpsync's own tables,
lock state, audit chain and time since the last apply; one line each, with a fix hint.

Exit 0 when no check fails (warnings allowed), 1 when any fails. The lines are said in
the run's language (:mod:`erpsync.i18n`): the checks' messages and hints are English data
made from catalogued templates, said here with ``said``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from erpsync.doctor import SHOWN, Check, Status, diagnose
from erpsync.i18n import N_, _, number, said

STYLES = {
    Status.OK: "green",
    Status.WARN: "yellow",
    Status.FAIL: "bold red",
    Status.SKIP: "dim",
}
NAME_WIDTH = 10
# The statuses as a line shows them (the Status values stay English).
VERDICTS = {
    Status.OK: N_("ok"),
    Status.WARN: N_("warn"),
    Status.FAIL: N_("fail"),
    Status.SKIP: N_("skip"),
}


def _padded(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    return text + " " * max(0, width - cell_len(text))


def message(check: Check) -> str:
    """The check's message in the run's language, each listed problem said on its own."""
    if not check.items:
        return said(check.message)
    listed = _("; ").join(said(item) for item in check.items[:SHOWN])
    more = len(check.items) - SHOWN
    if more > 0:
        listed += _("; and {n} more").format(n=number(more))
    if not check.lead:
        return listed
    return _("{lead}: {items}").format(lead=said(check.lead), items=listed)


def line(check: Check) -> Text:
    """``fail  audit       record 1: edited: ... (fix: ...)`` as one line."""
    out = Text()
    out.append(_padded(_(VERDICTS[check.status]), 4), style=STYLES[check.status])
    out.append(f"  {_padded(_(check.name), NAME_WIDTH)}  {message(check)}")
    if check.hint and check.status is not Status.OK:
        out.append(_("  (fix: {hint})").format(hint=said(check.hint)), style="dim")
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
    summary = _(", ").join(
        _("{n} {status}").format(n=number(n), status=_(VERDICTS[s])) for s, n in counts.items() if n
    )
    failed = counts[Status.FAIL] > 0
    verdict = _("problems found") if failed else _("ready")
    said_ = _("doctor: {verdict} ({summary})").format(verdict=verdict, summary=summary)
    console.print(Text(said_), soft_wrap=True)
    return 1 if failed else 0
