"""``erpsync audit log | show ID | verify | head | export | revert ID`` and
``erpsync force-unlock``.

Said in the run's language (:mod:`erpsync.i18n`); the records themselves stay English
data (their reasons and descriptions are said with ``said``), and the JSON, CSV and
export formats never change with the language."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import click
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, inspect

from erpsync import audit, audit_anchor, audit_export, audit_view, lock, owntables, removals
from erpsync.adapters import adapter_class, connected
from erpsync.apply import LOCK_NAME
from erpsync.audit_anchor import Anchor
from erpsync.commands import plan as plan_cmd
from erpsync.commands import write_raw
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import AuditError, UsageError
from erpsync.i18n import N_, _, number, said
from erpsync.revert import revert_plan


def _records(target: ResolvedTarget) -> list[audit.AuditRecord]:
    with connected(target) as adapter, adapter.engine.connect() as conn:
        if not inspect(conn).has_table(owntables.AUDIT_TABLE_NAME):
            return []
        return audit.records(conn)


def _get(target: ResolvedTarget, record_id: int) -> audit.AuditRecord:
    with connected(target) as adapter, adapter.engine.connect() as conn:
        if not inspect(conn).has_table(owntables.AUDIT_TABLE_NAME):
            raise AuditError(
                N_("target {target} has no audit trail yet (nothing applied)").format(
                    target=target.name
                )
            )
        return audit.get(conn, record_id)


def log(
    target: ResolvedTarget,
    console: Console,
    fmt: str = "text",
    filters: audit_view.Filters | None = None,
) -> int:
    """The applies recorded, oldest first, those ``filters`` keep, in ``fmt``."""
    filters = filters or audit_view.Filters()
    kept = list(filters.apply(_records(target)))
    if fmt == "json":
        write_raw(console, audit_view.to_json(kept))
        return 0
    if fmt == "csv":
        write_raw(console, audit_view.to_csv(kept))
        return 0
    if not kept:
        filtered = filters != audit_view.Filters()
        if filtered:
            nothing = _("No applies match the filters for target {target}.")
        else:
            nothing = _("No applies recorded for target {target}.")
        console.print(nothing.format(target=target.name), markup=False)
        return 0
    table = Table(_("id"), _("applied (UTC)"), _("actor"), _("target"), _("commit"), _("changes"))
    for r, changes in kept:
        e = r.entry
        summary = _(", ").join(
            _("{n} {action}").format(n=number(n), action=said(a))
            for a, n in _summary(changes).items()
        )
        table.add_row(
            str(r.id),
            e.applied_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.target,
            (e.git_commit or "")[:10],
            summary,
        )
    console.print(table)
    return 0


def _summary(changes: Iterable[Mapping[str, object]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in changes:
        action = str(change["action"])
        counts[action] = counts.get(action, 0) + 1
    return counts


def show(target: ResolvedTarget, record_id: int, console: Console) -> int:
    r = _get(target, record_id)
    e = r.entry
    console.print(_("Audit record #{id}").format(id=r.id), style="bold", markup=False)
    for label, value in (
        (_("applied at"), e.applied_at.isoformat()),
        (_("actor"), e.actor),
        (_("target"), e.target),
        (_("adapter"), e.adapter),
        (_("git commit"), e.git_commit or "-"),
        (_("git branch"), e.git_branch or "-"),
        ("erpsync", e.erpsync_version),
        (_("policy digest"), e.policy_digest),
        (_("live digest"), e.live_digest),
        (_("hash"), r.hash),
        (_("previous hash"), r.prev_hash or "-"),
    ):
        padded = label + " " * max(0, 14 - cell_len(label))  # Chinese is two columns wide
        console.print(f"  {padded} {value}", markup=False)
    changes = _("  changes ({n}):").format(n=number(len(e.changes)))
    console.print(changes, markup=False)
    for change in e.changes:
        reason = ""
        if change.get("reason"):
            reason = _("  ({reason})").format(reason=said(str(change["reason"])))
        action, kind = said(str(change["action"])), said(str(change["kind"]))
        console.print(f"    {action} {kind} {change['key']}{reason}", markup=False)
        for line in audit_view.describe(change):
            console.print(f"        {said(line)}", markup=False)
    return 0


def verify(
    target: ResolvedTarget,
    console: Console,
    expect_head: str | None = None,
    against: Path | None = None,
) -> int:
    """Check the chain, and against an anchor or an export when given; print the head."""
    anchor = Anchor.parse(expect_head) if expect_head is not None else None
    export = audit_export.read(against) if against is not None else None
    with connected(target) as adapter, adapter.engine.connect() as conn:
        problems = audit.verify(conn)
        if anchor is not None:
            problems += audit_anchor.check(conn, anchor)
        if export is not None:
            problems += audit_export.compare(export, audit.objects(conn))
        missing = audit_anchor.missing_trail(conn)
        count = len(audit.hashes(conn))
        head = audit_anchor.head(conn)
        since = [
            audit_anchor.appended_since(conn, a) if a else 0
            for a in (anchor, export.anchor if export else None)
        ]
    if missing is not None and missing[1]:
        problems.append(missing[0])
    if problems:
        lines = [N_("the audit trail does not verify:"), *(f"  {p}" for p in problems)]
        raise AuditError("\n".join(lines))  # said line by line
    if count == 0:
        nothing = _("No audit records yet for target {target}: nothing to verify.")
        console.print(nothing.format(target=target.name), markup=False)
        if missing is not None:
            warning = _("warning: {message}").format(message=said(missing[0]))
            console.print(warning, style="yellow", markup=False)
    else:
        verified = _("Audit trail verified: {n} record(s), hash chain intact.")
        console.print(verified.format(n=number(count)), markup=False)
    if anchor is not None and anchor.record_id:
        intact = _("Anchor record #{id} is intact; {n} record(s) appended since, chained from it.")
        console.print(intact.format(id=anchor.record_id, n=number(since[0])), markup=False)
    if export is not None:
        present = _(
            "Export {path}: all {n} record(s) present and identical; {since} appended since, "
            "chained from it."
        )
        said_ = present.format(
            path=export.path, n=number(len(export.records)), since=number(since[1])
        )
        console.print(said_, markup=False)
    console.print(_("Head: {anchor}").format(anchor=head), markup=False)
    return 0


def _verified(target: ResolvedTarget) -> tuple[Anchor, list[dict[str, object]]]:
    """The head and every record of a trail that verifies; :class:`AuditError` otherwise."""
    with connected(target) as adapter, adapter.engine.connect() as conn:
        problems = audit.verify(conn)
        missing = audit_anchor.missing_trail(conn)
        if missing is not None and missing[1]:
            problems.append(missing[0])
        if problems:
            first = N_(
                "the audit trail does not verify, so it cannot serve as a reference "
                "(`erpsync audit verify` lists the problems):"
            )
            raise AuditError("\n".join([first, *(f"  {p}" for p in problems)]))
        objects = [obj for _record_id, obj in audit.objects(conn) if obj is not None]
        return audit_anchor.head(conn), objects


def head(target: ResolvedTarget, console: Console) -> int:
    """Print the anchor of a trail that verifies: ``ID:HASH``, for --expect-head."""
    anchor, _objects = _verified(target)
    console.print(str(anchor), markup=False)
    return 0


def export(target: ResolvedTarget, output: Path | None, console: Console) -> int:
    """Write every record of a trail that verifies as JSON Lines, to ``output`` or stdout."""
    anchor, objects = _verified(target)
    text = "".join(audit_export.lines(objects))
    if output is None:
        write_raw(console, text)
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")  # a reader never sees half an export
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    exported = _("Exported {n} audit record(s) to {path}. Head: {anchor}")
    console.print(exported.format(n=number(len(objects)), path=output, anchor=anchor), markup=False)
    return 0


def revert(
    project: Project,
    target: ResolvedTarget,
    record_id: int,
    fmt: str,
    out: Path | None,
    console: Console,
) -> int:
    record = _get(target, record_id)
    settings = project.config.settings
    now = dt.datetime.now(dt.UTC)
    with connected(target) as adapter:
        snapshot = adapter.read()
        recent = removals.read_recent(adapter, settings.max_removals_window, now, target)
    kind = adapter_class(target.adapter)
    plan, _unused = revert_plan(
        record.entry.changes, record_id, snapshot, settings, kind, target, now, recent
    )
    plan_cmd.emit(plan.to_dict(), fmt, out, console)
    return 0


def force_unlock(target: ResolvedTarget, yes: bool, console: Console) -> int:
    with connected(target) as adapter:
        return _force_unlock(adapter.engine, target, yes, console)


def _force_unlock(engine: Engine, target: ResolvedTarget, yes: bool, console: Console) -> int:
    holder = lock.status(engine, LOCK_NAME)
    if holder is None:
        console.print(_("Target {target} is not locked.").format(target=target.name), markup=False)
        return 0
    held = _("The apply lock of target {target} is held by {holder}.")
    console.print(held.format(target=target.name, holder=holder.describe()), markup=False)
    if lock.is_dead(holder):
        dead = _("Its process (pid {pid}) is no longer running on this host.")
        console.print(dead.format(pid=holder.pid), markup=False)
    if not yes and not sys.stdin.isatty():
        raise UsageError(
            N_(
                "standard input is not a terminal, so erpsync cannot ask for confirmation: "
                "add --yes to remove the lock; nothing was changed"
            )
        )
    if not yes and not click.confirm(_("Remove it? Only do this if that apply is dead")):
        console.print(_("Lock kept."))
        return 1
    lock.force_unlock(engine, LOCK_NAME)
    console.print(_("Lock removed."))
    return 0
