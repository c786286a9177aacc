"""The Markdown view of a plan, for a GitHub pull-request comment.

:func:`markdown_view` reads the plan's JSON form, prepares every table row in
Python (cells escaped so that no name or reason can break a table), and lays
them out with ``templates/plan.md.j2``: a title, the summary, the removals
first under a warning heading, then the additions and updates, the warnings
and unmanaged objects folded in ``<details>``, and the digests in a footer.

A comment holds at most 65,000 characters. When the full view is longer it is
rendered again with less detail, step by step: without the additions' grant
tables, then with the additions only counted per kind, then with as many
removal rows as fit. Each step says what it left out; tables and ``<details>``
blocks are always whole, because only whole rows are ever dropped.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from functools import cache
from typing import Any

import jinja2

from erpsync.render import (
    ACTIONS,
    REMOVALS,
    clean,
    guard_line,
    show,
    split_key,
    summary_counts,
    summary_sentence,
)

COMMENT_LIMIT = 65_000
SEE_JSON = "see the plan artifact / `erpsync plan --format json`"
OPEN_ROWS = 20  # a folded list this short is shown open
LISTED_EXTRAS = 50  # unmanaged objects and warnings listed at most
NOUNS = {"delete": "deletion", "deactivate": "deactivation"}  # otherwise the action itself
OBJECT_HEADERS = ("Action", "Kind", "Key", "Attributes", "Reason")
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$])")


class Additions(IntEnum):
    """How much of the additions and updates is shown, most first."""

    FULL = 0  # objects and grant tables
    OBJECTS = 1  # objects only; the grants are counted in a note
    COUNTS = 2  # a count per kind and action


@dataclass(frozen=True)
class Rows:
    """A table prepared from the plan, before any row is left out."""

    label: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    facts: tuple[tuple[str, str], ...]  # (kind, action) of each row, to say what was left out


@dataclass(frozen=True)
class Block:
    """One laid-out piece: a table or a list, optionally folded, and a note after it."""

    label: str = ""
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    items: tuple[str, ...] = ()
    folded: bool = False  # inside <details>, with the label as its summary
    open: bool = False
    note: str = ""


@dataclass(frozen=True)
class Prepared:
    """Everything the template can show, as escaped strings, computed once."""

    title: str
    counts: tuple[tuple[str, ...], tuple[str, ...]]  # summary table: actions, counts
    sentence: str
    notes: tuple[str, ...]
    guards: tuple[tuple[str, bool], ...]  # each guard's verdict as a sentence, and passed
    removals: tuple[Rows, ...]
    additions: tuple[Rows, ...]  # objects first, then the grant tables
    extras: tuple[Block, ...]  # warnings and unmanaged objects
    extras_count: dict[str, int]  # {"warning": 3, "unmanaged object": 12}
    footer: str


@dataclass(frozen=True)
class Detail:
    additions: Additions = Additions.FULL
    removal_rows: int | None = None  # None: every removal row
    extras: bool = True


def markdown_view(plan: Mapping[str, Any], limit: int = COMMENT_LIMIT) -> str:
    """The plan as a GitHub comment of at most ``limit`` characters."""
    prepared = prepare(plan)
    for additions in Additions:
        text = render(prepared, Detail(additions))
        if len(text) <= limit:
            return text
    for extras in (True, False):
        fitted = _fit_removals(prepared, Detail(Additions.COUNTS, extras=extras), limit)
        if fitted is not None:
            return fitted
    raise ValueError(f"the plan's summary alone is longer than {limit:,} characters")


def _fit_removals(prepared: Prepared, detail: Detail, limit: int) -> str | None:
    """The longest rendering within ``limit`` that keeps whole removal rows, if any fits."""
    best = render(prepared, replace(detail, removal_rows=0))
    if len(best) > limit:
        return None
    low, high = 0, sum(len(r.rows) for r in prepared.removals)
    while low < high:  # invariant: low rows fit
        middle = (low + high + 1) // 2
        text = render(prepared, replace(detail, removal_rows=middle))
        if len(text) <= limit:
            low, best = middle, text
        else:
            high = middle - 1
    return best


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
    removals = [c for c in changes if c.get("action") in REMOVALS]
    additions = [c for c in changes if c.get("action") not in REMOVALS]
    counts = summary_counts(plan)
    return Prepared(
        title=_title(plan),
        counts=(tuple(ACTIONS), tuple(f"{counts[a]:,}" for a in ACTIONS)),
        sentence=cell(summary_sentence(plan, thousands=True)),
        notes=tuple(cell(n) for n in plan.get("notes") or []),
        guards=tuple(
            (cell(text), passed)
            for text, passed in (
                guard_line(v) for v in plan.get("guards") or [] if isinstance(v, Mapping)
            )
        ),
        removals=(
            _objects("Objects deleted or deactivated", removals),
            _nested("Permissions revoked from roles", "permission", removals),
            _nested("Role memberships revoked from users", "membership", removals),
        ),
        additions=(
            _objects("Objects created, updated or reactivated", additions),
            _nested("Permissions granted to roles", "permission", additions),
            _nested("Role memberships granted to users", "membership", additions),
        ),
        extras=_extras(plan),
        extras_count={
            "warning": len(plan.get("warnings") or []),
            "unmanaged object": len(plan.get("unmanaged") or []),
        },
        footer=_footer(plan),
    )


def _title(plan: Mapping[str, Any]) -> str:
    target = plan.get("target") or {}
    return f"erpsync plan for {code(target.get('name'))} ({cell(target.get('adapter'))})"


def _footer(plan: Mapping[str, Any]) -> str:
    target = plan.get("target") or {}
    parts = (
        f"policy {code(plan.get('policy_digest'))}",
        f"live {code(plan.get('live_digest'))}",
        f"target {code(target.get('url'))}",
        f"erpsync {cell(plan.get('erpsync_version'))}",
        f"plan format {cell(plan.get('format_version'))}",
        f"made {cell(plan.get('created_at'))}",
    )
    return " · ".join(parts)


def _objects(label: str, changes: Sequence[Mapping[str, Any]]) -> Rows:
    chosen = [c for c in changes if c.get("kind") not in ("permission", "membership")]
    rows = tuple(
        (
            cell(c.get("action")),
            cell(c.get("kind")),
            code(c.get("key")),
            _attributes(c),
            cell(c.get("reason")),
        )
        for c in chosen
    )
    return Rows(label, OBJECT_HEADERS, rows, _facts(chosen))


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


def _nested(label: str, kind: str, changes: Sequence[Mapping[str, Any]]) -> Rows:
    """A role's permissions or a user's roles: one row per grant or revoke."""
    chosen = [c for c in changes if c.get("kind") == kind]
    owner = "Role" if kind == "permission" else "User"
    item = "Permission" if kind == "permission" else "Role"
    rows = []
    for change in chosen:
        left, right = split_key(str(change.get("key")))
        rows.append((code(left), code(right), cell(change.get("reason"))))
    return Rows(label, (owner, item, "Reason"), tuple(rows), _facts(chosen))


def _facts(changes: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple((clean(c.get("kind")), clean(c.get("action"))) for c in changes)


def _extras(plan: Mapping[str, Any]) -> tuple[Block, ...]:
    warnings = [cell(w) for w in plan.get("warnings") or []]
    unmanaged = [u for u in plan.get("unmanaged") or [] if isinstance(u, Mapping)]
    rows = tuple(
        (cell(u.get("kind")), code(u.get("key")), cell(u.get("reason")))
        for u in unmanaged[:LISTED_EXTRAS]
    )
    blocks = []
    if warnings:
        blocks.append(
            Block(
                label=f"⚠️ Warnings ({len(warnings):,})",
                items=tuple(warnings[:LISTED_EXTRAS]),
                folded=True,
                open=len(warnings) <= OPEN_ROWS,
                note=_omission({"warning": len(warnings) - LISTED_EXTRAS}, shown=True),
            )
        )
    if unmanaged:
        blocks.append(
            Block(
                label=f"Unmanaged objects, left alone ({len(unmanaged):,})",
                headers=("Kind", "Key", "Reason"),
                rows=rows,
                folded=True,
                note=_omission({"unmanaged object": len(unmanaged) - LISTED_EXTRAS}, shown=True),
            )
        )
    return tuple(blocks)


def _omission(counts: Mapping[str, int], shown: bool) -> str:
    """``… and 2,345 more membership revokes not shown; see …`` (empty if nothing is left out).

    ``counts`` maps a singular noun to how many were left out; ``shown`` says whether
    some of the same list are shown above (then "… and N more").
    """
    more = "more " if shown else ""
    parts = [f"{n:,} {more}{noun}{'' if n == 1 else 's'}" for noun, n in counts.items() if n > 0]
    if not parts:
        return ""
    return f"{'… and ' if shown else ''}{', '.join(parts)} not shown; {SEE_JSON}."


# -- laying out ----------------------------------------------------------------------------


def render(prepared: Prepared, detail: Detail) -> str:
    """The comment at one level of detail (no limit is applied here)."""
    sections = [("⚠️ Removals", _removal_blocks(prepared.removals, detail.removal_rows))]
    sections.append(("Additions and updates", _addition_blocks(prepared, detail.additions)))
    if detail.extras:
        sections.append(("Warnings and unmanaged objects", list(prepared.extras)))
    elif prepared.extras:
        note = _omission(prepared.extras_count, shown=False)
        sections.append(("Warnings and unmanaged objects", [Block(note=note)]))
    return _template().render(
        p=prepared,
        has_changes=any(c != "0" for c in prepared.counts[1]),
        sections=[(heading, blocks) for heading, blocks in sections if blocks],
    )


def _removal_blocks(tables: Sequence[Rows], budget: int | None) -> list[Block]:
    blocks = []
    for index, table in enumerate(tables):
        if not table.rows:
            continue
        keep = len(table.rows) if budget is None else min(budget, len(table.rows))
        budget = None if budget is None else budget - keep
        blocks.append(_block(table, keep, folded=index > 0, opened=len(table.rows) <= OPEN_ROWS))
    return blocks


def _block(table: Rows, keep: int, folded: bool, opened: bool) -> Block:
    note = _omission(_nouns(table.facts[keep:]), shown=keep > 0)
    if not keep:
        return Block(note=note)
    return Block(
        label=f"{table.label} ({len(table.rows):,})",
        headers=table.headers,
        rows=table.rows[:keep],
        folded=folded,
        open=opened,
        note=note,
    )


def _addition_blocks(prepared: Prepared, additions: Additions) -> list[Block]:
    objects, *grants = prepared.additions
    if additions is Additions.COUNTS:
        return _counted(prepared.additions)
    blocks = []
    if objects.rows:
        big = len(objects.rows) > OPEN_ROWS
        blocks.append(_block(objects, len(objects.rows), folded=big, opened=False))
    shown = [g for g in grants if g.rows]
    if additions is Additions.FULL:
        blocks += [_block(g, len(g.rows), folded=True, opened=False) for g in shown]
    elif shown:
        left_out = _nouns([fact for g in shown for fact in g.facts])
        blocks.append(Block(note=_omission(left_out, shown=False)))
    return blocks


def _nouns(facts: Sequence[tuple[str, str]]) -> Counter[str]:
    """How many of each ``(kind, action)``, named "user deactivation", "membership revoke"…"""
    return Counter(f"{kind} {NOUNS.get(action, action)}" for kind, action in facts)


def _counted(tables: Sequence[Rows]) -> list[Block]:
    """The additions and updates as a count per kind and action."""
    counts: Counter[tuple[str, str]] = Counter()
    for table in tables:
        counts.update(table.facts)
    if not counts:
        return []
    rows = tuple((cell(kind), cell(action), f"{n:,}") for (kind, action), n in counts.items())
    total = sum(counts.values())
    return [
        Block(
            label="Counted per kind",
            headers=("Kind", "Action", "Count"),
            rows=rows,
            note=f"The {total:,} additions and updates are counted above, not shown; {SEE_JSON}.",
        )
    ]


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("erpsync", "render/templates"),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["summary"] = lambda text: html.escape(str(text), quote=False)
    return env.get_template("plan.md.j2")
