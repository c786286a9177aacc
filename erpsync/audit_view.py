"""The audit trail as an auditor reads it: each change in words with its before and after,
records filtered by time, actor and object, and the log as text, JSON or CSV.

Read-only: it formats :class:`erpsync.audit.AuditRecord` objects and never touches the
database. What :func:`describe` says is data (the JSON's ``described``, the CSV's
``change``), made in English from templates marked ``N_``; ``audit show`` says it in the
run's language with :func:`erpsync.i18n.said`. A filter by object keeps, in each record,
only the changes that concern it, and drops records left with none.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from erpsync.audit import AuditRecord
from erpsync.errors import UsageError
from erpsync.i18n import N_

FORMATS = ("text", "json", "csv")
BOM = "\ufeff"  # as the reports' CSV: Excel then reads Chinese names correctly
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a cell a spreadsheet would run
KINDS = ("department", "role", "permission", "user", "membership")
CSV_COLUMNS = (
    "record",
    "applied_at",
    "actor",
    "target",
    "git_commit",
    "action",
    "kind",
    "key",
    "change",
    "before",
    "after",
    "reason",
)

Change = Mapping[str, Any]

# The kinds of objects a change concerns, as the views say them (said()).
KIND_WORDS = (
    N_("department"),
    N_("role"),
    N_("permission"),
    N_("user"),
    N_("membership"),
)
_HOLDS = {
    ("membership", True): N_("user {holder} now holds role {held}"),
    ("membership", False): N_("user {holder} no longer holds role {held}"),
    ("permission", True): N_("role {holder} now holds permission {held}"),
    ("permission", False): N_("role {holder} no longer holds permission {held}"),
}
_DELETED = {
    "department": N_("department {key} deleted"),
    "role": N_("role {key} deleted"),
    "user": N_("user {key} deleted"),
}


# -- one change in words --------------------------------------------------------------------------


def describe(change: Change) -> list[str]:
    """What the change did, one line per field or relation: ``name: 蒋兰 → 蒋岚``,
    ``user li.na now holds role ap-clerk``; never an empty ``{}``."""
    action, kind, key = str(change["action"]), str(change["kind"]), str(change["key"])
    if kind in ("membership", "permission"):
        holder, held = key.split("/", 1) if "/" in key else (key, "")
        return [_HOLDS[kind, action == "grant"].format(holder=holder, held=held)]
    before, after = change.get("before") or {}, change.get("after") or {}
    if action == "deactivate" and not before and not after:
        return ["active: true → false"]
    if action == "reactivate" and not before and not after:
        return ["active: false → true"]
    lines = [_field(field, before, after) for field in sorted({*before, *after})]
    if action == "delete":
        template = _DELETED.get(kind)
        lines.append(template.format(key=key) if template else f"{kind} {key} deleted")
    return lines or [
        N_("{action} {kind} {key} (no field recorded)").format(action=action, kind=kind, key=key)
    ]


def _field(field: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``name: 蒋兰 → 蒋岚``; a side without a value is ``(none)``."""
    old, new = _value(before, field), _value(after, field)
    if old == NONE and new != NONE:
        return N_("{field}: (none) → {after}").format(field=field, after=new)
    if new == NONE and old != NONE:
        return N_("{field}: {before} → (none)").format(field=field, before=old)
    return f"{field}: {old} → {new}"


NONE = "(none)"


def _value(values: Mapping[str, Any], field: str) -> str:
    if field not in values:
        return NONE
    value = values[field]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return NONE
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def subjects(change: Change) -> set[tuple[str, str]]:
    """Every object a change concerns, as (kind, key): a membership concerns its user and
    its role too; a permission grant its role and the permission."""
    kind, key = str(change["kind"]), str(change["key"])
    found = {(kind, key)}
    if "/" in key and kind == "membership":
        user, role = key.split("/", 1)
        found |= {("user", user), ("role", role)}
    elif "/" in key and kind == "permission":
        role, permission = key.split("/", 1)
        found |= {("role", role), ("permission", permission)}
    return found


# -- filters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What ``audit log`` keeps; every field ``None`` keeps everything."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive
    actor: str | None = None
    object: tuple[str | None, str] | None = None  # (kind or None for any, key)

    @classmethod
    def parse(
        cls,
        since: str | None = None,
        until: str | None = None,
        actor: str | None = None,
        obj: str | None = None,
    ) -> Filters:
        """From the command line; :class:`UsageError` naming the option on bad input."""
        return cls(
            _moment("--since", since, end=False) if since else None,
            _moment("--until", until, end=True) if until else None,
            actor,
            _object(obj) if obj else None,
        )

    def keeps(self, change: Change) -> bool:
        if self.object is None:
            return True
        kind, key = self.object
        found = subjects(change)
        return (kind, key) in found if kind else any(k == key for _, k in found)

    def apply(self, records: Iterable[AuditRecord]) -> Iterator[tuple[AuditRecord, list[Change]]]:
        """Each record kept with the changes kept in it."""
        for record in records:
            e = record.entry
            at = _utc(e.applied_at)
            if (self.since and at < self.since) or (self.until and at >= self.until):
                continue
            if self.actor is not None and e.actor != self.actor:
                continue
            changes: list[Change] = [c for c in e.changes if self.keeps(c)]
            if self.object is not None and not changes:
                continue
            yield record, changes


def _moment(option: str, text: str, end: bool) -> dt.datetime:
    """A date (``2026-12-01``: the whole day, so ``--until`` includes it) or an ISO time;
    a time without an offset is UTC, as the trail is."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime.combine(day, dt.time(), dt.UTC)
            return start + dt.timedelta(days=1) if end else start
        return _utc(dt.datetime.fromisoformat(text))
    except ValueError:
        raise UsageError(
            N_(
                "{option} {text}: expected a date (2026-12-01) or an ISO time "
                "(2026-12-01T09:30, 2026-12-01T09:30+08:00)"
            ).format(option=option, text=repr(text))
        ) from None


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _object(text: str) -> tuple[str | None, str]:
    kind, sep, key = text.partition(":")
    if sep and kind in KINDS:
        if not key:
            raise UsageError(
                N_("--object {text}: a key is missing after '{kind}:'").format(
                    text=repr(text), kind=kind
                )
            )
        return kind, key
    return None, text  # a permission such as finance.payment:approve is a key with a ':'


# -- the log in three formats ---------------------------------------------------------------------


def to_json(kept: Iterable[tuple[AuditRecord, list[Change]]]) -> str:
    rows = [
        {
            "id": r.id,
            "applied_at": r.entry.applied_at.isoformat(),
            "actor": r.entry.actor,
            "target": r.entry.target,
            "adapter": r.entry.adapter,
            "git_commit": r.entry.git_commit,
            "git_branch": r.entry.git_branch,
            "hash": r.hash,
            "changes": [{**c, "described": describe(c)} for c in changes],
        }
        for r, changes in kept
    ]
    return json.dumps({"records": rows}, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def to_csv(kept: Iterable[tuple[AuditRecord, list[Change]]]) -> str:
    """One row per change, so a spreadsheet can sort and filter them; as the reports'
    CSV: a byte order mark for Excel, and a cell a spreadsheet would run as a formula
    prefixed with ``'``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r, changes in kept:
        e = r.entry
        for c in changes:
            writer.writerow(
                _cell(cell)
                for cell in [
                    r.id,
                    e.applied_at.isoformat(),
                    e.actor,
                    e.target,
                    e.git_commit or "",
                    c["action"],
                    c["kind"],
                    c["key"],
                    "; ".join(describe(c)),
                    _json_or_empty(c.get("before")),
                    _json_or_empty(c.get("after")),
                    c.get("reason") or "",
                ]
            )
    return BOM + out.getvalue()


def _cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _json_or_empty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
