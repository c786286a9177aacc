"""``.erpsyncignore``: known, accepted drift that ``erpsync drift`` does not count.

The file sits at the project root, next to ``erpsync.yaml``. One entry per line,
``KIND PATTERN``, optionally followed by ``# reason``::

    # Accepted drift, reviewed monthly by the finance controller.
    user li.na                                   # on leave; HR re-enables her in January
    membership zhang.wei2/vendor-master          # CFO approval FIN-2291, until the audit
    permission ap-clerk/finance.payment:approve
    sod SOD-P2P-01/wang.fang                     # two-person branch
    role tmp-*                                   # project roles, cleaned up each quarter

- ``KIND`` is one of :data:`KINDS`: ``department``, ``role`` and ``user`` name the
  object itself (a login for users), ``permission`` is ``ROLE/MODULE:ACTION``,
  ``membership`` is ``LOGIN/ROLE`` and ``sod`` is ``RULE/LOGIN`` — the keys the
  drift report shows.
- ``PATTERN`` is a key or a glob (``*``, ``?``, ``[...]``, as :mod:`fnmatch`; ``*``
  also matches ``/``), compared case-sensitively.
- ``#`` starts a comment at the start of a line or after whitespace (keys hold no
  whitespace, so ``#`` inside a key is part of it). The comment after an entry is
  its reason, shown next to each item it accepts.
- Blank lines are ignored. Anything else is an error naming the file and line.

An entry accepts every drift item of its kind whose key matches: a changed,
missing or extra object or fact, an SoD violation, an expired-but-active user.
Accepted items are listed in the report's ``accepted`` section and do not make
``erpsync drift`` exit 2. Unmanaged objects are never drift and need no entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import translate
from pathlib import Path

from erpsync.errors import UsageError
from erpsync.i18n import N_

FILE_NAME = ".erpsyncignore"
KINDS = ("department", "role", "user", "permission", "membership", "sod")
_COMMENT = re.compile(r"(?:^|\s)#")


@dataclass(frozen=True)
class IgnoreEntry:
    """One line of the file: what it accepts, and why."""

    kind: str
    pattern: str
    reason: str
    line: int
    _regex: re.Pattern[str] = field(repr=False, compare=False)

    @property
    def text(self) -> str:
        """The entry as written: ``membership zhang.wei2/*``."""
        return f"{self.kind} {self.pattern}"

    def matches(self, kind: str, key: str) -> bool:
        return kind == self.kind and self._regex.match(key) is not None


@dataclass(frozen=True)
class IgnoreList:
    """The parsed file; empty when there is none."""

    entries: tuple[IgnoreEntry, ...] = ()
    source: str = FILE_NAME

    def match(self, kind: str, key: str) -> IgnoreEntry | None:
        """The first entry accepting the item, or None."""
        return next((e for e in self.entries if e.matches(kind, key)), None)


def entry(kind: str, pattern: str, reason: str = "", line: int = 0) -> IgnoreEntry:
    """An entry made in code (tests, callers that keep the list elsewhere)."""
    if kind not in KINDS:
        unknown = N_("unknown kind {kind} (known: {known})")
        raise ValueError(unknown.format(kind=repr(kind), known=", ".join(KINDS)))
    return IgnoreEntry(kind, pattern, reason, line, re.compile(translate(pattern)))


def parse(text: str, source: str = FILE_NAME) -> IgnoreList:
    """Parse the file's text; :class:`UsageError` names the first bad line."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        found = _COMMENT.search(raw)
        body = raw[: found.start()] if found else raw
        reason = raw[found.end() :].strip() if found else ""
        words = body.split()
        if not words:
            continue
        if len(words) != 2 or words[0] not in KINDS:
            expected = N_(
                "{source}:{line}: expected `KIND PATTERN  # reason` with KIND one of "
                "{kinds}; got {got}"
            )
            raise UsageError(
                expected.format(
                    source=source, line=number, kinds=", ".join(KINDS), got=repr(body.strip())
                )
            )
        entries.append(entry(words[0], words[1], reason, number))
    return IgnoreList(tuple(entries), source)


def load(path: Path, name: str | None = None) -> IgnoreList:
    """The list in ``path``, called ``name`` in messages and reports (default: the path);
    an empty list when the file does not exist."""
    source = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return IgnoreList((), source)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(N_("cannot read {path}: {cause}").format(path=path, cause=exc)) from None
    return parse(text, source)
