"""The terminal view of a report: a title, the facts, then one ``rich`` table per section.

Rendered from :func:`erpsync.render.report_layout.layout`; every cell is a
:class:`~rich.text.Text`, so a name holding ``[bold]`` is shown, never
interpreted as markup. Cells wrap at spaces and a column is kept as wide as its
longest word, so a login or a permission code is not broken mid-word. A table
longer than :data:`MAX_ROWS` is cut there, with a note pointing to the views
that show everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from erpsync.i18n import _, ngettext, number
from erpsync.render.report_layout import Section, layout

MAX_ROWS = 5000  # rows of one table shown on a terminal; the other views show all
NARROWEST = 8  # the narrowest a column is made when the longest words do not all fit


def text_view(doc: Mapping[str, Any]) -> Group:
    """The report as a group of renderables for ``Console.print``."""
    shown = layout(doc)
    parts: list[RenderableType] = [Text(shown.title, style="bold")]
    labels = [_("{label}:").format(label=label) for label, _value in shown.facts]
    width = max(map(cell_len, labels), default=0)  # display width: a Chinese label is wide
    for label, (_label, value) in zip(labels, shown.facts, strict=True):
        line = Text(f"  {label}{' ' * (width - cell_len(label))} ", style="dim")
        line.append(value)
        parts.append(line)
    for section in shown.sections:
        parts.append(Text(""))
        parts.append(_table(section))
    return Group(*parts)


def _measure(section: Section) -> tuple[list[int], list[int]]:
    """Per column: the display width of its widest line and of its longest word (headers
    included)."""
    lines = [cell_len(h) for h in section.headers]
    words = list(lines)
    for row in section.rows[:MAX_ROWS]:
        for i, cell in enumerate(row):
            lines[i] = max(lines[i], max(map(cell_len, cell.splitlines()), default=0))
            words[i] = max(words[i], max(map(cell_len, cell.split()), default=0))
    return lines, words


def fit(
    lines: list[int], words: list[int], room: int, floors: Sequence[int] = ()
) -> list[int] | None:
    """Column widths within ``room`` cells, none narrower than its longest word, the rest
    of the room given to the columns whose lines are longest. When even the words do not
    fit, the last columns (roles, paths: the least needed whole) give way first, down to
    :data:`NARROWEST` or their ``floors`` (their headers' widths); None when that is not
    enough (rich then folds every column)."""
    floors = list(floors) or [0] * len(words)
    widths = [min(w, line) for w, line in zip(words, lines, strict=True)]
    spare = room - sum(widths)
    for i in reversed(range(len(widths))):
        if spare >= 0:
            break
        give = min(-spare, max(0, widths[i] - max(NARROWEST, floors[i])))
        widths[i] -= give
        spare += give
    if spare < 0:
        return None
    while spare > 0:
        want = [line - w for w, line in zip(widths, lines, strict=True)]
        most = max(want)
        if most <= 0:
            break
        i = want.index(most)
        grow = min(spare, max(1, most // 2))
        widths[i] += grow
        spare -= grow
    return widths


class _Fitted:
    """A section's table, its column widths chosen for the width it is printed at: wrapped
    at spaces, every column at least as wide as its longest word, so that a login or a
    permission code is never broken mid-word (rich alone folds the widest column)."""

    def __init__(self, section: Section) -> None:
        self.section = section

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        section = self.section
        lines, words = _measure(section)
        gaps = len(section.headers) - 1  # one space between columns, none at the edges
        headers = [cell_len(h) for h in section.headers]
        widths = fit(lines, words, options.max_width - gaps, headers)
        table = Table(
            title=Text(section.caption, style="bold"),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            padding=(0, 0),
        )
        for i, header in enumerate(section.headers):
            width = widths[i] if widths is not None else None
            table.add_column(header, overflow="fold", width=width)  # never cut a value short
        for row in section.rows[:MAX_ROWS]:
            table.add_row(*(Text(cell) for cell in row))
        yield table


def _table(section: Section) -> RenderableType:
    if not section.rows:
        line = Text(_("{title}: ").format(title=section.title), style="bold")
        line.append(section.empty)
        return line
    table = _Fitted(section)
    left_out = len(section.rows) - MAX_ROWS
    if left_out <= 0:
        return table
    more = ngettext(
        "… and {n} more row: use --format csv, json or html for all of them",
        "… and {n} more rows: use --format csv, json or html for all of them",
        left_out,
    )
    note = Text(more.format(n=number(left_out)))
    return Group(table, note)
