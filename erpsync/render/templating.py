"""The Jinja templates of the views (``erpsync/render/templates``), loaded once each.

Every template can speak the run's language: ``_("text")``, ``ngettext(...)``,
``said(message)``, ``number(n)`` and ``date(d)`` of :mod:`erpsync.i18n` are its globals
(``pybabel extract`` finds the ``_`` and ``ngettext`` calls through babel.cfg).
"""

from __future__ import annotations

import html
from functools import cache

import jinja2

from erpsync import i18n


@cache
def template(name: str, *, autoescape: bool, keep_trailing_newline: bool = True) -> jinja2.Template:
    """The template ``name``: HTML escapes its values (``autoescape``), Markdown escapes
    them in Python before they reach it."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("erpsync", "render/templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
        undefined=jinja2.StrictUndefined,
    )
    # a <summary> holds HTML in GitHub's and GitLab's Markdown: its text is escaped
    env.filters["summary_text"] = lambda text: html.escape(str(text), quote=False)
    env.globals.update(
        _=i18n._, ngettext=i18n.ngettext, said=i18n.said, number=i18n.number, date=i18n.date
    )
    return env.get_template(name)
