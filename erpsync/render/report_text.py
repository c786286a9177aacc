"""The terminal view of a report: a title, the facts, then one ``rich`` table per section.

Rendered from :func:`erpsync.render.report_layout.layout`; every cell is a
:class:`~rich.text.Text`, so a name holding ``[bold]`` is shown, never
interpreted as markup. A table longer than :data:`MAX_ROWS` is cut there, with
a note pointing to the views that show everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from erpsync.render.report_layout import Section, layout

MAX_ROWS = 5000  # rows of one table shown on a terminal; the other views show all


def text_view(doc: Mapping[str, Any]) -> Group:
    """The report as a group of renderables for ``Console.print``."""
    shown = layout(doc)
    parts: list[RenderableType] = [Text(shown.title, style="bold")]
    width = max((len(label) for label, _ in shown.facts), default=0)
    for label, value in shown.facts:
        line = Text(f"  {label + ':':<{width + 1}} ", style="dim")
        line.append(value)
        parts.append(line)
    for section in shown.sections:
        parts.append(Text(""))
        parts.append(_table(section))
    return Group(*parts)


def _table(section: Section) -> RenderableType:
    if not section.rows:
        line = Text(f"{section.title}: ", style="bold")
        line.append(section.empty)
        return line
    table = Table(
        title=Text(section.caption, style="bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
    )
    for header in section.headers:
        table.add_column(header, overflow="fold")  # never cut a value short
    for row in section.rows[:MAX_ROWS]:
        table.add_row(*(Text(cell) for cell in row))
    left_out = len(section.rows) - MAX_ROWS
    if left_out <= 0:
        return table
    note = Text(f"… and {left_out} more rows: use --format csv, json or html for all of them")
    return Group(table, note)
