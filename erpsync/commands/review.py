"""``erpsync review start|status|close`` and ``erpsync report review``: access
certification campaigns (see :mod:`erpsync.review`).

``start`` reads the live ERP, writes one sheet per reviewer (XLSX, CSV, HTML) under
``reviews/<campaign>/`` and records the campaign (every sheet's lines and digest) in
``erpsync_review``. ``status`` reads the returned sheets and shows progress per reviewer.
``close`` checks the returned sheets against what was sent, records every decision,
writes the revocations and expiries into the policy files and prints the pull
request's description. Nothing is ever written to the ERP's own tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from erpsync import audit, reports
from erpsync.adapters import connected
from erpsync.commands import show, write_raw
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import ReviewSheetError, UsageError
from erpsync.i18n import N_, _, ngettext, said
from erpsync.notify.message import REVIEW_STATES, ReviewerProgress, review_summary
from erpsync.review import evidence
from erpsync.review.campaign import Previous, build_sheets, campaign_id
from erpsync.review.decisions import counts_as_dict, decide, pr_description
from erpsync.review.model import Line, Sheet

if TYPE_CHECKING:
    from erpsync.notify import Notifier

FORMATS = ("xlsx", "csv", "html")
SHEET_SUFFIXES = (".xlsx", ".csv")


def start(
    project: Project,
    target: ResolvedTarget,
    policy_dir: Path,
    kind: str,
    due: dt.date | None,
    out_dir: Path,
    formats: Sequence[str],
    console: Console,
    now: dt.datetime | None = None,
) -> int:
    from erpsync.review import sheets as sheet_files
    from erpsync.scope import Scope

    now = now or dt.datetime.now(dt.UTC)
    if due is not None and due < now.date():
        raise UsageError(N_("--due {due} is in the past").format(due=due))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(
            N_("--format takes {formats} (comma-separated)").format(formats=", ".join(FORMATS))
        )
    loaded = show.load(project, policy_dir)
    with connected(target) as adapter:
        snapshot = adapter.read()
        scope = Scope.for_adapter(project.config.settings, adapter)
        with adapter.engine.begin() as conn:
            found_events = evidence.events(conn)
            broken = evidence.verify(found_events)
            if broken:
                raise UsageError(_not_intact(broken))
            known = evidence.campaigns(found_events)
            still_open = [c.id for c in known if c.closed is None]
            if still_open:
                raise UsageError(
                    N_(
                        "access review {campaign} is still open: close it first "
                        "(erpsync review close SHEETS…)"
                    ).format(campaign=still_open[-1])
                )
            previous = _previous([c for c in known if c.closed is not None])
            cid = campaign_id(now, kind, target.name)
            sheets = build_sheets(
                reports.live_model(snapshot),
                loaded.policy,
                scope,
                kind,
                cid,
                now.date(),
                due,
                previous,
            )
            if not sheets:
                raise UsageError(N_("nobody to review: no active managed user holds access"))
            folder = out_dir / cid
            folder.mkdir(parents=True, exist_ok=False)
            for sheet in sheets:
                for fmt in formats:
                    writer = getattr(sheet_files, f"write_{fmt}")
                    writer(sheet, folder / f"{sheet.file_stem}.{fmt}")
            body = {
                "target": target.name,
                "scope": kind,
                "started": now.date().isoformat(),
                "due": due.isoformat() if due else None,
                "live_digest": snapshot.state.digest(),
                "folder": _from_root(project, folder),
                "sheets": [_sent(s) for s in sheets],
            }
            head = evidence.record(conn, cid, "started", audit.actor(), body, now)
    people = len({line.login for s in sheets for line in s.lines})
    say = console.print
    started = (
        _(
            "Started access review {campaign}: {sheets} sheet(s) for {people} people in "
            "{folder}, due {due}"
        )
        if due
        else _(
            "Started access review {campaign}: {sheets} sheet(s) for {people} people in {folder}"
        )
    )
    say(
        started.format(
            campaign=cid, sheets=len(sheets), people=people, folder=f"{folder}/", due=due
        ),
        markup=False,
    )
    for sheet in sheets:
        who = f"{sheet.reviewer} ({sheet.reviewer_name})" if sheet.reviewer_name else sheet.reviewer
        lines = ngettext(
            "  {who}: {n} line(s) → {file}", "  {who}: {n} line(s) → {file}", len(sheet.lines)
        )
        say(lines.format(who=who, n=len(sheet.lines), file=f"{sheet.file_stem}.*"), markup=False)
    say(
        _(
            "Send each reviewer their sheet; collect the filled XLSX or CSV files and run "
            "erpsync review status / erpsync review close FILES…"
        ),
        markup=False,
    )
    say(
        _("Evidence head (keep it with the campaign): {head}").format(
            head=f"{head.id}:{head.hash}"
        ),
        markup=False,
    )
    return 0


def _from_root(project: Project, folder: Path) -> str:
    """The campaign folder as recorded: relative to the project root when below it, so
    ``review status`` finds it from any directory of the project."""
    try:
        return str(folder.resolve().relative_to(project.root.resolve()))
    except ValueError:
        return str(folder.resolve())


def _sent(sheet: Sheet) -> dict[str, Any]:
    return {
        "reviewer": sheet.reviewer,
        "reviewer_name": sheet.reviewer_name,
        "digest": sheet.digest(),
        "file_stem": sheet.file_stem,
        "lines": [list(line.listed()) for line in sheet.lines],
    }


def sheets_of(found: evidence.Campaign) -> list[Sheet]:
    """The sheets a campaign sent, rebuilt from its evidence."""
    body = found.started.body
    started = dt.date.fromisoformat(body["started"])
    due = dt.date.fromisoformat(body["due"]) if body.get("due") else None
    out = []
    for sent in body["sheets"]:
        lines = tuple(
            Line(int(n), kind, login, name, dept, role or None, rname, risk, perms, since)
            for n, kind, login, name, dept, role, rname, risk, perms, since in sent["lines"]
        )
        sheet = Sheet(
            found.id, sent["reviewer"], sent["reviewer_name"], body["scope"], started, due, lines
        )
        if sheet.digest() != sent["digest"]:  # the evidence chain is checked too; belt and braces
            raise UsageError(
                N_("the recorded sheet of {reviewer} no longer matches its digest").format(
                    reviewer=sheet.reviewer
                )
            )
        out.append(sheet)
    return out


def _previous(closed: Sequence[evidence.Campaign]) -> Previous | None:
    if not closed:
        return None
    last = closed[-1]
    listed = frozenset(
        (line[2], line[5] or None) for sent in last.started.body["sheets"] for line in sent["lines"]
    )
    return Previous(last.id, listed)


def _read_all(found: evidence.Campaign, files: Sequence[Path], today: dt.date) -> list[Any]:
    from erpsync.review import sheets as sheet_files

    sent = {(s.campaign, s.reviewer): s for s in sheets_of(found)}
    return [sheet_files.read_filled(path, sent, today) for path in files]


def _campaign(target: ResolvedTarget, wanted: str | None) -> evidence.Campaign:
    with connected(target) as adapter, adapter.engine.connect() as conn:
        found = evidence.events(conn)
        broken = evidence.verify(found)
        if broken:
            raise UsageError(_not_intact(broken))
        return evidence.campaign(conn, wanted)


def _not_intact(broken: Sequence[str]) -> str:
    """What is wrong with the evidence (said in full when there is one problem)."""
    return N_("the review evidence is not intact: {problem}").format(problem="; ".join(broken))


def status(
    project: Project,
    target: ResolvedTarget,
    wanted: str | None,
    files: Sequence[Path],
    console: Console,
    now: dt.datetime | None = None,
    notify: Notifier | None = None,
) -> int:
    """Progress per reviewer, from the returned sheets (``files``, or those found in the
    campaign's folder). An invalid sheet is shown with its error, not counted. With
    ``notify``, the progress is then posted to each destination (a failure raises)."""
    now = now or dt.datetime.now(dt.UTC)
    found = _campaign(target, wanted)
    sheets = sheets_of(found)
    folder = project.root / (found.started.body.get("folder") or ".")
    paths = list(files) or sorted(p for p in folder.glob("*") if p.suffix in SHEET_SUFFIXES)
    from erpsync.review import sheets as sheet_files

    sent = {(s.campaign, s.reviewer): s for s in sheets}
    decided: dict[str, tuple[int, str]] = {}
    problems: list[str] = []
    for path in paths:
        try:
            back = sheet_files.read_filled(path, sent, now.date())
        except ReviewSheetError as exc:
            problems.append(str(exc))
            continue
        best = decided.get(back.reviewer)
        if best is None or back.decided > best[0]:
            decided[back.reviewer] = (back.decided, back.source)
    due = found.started.body.get("due")
    overdue = due is not None and now.date() > dt.date.fromisoformat(due)
    say = console.print
    state = "closed" if found.closed else ("open, overdue" if overdue else "open")
    shown_state = _(REVIEW_STATES[state])
    scope = (
        _("department scope") if found.started.body["scope"] == "department" else _("role scope")
    )
    heading = (
        _("Access review {campaign} ({scope}, {state}, due {due})")
        if due
        else _("Access review {campaign} ({scope}, {state})")
    )
    say(heading.format(campaign=found.id, scope=scope, state=shown_state, due=due), markup=False)
    total = done = 0
    progress = []
    for sheet in sheets:
        n, _source = decided.get(sheet.reviewer, (0, ""))
        total, done = total + len(sheet.lines), done + n
        progress.append(ReviewerProgress(sheet.reviewer, sheet.reviewer_name, n, len(sheet.lines)))
        who = f"{sheet.reviewer} ({sheet.reviewer_name})" if sheet.reviewer_name else sheet.reviewer
        mark = (
            _("  {who}: {n}/{lines} decided, done")
            if n == len(sheet.lines)
            else (
                _("  {who}: {n}/{lines} decided, started")
                if n
                else _("  {who}: {n}/{lines} decided, not started")
            )
        )
        say(mark.format(who=who, n=n, lines=len(sheet.lines)), markup=False)
    say(_("Decided {done} of {total} line(s).").format(done=done, total=total), markup=False)
    for problem in problems:
        say(f"  ! {said(problem)}", markup=False)
    if notify:
        notify.post(lambda url: review_summary(target.name, found.id, state, due, progress, url))
    return 0


def close(
    project: Project,
    target: ResolvedTarget,
    policy_dir: Path,
    wanted: str | None,
    files: Sequence[Path],
    pr_body: Path | None,
    console: Console,
    now: dt.datetime | None = None,
) -> int:
    """Check every returned sheet, record the decisions, edit the policy, and print (or
    write) the pull request's description. Any bad sheet: nothing is recorded or edited."""
    from erpsync.policy.edit import apply_edits, commit_staged, discard_staged, stage_edits

    if not files:
        raise UsageError(N_("give the filled sheets to close the review with (XLSX or CSV files)"))
    now = now or dt.datetime.now(dt.UTC)
    loaded = show.load(project, policy_dir)
    found = _campaign(target, wanted)
    if found.closed is not None:
        raise UsageError(
            N_("access review {campaign} was closed on {date}").format(
                campaign=found.id, date=f"{found.closed.recorded_at:%Y-%m-%d}"
            )
        )
    sheets = sheets_of(found)
    filled = _read_all(found, files, now.date())
    blank = [f.source for f in filled if f.decided == 0]
    if blank:
        raise UsageError(
            N_(
                "{files}: no decision on the sheet (is it the unfilled one?); leave a sheet out "
                "to record it as not returned"
            ).format(files=", ".join(blank))
        )
    outcome = decide(sheets, filled, loaded)
    texts = apply_edits(outcome.edits)  # every edit placed before anything is written
    actor = audit.actor()
    due_text = found.started.body.get("due")
    due = dt.date.fromisoformat(due_text) if due_text else None
    description = pr_description(found.id, sheets, outcome, actor, now, due)
    body = {
        "returned": outcome.returned,
        "counts": counts_as_dict(outcome.counts),
        "decisions": outcome.decisions,
        "policy_changes": outcome.changes,
        "manual": outcome.manual,
        "notes": outcome.notes,
        "files_edited": sorted(str(p) for p in texts),
    }
    staged = stage_edits(texts)  # every new file written beside its old one first
    try:
        with connected(target) as adapter, adapter.engine.begin() as conn:
            head = evidence.record(conn, found.id, "closed", actor, body, now)
    except BaseException:
        discard_staged(staged)
        raise
    commit_staged(staged)  # renames only, once the evidence is committed
    say = console.print
    say(
        _(
            "Closed access review {campaign}: {returned} of {sheets} sheet(s), {changes} "
            "policy change(s) in {files} file(s)."
        ).format(
            campaign=found.id,
            returned=len(outcome.returned),
            sheets=len(sheets),
            changes=len(outcome.changes),
            files=len(texts),
        ),
        markup=False,
    )
    say(
        _("Evidence head (keep it with the pull request): {head}").format(
            head=f"{head.id}:{head.hash}"
        ),
        markup=False,
    )
    if pr_body is not None:
        pr_body.write_text(description, encoding="utf-8")
        say(_("Wrote the pull request's description to {file}.").format(file=pr_body), markup=False)
    else:
        write_raw(console, description)
    return 0


def review_doc(target: ResolvedTarget, wanted: str | None) -> dict[str, Any]:
    """The evidence of a campaign (the latest, or ``wanted``) as a report document."""
    from erpsync.review.evidence_view import review_doc as build

    with connected(target) as adapter, adapter.engine.connect() as conn:
        found = evidence.events(conn)
        chosen = evidence.campaign(conn, wanted)
    head = f"{found[-1].id}:{found[-1].hash}" if found else None
    return build(chosen, evidence.verify(found), head)
