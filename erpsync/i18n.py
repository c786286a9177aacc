"""The language of human-facing output: English by default, or Simplified Chinese.

Chosen once per run by :func:`configure`: ``--lang``, else ``settings.language`` in
erpsync.yaml, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG`` starting ``zh_CN``,
``zh_Hans`` or ``zh-CN``), else English. Messages are looked up in gettext catalogues
(``erpsync/locale/<lang>/LC_MESSAGES/erpsync.mo``, compiled from the ``.po`` beside it
by Babel: ``make i18n``). Only views for people call :func:`_`; JSON and every machine
field (keys, actions, exit codes) never change with the language.

A plan's reasons are data (the plan JSON keeps them in English); the text view says
them in the chosen language by matching them against :data:`REASONS`, the templates the
planner builds them from, and translating the template (:func:`reason`).
"""

from __future__ import annotations

import datetime as dt
import gettext
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

DOMAIN = "erpsync"
LOCALE_DIR = Path(__file__).parent / "locale"
ENGLISH = "en"
CHINESE = "zh_CN"
LANGUAGES = {"en": ENGLISH, "zh-CN": CHINESE, "zh_CN": CHINESE, "zh": CHINESE}


class _Current:
    """The language of this run and its catalogue (set by :func:`use`)."""

    language = ENGLISH
    catalogue: gettext.NullTranslations = gettext.NullTranslations()


_now = _Current()


def N_(message: str) -> str:
    """Mark ``message`` for extraction, translated later where it is shown."""
    return message


def _(message: str) -> str:
    """``message`` in the current language."""
    return _now.catalogue.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the current language (Chinese has
    one form)."""
    return _now.catalogue.ngettext(singular, plural, n)


def language() -> str:
    return _now.language


def from_locale(environ: Mapping[str, str]) -> str | None:
    """The language the locale asks for (the first of LC_ALL, LC_MESSAGES, LANG that is
    set), or None for English or a language erpsync does not speak."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return CHINESE if re.match(r"zh[_-](CN|Hans|SG)", value, re.IGNORECASE) else None
    return None


def choose(cli: str | None, settings: str | None, environ: Mapping[str, str]) -> str:
    """The language of this run: ``--lang``, ``settings.language``, the locale, English."""
    for wanted in (cli, settings):
        if wanted:
            return LANGUAGES.get(wanted, ENGLISH)
    return from_locale(environ) or ENGLISH


def configure(
    cli: str | None = None,
    settings: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Speak the chosen language from now on; returns it."""
    use(choose(cli, settings, os.environ if environ is None else environ))
    return _now.language


def use(lang: str) -> None:
    _now.language = lang
    _now.catalogue = _catalogue(lang)


@cache
def _catalogue(lang: str) -> gettext.NullTranslations:
    if lang == ENGLISH:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def number(n: int) -> str:
    """``n`` as the language writes it (Babel), e.g. ``12,345`` in Chinese; in English as
    the plan's ``Plan:`` line always had it, ungrouped like Terraform's (scripts read it)."""
    if _now.language == ENGLISH:
        return str(n)
    from babel.numbers import format_decimal

    return format_decimal(n, locale=_babel_locale())


def date(value: dt.date) -> str:
    """A date as the language writes it (Babel): ``Dec 3, 2026`` / ``2026年12月3日``."""
    from babel.dates import format_date

    style = "medium" if _now.language == ENGLISH else "long"
    return format_date(value, format=style, locale=_babel_locale())


def _babel_locale() -> str:
    return "en_US" if _now.language == ENGLISH else _now.language


# -- reasons -----------------------------------------------------------------------------

# The templates a plan's reasons are built from (erpsync.diff, erpsync.state): {names}
# stand for values (a file:line, a key), kept as they are; a {why} is itself a reason.
REASONS: tuple[str, ...] = (
    N_("declared in {where}"),
    N_("differs from {where}"),
    N_("declared active in {where}"),
    N_("active: false in {where}"),
    N_("expired {date}"),
    N_("not declared: removed by policy"),
    N_("not declared: removed by policy (settings.removed_users: delete)"),
    N_("role {role} is removed"),
    N_("role {role} declares it"),
    N_("included from role {role}"),
    N_("role {role} is not declared"),
    N_("not among the roles the policy gives {login}"),
    N_("not declared (settings.scope.roles: declared)"),
    N_("not declared and settings.scope limits erpsync to some departments"),
    N_("ignored (settings.ignore.departments: {pattern})"),
    N_("default role of department {department}"),
    N_("declared in the policy"),
    N_("user {login} is deactivated: {why}"),
    N_("user {login} is removed: not declared"),
    N_("renamed from {old} ({why}), declared in {where}"),
    N_("protected"),
    N_("outside settings.scope"),
    N_("ignored (settings.ignore.users: {pattern})"),
    N_("ignored (settings.ignore.roles: {pattern})"),
)


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    body = "".join(
        f"(?P<{p[1:-1]}>.+?)" if re.fullmatch(r"\{\w+\}", p) else re.escape(p) for p in parts
    )
    return re.compile(f"^{body}$", re.DOTALL)


def reason(text: str) -> str:
    """A plan's reason in the current language: matched against :data:`REASONS` and said
    with the translated template; as it is when no template matches, or in English."""
    if _now.language == ENGLISH:
        return text
    for template in _BY_LITERAL:
        found = _pattern(template).match(text)
        if found is None:
            continue
        values = found.groupdict()
        if "why" in values:
            values["why"] = reason(values["why"])
        return _(template).format(**values)
    return text


# The templates with the most literal text first: "declared in the policy" is tried
# before "declared in {where}", which would match it too.
_BY_LITERAL = sorted(REASONS, key=lambda t: -len(re.sub(r"\{\w+\}", "", t)))


def untranslated(text: str) -> bool:
    """Whether ``text`` (a reason) matches none of :data:`REASONS` (for the tests)."""
    return not any(_pattern(t).match(text) for t in REASONS)
