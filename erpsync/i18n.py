"""The language of human-facing output: English by default, or Simplified Chinese.

Chosen once per run by :func:`configure`: ``--lang``, else ``settings.language`` in
erpsync.yaml, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG`` starting ``zh_CN``,
``zh_Hans`` or ``zh-CN``), else English. Messages are looked up in gettext catalogues
(``erpsync/locale/<lang>/LC_MESSAGES/erpsync.mo``, compiled from the ``.po`` beside it
by Babel: ``make i18n``). Only views for people call :func:`_`; JSON and every machine
field (keys, actions, exit codes) never change with the language.

Messages that are data (errors, diagnostics, a plan's reasons, warnings and notes, drift
findings) are made in English from templates marked ``N_`` and stay English in JSON, plan
files and the audit trail; views for people say them in the chosen language with
:func:`said`, which matches them against the catalogue's templates and fills in the
translated one.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import os
import re
from collections.abc import Iterator, Mapping
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


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, as meant in ``context`` (one English word that
    Chinese says two ways: a person's "Name" 姓名, a role's 名称)."""
    return _now.catalogue.pgettext(context, message)


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


# -- messages that are data ---------------------------------------------------------------

# A message that is data (an error, a diagnostic, a plan's reason, warning or note, a drift
# finding) is made in English from a template marked N_ and kept in English in JSON, files
# and the audit trail. A view for people says it with :func:`said`, which finds the
# template in the catalogue and fills its translation with the same values. A value in a
# placeholder with one of these names is a message itself, and is said too.
NESTED = frozenset({"why", "reason", "detail", "message", "cause", "problem"})
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    body = "".join(
        f"(?P<{p[1:-1]}>.+?)" if _PLACEHOLDER.fullmatch(p) else re.escape(p) for p in parts
    )
    return re.compile(f"^{body}$", re.DOTALL)


class _Templates:
    """The catalogue's templates (its messages with placeholders), with the most literal
    text first ("declared in the policy" before "declared in {where}") and the longest
    literal part of each, tested before its pattern is tried."""

    def __init__(self, messages: list[str]) -> None:
        def literal(t: str) -> str:
            return _PLACEHOLDER.sub("", t)

        usable = [t for t in messages if _PLACEHOLDER.search(t) and literal(t).strip(" :;,.()")]
        usable.sort(key=lambda t: (-len(literal(t)), t))
        self.items = [(max(_PLACEHOLDER.split(t)[::2], key=len), t) for t in usable]

    def match(self, text: str) -> tuple[str, dict[str, str]] | None:
        for needle, template in self.items:
            if needle in text and (found := _pattern(template).match(text)):
                return template, found.groupdict()
        return None

    def matches(self, text: str) -> Iterator[tuple[str, dict[str, str]]]:
        """Every template ``text`` matches, in the order :meth:`match` tries them."""
        for needle, template in self.items:
            if needle in text and (found := _pattern(template).match(text)):
                yield template, found.groupdict()


@cache
def _templates(lang: str) -> _Templates:
    """The templates of messages that are data (marked N_; ``make i18n`` lists them in
    data-messages.pot) that the catalogue of ``lang`` translates. Text of views (``_``)
    is left out: "{n} role {done}" of a plan's summary must not read an error."""
    from babel.messages.pofile import read_po

    catalogue = _catalogue(lang)
    with (LOCALE_DIR / "data-messages.pot").open("rb") as f:
        data = read_po(f)
    ids = [m.id for m in data if isinstance(m.id, str) and m.id]  # N_ has no plurals
    return _Templates([i for i in ids if catalogue.gettext(i) != i])


def said(text: str) -> str:
    """``text``, a message made from a catalogued template (or a catalogued message
    itself), in the language of the run; as it is in English or when nothing matches."""
    if _now.language == ENGLISH or not text:
        return text
    return _said(_now.language, text)


@functools.lru_cache(maxsize=8192)
def _said(lang: str, text: str) -> str:
    catalogue = _catalogue(lang)
    exact = catalogue.gettext(text)
    if exact != text:
        return exact
    found = _reading(lang, text)
    if "\n" in text and (found is None or "\n" not in found[1]):
        # a message of several lines that no template of several lines matches: each line
        # is said on its own (a one-line template would swallow the lines after it)
        return "\n".join(_said_line(lang, line) for line in text.split("\n"))
    if found is None:
        return text
    _unused, template, pairs = found
    values = dict(pairs)
    for name in NESTED & values.keys():
        values[name] = _said(lang, values[name])
    return catalogue.gettext(template).format(**values)


def _said_line(lang: str, line: str) -> str:
    body = line.lstrip()
    return line[: len(line) - len(body)] + _said(lang, body) if body else line


@functools.lru_cache(maxsize=8192)
def _reading(lang: str, text: str) -> tuple[int, str, tuple[tuple[str, str], ...]] | None:
    """The template ``text`` is best read as: of those it matches, the one leaving the
    fewest characters to plain values (a nested message counts what its own reading
    leaves), so that "cannot {action} {kind} {key}: {reason}" wins over a template of the
    reason that starts with a placeholder swallowing the prefix. (characters left, the
    template, its values), or None when none matches."""
    best: tuple[int, str, tuple[tuple[str, str], ...]] | None = None
    for template, values in _templates(lang).matches(text):
        left = sum(_left(lang, v) if n in NESTED else len(v) for n, v in values.items())
        if best is None or left < best[0]:
            best = (left, template, tuple(values.items()))
    return best


def _left(lang: str, text: str) -> int:
    """How many characters of ``text`` no catalogued message explains."""
    if _catalogue(lang).gettext(text) != text:
        return 0
    found = _reading(lang, text)
    return len(text) if found is None else found[0]


def reason(text: str) -> str:
    """A plan's reason in the current language (:func:`said`)."""
    return said(text)


def untranslated(text: str) -> bool:
    """Whether ``text`` (a reason) matches none of :data:`REASONS` (for the tests)."""
    return not any(_pattern(t).match(text) for t in REASONS)
