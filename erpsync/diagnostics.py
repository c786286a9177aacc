"""Diagnostics: one finding about the policy, with the place it comes from.

Loading and validation collect diagnostics instead of stopping at the first
problem, so a reviewer sees every mistake at once. This module also renders
them: as ``path:LINE:COL: error: <object>: <message>`` lines, as JSON for
machines, and as GitHub Actions annotations.

Text and annotations show the first :data:`SHOWN` diagnostics (errors first) in
full, then one line counting the rest by kind ("… and 999,800 more errors:
999,800 unknown role"), so a flood of mistakes stays readable and fast to
print; JSON always lists every one.

The messages are data, made in English from templates marked ``N_``; :func:`to_text` and
:func:`to_github` (views for people) say them in the run's language
(:func:`erpsync.i18n.said`), keeping the ``path:LINE:COL: error:`` prefix and the
annotation syntax that editors and CI parse. :func:`to_json` never changes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from erpsync import i18n
from erpsync.i18n import N_, _, ngettext, said


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Position:
    """Where something was written: a file and a 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def file_line(self) -> str:
        """``file:line``, the short form used in a plan's reasons."""
        return f"{self.file}:{self.line}" if self.line > 0 else self.file


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    code: str  # a stable identifier, e.g. "unknown-reference"; for machines
    position: Position
    object: str  # the policy object, e.g. "user li.na"; empty for file-level problems
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[int, str, int, int, str]:
        p = self.position
        return (0 if self.is_error else 1, p.file, p.line, p.col, self.message)

    def __str__(self) -> str:
        subject = f"{self.object}: " if self.object else ""
        return f"{self.position}: {self.severity}: {subject}{self.message}"


def error(code: str, position: Position, obj: str, message: str) -> Diagnostic:
    return Diagnostic(Severity.ERROR, code, position, obj, message)


def warning(code: str, position: Position, obj: str, message: str) -> Diagnostic:
    return Diagnostic(Severity.WARNING, code, position, obj, message)


def at_field(path: str, message: str) -> str:
    """``roles[0]: <message>``: a message about a field of the object, after the field's
    path as written in the YAML (data; a view says the message, see :func:`said_message`)."""
    return f"{path}: {message}"


def ordered(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Errors first, then warnings; each group by file and line; no repeats."""
    return sorted(set(diagnostics), key=Diagnostic.sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def summary_line(diagnostics: Sequence[Diagnostic]) -> str:
    """``3 error(s), 1 warning(s)``, in English (data: doctor's checks carry it)."""
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    return f"{errors} error(s), {warnings} warning(s)"


def said_summary(diagnostics: Sequence[Diagnostic]) -> str:
    """:func:`summary_line` in the run's language, for a view."""
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    return _("{errors} error(s), {warnings} warning(s)").format(
        errors=i18n.number(errors), warnings=i18n.number(warnings)
    )


SHOWN = 200  # diagnostics shown in full by text and annotations; the rest are counted

_UNKNOWN = re.compile(r"unknown ([^':]+?) '")

# How a view names each kind of finding (:func:`kind_of`) in the run's language.
KINDS = {
    "unknown role": N_("unknown role"),
    "unknown department": N_("unknown department"),
    "unknown user": N_("unknown user"),
    "unknown SoD rule": N_("unknown SoD rule"),
    "unknown reference": N_("unknown reference"),
    "unknown module": N_("unknown module"),
    "unknown action": N_("unknown action"),
    "schema": N_("schema error"),
    "yaml": N_("YAML error"),
    "duplicate key": N_("duplicate key"),
    "duplicate permission": N_("duplicate permission"),
    "cycle": N_("cycle"),
    "data scope": N_("data scope problem"),
    "needs page": N_("missing page permission"),
    "self approved": N_("self-approved exception"),
    "expired": N_("expired"),
    "expiring": N_("expiring soon"),
    "sod violation": N_("SoD violation"),
    "unused role": N_("unused role"),
    "empty department": N_("empty department"),
    "confusable key": N_("confusable key"),
    "capability": N_("unsupported by the adapter"),
    "moved": N_("moved entry problem"),
    "symlink": N_("symbolic link problem"),
    "unreadable": N_("unreadable file"),
    "no policies": N_("no policy files"),
    "edit": N_("edit refused"),
    "refused": N_("refused by the adapter"),
    "policy only": N_("kept in the policy only"),
    "owners": N_("invalid owner"),
    "environment": N_("environment variable problem"),
    "config": N_("configuration problem"),
}

# The noun an object's name starts with ("user li.na"), as a view says it.
NOUNS = {
    "module": N_("module"),
    "department": N_("department"),
    "role": N_("role"),
    "user": N_("user"),
    "sod_rule": N_("sod_rule"),
    "sod_exception": N_("sod_exception"),
    "moved": N_("moved"),
    "target": N_("target"),
    "notify": N_("notify"),
}


def kind_of(d: Diagnostic) -> str:
    """What kind of finding ``d`` is, for counting: ``unknown role``, ``sod violation``."""
    if d.code == "unknown-reference" and (found := _UNKNOWN.search(d.message)):
        return f"unknown {found.group(1)}"
    return d.code.replace("-", " ")


def rest_line(rest: Sequence[Diagnostic], *, say: bool = True) -> str:
    """``… and 999,800 more errors: 999,800 unknown role`` for the diagnostics not shown,
    in the run's language (in English unless ``say``)."""
    if not say or i18n.language() == i18n.ENGLISH:
        return _english_rest_line(rest)
    parts = []
    for errors, group in (
        (True, [d for d in rest if d.is_error]),
        (False, [d for d in rest if not d.is_error]),
    ):
        if group:
            kinds = Counter(kind_of(d) for d in group).most_common()
            counted = _(", ").join(
                _("{n} {kind}").format(n=i18n.number(n), kind=_(KINDS.get(kind, kind)))
                for kind, n in kinds
            )
            if errors:
                line = ngettext("{n} more error: {kinds}", "{n} more errors: {kinds}", len(group))
            else:
                line = ngettext(
                    "{n} more warning: {kinds}", "{n} more warnings: {kinds}", len(group)
                )
            parts.append(line.format(n=i18n.number(len(group)), kinds=counted))
    if len(parts) == 2:
        return _("… and {errors}; and {warnings}").format(errors=parts[0], warnings=parts[1])
    return _("… and {rest}").format(rest=parts[0]) if parts else ""


def _english_rest_line(rest: Sequence[Diagnostic]) -> str:
    """:func:`rest_line` in English, the language of data (and of English runs, whose
    counts keep their thousands separators, as they always had)."""
    parts = []
    for noun, group in (
        ("error", [d for d in rest if d.is_error]),
        ("warning", [d for d in rest if not d.is_error]),
    ):
        if group:
            kinds = Counter(kind_of(d) for d in group).most_common()
            counted = ", ".join(f"{n:,} {kind}" for kind, n in kinds)
            plural = noun if len(group) == 1 else f"{noun}s"
            parts.append(f"{len(group):,} more {plural}: {counted}")
    return "… and " + "; and ".join(parts)


# The end of the object of a refusal no declaration gave: ``role x (live, not declared)``.
LIVE = N_(" (live, not declared)")


def said_object(obj: str) -> str:
    """The object of a diagnostic (``user li.na``) with its noun in the run's language."""
    noun, space, rest = obj.partition(" ")
    if not space or noun not in NOUNS or i18n.language() == i18n.ENGLISH:
        return obj
    if rest.endswith(LIVE):
        rest = rest.removesuffix(LIVE) + _(LIVE)
    return f"{_(NOUNS[noun])} {rest}"


# ``roles[0]: …``, ``settings.max_removals: …``: a message about a field of the object,
# the field's path (data, as written in the YAML) before the message itself.
_FIELD = re.compile(r"([^\W\d][\w-]*(?:\.[\w-]+|\[[^\]\n]*\])*): (.+)", re.DOTALL)


def said_message(message: str) -> str:
    """A diagnostic's message in the run's language: said as a whole, else its field
    path kept and the message after it said (the loader puts the path of the field a
    schema error is about before pydantic's message)."""
    text = said(message)
    if text != message or i18n.language() == i18n.ENGLISH:
        return text
    found = _FIELD.fullmatch(message)
    if found:
        rest = said(found.group(2))
        if rest != found.group(2):
            return _("{field}: {message}").format(field=found.group(1), message=rest)
    return text


def said_line(d: Diagnostic) -> str:
    """``path:LINE:COL: error: <object>: <message>`` with the object and message in the
    run's language; the position and severity stay as editors and CI read them."""
    subject = f"{said_object(d.object)}: " if d.object else ""
    return f"{d.position}: {d.severity}: {subject}{said_message(d.message)}"


def to_text(
    diagnostics: Sequence[Diagnostic], limit: int | None = SHOWN, *, say: bool = True
) -> str:
    """One line per diagnostic; past ``limit`` (None: no limit), one line counting the rest.
    In the run's language unless ``say`` is false (English, for a message that is data)."""
    shown = diagnostics if limit is None else diagnostics[:limit]
    text = "".join(f"{said_line(d) if say else d}\n" for d in shown)
    if len(shown) < len(diagnostics):
        text += rest_line(diagnostics[len(shown) :], say=say) + "\n"
    return text


def to_json(diagnostics: Sequence[Diagnostic]) -> str:
    items = []
    for d in diagnostics:
        item = asdict(d)
        item["severity"] = str(d.severity)
        items.append(item)
    errors = sum(1 for d in diagnostics if d.is_error)
    doc = {
        "valid": errors == 0,
        "errors": errors,
        "warnings": len(diagnostics) - errors,
        "diagnostics": items,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _escape_github(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def to_github(diagnostics: Sequence[Diagnostic], limit: int | None = SHOWN) -> str:
    """GitHub Actions workflow commands, which show as inline annotations on a PR; past
    ``limit`` (None: no limit), one notice counting the rest."""
    lines = []
    for d in diagnostics if limit is None else diagnostics[:limit]:
        p = d.position
        props = [f"file={_escape_github(Path(p.file).as_posix(), property_value=True)}"]
        if p.line > 0:
            props += [f"line={p.line}", f"col={p.col}"]
        props.append(f"title={_escape_github('erpsync ' + d.code, property_value=True)}")
        subject = f"{said_object(d.object)}: " if d.object else ""
        message = _escape_github(subject + said_message(d.message))
        lines.append(f"::{d.severity} {','.join(props)}::{message}\n")
    if len(lines) < len(diagnostics):
        rest = _("{rest} (--format json lists them all)").format(
            rest=rest_line(diagnostics[len(lines) :])
        )
        lines.append(f"::notice title=erpsync validate::{_escape_github(rest)}\n")
    return "".join(lines)
