"""jshERP's two value formats in ``jsh_user_business``: the bracketed id list and ``btn_str``.

``value`` holds ids concatenated in brackets, ``[12][7][30]`` (no separators; ``''``
is the empty set). The application tests membership with the substring ``[<id>]``.
A UserRole row holds exactly one role: jshERP strips every bracket and reads one
number, so ``[6][7]`` means role 67 (:func:`role_of` says so rather than guessing).

``btn_str`` is a JSON list of ``{"funId": 13, "btnStr": "1,3"}``: which button codes of
each function's page a role has. Current saves write ``funId`` as a number, older rows
as a string (``"241"``); ``btnStr`` is a comma list in any order. No buttons is ``''``
or NULL. Reading is tolerant and says what it could not read; writing produces what the
application itself writes (numbers, codes ascending, code-less entries left out).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from erpsync.i18n import N_

_ID = re.compile(r"\[(\d+)\]")


def parse_ids(value: str | None) -> list[int]:
    """The ids of a bracketed list, in stored order (``[0]`` and ``[]`` dropped)."""
    return [int(i) for i in _ID.findall(value or "") if int(i) != 0]


def format_ids(ids: Iterable[int]) -> str:
    """``[a][b]...`` in the given order; ``''`` for none."""
    return "".join(f"[{i}]" for i in ids)


def role_of(value: str | None) -> tuple[int | None, str | None]:
    """The role a UserRole ``value`` gives, as jshERP reads it (brackets stripped), and
    a problem when the value is not one bracketed id."""
    text = (value or "").strip()
    if not text:
        return None, None
    digits = text.replace("[", "").replace("]", "")
    ids = _ID.findall(text)
    if not digits.isdigit():
        return None, N_("holds {value}, which jshERP cannot read as a role").format(
            value=repr(text)
        )
    if len(ids) != 1 or f"[{ids[0]}]" != text:
        return int(digits), N_("holds {value}, which jshERP reads as role {role}").format(
            value=repr(text), role=int(digits)
        )
    return int(digits), None


def parse_buttons(text: str | None) -> tuple[dict[int, set[str]], list[str]]:
    """function id -> button codes of a ``btn_str``, and what could not be read (a
    function listed twice keeps its first entry, as the pages do)."""
    buttons: dict[int, set[str]] = {}
    problems: list[str] = []
    if not text or not text.strip():
        return buttons, problems
    try:
        entries = json.loads(text)
    except ValueError:
        return buttons, [N_("btn_str is not JSON: {text}").format(text=repr(text[:60]))]
    if not isinstance(entries, list):
        return buttons, [N_("btn_str is not a JSON list: {text}").format(text=repr(text[:60]))]
    for entry in entries:
        fun = entry.get("funId") if isinstance(entry, dict) else None
        codes = entry.get("btnStr") if isinstance(entry, dict) else None
        if isinstance(fun, bool) or not isinstance(fun, int | str) or not str(fun).isdigit():
            problems.append(
                N_("btn_str entry without a function id: {entry}").format(entry=repr(entry))
            )
            continue
        if codes is not None and not isinstance(codes, str):
            problems.append(
                N_("btn_str entry of function {function} has no code list: {entry}").format(
                    function=fun, entry=repr(entry)
                )
            )
            continue
        fun_id = int(fun)
        if fun_id in buttons:
            problems.append(
                N_("btn_str lists function {function} twice: the first entry counts").format(
                    function=fun_id
                )
            )
            continue
        buttons[fun_id] = {c.strip() for c in (codes or "").split(",") if c.strip()}
    return buttons, problems


def format_buttons(buttons: Mapping[int, Iterable[str]], order: Iterable[int]) -> str:
    """``btn_str`` as jshERP writes it: entries in ``order`` (function ids), ``funId`` a
    number, codes ascending, functions without codes left out; ``''`` for none."""
    entries = []
    for fun_id in order:
        codes = sorted(set(buttons.get(fun_id, ())), key=lambda c: (len(c), c))
        if codes:
            entries.append({"funId": fun_id, "btnStr": ",".join(codes)})
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":")) if entries else ""
