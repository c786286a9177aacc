"""The Markdown view of a plan, for a GitHub pull-request comment.

:func:`markdown_view` reads the plan's JSON form, prepares every table row in
Python (cells escaped so that no name or reason can break a table), and lays
them out with ``templates/plan.md.j2``: a title, the summary, the guards'
verdicts, then the changes, open, in the order a reviewer needs them:

1. the removals (deletions, deactivations, revokes);
2. the additions and updates touching a role of note (``risk: high|critical``,
   or granting a permission a separation-of-duties rule names: the plan's
   ``roles_of_note``);
3. the other additions and updates;

and last the warnings, folded in one ``<details>`` whose summary counts them per
kind, and the unmanaged objects, folded too. The digests close it.

A comment holds at most 65,000 characters (GitHub's limit is 65,536). When the full
view is longer, sections are grouped by pattern instead of listed
(:mod:`erpsync.render.plan_groups`), the last section first: the additions, then
the role-of-note section, then the removals. A section first keeps its table of
departments, roles and users and groups only its permission and membership
changes, then groups everything; if patterns are still too long, a section
falls back to a count per kind and action, and last the warnings and
unmanaged objects are only counted. A grouped section says so and points at the
JSON plan; nothing is ever left out without being counted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import jinja2

from erpsync import i18n
from erpsync.i18n import N_, _, ngettext, said
from erpsync.render import (
    ACTION_NAMES,
    ACTIONS,
    REMOVALS,
    action_name,
    clean,
    guard_line,
    kind_name,
    said_summary,
    show,
    split_key,
    summary_counts,
    summary_sentence,
)
from erpsync.render.plan_groups import kinds, patterns
from erpsync.render.templating import template

COMMENT_LIMIT = 65_000
SEE_JSON = N_("see the plan artifact / `erpsync plan --format json`")
LISTED_EXTRAS = 50  # unmanaged objects and warnings listed at most
WARNING_KINDS = 5  # kinds of warning named in the warnings' summary
OBJECT_HEADERS = (N_("Action"), N_("Kind"), N_("Key"), N_("Attributes"), N_("Reason"))
# A declared risk as the role-of-note mark says it.
RISKS = {"high": N_("risk high"), "critical": N_("risk critical")}
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$])")
_DIAGNOSTIC = re.compile(r"^.+?:\d+(?::\d+)?: warning: (?:(\w+) [^\s:]+: )?(.*)$")
_OBJECT = re.compile(r"^(department|role|user|permission|membership) \S+ (.*)$")
_DETAIL = re.compile(r"\s*\([^)]*\)|\d[\d-]*")


class Mode(IntEnum):
    """How a section's changes are shown, most detail first."""

    LIST = 0  # one row per change
    OBJECTS = 1  # a row per department, role or user change; grants grouped by pattern
    PATTERNS = 2  # one line per group of changes sharing a pattern
    KINDS = 3  # one count per kind and action


@dataclass(frozen=True)
class Detail:
    removals: Mode = Mode.LIST
    noted: Mode = Mode.LIST
    additions: Mode = Mode.LIST
    extras: bool = True


# The levels of detail tried in turn: the last section is grouped first.
LEVELS = (
    Detail(),
    Detail(additions=Mode.OBJECTS),
    Detail(additions=Mode.PATTERNS),
    Detail(noted=Mode.OBJECTS, additions=Mode.PATTERNS),
    Detail(noted=Mode.PATTERNS, additions=Mode.PATTERNS),
    Detail(Mode.OBJECTS, Mode.PATTERNS, Mode.PATTERNS),
    Detail(Mode.PATTERNS, Mode.PATTERNS, Mode.PATTERNS),
    Detail(Mode.PATTERNS, Mode.PATTERNS, Mode.KINDS),
    Detail(Mode.PATTERNS, Mode.KINDS, Mode.KINDS),
    Detail(Mode.KINDS, Mode.KINDS, Mode.KINDS),
    Detail(Mode.KINDS, Mode.KINDS, Mode.KINDS, extras=False),
)


@dataclass(frozen=True)
class Block:
    """One laid-out piece: a table or a list, optionally folded, and a note after it."""

    label: str = ""
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    items: tuple[str, ...] = ()
    folded: bool = False  # inside <details>, with the label as its summary
    note: str = ""
    objects: bool = False  # the table of departments, roles and users


@dataclass(frozen=True)
class Section:
    """One heading's changes, in each form it can take."""

    heading: str
    part: str  # "removals", "noted" or "additions": which part of the plan it is
    count: int
    listed: tuple[Block, ...]  # the objects' table first, if any
    grouped: tuple[str, ...]  # one escaped sentence per pattern
    grants_grouped: tuple[str, ...]  # the same, of the permission and membership changes
    grants: int  # how many permission and membership changes
    counted: tuple[tuple[str, str, str], ...]  # (kind, action, count)

    def blocks(self, mode: Mode) -> list[Block]:
        if mode is Mode.LIST:
            return list(self.listed)
        if mode is Mode.OBJECTS:
            objects = [b for b in self.listed if b.objects]
            note = _(
                "Grouped to fit one comment: the {n} permission and membership changes are "
                "not listed one by one; {see} for the full plan."
            ).format(n=grouped(self.grants), see=_(SEE_JSON))
            by_pattern = Block(
                label=_("Permissions and memberships by pattern"),
                items=self.grants_grouped,
                note=note,
            )
            return [*objects, by_pattern] if self.grants else objects
        note = _(GROUPED[self.part]).format(n=grouped(self.count), see=_(SEE_JSON))
        if mode is Mode.PATTERNS:
            return [Block(label=_("By pattern"), items=self.grouped, note=note)]
        return [
            Block(
                label=_("Counted per kind"),
                headers=(_("Kind"), _("Action"), _("Count")),
                rows=self.counted,
                note=note,
            )
        ]


# The note of a section grouped to fit one comment, per part of the plan.
GROUPED = {
    "removals": N_(
        "Grouped to fit one comment: the {n} removals are not listed one by one; {see} for "
        "the full plan."
    ),
    "noted": N_(
        "Grouped to fit one comment: the {n} changes to roles of note are not listed one by "
        "one; {see} for the full plan."
    ),
    "additions": N_(
        "Grouped to fit one comment: the {n} additions and updates are not listed one by "
        "one; {see} for the full plan."
    ),
}


def grouped(n: int) -> str:
    """A count with its digits grouped, as the language writes it (``12,345``)."""
    return f"{n:,}" if i18n.language() == i18n.ENGLISH else i18n.number(n)


@dataclass(frozen=True)
class Prepared:
    """Everything the template can show, as escaped strings, computed once."""

    title: str
    counts: tuple[tuple[str, ...], tuple[str, ...]]  # summary table: actions, counts
    sentence: str
    notes: tuple[str, ...]
    guards: tuple[tuple[str, bool], ...]  # each guard's verdict as a sentence, and passed
    sections: tuple[Section, ...]  # removals, role-of-note changes, additions (non-empty)
    modes: tuple[str, ...]  # which Detail field applies to each section
    extras: tuple[Block, ...]  # warnings and unmanaged objects
    extras_count: dict[str, int]  # {"warning": 3, "unmanaged object": 12}
    footer: str


def markdown_view(plan: Mapping[str, Any], limit: int = COMMENT_LIMIT) -> str:
    """The plan as a GitHub comment of at most ``limit`` characters."""
    prepared = prepare(plan)
    for detail in LEVELS:
        text = render(prepared, detail)
        if len(text) <= limit:
            return text
    raise ValueError(f"the plan's summary alone is longer than {limit:,} characters")


def _sentence(plan: Mapping[str, Any]) -> str:
    """The ``Plan: …`` sentence, in English exactly as scripts read it."""
    if i18n.language() == i18n.ENGLISH:
        return summary_sentence(plan, thousands=True)
    return said_summary(plan)


# -- preparing strings ---------------------------------------------------------------------


def cell(value: object) -> str:
    """Text safe inside a table cell: Markdown specials escaped, newlines as ``<br>``."""
    lines = clean_lines(value)
    return "<br>".join(_SPECIAL.sub(r"\\\1", line) for line in lines)


def clean_lines(value: object) -> list[str]:
    return [clean(line) for line in ("" if value is None else str(value)).splitlines()] or [""]


def code(value: object) -> str:
    """A key as inline code, unless it could not be one (then an escaped cell)."""
    lines = clean_lines(value)
    if len(lines) > 1 or "`" in lines[0] or not lines[0]:
        return cell(value)
    return "`" + lines[0].replace("|", "\\|") + "`"


def prepare(plan: Mapping[str, Any]) -> Prepared:
    changes = [c for c in plan.get("changes") or [] if isinstance(c, Mapping)]
    notes = _roles_of_note(plan)
    removals = [c for c in changes if c.get("action") in REMOVALS]
    forward = [c for c in changes if c.get("action") not in REMOVALS]
    noted = [c for c in forward if _note(c, notes)]
    additions = [c for c in forward if not _note(c, notes)]
    names = _department_names(changes)
    counts = summary_counts(plan)
    candidates = (
        ("removals", _section(_("⚠️ Removals"), "removals", removals, notes, names)),
        (
            "noted",
            _section(_("⚠️ High-risk roles and separation of duties"), "noted", noted, notes, names),
        ),
        (
            "additions",
            _section(_("Additions and updates"), "additions", additions, notes, names),
        ),
    )
    kept = [(field, section) for field, section in candidates if section.count]
    return Prepared(
        title=_title(plan),
        counts=(
            tuple(_(ACTION_NAMES[a]) for a in ACTIONS),
            tuple(grouped(counts[a]) for a in ACTIONS),
        ),
        sentence=cell(_sentence(plan)),
        notes=tuple(cell(said(str(n))) for n in plan.get("notes") or []),
        guards=tuple(
            (cell(text), passed)
            for text, passed in (
                guard_line(v) for v in plan.get("guards") or [] if isinstance(v, Mapping)
            )
        ),
        sections=tuple(section for _, section in kept),
        modes=tuple(field for field, _ in kept),
        extras=_extras(plan),
        extras_count={
            "warning": len(plan.get("warnings") or []),
            "unmanaged object": len(plan.get("unmanaged") or []),
        },
        footer=_footer(plan),
    )


def _roles_of_note(plan: Mapping[str, Any]) -> dict[str, str]:
    """Each role of note as ``risk critical, SoD rule `pay-vs-approve```."""
    out = {}
    for role, note in (plan.get("roles_of_note") or {}).items():
        if not isinstance(note, Mapping):
            continue
        risk = note.get("risk")
        parts = []
        if risk:
            known = RISKS.get(str(risk))
            parts.append(_(known) if known else _("risk {risk}").format(risk=cell(risk)))
        rules = [code(r) for r in note.get("sod_rules") or []]
        if rules:
            listed = _(", ").join(rules)
            parts.append(
                ngettext("SoD rule {rules}", "SoD rules {rules}", len(rules)).format(rules=listed)
            )
        out[str(role)] = _(", ").join(parts)
    return out


def _note(change: Mapping[str, Any], notes: Mapping[str, str]) -> str:
    """``⚠️ role `x`: risk high`` when the change touches a role of note, else empty."""
    kind, key = change.get("kind"), str(change.get("key"))
    if kind == "role":
        role = key
    elif kind == "permission":
        role = split_key(key)[0]
    elif kind == "membership":
        role = split_key(key)[1]
    else:
        return ""
    if role not in notes:
        return ""
    return _("⚠️ role {role}: {note}").format(role=code(role), note=notes[role])


def _department_names(changes: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The display names of the departments the plan's changes carry."""
    names = {}
    for change in changes:
        if change.get("kind") != "department":
            continue
        values = change.get("after") or change.get("before") or {}
        if isinstance(values, Mapping) and isinstance(values.get("name"), str):
            names[str(change.get("key"))] = values["name"]
    return names


def _title(plan: Mapping[str, Any]) -> str:
    target = plan.get("target") or {}
    return _("erpsync plan for {name} ({adapter})").format(
        name=code(target.get("name")), adapter=cell(target.get("adapter"))
    )


def _footer(plan: Mapping[str, Any]) -> str:
    target = plan.get("target") or {}
    footer = _(
        "policy {policy} · live {live} · target {url} · erpsync {version} · plan format "
        "{format} · made {made}"
    )
    return footer.format(
        policy=code(plan.get("policy_digest")),
        live=code(plan.get("live_digest")),
        url=code(target.get("url")),
        version=cell(plan.get("erpsync_version")),
        format=cell(plan.get("format_version")),
        made=cell(plan.get("created_at")),
    )


def _section(
    heading: str,
    part: str,
    changes: Sequence[Mapping[str, Any]],
    notes: Mapping[str, str],
    names: Mapping[str, str],
) -> Section:
    if part == "removals":
        labels = (
            _("Objects deleted or deactivated"),
            _("Permissions revoked from roles"),
            _("Role memberships revoked from users"),
        )
    else:
        labels = (
            _("Objects created, updated or reactivated"),
            _("Permissions granted to roles"),
            _("Role memberships granted to users"),
        )
    tables = (
        _objects(labels[0], changes, notes),
        _nested(labels[1], "permission", changes, notes),
        _nested(labels[2], "membership", changes, notes),
    )
    counted = tuple(
        (cell(kind_name(kind)), cell(action_name(action)), grouped(n))
        for (kind, action), n in kinds(changes).items()
    )
    nested = [c for c in changes if c.get("kind") in ("permission", "membership")]
    return Section(
        heading=_counted(heading, len(changes)),
        part=part,
        count=len(changes),
        listed=tuple(t for t in tables if t.rows),
        grouped=tuple(g.text for g in patterns(changes, names, cell, code)),
        grants_grouped=tuple(g.text for g in patterns(nested, names, cell, code)),
        grants=len(nested),
        counted=counted,
    )


def _reason(change: Mapping[str, Any], notes: Mapping[str, str]) -> str:
    note = _note(change, notes)
    reason = change.get("reason")
    said_reason = cell(said(str(reason)) if reason else reason)
    return f"{note}<br>{said_reason}" if note else said_reason


def _counted(label: str, n: int) -> str:
    """``Removals (12)``."""
    return _("{label} ({n})").format(label=label, n=grouped(n))


def _objects(label: str, changes: Sequence[Mapping[str, Any]], notes: Mapping[str, str]) -> Block:
    chosen = [c for c in changes if c.get("kind") not in ("permission", "membership")]
    rows = tuple(
        (
            cell(action_name(c.get("action"))),
            cell(kind_name(c.get("kind"))),
            code(c.get("key")),
            _attributes(c),
            _reason(c, notes),
        )
        for c in chosen
    )
    headers = tuple(_(h) for h in OBJECT_HEADERS)
    return Block(label=_counted(label, len(rows)), headers=headers, rows=rows, objects=True)


def _attributes(change: Mapping[str, Any]) -> str:
    """``name: "李娜"`` lines of a create or delete; ``dept: "a" → "b"`` lines of an update."""
    before, after = change.get("before") or {}, change.get("after") or {}
    if change.get("action") == "update":
        names = dict.fromkeys([*before, *after])
        lines = [
            f"{cell(n)}: {cell(show(before.get(n)))} → {cell(show(after.get(n)))}" for n in names
        ]
    else:
        values = after or before
        lines = [f"{cell(n)}: {cell(show(v))}" for n, v in values.items() if v is not None]
    return "<br>".join(lines)


def _nested(
    label: str, kind: str, changes: Sequence[Mapping[str, Any]], notes: Mapping[str, str]
) -> Block:
    """A role's permissions or a user's roles: one row per grant or revoke."""
    chosen = [c for c in changes if c.get("kind") == kind]
    owner = _("Role") if kind == "permission" else _("User")
    item = _("Permission") if kind == "permission" else _("Role")
    rows = []
    for change in chosen:
        left, right = split_key(str(change.get("key")))
        rows.append((code(left), code(right), _reason(change, notes)))
    return Block(
        label=_counted(label, len(rows)), headers=(owner, item, _("Reason")), rows=tuple(rows)
    )


def _extras(plan: Mapping[str, Any]) -> tuple[Block, ...]:
    warnings = [str(w) for w in plan.get("warnings") or []]
    unmanaged = [u for u in plan.get("unmanaged") or [] if isinstance(u, Mapping)]
    rows = tuple(
        (
            cell(kind_name(u.get("kind"))),
            code(u.get("key")),
            cell(said(str(u.get("reason") or ""))),
        )
        for u in unmanaged[:LISTED_EXTRAS]
    )
    blocks = []
    if warnings:
        blocks.append(
            Block(
                label=f"⚠️ {warnings_summary(warnings)}",
                items=tuple(cell(said(w)) for w in warnings[:LISTED_EXTRAS]),
                folded=True,
                note=_omission({"warning": len(warnings) - LISTED_EXTRAS}, shown=True),
            )
        )
    if unmanaged:
        blocks.append(
            Block(
                label=_counted(_("Unmanaged objects, left alone"), len(unmanaged)),
                headers=(_("Kind"), _("Key"), _("Reason")),
                rows=rows,
                folded=True,
                note=_omission({"unmanaged object": len(unmanaged) - LISTED_EXTRAS}, shown=True),
            )
        )
    return tuple(blocks)


def warning_kind(text: str) -> str:
    """What a warning is about, without the object it names: ``department: no user in
    this department or below it``, ``role … is not declared but …``, ``catalogue``."""
    text = clean(text)
    if found := _DIAGNOSTIC.match(text):
        noun, message = found.group(1), _DETAIL.sub("…", found.group(2))
        return f"{noun}: {message}" if noun else message
    if found := _OBJECT.match(text):
        rest = _DETAIL.sub("", found.group(2)).split(";")[0].split(": ")[0]
        return f"{found.group(1)} … {rest}"
    head, colon, _ = text.partition(": ")
    return head if colon and len(head) <= 40 else text[:60]


def said_warning_kind(text: str) -> str:
    """:func:`warning_kind` in the language of the run: the template the warning was made
    from, said, its values left out (``部门 … 未声明，但…``)."""
    if i18n.language() == i18n.ENGLISH:
        return warning_kind(text)
    text = clean(text)
    noun = None
    if found := _DIAGNOSTIC.match(text):
        noun, text = found.group(1), found.group(2)
    kind = _template_of(text)
    if kind is None:
        kind = said(text)
        kind = kind if len(kind) <= 40 else kind[:40] + "…"
    return _("{kind}: {detail}").format(kind=kind_name(noun), detail=kind) if noun else kind


def _template_of(text: str) -> str | None:
    """The said template ``text`` was made from, ``…`` for its values."""
    found = i18n._templates(i18n.language()).match(text)
    if found is None:
        return None
    said_template = re.sub(r"\{\w+\}", "…", _(found[0]))
    # as warning_kind: without parentheses, up to the first semicolon or colon
    short = re.sub(r"（[^）]*）", "", said_template).split("；")[0].split("：")[0]
    return short if short.strip(" …") else said_template


def warnings_summary(warnings: Sequence[str]) -> str:
    """``7 warnings: 5 × department: no user …; 2 × catalogue`` (the commonest kinds)."""
    counts = Counter(said_warning_kind(w) for w in warnings).most_common()
    parts = [
        _("{n} × {kind}").format(n=grouped(n), kind=kind) for kind, n in counts[:WARNING_KINDS]
    ]
    others = sum(n for _kind, n in counts[WARNING_KINDS:])
    if others:
        parts.append(ngettext("{n} other", "{n} other", others).format(n=grouped(others)))
    total = ngettext("{n} warning", "{n} warnings", len(warnings)).format(n=grouped(len(warnings)))
    return _("{warnings}: {kinds}").format(warnings=total, kinds=_("; ").join(parts))


def _left_out(noun: str, n: int, shown: bool) -> str:
    """``2,345 more warnings``: how many of a list (``noun``) were left out; ``shown``:
    some of the same list are shown above."""
    if noun == "warning" and shown:
        text = ngettext("{n} more warning", "{n} more warnings", n)
    elif noun == "warning":
        text = ngettext("{n} warning", "{n} warnings", n)
    elif shown:
        text = ngettext("{n} more unmanaged object", "{n} more unmanaged objects", n)
    else:
        text = ngettext("{n} unmanaged object", "{n} unmanaged objects", n)
    return text.format(n=grouped(n))


def _omission(counts: Mapping[str, int], shown: bool) -> str:
    """``… and 2,345 more warnings not shown; see …`` (empty if nothing is left out).

    ``counts`` maps a singular noun to how many were left out; ``shown`` says whether
    some of the same list are shown above (then "… and N more").
    """
    parts = [_left_out(noun, n, shown) for noun, n in counts.items() if n > 0]
    if not parts:
        return ""
    listed = _(", ").join(parts)
    if shown:
        return _("… and {parts} not shown; {see}.").format(parts=listed, see=_(SEE_JSON))
    return _("{parts} not shown; {see}.").format(parts=listed, see=_(SEE_JSON))


# -- laying out ----------------------------------------------------------------------------


def render(prepared: Prepared, detail: Detail) -> str:
    """The comment at one level of detail (no limit is applied here)."""
    sections = [
        (section.heading, section.blocks(getattr(detail, field)))
        for field, section in zip(prepared.modes, prepared.sections, strict=True)
    ]
    extras = _("Warnings and unmanaged objects")
    if detail.extras:
        sections.append((extras, list(prepared.extras)))
    elif prepared.extras:
        note = _omission(prepared.extras_count, shown=False)
        sections.append((extras, [Block(note=note)]))
    return _template().render(
        p=prepared,
        has_changes=any(c != "0" for c in prepared.counts[1]),
        sections=[(heading, blocks) for heading, blocks in sections if blocks],
    )


def _template() -> jinja2.Template:
    return template("plan.md.j2", autoescape=False)
