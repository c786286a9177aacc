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

from erpsync import i18n
from erpsync.i18n import _, ngettext
from erpsync.render import clean, show
from erpsync.render.drift_text import (
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
    shown_count: str = ""  # ``count`` as people read it


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
    lang: str = "en"  # of <html lang>
    groups: tuple[tuple[str, str], ...] = ()  # (tile group, its label for a screen reader)
    warnings_title: str = "Warnings"
    warnings_count: str = ""


def html_view(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    return _template().render(page=prepare(report))


def prepare(report: Mapping[str, Any]) -> Page:
    summary = report.get("summary") or {}
    target = report.get("target") or {}
    drift = bool(summary.get("drift"))
    name = clean(target.get("name"))
    warnings = tuple(clean(i18n.said(str(w))) for w in report.get("warnings") or [])
    url = clean(target.get("url"))
    erp = _("{name} ({adapter}) · {url}")
    footer = _("erpsync {version} · report format {format} · policy {policy} · live {live}")
    return Page(
        title=_("Access drift report: {name}").format(name=name),
        verdict=summary_sentence(report),
        drift=drift,
        facts=(
            (_("Checked"), when(report.get("created_at"))),
            ("ERP", erp.format(name=name, adapter=clean(target.get("adapter")), url=url)),
            (_("Last apply by erpsync"), last_apply(report)),
            (_("Coverage"), coverage(report)),
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
        warnings=warnings,
        footer=footer.format(
            version=clean(report.get("erpsync_version")),
            format=clean(report.get("format_version")),
            policy=clean(report.get("policy_digest")),
            live=clean(report.get("live_digest")),
        ),
        clean_note="" if drift else _clean_note(summary),
        lang="en" if i18n.language() == i18n.ENGLISH else "zh-CN",
        groups=(("drift", _("Drift")), ("context", _("Context"))),
        warnings_title=_("Warnings"),
        warnings_count=i18n.number(len(warnings)),
    )


def _dormant_tile(section: Mapping[str, Any] | None) -> Tile:
    title = _("Dormant")
    if section is None:
        return Tile(title, "–", _("not checked (settings.dormant_days)"), "info")
    if section.get("unavailable"):
        return Tile(title, "–", _("the ERP keeps no sign-ins erpsync reads"), "info")
    n = len(section.get("users") or [])
    hint = _("no sign-in for {days}+ days").format(days=section.get("days"))
    return Tile(title, num(n), hint, "info")


def _clean_note(summary: Mapping[str, Any]) -> str:
    accepted = int(summary.get("accepted", 0))
    if not accepted:
        return _("Nothing to review.")
    return ngettext(
        "Nothing new to review; {n} known difference is accepted (listed below).",
        "Nothing new to review; {n} known differences are accepted (listed below).",
        accepted,
    ).format(n=num(accepted))


def _tiles(
    summary: Mapping[str, Any], report: Mapping[str, Any]
) -> tuple[tuple[str, tuple[Tile, ...]], ...]:
    """The drift counts (red when non-zero), then the context figures."""

    def count(key: str) -> int:
        return int(summary.get(key, 0))

    def tile(key: str, label: str, hint: str, tone_if_any: str = "bad") -> Tile:
        n = count(key)
        return Tile(label, num(n), hint, tone_if_any if n else "ok")

    drift = (
        tile("changed", _(TITLES["changed"]), _("records edited in the ERP")),
        tile("missing", _(TITLES["missing"]), _("declared but absent")),
        tile("extra", _(TITLES["extra"]), _("in the ERP, not declared")),
        tile("sod_violations", _(TITLES["sod_violations"]), _("conflicting duties")),
        tile("expired_active", _(TITLES["expired_active"]), _("access that should have ended")),
    )
    context = (
        tile("out_of_band", _("Out of band"), _("changed after the last apply")),
        Tile(_("Coverage"), percent(report), coverage(report), "info"),
        tile("unmanaged", _("Unmanaged"), _("left alone by erpsync"), "info"),
        tile("accepted", _("Accepted"), _("known drift, not counted"), "info"),
        _dormant_tile(report.get("dormant")),
    )
    return (("drift", drift), ("context", context))


def _capped(rows: Sequence[tuple[Cell, ...]]) -> tuple[tuple[tuple[Cell, ...], ...], str]:
    if len(rows) <= MAX_ROWS:
        return tuple(rows), ""
    left = len(rows) - MAX_ROWS
    note = ngettext(
        "… and {n} more row not shown here; the JSON report lists every one.",
        "… and {n} more rows not shown here; the JSON report lists every one.",
        left,
    ).format(n=num(left))
    return tuple(rows[:MAX_ROWS]), note


def _record(item: Mapping[str, Any]) -> Cell:
    """The key, and under it the kind and display name: ``li.na`` / ``user · 李娜``."""
    name = item.get("name")
    what = kind(item.get("kind"))
    return Cell(clean(item.get("key")), "key", f"{what} · {clean(name)}" if name else what)


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
    return Section(anchor, title, intro, headers, shown, count, note, tone, num(count))


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
        _("Changed in the ERP"),
        _(
            "These records were edited in the ERP so that they no longer match the approved "
            "policy. “Out of band” means the edit was made after erpsync last applied the "
            "policy, i.e. outside the reviewed process."
        ),
        (
            _("Record"),
            _("Field"),
            _("Policy says"),
            _("ERP has"),
            _("Last changed by"),
            _("Timing"),
        ),
        rows,
        len(items),
    )


def _missing(items: Sequence[Mapping[str, Any]]) -> Section:
    if not any(attributed(i) for i in items):  # nothing the ERP did: what to add, and why
        return _section(
            "missing",
            _("Missing from the ERP"),
            _("The policy grants these, but the ERP does not have them (yet)."),
            (_("Record"), _("Declared in")),
            [(_record(i), Cell(reason(i), "muted")) for i in items],
            len(items),
        )
    rows = [
        (
            _record(i),
            Cell(attribution(i)) if attributed(i) else Cell("—", "muted"),
            _timing(i) if attributed(i) else Cell("—", "muted"),
            Cell(reason(i), "muted"),
        )
        for i in items
    ]
    return _section(
        "missing",
        _("Missing from the ERP"),
        _(
            "The policy grants these, but the ERP does not have them (yet, or any more: "
            "what the ERP deleted or revoked itself shows who did it, where it recorded that)."
        ),
        (_("Record"), _("Last changed by"), _("Timing"), _("Declared in")),
        rows,
        len(items),
    )


def _extra(items: Sequence[Mapping[str, Any]]) -> Section:
    rows = []
    for item in items:
        rows.append(
            (
                _record(item),
                Cell(action(item), "bad nowrap"),
                Cell(attribution(item)),
                _timing(item),
                Cell(reason(item), "muted"),
            )
        )
    return _section(
        "extra",
        _("Extra in the ERP"),
        _(
            "The ERP holds these, but the policy does not declare them; the next apply "
            "would remove them."
        ),
        (_("Record"), _("Next apply would"), _("Last changed by"), _("Timing"), _("Why")),
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
            Cell(_("yes"), "bad")
            if i.get("counts_as_drift")
            else Cell(_("no: {reason}").format(reason=note(i))),
        )
        for i in ordered
    ]
    counted = sum(1 for i in items if i.get("counts_as_drift"))
    return _section(
        "sod",
        _("Separation of duties"),
        _(
            "People who hold two duties that the policy says must be split between different "
            "people (for example, creating a supplier and approving its payment). Only high "
            "and critical violations without a valid exception count as drift."
        ),
        (_("Rule"), _("Severity"), _("User"), _("Holds"), _("Exception"), _("Counts as drift")),
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
            Cell(roles_held(i.get("roles") or [])),
        )
        for i in items
    ]
    return _section(
        "expired",
        _("Expired but still active"),
        _(
            "Their access should have ended on the date shown, but the account is still "
            "active in the ERP."
        ),
        (_("User"), _("Name"), _("Expired on"), _("Roles still held")),
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
        (_("User"), _("Name"), _("Last sign-in"), _("Roles"), _("High-risk access")),
        rows,
        len(rows),
        "info",
    )


def _unmanaged(items: Sequence[Mapping[str, Any]]) -> Section:
    rows = [
        (
            Cell(kind(i.get("kind")), "kind"),
            Cell(clean(i.get("key")), "key"),
            Cell(reason(i)),
        )
        for i in items
    ]
    return _section(
        "unmanaged",
        _("Unmanaged"),
        _(
            "erpsync deliberately leaves these alone (protected built-ins, ignored or "
            "out-of-scope objects). They are not drift."
        ),
        (_("Kind"), _("Key"), _("Why")),
        rows,
        len(items),
        "info",
    )


def _accepted(items: Sequence[Mapping[str, Any]], source: object) -> Section:
    rows = [
        (
            Cell(category(i)),
            Cell(f"{kind(i.get('kind'))} {clean(i.get('key'))}", "key"),
            Cell(
                _("{entry} (line {line})").format(
                    entry=clean(i.get("entry")), line=clean(i.get("line"))
                )
            ),
            Cell(clean(i.get("reason")) or _("no reason given"), "muted"),
        )
        for i in items
    ]
    return _section(
        "accepted",
        _("Accepted drift"),
        _(
            "Known differences that have been accepted in {file}; they are listed for the "
            "record and not counted."
        ).format(file=clean(source or ".erpsyncignore")),
        (_("Category"), _("Object"), _("Entry"), _("Reason")),
        rows,
        len(items),
        "info",
    )


def _template() -> jinja2.Template:
    return template("drift.html.j2", autoescape=True, keep_trailing_newline=False)
