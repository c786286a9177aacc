"""Reading a saved plan (or another JSON file erpsync wrote) as untrusted input.

A plan file comes from a CI artifact or a colleague's disk, so it is read
under limits before the JSON parser sees it:

- at most :data:`MAX_BYTES` (256 MiB), checked before reading and again while
  reading (a file that grows, or a device, cannot pass it);
- nested at most :data:`MAX_DEPTH` levels (a plan needs 5), counted over the
  raw text in linear time, so Python's recursive JSON decoder never meets a
  document deep enough to exhaust the stack;
- strict UTF-8 and valid JSON.

Every failure is a :class:`~erpsync.errors.UsageError` naming the file and what
is wrong with it.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from pathlib import Path
from typing import Any

from erpsync.errors import UsageError
from erpsync.i18n import N_
from erpsync.plan import Plan

MAX_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64

# A JSON string (escapes included) or one bracket; the unrolled form never backtracks.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest (brackets inside strings do
    not count); linear in the length of ``text``, whatever it holds."""
    steps = (_STEP.get(m.group(), 0) for m in _TOKEN.finditer(text))
    return max(accumulate(steps), default=0)


# Why a JSON file cannot be read: for any ``what`` ("guards report"), and for a plan file.
CANNOT_READ = (
    N_("cannot read the {what} {path}: {cause}"),
    N_("cannot read the plan file {path}: {cause}"),
)
TOO_LARGE = (
    N_("{path} is not a {what}: it is larger than the {mib} MiB limit"),
    N_("{path} is not a plan file: it is larger than the {mib} MiB limit"),
)
NOT_UTF8 = (
    N_("{path} is not a {what}: not UTF-8 text (byte {byte} is invalid)"),
    N_("{path} is not a plan file: not UTF-8 text (byte {byte} is invalid)"),
)
TOO_DEEP = (
    N_("{path} is not a {what}: its JSON nests {depth} levels deep, over the limit of {most}"),
    N_("{path} is not a plan file: its JSON nests {depth} levels deep, over the limit of {most}"),
)
NOT_JSON = (
    N_("{path} is not a {what} (invalid JSON: {problem})"),
    N_("{path} is not a plan file (invalid JSON: {problem})"),
)


def read_json(path: Path, what: str, max_bytes: int | None = None) -> Any:
    """The JSON document in ``path`` (a ``what``, e.g. "plan file"), read within the limits
    (``max_bytes`` defaults to :data:`MAX_BYTES`)."""
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    plan_file = what == "plan file"

    def refused(templates: tuple[str, str], **values: object) -> UsageError:
        return UsageError(templates[plan_file].format(path=path, what=what, **values))

    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise refused(CANNOT_READ, cause=exc.strerror) from None
    if len(data) > max_bytes:
        raise refused(TOO_LARGE, mib=max_bytes // 1048576)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refused(NOT_UTF8, byte=exc.start) from None
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise refused(TOO_DEEP, depth=depth, most=MAX_DEPTH)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise refused(NOT_JSON, problem=exc) from None


def read_plan(path: Path) -> Plan:
    """The plan saved in ``path`` (``erpsync plan --format json --out``), checked against
    the plan schema; every problem names the file."""
    data = read_json(path, "plan file")
    if not isinstance(data, dict):
        raise UsageError(
            N_("{path} is not a plan file: expected a JSON object, got {found}").format(
                path=path, found=_json_type(data)
            )
        )
    return Plan.from_dict(data, path)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"
