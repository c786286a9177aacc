"""``erpsync audit log | show ID | verify | head | export | revert ID`` and
``erpsync force-unlock``."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import click
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
from erpsync.revert import revert_plan


def _records(target: ResolvedTarget) -> list[audit.AuditRecord]:
    with connected(target) as adapter, adapter.engine.connect() as conn:
        if not inspect(conn).has_table(owntables.AUDIT_TABLE_NAME):
            return []
        return audit.records(conn)


def _get(target: ResolvedTarget, record_id: int) -> audit.AuditRecord:
    with connected(target) as adapter, adapter.engine.connect() as conn:
        if not inspect(conn).has_table(owntables.AUDIT_TABLE_NAME):
            raise AuditError(f"target {target.name} has no audit trail yet (nothing applied)")
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
        what = "No applies match the filters" if filtered else "No applies recorded"
        console.print(f"{what} for target {target.name}.", markup=False)
        return 0
    table = Table("id", "applied (UTC)", "actor", "target", "commit", "changes")
    for r, changes in kept:
        e = r.entry
        summary = ", ".join(f"{n} {a}" for a, n in _summary(changes).items())
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
    console.print(f"Audit record #{r.id}", style="bold")
    for label, value in (
        ("applied at", e.applied_at.isoformat()),
        ("actor", e.actor),
        ("target", e.target),
        ("adapter", e.adapter),
        ("git commit", e.git_commit or "-"),
        ("git branch", e.git_branch or "-"),
        ("erpsync", e.erpsync_version),
        ("policy digest", e.policy_digest),
        ("live digest", e.live_digest),
        ("hash", r.hash),
        ("previous hash", r.prev_hash or "-"),
    ):
        console.print(f"  {label:14} {value}", markup=False)
    console.print(f"  changes ({len(e.changes)}):")
    for change in e.changes:
        reason = f"  ({change['reason']})" if change.get("reason") else ""
        console.print(
            f"    {change['action']} {change['kind']} {change['key']}{reason}", markup=False
        )
        for line in audit_view.describe(change):
            console.print(f"        {line}", markup=False)
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
        raise AuditError(
            "the audit trail does not verify:\n" + "\n".join(f"  {p}" for p in problems)
        )
    if count == 0:
        console.print(f"No audit records yet for target {target.name}: nothing to verify.")
        if missing is not None:
            console.print(f"warning: {missing[0]}", style="yellow", markup=False)
    else:
        console.print(f"Audit trail verified: {count} record(s), hash chain intact.")
    if anchor is not None and anchor.record_id:
        console.print(
            f"Anchor record #{anchor.record_id} is intact; {since[0]} record(s) appended "
            "since, chained from it.",
            markup=False,
        )
    if export is not None:
        console.print(
            f"Export {export.path}: all {len(export.records)} record(s) present and "
            f"identical; {since[1]} appended since, chained from it.",
            markup=False,
        )
    console.print(f"Head: {head}", markup=False)
    return 0


def _verified(target: ResolvedTarget) -> tuple[Anchor, list[dict[str, object]]]:
    """The head and every record of a trail that verifies; :class:`AuditError` otherwise."""
    with connected(target) as adapter, adapter.engine.connect() as conn:
        problems = audit.verify(conn)
        missing = audit_anchor.missing_trail(conn)
        if missing is not None and missing[1]:
            problems.append(missing[0])
        if problems:
            raise AuditError(
                "the audit trail does not verify, so it cannot serve as a reference "
                "(`erpsync audit verify` lists the problems):\n"
                + "\n".join(f"  {p}" for p in problems)
            )
        objects = [obj for _, obj in audit.objects(conn) if obj is not None]
        return audit_anchor.head(conn), objects


def head(target: ResolvedTarget, console: Console) -> int:
    """Print the anchor of a trail that verifies: ``ID:HASH``, for --expect-head."""
    anchor, _ = _verified(target)
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
    console.print(
        f"Exported {len(objects)} audit record(s) to {output}. Head: {anchor}", markup=False
    )
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
    plan, _ = revert_plan(
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
        console.print(f"Target {target.name} is not locked.")
        return 0
    console.print(
        f"The apply lock of target {target.name} is held by {holder.describe()}.", markup=False
    )
    if lock.is_dead(holder):
        console.print(f"Its process (pid {holder.pid}) is no longer running on this host.")
    if not yes and not sys.stdin.isatty():
        raise UsageError(
            "standard input is not a terminal, so erpsync cannot ask for confirmation: "
            "add --yes to remove the lock; nothing was changed"
        )
    if not yes and not click.confirm("Remove it? Only do this if that apply is dead"):
        console.print("Lock kept.")
        return 1
    lock.force_unlock(engine, LOCK_NAME)
    console.print("Lock removed.")
    return 0
