"""The CSV view of the listing reports, for spreadsheets.

``report access`` is one row per (user, permission); ``report sod`` one row
per violation; ``report expiring`` one row per user or exception. UTF-8 with a
byte order mark (so Excel reads Chinese names correctly), a header row, and
the ``csv`` module's quoting. A text cell that a spreadsheet would take for a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is
prefixed with ``'``, so that opening the file never runs anything.

The CSV is data, read by machines as much as by spreadsheets: its column names and
values (statuses, kinds) stay in English whatever the language of the run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from erpsync.errors import UsageError
from erpsync.i18n import N_

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "

Cell = str | int | bool | None


def csv_view(doc: Mapping[str, Any]) -> str:
    """The report as CSV text, starting with the BOM; ``\\r\\n`` ends each row."""
    kind = str(doc["report"])
    if kind not in _TABLES:
        known = ", ".join(sorted(_TABLES))
        raise UsageError(
            N_("CSV is available for the reports {known}, not for {kind}").format(
                known=known, kind=kind
            )
        )
    headers, rows = _TABLES[kind](doc)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([_cell(c) for c in row] for row in rows)
    return BOM + out.getvalue()


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def _joined(values: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(values)


Table = tuple[Sequence[str], list[list[Cell]]]


def _access(doc: Mapping[str, Any]) -> Table:
    headers = (
        "login",
        "name",
        "department",
        "department_name",
        "active",
        "status",
        "permission",
        "permission_label",
        "roles",
        "builtin_administrator",
    )
    rows: list[list[Cell]] = [
        [
            r["login"],
            r["name"],
            r["department"],
            r["department_name"],
            r["active"],
            r["status"],
            r["permission"],
            r["permission_label"],
            _joined(r["roles"]),
            r["builtin_administrator"],
        ]
        for r in doc["rows"]
    ]
    return headers, rows


def _sod(doc: Mapping[str, Any]) -> Table:
    headers = (
        "rule",
        "severity",
        "user",
        "name",
        "department",
        "status",
        "holds",
        "roles",
        "exception_approved_by",
        "exception_expires",
        "exception_reason",
    )
    rows: list[list[Cell]] = []
    for v in doc["violations"]:
        exc = v.get("exception") or {}
        held = " + ".join(_joined(group) for group in v["held"])
        roles = _joined(sorted({r for rs in v["roles"].values() for r in rs}))
        rows.append(
            [
                v["rule"],
                v["severity"],
                v["user"],
                v["name"],
                v["department"],
                v["status"],
                held,
                roles,
                exc.get("approved_by"),
                exc.get("expires"),
                exc.get("reason"),
            ]
        )
    return headers, rows


def _expiring(doc: Mapping[str, Any]) -> Table:
    headers = ("status", "kind", "key", "expires", "days_left", "detail", "live_active")
    rows: list[list[Cell]] = [
        [
            e["status"],
            e["kind"],
            e["key"],
            e["expires"],
            e["days_left"],
            e["detail"],
            e["live_active"],
        ]
        for e in doc["entries"]
    ]
    return headers, rows


def _dormant(doc: Mapping[str, Any]) -> Table:
    headers = (
        "login",
        "name",
        "department",
        "department_name",
        "last_login",
        "days_since",
        "roles",
        "roles_of_note",
        "high_risk_permissions",
        "builtin_administrator",
        "declared",
    )
    rows: list[list[Cell]] = [
        [
            u["login"],
            u["name"],
            u["department"],
            u["department_name"],
            u["last_login"],
            u["days_since"],
            _joined(u["roles"]),
            _joined(f"{r}: {', '.join(why)}" for r, why in u["roles_of_note"].items()),
            _joined(u["high_risk_permissions"]),
            u["builtin_administrator"],
            u["declared"],
        ]
        for u in doc["users"]
    ]
    return headers, rows


def _review(doc: Mapping[str, Any]) -> Table:
    headers = (
        "campaign",
        "reviewer",
        "line",
        "kind",
        "login",
        "role",
        "decision",
        "expires",
        "comment",
    )
    rows: list[list[Cell]] = [
        [
            doc["campaign"],
            d["reviewer"],
            d["line"],
            d["kind"],
            d["login"],
            d["role"],
            d["decision"],
            d["expires"],
            d["comment"],
        ]
        for d in doc["decisions"]
    ]
    return headers, rows


_TABLES: dict[str, Callable[[Mapping[str, Any]], Table]] = {
    "access": _access,
    "sod": _sod,
    "expiring": _expiring,
    "dormant": _dormant,
    "review": _review,
}
