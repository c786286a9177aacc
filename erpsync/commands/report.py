"""``erpsync report access|sod|expiring|dormant [--format text|csv|json|html] [--days N]
[--out FILE]``.

``access``: one row per (user, permission) with department, roles and status.
``sod``: separation-of-duties violations with severity, exception and expiry
(the rules and exceptions come from the policy; the holdings from the live ERP
or, with ``desired``, from the policy). ``expiring``: users and SoD exceptions
expiring within ``days`` days, and those already expired (with the live ERP:
whether each user is still active there). ``dormant``: active users with no sign-in
for ``days`` days (the ERP's own records), with their roles and high-risk access;
``--propose`` writes ``expires:`` (or ``active: false``) for them into the policy files.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from erpsync import reports
from erpsync.commands import show, write_raw
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import UsageError
from erpsync.i18n import N_, _, number, said

if TYPE_CHECKING:
    from erpsync.dormant import DormantReport
    from erpsync.policy.loader import LoadedPolicy

KINDS = ("access", "sod", "expiring", "dormant", "review")
FORMATS = ("text", "csv", "json", "html")
DEFAULT_DAYS = {"expiring": 30, "dormant": 90}
TEXT_FILE_WIDTH = 160  # columns of the text view written with --out


def build(
    project: Project,
    target: ResolvedTarget | None,
    policy_dir: Path,
    kind: str,
    days: int,
    use_desired: bool,
    now: dt.datetime,
    campaign: str | None = None,
) -> dict[str, Any]:
    """The report's JSON form, stamped with its source and time."""
    today = now.date()
    if kind == "review":
        from erpsync.commands.review import review_doc

        if target is None or use_desired:
            raise UsageError(N_("report review reads erpsync's evidence in the target's database"))
        return show.stamp(review_doc(target, campaign), target, now)
    if kind == "access":
        model = show.model(project, target, policy_dir, use_desired, today)
        return show.stamp(reports.access_listing(model).to_dict(), target, now)
    if kind not in KINDS:
        raise UsageError(
            N_("unknown report '{kind}' (known: {known})").format(kind=kind, known=", ".join(KINDS))
        )
    if days < 0:
        raise UsageError(N_("--days must be 0 or more"))
    loaded = show.load(project, policy_dir)
    if kind == "dormant":
        dormant_doc = dormant(project, target, loaded, days, use_desired, now).to_dict()
        return show.stamp(dormant_doc, target, now)
    model = show.desired(loaded, today) if use_desired else show.live(target)
    policy = loaded.policy
    if kind == "sod":
        found: reports.Report = reports.sod_report(
            policy.sod_rules, policy.sod_exceptions, model, today
        )
    else:
        found = reports.expiring(policy, today, days, None if use_desired else model)
    return show.stamp(found.to_dict(), target, now)


def dormant(
    project: Project,
    target: ResolvedTarget | None,
    loaded: LoadedPolicy,
    days: int,
    use_desired: bool,
    now: dt.datetime,
) -> DormantReport:
    """The dormant-accounts report of the live ERP (its access and sign-in records)."""
    from erpsync.adapters import connected
    from erpsync.dormant import dormant_report
    from erpsync.scope import Scope

    if use_desired:
        raise UsageError(N_("report dormant reads the ERP's sign-in records: it has no --desired"))
    if target is None:
        raise UsageError(N_("no target to read: give --target or --db"))
    with connected(target) as adapter:
        snapshot = adapter.read()
        logins = adapter.read_logins()
        scope = Scope.for_adapter(project.config.settings, adapter)
    return dormant_report(reports.live_model(snapshot), logins, loaded.policy, scope, now, days)


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
    raise UsageError(
        N_("unknown format '{format}' (known: {known})").format(
            format=fmt, known=", ".join(FORMATS)
        )
    )


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
    days: int | None,
    out: Path | None,
    use_desired: bool,
    console: Console,
    now: dt.datetime | None = None,
    propose: Propose | None = None,
    campaign: str | None = None,
) -> int:
    now = now or dt.datetime.now(dt.UTC)
    days = DEFAULT_DAYS.get(kind, 0) if days is None else days
    if propose is not None and kind != "dormant":
        raise UsageError(N_("--propose, --expires and --deactivate go with report dormant"))
    if kind == "dormant":
        if days < 0:
            raise UsageError(N_("--days must be 0 or more"))
        loaded = show.load(project, policy_dir)
        found = dormant(project, target, loaded, days, use_desired, now)
        emit(show.stamp(found.to_dict(), target, now), kind, fmt, out, console)
        if propose is not None:
            write_proposal(found, loaded, propose, now.date(), console)
        return 0
    doc = build(project, target, policy_dir, kind, days, use_desired, now, campaign)
    emit(doc, kind, fmt, out, console)
    return 0


def emit(doc: dict[str, Any], kind: str, fmt: str, out: Path | None, console: Console) -> None:
    """Print the report, or write it to ``out`` and say so."""
    if fmt == "text":
        from erpsync.render.report_text import text_view

        if out is None:
            console.print(text_view(doc))
            return
        buffer = io.StringIO()
        Console(file=buffer, width=TEXT_FILE_WIDTH, color_system=None).print(text_view(doc))
        write(buffer.getvalue(), out)
    elif out is None:
        write_raw(console, render(doc, fmt))  # as is: rich would not keep the CSV's \r\n
        return
    else:
        write(render(doc, fmt), out)
    wrote = _("Wrote the {kind} report ({format}) to {out}.")
    console.print(wrote.format(kind=kind, format=fmt, out=out), markup=False)


@dataclass(frozen=True)
class Propose:
    """``--propose``: expire dormant users on ``on`` (default: today), or deactivate them."""

    on: dt.date | None = None
    deactivate: bool = False


def write_proposal(
    found: DormantReport,
    loaded: LoadedPolicy,
    wanted: Propose,
    today: dt.date,
    console: Console,
) -> None:
    """Write the proposal's policy edits (all files checked before any is written) and
    say what was written and what was left."""
    from erpsync.dormant import propose
    from erpsync.policy.edit import apply_edits, write_edits

    proposal = propose(found, loaded, wanted.on or today, wanted.deactivate)
    texts = apply_edits(proposal.edits)
    write_edits(texts)
    say = console.print
    if proposal.edits:
        what = "active: false" if wanted.deactivate else f"expires: {wanted.on or today}"
        users, files = len(proposal.edits), len(texts)
        proposed = _("Proposed {what} for {n} dormant user(s) in {files} file(s):")
        say(proposed.format(what=what, n=number(users), files=number(files)), markup=False)
        for edit in proposal.edits:
            say(f"  {edit.file}: {edit.key}", markup=False)
        say(_("Review with git diff, then erpsync plan; commit for review."), markup=False)
    else:
        say(_("No policy edit to propose."), markup=False)
    for login, why in proposal.skipped:
        say(_("  left {login}: {why}").format(login=login, why=said(why)), markup=False)
