"""``erpsync drift``: how the live ERP differs from the policy (spec section 7).

Exit 0 when there is no drift, 2 when there is; errors raise (the CLI maps
them to 1). The report is rendered in the asked format to the terminal, or
written to ``--out`` with a one-line summary on the terminal. With ``--notify``,
a short summary is then posted to each named group robot (:mod:`erpsync.notify`):
after the report is written, so a failed post (exit 1) still leaves it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from erpsync import audit, driftignore, live_read, removals
from erpsync.adapters import adapter_class
from erpsync.adapters.base import Adapter, LiveSnapshot, LoginRecords
from erpsync.audit import AuditRecord
from erpsync.commands import write_raw
from erpsync.commands.plan import read_with_digest
from erpsync.config import Project, ResolvedTarget
from erpsync.drift import DriftReport, build_report
from erpsync.errors import DatabaseError, UsageError
from erpsync.i18n import N_, _
from erpsync.policy.loader import LoadedPolicy, load_policy

if TYPE_CHECKING:
    from erpsync.notify import Notifier

FORMATS = ("text", "json", "markdown", "html")
EXIT_DRIFT = 2
UNKNOWN_FORMAT = N_("unknown drift format {format} (known: {known})")


def compute(
    project: Project,
    target: ResolvedTarget,
    policy_dir: Path,
    now: dt.datetime | None = None,
) -> DriftReport:
    """Load the policy and ``.erpsyncignore``, read the ERP and its last audited apply."""
    max_bytes = project.config.settings.max_file_mib * 1024 * 1024
    return compute_with(project, target, lambda: load_policy(policy_dir, max_bytes), now)


def compute_with(
    project: Project,
    target: ResolvedTarget,
    policy: Callable[[], LoadedPolicy],
    now: dt.datetime | None = None,
) -> DriftReport:
    """:func:`compute` with the policy from ``policy()``, called while the ERP is read."""
    settings = project.config.settings
    with live_read.started(target, lambda adapter: _read(adapter, target)) as live:
        loaded = policy()
        ignore = driftignore.load(project.root / driftignore.FILE_NAME, driftignore.FILE_NAME)
        snapshot, last, logins = live.result()
    now = now or dt.datetime.now(dt.UTC)
    return build_report(
        loaded,
        snapshot,
        settings,
        adapter_class(target.adapter),
        target,
        last,
        ignore,
        now.date(),
        now,
        logins if settings.dormant_days is not None else None,
    )


def _read(
    adapter: Adapter, target: ResolvedTarget
) -> tuple[LiveSnapshot, AuditRecord | None, LoginRecords | str]:
    """The live snapshot (its digest worked out), the target's last audited apply (None
    when erpsync's audit table does not exist) and the ERP's sign-in records (or why it
    has none)."""
    snapshot = read_with_digest(adapter)
    try:
        logins: LoginRecords | str = adapter.read_logins()
    except (UsageError, DatabaseError) as exc:  # the drift report goes on without them
        logins = str(exc)
    with adapter.engine.connect() as conn:
        return snapshot, audit.last(conn, removals.trail_target(target, adapter)), logins


def render(report: dict[str, Any], fmt: str) -> str:
    """One view of the report's JSON form, as text (the terminal view without colour)."""
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if fmt == "markdown":
        from erpsync.render.drift_markdown import markdown_view

        return markdown_view(report)
    if fmt == "html":
        from erpsync.render.drift_html import html_view

        return html_view(report)
    if fmt == "text":
        from erpsync.render.drift_text import text_view

        return text_view(report).plain + "\n"
    raise UsageError(UNKNOWN_FORMAT.format(format=repr(fmt), known=", ".join(FORMATS)))


def write_report(text: str, path: Path) -> None:
    """Write a rendered report (to a temporary file first, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run(
    project: Project,
    target: ResolvedTarget,
    policy_dir: Path,
    fmt: str,
    out: Path | None,
    console: Console,
    notify: Notifier | None = None,
) -> int:
    """``erpsync drift [--format FMT] [--out FILE] [--notify NAME…]``: 0 no drift, 2
    drift; a failed notification raises once the report is written."""
    if fmt not in FORMATS:
        raise UsageError(UNKNOWN_FORMAT.format(format=repr(fmt), known=", ".join(FORMATS)))
    report = compute(project, target, policy_dir)
    doc = report.to_dict()
    if out is not None:
        write_report(render(doc, fmt), out)
        from erpsync.render.drift_text import summary_sentence

        wrote = _("Wrote the drift report ({format}) to {path}. {summary}")
        console.print(wrote.format(format=fmt, path=out, summary=summary_sentence(doc)))
    elif fmt == "text":
        from erpsync.render.drift_text import text_view

        console.print(text_view(doc), soft_wrap=True)
    else:
        write_raw(console, render(doc, fmt))
    if notify:
        from erpsync.notify.message import drift_summary

        notify.post(lambda report_url: drift_summary(doc, report_url))
    return EXIT_DRIFT if report.has_drift else 0
