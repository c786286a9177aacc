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

from erpsync.i18n import N_, _, ngettext, said
from erpsync.render import show
from erpsync.render.drift_text import (
    COUNTS,
    TITLES,
    action,
    attributed,
    attribution,
    category,
    coverage,
    dormant_heading,
    dormant_intro,
    dormant_rows,
    held,
    kind,
    last_apply,
    note,
    num,
    out_of_band,
    percent,
    reason,
    roles_held,
    sod_status,
    summary_sentence,
    when,
)
from erpsync.render.markdown import cell, code
from erpsync.render.templating import template

ISSUE_LIMIT = 65_000
ROW_CAPS = (None, 1000, 300, 100, 30, 10, 0)  # rows per table, most first
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
    title: str = ""  # the heading with the total: ``Extra in the ERP (4)``


def markdown_view(report: Mapping[str, Any], limit: int = ISSUE_LIMIT) -> str:
    """The report as an issue body of at most ``limit`` characters."""
    head, tables = prepare(report)
    for cap in ROW_CAPS:
        text = _template().render(head=head, tables=[_shown(t, cap) for t in tables])
        if len(text) <= limit:
            return text
    too_long = N_("the drift summary alone is longer than {limit} characters")
    raise ValueError(too_long.format(limit=f"{limit:,}"))


def _shown(table: Table, cap: int | None) -> Shown:
    entries = len(table.rows) + len(table.items)
    keep = entries if cap is None else min(cap, entries)
    left = entries - keep
    note = ""
    if left:
        see = _("see `erpsync drift --format json`")
        n = num(left)
        if table.rows and keep:
            text = ngettext(
                "… and {n} more row not shown; {see}.",
                "… and {n} more rows not shown; {see}.",
                left,
            )
        elif table.rows:
            text = ngettext("{n} row not shown; {see}.", "{n} rows not shown; {see}.", left)
        elif keep:
            text = ngettext(
                "… and {n} more item not shown; {see}.",
                "… and {n} more items not shown; {see}.",
                left,
            )
        else:
            text = ngettext("{n} item not shown; {see}.", "{n} items not shown; {see}.", left)
        note = text.format(n=n, see=see)
    rows, items = table.rows[:keep], table.items[:keep]
    total = num(entries)
    title = _("{heading} ({n})").format(heading=table.heading, n=total)
    return Shown(table, rows, items, note, entries <= OPEN_ROWS, total, title)


# -- preparing strings ---------------------------------------------------------------------


def prepare(report: Mapping[str, Any]) -> tuple[Head, list[Table]]:
    """The escaped head (title, sentence, counts, context, footer) and the tables."""
    summary = report.get("summary") or {}
    target = report.get("target") or {}
    labels = [cell(_(TITLES[key])) for key, *_rest in COUNTS]
    values = [num(int(summary.get(key, 0))) for key, *_rest in COUNTS]
    labels += [cell(_(t)) for t in ("Out of band", "Unmanaged", "Accepted", "Coverage")]
    values += [num(int(summary.get(k, 0))) for k in ("out_of_band", "unmanaged", "accepted")] + [
        cell(percent(report))
    ]
    title = _("erpsync drift: {target} ({adapter})")
    context = _("Checked {when} against {url}. Last apply: {last}. Coverage: {coverage}.")
    head = Head(
        title=title.format(target=code(target.get("name")), adapter=cell(target.get("adapter"))),
        sentence=cell(summary_sentence(report)),
        labels=tuple(labels),
        counts=tuple(values),
        context=context.format(
            when=cell(when(report.get("created_at"))),
            url=code(target.get("url")),
            last=cell(last_apply(report)),
            coverage=cell(coverage(report)),
        ),
        footer=" · ".join(
            (
                _("policy {digest}").format(digest=code(report.get("policy_digest"))),
                _("live {digest}").format(digest=code(report.get("live_digest"))),
                f"erpsync {cell(report.get('erpsync_version'))}",
                _("report format {version}").format(version=cell(report.get("format_version"))),
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
    text = f"{cell(kind(item.get('kind')))} {code(item.get('key'))}"
    return _("{object} ({name})").format(object=text, name=cell(name)) if name else text


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
        _("Changed in the ERP"),
        _(
            "Attributes that differ from the policy, with who last changed the row where the "
            "ERP records it."
        ),
        (_("Object"), _("Field"), _("Policy"), _("ERP"), _("Last changed"), _("Timing")),
        tuple(rows),
    )


def _flag(item: Mapping[str, Any]) -> str:
    text = cell(out_of_band(item))
    return f"**{text}**" if item.get("out_of_band") is True else text


def _missing(items: Sequence[Mapping[str, Any]]) -> Table:
    intro = _("Declared in the policy but absent from the ERP; apply would add them.")
    if not any(attributed(i) for i in items):  # nothing the ERP did: what to add, and why
        return Table(
            _("Missing from the ERP"),
            intro,
            (_("Object"), _("Declared")),
            tuple((_object(i), cell(reason(i))) for i in items),
        )
    rows = tuple(
        (
            _object(i),
            cell(attribution(i)) if attributed(i) else "—",
            _flag(i) if attributed(i) else "—",
            cell(reason(i)),
        )
        for i in items
    )
    return Table(
        _("Missing from the ERP"),
        intro,
        (_("Object"), _("Last changed"), _("Timing"), _("Declared")),
        rows,
    )


def _extra(items: Sequence[Mapping[str, Any]]) -> Table:
    rows = []
    for item in items:
        rows.append(
            (
                _object(item),
                cell(action(item)),
                cell(attribution(item)),
                _flag(item),
                cell(reason(item)),
            )
        )
    return Table(
        _("Extra in the ERP"),
        _("In the ERP, managed by erpsync, but not declared; apply would remove them."),
        (_("Object"), _("Apply would"), _("Last changed"), _("Timing"), _("Reason")),
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
            "**" + _("yes") + "**"
            if i.get("counts_as_drift")
            else _("no: {reason}").format(reason=cell(note(i))),
        )
        for i in ordered
    )
    return Table(
        _("Separation-of-duties violations"),
        _("Users of the live ERP who hold one permission of each conflicting set of a rule."),
        (_("Rule"), _("Severity"), _("User"), _("Holds"), _("Exception"), _("Counts as drift")),
        rows,
    )


def _expired(items: Sequence[Mapping[str, Any]]) -> Table:
    rows = tuple(
        (
            code(i.get("login")),
            cell(i.get("name")),
            cell(i.get("expires")),
            cell(roles_held(i.get("roles") or [])),
        )
        for i in items
    )
    return Table(
        _("Expired but still active"),
        _("Users whose access expired in the policy but who are still active in the ERP."),
        (_("User"), _("Name"), _("Expired"), _("Roles still held")),
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
        (_("User"), _("Name"), _("Last sign-in"), _("Roles"), _("High-risk access")),
        rows,
    )


def _unmanaged(items: Sequence[Mapping[str, Any]]) -> Table:
    rows = tuple((cell(kind(i.get("kind"))), code(i.get("key")), cell(reason(i))) for i in items)
    return Table(
        _("Unmanaged objects"),
        _("erpsync leaves these alone; they are not drift."),
        (_("Kind"), _("Key"), _("Why")),
        rows,
        folded=True,
    )


def _accepted(items: Sequence[Mapping[str, Any]], source: object) -> Table:
    rows = tuple(
        (
            cell(category(i)),
            f"{cell(kind(i.get('kind')))} {code(i.get('key'))}",
            _("{entry} (line {line})").format(entry=code(i.get("entry")), line=cell(i.get("line"))),
            cell(i.get("reason")),
        )
        for i in items
    )
    return Table(
        _("Accepted drift"),
        _("Known drift listed in {file}; not counted.").format(
            file=code(source or ".erpsyncignore")
        ),
        (_("Category"), _("Object"), _("Entry"), _("Reason")),
        rows,
        folded=True,
    )


def _warnings(items: Sequence[object]) -> Table:
    warnings = tuple(cell(said(str(w))) for w in items)
    return Table(_("Warnings"), "", (), (), items=warnings, folded=True)


def _template() -> jinja2.Template:
    return template("drift.md.j2", autoescape=False)
