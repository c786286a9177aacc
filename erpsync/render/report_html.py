"""The HTML view of a report: one self-contained page for people who do not use a terminal.

The page is the same :class:`~erpsync.render.report_layout.Layout` as the text
view, laid out by ``templates/report.html.j2`` with the facts (the summary)
first. Jinja2 autoescapes every value; the style sheet is inline and the page
refers to nothing outside itself (its Content-Security-Policy forbids loading
anything), so it can be mailed, archived or opened offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

from erpsync import __version__, i18n
from erpsync.render.report_layout import layout
from erpsync.render.templating import template


def html_view(doc: Mapping[str, Any]) -> str:
    """The report as a complete HTML document."""
    lang = "en" if i18n.language() == i18n.ENGLISH else i18n.language().replace("_", "-")
    return _template().render(page=layout(doc), version=__version__, lang=lang)


def _template() -> jinja2.Template:
    return template("report.html.j2", autoescape=True)
