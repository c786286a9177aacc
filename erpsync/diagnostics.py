"""Diagnostics: one finding about the policy, with the place it comes from.

Loading and validation collect diagnostics instead of stopping at the first
problem, so a reviewer sees every mistake at once. This module also renders
them: as ``path:LINE:COL: error: <object>: <message>`` lines, as JSON for
machines, and as GitHub Actions annotations.

Text and annotations show the first :data:`SHOWN` diagnostics (errors first) in
full, then one line counting the rest by kind ("… and 999,800 more errors:
999,800 unknown role"), so a flood of mistakes stays readable and fast to
print; JSON always lists every one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path


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


def ordered(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Errors first, then warnings; each group by file and line; no repeats."""
    return sorted(set(diagnostics), key=Diagnostic.sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def summary_line(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    return f"{errors} error(s), {warnings} warning(s)"


SHOWN = 200  # diagnostics shown in full by text and annotations; the rest are counted

_UNKNOWN = re.compile(r"unknown ([^':]+?) '")


def kind_of(d: Diagnostic) -> str:
    """What kind of finding ``d`` is, for counting: ``unknown role``, ``sod violation``."""
    if d.code == "unknown-reference" and (found := _UNKNOWN.search(d.message)):
        return f"unknown {found.group(1)}"
    return d.code.replace("-", " ")


def rest_line(rest: Sequence[Diagnostic]) -> str:
    """``… and 999,800 more errors: 999,800 unknown role`` for the diagnostics not shown."""
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


def to_text(diagnostics: Sequence[Diagnostic], limit: int | None = SHOWN) -> str:
    """One line per diagnostic; past ``limit`` (None: no limit), one line counting the rest."""
    shown = diagnostics if limit is None else diagnostics[:limit]
    text = "".join(f"{d}\n" for d in shown)
    if len(shown) < len(diagnostics):
        text += rest_line(diagnostics[len(shown) :]) + "\n"
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
        subject = f"{d.object}: " if d.object else ""
        lines.append(f"::{d.severity} {','.join(props)}::{_escape_github(subject + d.message)}\n")
    if len(lines) < len(diagnostics):
        rest = rest_line(diagnostics[len(lines) :]) + " (--format json lists them all)"
        lines.append(f"::notice title=erpsync validate::{_escape_github(rest)}\n")
    return "".join(lines)
