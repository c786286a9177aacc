"""The audit trail as JSON Lines, to keep in git or write-once storage, and compare.

One line per record, oldest first, each the record's canonical JSON object
(:func:`erpsync.audit.as_object`: everything its hash covers, plus ``prev_hash``
and ``hash``; sorted keys, no spaces). Exporting an intact trail again later
writes the same lines, with the new records added at the end, so a kept export
grows by appending and a diff shows only what was applied since.

:func:`read` checks the file on its own (every line a record, ids 1, 2, 3...,
each hash recomputed, each record chained to the one before) and names
``file:line`` for the first problem; :func:`compare` then holds the live trail
against it: every exported record must still be there and identical, and the
live records after them must chain from the export's last hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erpsync import audit
from erpsync.audit_anchor import Anchor
from erpsync.errors import AuditError, UsageError
from erpsync.i18n import N_


def lines(objects: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    """The export's lines (each ending in a newline) of these record objects."""
    for obj in objects:
        yield audit.canonical_json(obj) + "\n"


@dataclass(frozen=True)
class Export:
    """A read export: its records (as objects), oldest first."""

    path: Path
    records: list[dict[str, Any]]

    @property
    def anchor(self) -> Anchor:
        if not self.records:
            return Anchor(0, audit.GENESIS)
        last = self.records[-1]
        return Anchor(int(last["id"]), str(last["hash"]))


def read(path: Path) -> Export:
    """An export file, checked line by line; :class:`UsageError` naming ``file:line``."""
    try:
        with path.open(encoding="utf-8") as handle:
            text_lines = list(handle)
    except OSError as exc:
        raise UsageError(
            N_("cannot read the export {path}: {reason}").format(
                path=path, reason=exc.strerror or exc
            )
        ) from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            N_("{path}: not an audit export (not UTF-8 text: {reason})").format(
                path=path, reason=exc.reason
            )
        ) from None
    while text_lines and not text_lines[-1].strip():  # blank lines an editor left at the end
        text_lines.pop()
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text_lines, start=1):
        where = f"{path}:{number}"
        records.append(_record(where, line, records[-1] if records else None))
    return Export(path, records)


def _record(where: str, line: str, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(
            N_("{where}: not an audit record (invalid JSON: {reason})").format(
                where=where, reason=exc.msg
            )
        ) from None
    except RecursionError:
        raise UsageError(
            N_("{where}: not an audit record (nested too deeply)").format(where=where)
        ) from None
    if not isinstance(obj, dict):
        raise UsageError(
            N_("{where}: not an audit record (a JSON object per line is expected)").format(
                where=where
            )
        )
    missing = [k for k in audit.OBJECT_KEYS if k not in obj]
    extra = sorted(set(obj) - set(audit.OBJECT_KEYS))
    if missing or extra:
        if missing and extra:
            wrong = N_("{where}: not an audit record (missing {missing}; unknown {extra})")
        elif missing:
            wrong = N_("{where}: not an audit record (missing {missing})")
        else:
            wrong = N_("{where}: not an audit record (unknown {extra})")
        raise UsageError(
            wrong.format(where=where, missing=", ".join(missing), extra=", ".join(extra))
        )
    expected_id = int(previous["id"]) + 1 if previous else 1
    if type(obj["id"]) is not int or obj["id"] != expected_id:
        raise UsageError(
            N_("{where}: record id {found}, expected {id}").format(
                where=where, found=repr(obj["id"]), id=expected_id
            )
        )
    for key in ("prev_hash", "hash"):
        if not isinstance(obj[key], str):
            raise UsageError(
                N_("{where}: record {id}: {key} is not a string").format(
                    where=where, id=expected_id, key=key
                )
            )
    expected_prev = str(previous["hash"]) if previous else audit.GENESIS
    if obj["prev_hash"] != expected_prev:
        raise AuditError(
            N_(
                "{where}: record {id} is not chained to the line before it: "
                "the export file was edited"
            ).format(where=where, id=expected_id)
        )
    try:
        recomputed = audit.object_hash(obj)
    except (TypeError, ValueError) as exc:
        raise UsageError(
            N_("{where}: not an audit record ({reason})").format(where=where, reason=exc)
        ) from None
    if recomputed != obj["hash"]:
        raise AuditError(
            N_(
                "{where}: record {id}'s content does not match its hash: the export file was edited"
            ).format(where=where, id=expected_id)
        )
    return obj


def compare(export: Export, live: list[tuple[int, dict[str, Any] | None]]) -> list[str]:
    """Why the live trail (:func:`erpsync.audit.objects`) is not the export continued;
    [] when every exported record is present and identical and the rest chain from it."""
    by_id = dict(live)
    for obj in export.records:
        record_id = int(obj["id"])
        name = f"{export.path}:{record_id}"  # record n is on line n
        if record_id not in by_id:
            newest = max(by_id, default=0)
            why = (
                N_(
                    "the trail now ends at record {newest} (the newest records were deleted)"
                ).format(newest=newest)
                if newest < record_id
                else N_("it was deleted")
            )
            if not by_id:
                why = N_("the live trail is empty or its table is missing (deleted)")
            absent = N_("record {id} ({where}) is not in the live trail: {why}")
            return [absent.format(id=record_id, where=name, why=why)]
        stored = by_id[record_id]
        if stored is None:
            unreadable = N_("record {id} ({where}) is unreadable in the live trail: edited")
            return [unreadable.format(id=record_id, where=name)]
        if stored != obj:
            fields = [k for k in audit.OBJECT_KEYS if stored.get(k) != obj.get(k)]
            differs = N_(
                "record {id} ({where}) differs from the export in "
                "{fields}: the live trail was edited or rewritten"
            )
            return [differs.format(id=record_id, where=name, fields=", ".join(fields))]
    after = [obj for record_id, obj in live if record_id == export.anchor.record_id + 1]
    if after and after[0] is not None and after[0]["prev_hash"] != export.anchor.hash:
        unchained = N_("record {id} does not chain from the export's last record {last}")
        return [unchained.format(id=export.anchor.record_id + 1, last=export.anchor.record_id)]
    return []
