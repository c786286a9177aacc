"""Policy documents written as YAML a person would keep in git.

:func:`dump_document` writes a :class:`PolicyDocument` in block style with
the fields in the model's order, leaves out every field that holds its
default (no ``null``, no empty list, no ``active: true``), writes short lists
of plain values in flow style (``roles: [a, b]``) when the line stays within
:data:`WIDTH`, dates as ``YYYY-MM-DD`` and Unicode as it is.

Strings are written plain where every YAML reader takes them for the same
string; anything that a YAML 1.1 or 1.2 reader would take for something else
(``yes``, ``123``, ``1e3``, ``~``, a date) or that YAML syntax would misread
(``: ``, `` #``, a leading indicator) is quoted, single quotes where that is
enough, double quotes with escapes for line breaks and unprintable
characters. The output loads back with :func:`erpsync.policy.loader.load_policy`
to the same model. The emitter is our own rather than PyYAML's, so that these
choices (quoting, flow lists, what is left out) are made in one place.

:func:`import_header` is the comment that opens every file ``erpsync import``
writes: where it came from (the URL without its password) and when.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from erpsync.policy.model import PolicyDocument
from erpsync.secrets import redact_url

WIDTH = 100  # longest line a flow-style list may make
INDENT = "  "

# A string of these can only be read back as itself: it starts with a letter and holds
# letters, digits and a few punctuation marks that mean nothing to YAML.
_SIMPLE = re.compile(r"[^\W\d_][\w.@/+-]*")
# Words that YAML 1.1 readers (PyYAML, many tools) or YAML 1.2 readers turn into a bool/null.
_WORDS = frozenset(["y", "yes", "n", "no", "on", "off", "true", "false", "null"])
# Scalars that a YAML 1.2 core-schema reader resolves to something other than a string.
_YAML12 = re.compile(
    r"""~|null|Null|NULL|true|True|TRUE|false|False|FALSE
    |[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+
    |[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN""",
    re.VERBOSE,
)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_SPECIAL = frozenset(",[]{}?:#")
_BREAKS = frozenset("\n\r\x85\u2028\u2029")
# What YAML lets a file hold as it is (PyYAML's reader refuses the rest).
_PRINTABLE = re.compile("[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
_RESOLVER = yaml.resolver.Resolver()
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(frozen=True)
class Source:
    """Where an import came from: the target's name, adapter and URL, and the day."""

    target: str
    adapter: str
    url: str
    on: dt.date


def import_header(source: Source) -> str:
    """The comment that opens each imported file; the URL is shown without its password."""
    where = _one_line(f"{source.target} ({source.adapter}, {redact_url(source.url)})")
    return (
        f"# Imported from the live ERP of target {where}\n"
        f"# by `erpsync import` on {source.on.isoformat()}. From here on this file is the\n"
        "# source of truth: change access here and let `erpsync plan` / `apply` carry it out.\n"
    )


def dump_document(document: PolicyDocument, header: str = "") -> str:
    """``document`` as YAML text, sections separated by a blank line, after ``header``."""
    sections = ["\n".join(_entry(name, value, 0)) for name, value in _fields(document)]
    return header + "\n\n".join(sections) + ("\n" if sections else "")


# -- structure ----------------------------------------------------------------------------------


def _fields(model: BaseModel) -> Iterator[tuple[str, Any]]:
    """The model's fields that do not hold their default, in declaration order."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None or (isinstance(value, list | dict) and not value):
            continue
        if info.default is not None and value == info.default:
            continue  # e.g. active: true
        yield name, value


def _entry(key: Any, value: Any, depth: int) -> Iterator[str]:
    """The lines of ``key: value`` at ``depth``."""
    pad = INDENT * depth
    head = f"{pad}{scalar(key)}:"
    if isinstance(value, BaseModel | Mapping):
        yield head
        yield from _mapping(value, depth + 1)
    elif isinstance(value, list | tuple):
        flow = _flow(value)
        if flow is not None and len(head) + 1 + len(flow) <= WIDTH:
            yield f"{head} {flow}"
        else:
            yield head
            yield from _sequence(value, depth + 1)
    else:
        yield f"{head} {scalar(value)}"


def _mapping(value: BaseModel | Mapping[Any, Any], depth: int) -> Iterator[str]:
    items = _fields(value) if isinstance(value, BaseModel) else value.items()
    for key, item in items:
        yield from _entry(key, item, depth)


def _sequence(items: Sequence[Any], depth: int) -> Iterator[str]:
    pad = INDENT * depth
    for item in items:
        if isinstance(item, BaseModel | Mapping):
            lines = list(_mapping(item, depth + 1))
            first = lines[0][len(pad) + len(INDENT) :] if lines else "{}"
            yield f"{pad}- {first}"
            yield from lines[1:]
        elif isinstance(item, list | tuple):
            yield f"{pad}- {_flow(item) or '[]'}"
        else:
            yield f"{pad}- {scalar(item)}"


def _flow(items: Sequence[Any]) -> str | None:
    """``[a, b]`` for a list of plain values; None for a list holding collections."""
    if any(isinstance(i, BaseModel | Mapping | list | tuple) for i in items):
        return None
    return "[" + ", ".join(scalar(i, flow=True) for i in items) + "]"


# -- scalars ------------------------------------------------------------------------------------


def scalar(value: Any, flow: bool = False) -> str:
    """One value as a YAML scalar; ``flow``: inside ``[...]``, where ``,`` ends it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if _SIMPLE.fullmatch(text) and text.lower() not in _WORDS:
        return text
    return text if _plain_is_safe(text, flow) else quote(text)


def _plain_is_safe(text: str, flow: bool) -> bool:
    """True when ``text`` written plain reads back as the same string, everywhere."""
    if not text or text != text.strip() or text[0] in _INDICATORS:
        return False
    if ": " in text or " #" in text or text.endswith(":") or text.startswith(("---", "...")):
        return False
    if flow and not _FLOW_SPECIAL.isdisjoint(text):
        return False
    if "\t" in text or not _BREAKS.isdisjoint(text) or not _PRINTABLE.fullmatch(text):
        return False
    return not _misread(text)


def _misread(text: str) -> bool:
    """True when a YAML 1.1 (PyYAML's resolver) or 1.2 reader takes ``text`` for a
    non-string: a number, bool, null, date, ``<<`` or ``=``."""
    if text.lower() in _WORDS or _YAML12.fullmatch(text):
        return True
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag != "tag:yaml.org,2002:str")


def quote(text: str) -> str:
    """``text`` quoted: in double quotes (``"*"``) unless it holds something to escape,
    then in single quotes when they can hold it, else in double quotes with escapes."""
    plain_chars = "\t" not in text and _BREAKS.isdisjoint(text) and _PRINTABLE.fullmatch(text)
    if plain_chars and '"' not in text and "\\" not in text:
        return f'"{text}"'
    if plain_chars:
        return "'" + text.replace("'", "''") + "'"
    return '"' + "".join(_escape(c) for c in text) + '"'


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char in _BREAKS or not _PRINTABLE.fullmatch(char):
        code = ord(char)
        if code <= 0xFF:
            return f"\\x{code:02x}"
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


def _one_line(text: str) -> str:
    """``text`` with line breaks and control characters shown as ``?`` (for a comment)."""
    return "".join("?" if c in _BREAKS or not c.isprintable() else c for c in text)
