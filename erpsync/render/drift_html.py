"""The HTML view of a drift report: one self-contained page for people who are not
engineers (an auditor, a department head).

:func:`html_view` reads the report's JSON form, words every line in Python (the
phrases are shared with the terminal view, :mod:`erpsync.render.drift_text`) and
lays them out with ``templates/drift.html.j2``: a title, when and against which
target, the verdict, the summary counts as large tiles, then one table per
category, each with a sentence saying what it means.

The page works offline and leaks nothing: CSS is inline, and there are no
scripts, fonts, images or links to anywhere. Jinja2's autoescape is on, so a
name holding ``<script>`` is shown as text. A table shows at most
:data:`MAX_ROWS` rows and says how many it left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2

from erpsync.render import clean, show
from erpsync.render.drift_text import (
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
from erpsync.render.templating import template

MAX_ROWS = 2000


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    hint: str
    tone: str  # ok | bad | warn | info


@dataclass(frozen=True)
class Cell:
    text: str
    tone: str = ""  # css classes: key, bad, ok, muted, kind, nowrap
    sub: str = ""  # a second, smaller line


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    intro: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    count: int
    note: str = ""
    tone: str = "bad"  # colour of the count badge


@dataclass(frozen=True)
class Page:
    title: str
    verdict: str
    drift: bool
    facts: tuple[tuple[str, str], ...]  # (label, value) lines under the title
    tiles: tuple[tuple[str, tuple[Tile, ...]], ...]  # ("drift" | "context", tiles)
    sections: tuple[Section, ...]
    warnings: tuple[str, ...]
    footer: str
    clean_note: str = field(default="")


def html_view(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    return _template().render(page=prepare(report))


def prepare(report: Mapping[str, Any]) -> Page:
    summary = report.get("summary") or {}
    target = report.get("target") or {}
    drift = bool(summary.get("drift"))
    name = clean(target.get("name"))
    return Page(
        title=f"Access drift report: {name}",
        verdict=summary_sentence(report),
        drift=drift,
        facts=(
            ("Checked", when(report.get("created_at"))),
            ("ERP", f"{name} ({clean(target.get('adapter'))}) · {clean(target.get('url'))}"),
            ("Last apply by erpsync", last_apply(report)),
            ("Coverage", coverage(report)),
        ),
        tiles=_tiles(summary, report),
        sections=tuple(
            s
            for s in (
                _changed(report.get("changed") or []),
                _missing(report.get("missing") or []),
                _extra(report.get("extra") or []),
                _sod(report.get("sod") or []),
                _expired(report.get("expired_active") or []),
                _unmanaged(report.get("unmanaged") or []),
                _accepted(report.get("accepted") or [], report.get("ignore_file")),
                _dormant(report.get("dormant")),
            )
            if s.count
        ),
        warnings=tuple(clean(w) for w in report.get("warnings") or []),
        footer=(
            f"erpsync {clean(report.get('erpsync_version'))} · report format "
            f"{clean(report.get('format_version'))} · policy {clean(report.get('policy_digest'))}"
            f" · live {clean(report.get('live_digest'))}"
        ),
        clean_note="" if drift else _clean_note(summary),
    )


def _dormant_tile(section: Mapping[str, Any] | None) -> Tile:
    if section is None:
        return Tile("Dormant", "–", "not checked (settings.dormant_days)", "info")
    if section.get("unavailable"):
        return Tile("Dormant", "–", "the ERP keeps no sign-ins erpsync reads", "info")
    n = len(section.get("users") or [])
    return Tile("Dormant", f"{n:,}", f"no sign-in for {section.get('days')}+ days", "info")


def _clean_note(summary: Mapping[str, Any]) -> str:
    accepted = int(summary.get("accepted", 0))
    if not accepted:
        return "Nothing to review."
    known = "1 known difference is" if accepted == 1 else f"{accepted:,} known differences are"
    return f"Nothing new to review; {known} accepted (listed below)."


def _tiles(
    summary: Mapping[str, Any], report: Mapping[str, Any]
) -> tuple[tuple[str, tuple[Tile, ...]], ...]:
    """The drift counts (red when non-zero), then the context figures."""

    def count(key: str) -> int:
        return int(summary.get(key, 0))

    def tile(key: str, label: str, hint: str, tone_if_any: str = "bad") -> Tile:
        n = count(key)
        return Tile(label, f"{n:,}", hint, tone_if_any if n else "ok")

    drift = (
        tile("changed", "Changed", "records edited in the ERP"),
        tile("missing", "Missing", "declared but absent"),
        tile("extra", "Extra", "in the ERP, not declared"),
        tile("sod_violations", "SoD violations", "conflicting duties"),
        tile("expired_active", "Expired but active", "access that should have ended"),
    )
    context = (
        tile("out_of_band", "Out of band", "changed after the last apply"),
        Tile("Coverage", percent(report), coverage(report), "info"),
        tile("unmanaged", "Unmanaged", "left alone by erpsync", "info"),
        tile("accepted", "Accepted", "known drift, not counted", "info"),
        _dormant_tile(report.get("dormant")),
    )
    return (("drift", drift), ("context", context))


def _capped(rows: Sequence[tuple[Cell, ...]]) -> tuple[tuple[tuple[Cell, ...], ...], str]:
    if len(rows) <= MAX_ROWS:
        return tuple(rows), ""
    left = len(rows) - MAX_ROWS
    note = f"… and {left:,} more rows not shown here; the JSON report lists every one."
    return tuple(rows[:MAX_ROWS]), note


def _record(item: Mapping[str, Any]) -> Cell:
    """The key, and under it the kind and display name: ``li.na`` / ``user · 李娜``."""
    name = item.get("name")
    kind = clean(item.get("kind"))
    return Cell(clean(item.get("key")), "key", f"{kind} · {clean(name)}" if name else kind)


def _timing(item: Mapping[str, Any]) -> Cell:
    value = item.get("out_of_band")
    tone = "bad nowrap" if value is True else "muted"
    return Cell(out_of_band(item), tone)


def _section(
    anchor: str,
    title: str,
    intro: str,
    headers: tuple[str, ...],
    rows: Sequence[tuple[Cell, ...]],
    count: int,
    tone: str = "bad",
) -> Section:
    shown, note = _capped(rows)
    return Section(anchor, title, intro, headers, shown, count, note, tone)


def _changed(items: Sequence[Mapping[str, Any]]) -> Section:
    rows = []
    for item in items:
        for change in item.get("fields") or []:
            rows.append(
                (
                    _record(item),
                    Cell(clean(change.get("field")), "nowrap"),
                    Cell(show(change.get("declared")), "ok"),
                    Cell(show(change.get("live")), "bad"),
                    Cell(attribution(item)),
                    _timing(item),
                )
            )
    return _section(
        "changed",
        "Changed in the ERP",
        "These records were edited in the ERP so that they no longer match the approved "
        "policy. “Out of band” means the edit was made after erpsync last applied the "
        "policy, i.e. outside the reviewed process.",
        ("Record", "Field", "Policy says", "ERP has", "Last changed by", "Timing"),
        rows,
        len(items),
    )


def _missing(items: Sequence[Mapping[str, Any]]) -> Section:
    if not any(attributed(i) for i in items):  # nothing the ERP did: what to add, and why
        return _section(
            "missing",
            "Missing from the ERP",
            "The policy grants these, but the ERP does not have them (yet).",
            ("Record", "Declared in"),
            [(_record(i), Cell(clean(i.get("reason")), "muted")) for i in items],
            len(items),
        )
    rows = [
        (
            _record(i),
            Cell(attribution(i)) if attributed(i) else Cell("—", "muted"),
            _timing(i) if attributed(i) else Cell("—", "muted"),
            Cell(clean(i.get("reason")), "muted"),
        )
        for i in items
    ]
    return _section(
        "missing",
        "Missing from the ERP",
        "The policy grants these, but the ERP does not have them (yet, or any more: "
        "what the ERP deleted or revoked itself shows who did it, where it recorded that).",
        ("Record", "Last changed by", "Timing", "Declared in"),
        rows,
        len(items),
    )


def _extra(items: Sequence[Mapping[str, Any]]) -> Section:
    rows = []
    for item in items:
        rows.append(
            (
                _record(item),
                Cell(clean(item.get("apply_action")), "bad nowrap"),
                Cell(attribution(item)),
                _timing(item),
                Cell(clean(item.get("reason")), "muted"),
            )
        )
    return _section(
        "extra",
        "Extra in the ERP",
        "The ERP holds these, but the policy does not declare them; the next apply "
        "would remove them.",
        ("Record", "Next apply would", "Last changed by", "Timing", "Why"),
        rows,
        len(items),
    )


def _sod(items: Sequence[Mapping[str, Any]]) -> Section:
    ordered = sorted(items, key=lambda i: not i.get("counts_as_drift"))
    rows = [
        (
            Cell(clean(i.get("rule")), "key"),
            Cell(clean(i.get("severity")), "bad" if i.get("counts_as_drift") else "nowrap"),
            Cell(clean(i.get("user")), "key"),
            Cell(held(i)),
            Cell(sod_status(i)),
            Cell("yes", "bad") if i.get("counts_as_drift") else Cell(f"no: {clean(i.get('note'))}"),
        )
        for i in ordered
    ]
    counted = sum(1 for i in items if i.get("counts_as_drift"))
    return _section(
        "sod",
        "Separation of duties",
        "People who hold two duties that the policy says must be split between different "
        "people (for example, creating a supplier and approving its payment). Only high "
        "and critical violations without a valid exception count as drift.",
        ("Rule", "Severity", "User", "Holds", "Exception", "Counts as drift"),
        rows,
        len(items),
        "bad" if counted else "info",
    )


def _expired(items: Sequence[Mapping[str, Any]]) -> Section:
    rows = [
        (
            Cell(clean(i.get("login")), "key"),
            Cell(clean(i.get("name") or "")),
            Cell(clean(i.get("expires")), "bad"),
            Cell(", ".join(clean(r) for r in i.get("roles") or []) or "none"),
        )
        for i in items
    ]
    return _section(
        "expired",
        "Expired but still active",
        "Their access should have ended on the date shown, but the account is still "
        "active in the ERP.",
        ("User", "Name", "Expired on", "Roles still held"),
        rows,
        len(items),
    )


def _dormant(section: Mapping[str, Any] | None) -> Section:
    """Shown when there are dormant users; the tile says when the ERP gives no sign-ins."""
    rows = [
        (Cell(login, "key"), Cell(name), Cell(seen, "bad"), Cell(roles), Cell(risky))
        for login, name, seen, roles, risky in dormant_rows(section or {})
    ]
    return _section(
        "dormant",
        dormant_heading(section or {}),
        dormant_intro(section or {}),
        ("User", "Name", "Last sign-in", "Roles", "High-risk access"),
        rows,
        len(rows),
        "info",
    )


def _unmanaged(items: Sequence[Mapping[str, Any]]) -> Section:
    rows = [
        (
            Cell(clean(i.get("kind")), "kind"),
            Cell(clean(i.get("key")), "key"),
            Cell(clean(i.get("reason"))),
        )
        for i in items
    ]
    return _section(
        "unmanaged",
        "Unmanaged",
        "erpsync deliberately leaves these alone (protected built-ins, ignored or "
        "out-of-scope objects). They are not drift.",
        ("Kind", "Key", "Why"),
        rows,
        len(items),
        "info",
    )


def _accepted(items: Sequence[Mapping[str, Any]], source: object) -> Section:
    rows = [
        (
            Cell(category(i)),
            Cell(f"{clean(i.get('kind'))} {clean(i.get('key'))}", "key"),
            Cell(f"{clean(i.get('entry'))} (line {clean(i.get('line'))})"),
            Cell(clean(i.get("reason")) or "no reason given", "muted"),
        )
        for i in items
    ]
    return _section(
        "accepted",
        "Accepted drift",
        f"Known differences that have been accepted in {clean(source or '.erpsyncignore')}; "
        "they are listed for the record and not counted.",
        ("Category", "Object", "Entry", "Reason"),
        rows,
        len(items),
        "info",
    )


def _template() -> jinja2.Template:
    return template("drift.html.j2", autoescape=True, keep_trailing_newline=False)
