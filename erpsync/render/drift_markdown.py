"""The Markdown view of a drift report, for opening or updating a GitHub issue.

:func:`markdown_view` reads the report's JSON form, prepares every table row in
Python (cells escaped with :func:`erpsync.render.markdown.cell`, so no name or
reason can break a table) and lays them out with ``templates/drift.md.j2``: a
title, the ``Drift:`` sentence, the summary counts, when and against what, then
one table per category; unmanaged objects, accepted drift and warnings are
folded in ``<details>``.

An issue body holds at most 65,000 characters. When the full view is longer,
it is rendered again with at most N rows per table for a falling N, down to
the summary alone; each shortened table says how many rows it left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from erpsync.render import show
from erpsync.render.drift_text import (
    COUNTS,
    attributed,
    attribution,
    category,
    coverage,
    dormant_heading,
    dormant_intro,
    dormant_rows,
    held,
    last_apply,
    out_of_band,
    percent,
    sod_status,
    summary_sentence,
    when,
)
from erpsync.render.markdown import cell, code
from erpsync.render.templating import template

ISSUE_LIMIT = 65_000
ROW_CAPS = (None, 1000, 300, 100, 30, 10, 0)  # rows per table, most first
SEE_JSON = "see `erpsync drift --format json`"
OPEN_ROWS = 20  # a folded table this short is shown open


@dataclass(frozen=True)
class Head:
    """The escaped strings above and below the tables."""

    title: str
    sentence: str
    labels: tuple[str, ...]  # the summary table: labels, then counts
    counts: tuple[str, ...]
    context: str
    footer: str


@dataclass(frozen=True)
class Table:
    """One section: a heading, a sentence saying what it is, and escaped rows."""

    heading: str
    intro: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    items: tuple[str, ...] = ()  # a bullet list instead of a table (warnings)
    folded: bool = False


@dataclass(frozen=True)
class Shown:
    """A table as laid out: at most ``cap`` rows, and a note for the rest."""

    table: Table
    rows: tuple[tuple[str, ...], ...]
    items: tuple[str, ...]
    note: str
    open: bool
    total: str  # how many rows or items the whole table has, formatted


def markdown_view(report: Mapping[str, Any], limit: int = ISSUE_LIMIT) -> str:
    """The report as an issue body of at most ``limit`` characters."""
    head, tables = prepare(report)
    for cap in ROW_CAPS:
        text = _template().render(head=head, tables=[_shown(t, cap) for t in tables])
        if len(text) <= limit:
            return text
    raise ValueError(f"the drift summary alone is longer than {limit:,} characters")


def _shown(table: Table, cap: int | None) -> Shown:
    entries = len(table.rows) + len(table.items)
    keep = entries if cap is None else min(cap, entries)
    left = entries - keep
    note = ""
    if left:
        more = "… and " if keep else ""
        noun = "row" if table.rows else "item"
        note = f"{more}{left:,} {'more ' if keep else ''}{noun}{'' if left == 1 else 's'} "
        note += f"not shown; {SEE_JSON}."
    rows, items = table.rows[:keep], table.items[:keep]
    return Shown(table, rows, items, note, entries <= OPEN_ROWS, f"{entries:,}")


# -- preparing strings ---------------------------------------------------------------------


def prepare(report: Mapping[str, Any]) -> tuple[Head, list[Table]]:
    """The escaped head (title, sentence, counts, context, footer) and the tables."""
    summary = report.get("summary") or {}
    target = report.get("target") or {}
    labels = [cell(many[:1].upper() + many[1:]) for _, _, many in COUNTS]
    values = [f"{int(summary.get(key, 0)):,}" for key, *_ in COUNTS]
    labels += ["Out of band", "Unmanaged", "Accepted", "Coverage"]
    values += [f"{int(summary.get(k, 0)):,}" for k in ("out_of_band", "unmanaged", "accepted")] + [
        cell(percent(report))
    ]
    head = Head(
        title=f"erpsync drift: {code(target.get('name'))} ({cell(target.get('adapter'))})",
        sentence=cell(summary_sentence(report)),
        labels=tuple(labels),
        counts=tuple(values),
        context=(
            f"Checked {cell(when(report.get('created_at')))} against "
            f"{code(target.get('url'))}. Last apply: {cell(last_apply(report))}. "
            f"Coverage: {cell(coverage(report))}."
        ),
        footer=" · ".join(
            (
                f"policy {code(report.get('policy_digest'))}",
                f"live {code(report.get('live_digest'))}",
                f"erpsync {cell(report.get('erpsync_version'))}",
                f"report format {cell(report.get('format_version'))}",
            )
        ),
    )
    tables = [
        _changed(report.get("changed") or []),
        _missing(report.get("missing") or []),
        _extra(report.get("extra") or []),
        _sod(report.get("sod") or []),
        _expired(report.get("expired_active") or []),
        _unmanaged(report.get("unmanaged") or []),
        _accepted(report.get("accepted") or [], report.get("ignore_file")),
        _dormant(report.get("dormant")),
        _warnings(report.get("warnings") or []),
    ]
    return head, [t for t in tables if t.rows or t.items]


def _object(item: Mapping[str, Any]) -> str:
    name = item.get("name")
    text = f"{cell(item.get('kind'))} {code(item.get('key'))}"
    return f"{text} ({cell(name)})" if name else text


def _changed(items: Sequence[Mapping[str, Any]]) -> Table:
    rows = []
    for item in items:
        for change in item.get("fields") or []:
            rows.append(
                (
                    _object(item),
                    cell(change.get("field")),
                    cell(show(change.get("declared"))),
                    cell(show(change.get("live"))),
                    cell(attribution(item)),
                    _flag(item),
                )
            )
    return Table(
        "Changed in the ERP",
        "Attributes that differ from the policy, with who last changed the row where the "
        "ERP records it.",
        ("Object", "Field", "Policy", "ERP", "Last changed", "Timing"),
        tuple(rows),
    )


def _flag(item: Mapping[str, Any]) -> str:
    text = cell(out_of_band(item))
    return f"**{text}**" if item.get("out_of_band") is True else text


def _missing(items: Sequence[Mapping[str, Any]]) -> Table:
    if not any(attributed(i) for i in items):  # nothing the ERP did: what to add, and why
        return Table(
            "Missing from the ERP",
            "Declared in the policy but absent from the ERP; apply would add them.",
            ("Object", "Declared"),
            tuple((_object(i), cell(i.get("reason"))) for i in items),
        )
    rows = tuple(
        (
            _object(i),
            cell(attribution(i)) if attributed(i) else "—",
            _flag(i) if attributed(i) else "—",
            cell(i.get("reason")),
        )
        for i in items
    )
    return Table(
        "Missing from the ERP",
        "Declared in the policy but absent from the ERP; apply would add them.",
        ("Object", "Last changed", "Timing", "Declared"),
        rows,
    )


def _extra(items: Sequence[Mapping[str, Any]]) -> Table:
    rows = []
    for item in items:
        rows.append(
            (
                _object(item),
                cell(item.get("apply_action")),
                cell(attribution(item)),
                _flag(item),
                cell(item.get("reason")),
            )
        )
    return Table(
        "Extra in the ERP",
        "In the ERP, managed by erpsync, but not declared; apply would remove them.",
        ("Object", "Apply would", "Last changed", "Timing", "Reason"),
        tuple(rows),
    )


def _sod(items: Sequence[Mapping[str, Any]]) -> Table:
    ordered = sorted(items, key=lambda i: not i.get("counts_as_drift"))
    rows = tuple(
        (
            cell(i.get("rule")),
            cell(i.get("severity")),
            code(i.get("user")),
            cell(held(i)),
            cell(sod_status(i)),
            "**yes**" if i.get("counts_as_drift") else f"no: {cell(i.get('note'))}",
        )
        for i in ordered
    )
    return Table(
        "Separation-of-duties violations",
        "Users of the live ERP who hold one permission of each conflicting set of a rule.",
        ("Rule", "Severity", "User", "Holds", "Exception", "Counts as drift"),
        rows,
    )


def _expired(items: Sequence[Mapping[str, Any]]) -> Table:
    rows = tuple(
        (
            code(i.get("login")),
            cell(i.get("name")),
            cell(i.get("expires")),
            cell(", ".join(str(r) for r in i.get("roles") or []) or "none"),
        )
        for i in items
    )
    return Table(
        "Expired but still active",
        "Users whose access expired in the policy but who are still active in the ERP.",
        ("User", "Name", "Expired", "Roles still held"),
        rows,
    )


def _dormant(section: Mapping[str, Any] | None) -> Table:
    if section is None:
        return Table("", "", (), ())
    if section.get("unavailable"):
        return Table(dormant_heading(section), "", (), (), items=(dormant_intro(section),))
    rows = tuple(
        (code(login), cell(name), cell(seen), cell(roles), cell(risky))
        for login, name, seen, roles, risky in dormant_rows(section)
    )
    return Table(
        dormant_heading(section),
        dormant_intro(section),
        ("User", "Name", "Last sign-in", "Roles", "High-risk access"),
        rows,
    )


def _unmanaged(items: Sequence[Mapping[str, Any]]) -> Table:
    rows = tuple((cell(i.get("kind")), code(i.get("key")), cell(i.get("reason"))) for i in items)
    return Table(
        "Unmanaged objects",
        "erpsync leaves these alone; they are not drift.",
        ("Kind", "Key", "Why"),
        rows,
        folded=True,
    )


def _accepted(items: Sequence[Mapping[str, Any]], source: object) -> Table:
    rows = tuple(
        (
            cell(category(i)),
            f"{cell(i.get('kind'))} {code(i.get('key'))}",
            f"{code(i.get('entry'))} (line {cell(i.get('line'))})",
            cell(i.get("reason")),
        )
        for i in items
    )
    return Table(
        "Accepted drift",
        f"Known drift listed in {code(source or '.erpsyncignore')}; not counted.",
        ("Category", "Object", "Entry", "Reason"),
        rows,
        folded=True,
    )


def _warnings(items: Sequence[object]) -> Table:
    return Table("Warnings", "", (), (), items=tuple(cell(w) for w in items), folded=True)


def _template() -> jinja2.Template:
    return template("drift.md.j2", autoescape=False)
