"""The audit trail's head, kept outside the database to catch what the chain cannot.

The hash chain (:func:`erpsync.audit.verify`) shows an edited, removed or reordered
record, but not the newest records removed, the whole table emptied or dropped, or
every record rewritten with recomputed hashes: each of those leaves a valid chain.
An *anchor* pins the trail as it was::

    12:3f9a...(64 hex)      the newest record's id, a colon, and its hash

Since every hash covers the one before it, record 12's hash pins records 1 to 12.
:func:`check` passes when that record is still there with that hash (records
appended since must chain from it, which :func:`erpsync.audit.verify` checks) and
names what happened otherwise. The anchor of an empty trail is ``0:`` and the
genesis hash; any trail passes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from erpsync import audit
from erpsync.errors import UsageError
from erpsync.i18n import N_
from erpsync.owntables import (
    AUDIT_TABLE_NAME,
    BINDING_TABLE_NAME,
    LOCK_TABLE_NAME,
    erpsync_binding,
    has_table,
)

_ANCHOR = re.compile(r"^(\d{1,18}):([0-9a-fA-F]{64})$")


@dataclass(frozen=True)
class Anchor:
    """The newest record's id and hash: ``record_id`` 0 with the genesis hash when empty."""

    record_id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.record_id}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """An anchor as printed by apply and ``audit head``; :class:`UsageError` otherwise."""
        match = _ANCHOR.match(text.strip())
        if match is None:
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise UsageError(
                N_(
                    "{anchor} is not an audit anchor: expected ID:HASH as printed by "
                    "`erpsync apply` and `erpsync audit head` (a record id, a colon, 64 hex digits)"
                ).format(anchor=repr(shown))
            )
        record_id, digest = int(match.group(1)), match.group(2).lower()
        if record_id == 0 and digest != audit.GENESIS:
            raise UsageError(N_("anchor 0 (an empty trail) must carry the genesis hash, 64 zeros"))
        return cls(record_id, digest)


def of(record: audit.AuditRecord | None) -> Anchor:
    """The anchor of a trail whose newest record is ``record`` (None: an empty trail)."""
    return Anchor(0, audit.GENESIS) if record is None else Anchor(record.id, record.hash)


def head(conn: Connection) -> Anchor:
    """The live trail's anchor, from its stored hashes (verify the chain before trusting it)."""
    stored = audit.hashes(conn)
    if not stored:
        return Anchor(0, audit.GENESIS)
    newest = max(stored)
    return Anchor(newest, stored[newest])


def check(conn: Connection, anchor: Anchor) -> list[str]:
    """Why the live trail is not the anchored one continued; [] when it is."""
    if anchor.record_id == 0:
        return []
    stored = audit.hashes(conn)
    wanted = anchor.record_id
    if not stored:
        if not _audit_table(conn):
            gone = N_(
                "the anchor names record {id}, but the audit table is missing: the trail was "
                "deleted (dropped, emptied, or this is not the database the anchor came from)"
            )
        else:
            gone = N_(
                "the anchor names record {id}, but the trail is empty: the trail was "
                "deleted (dropped, emptied, or this is not the database the anchor came from)"
            )
        return [gone.format(id=wanted)]
    found = stored.get(anchor.record_id)
    newest = max(stored)
    if found is None and newest < anchor.record_id:
        return [
            N_(
                "record {id} named by the anchor is gone: the trail now ends at record "
                "{newest} (the newest records were deleted)"
            ).format(id=wanted, newest=newest)
        ]
    if found is None:
        return [N_("record {id} named by the anchor is gone (deleted)").format(id=wanted)]
    if found != anchor.hash:
        return [
            N_(
                "record {id} has hash {found}, not the anchored {anchored}: the trail up to "
                "record {id} was rewritten (or the anchor is from another target)"
            ).format(id=wanted, found=found, anchored=anchor.hash)
        ]
    return []


def appended_since(conn: Connection, anchor: Anchor) -> int:
    """How many records came after the anchored one."""
    return sum(1 for record_id in audit.hashes(conn) if record_id > anchor.record_id)


def _audit_table(conn: Connection) -> bool:
    return has_table(conn, AUDIT_TABLE_NAME)


def missing_trail(conn: Connection) -> tuple[str, bool] | None:
    """Evidence, read cheaply, that a trail with no records once had some.

    ``(message, certain)``: certain when erpsync's other tables exist but ``erpsync_audit``
    does not (erpsync creates them together, so it was dropped); not certain when the trail
    is empty but bindings were recorded (apply records them, but so does ``import``).
    None when the trail has records, or nothing suggests erpsync has written here."""
    if audit.hashes(conn):
        return None
    if not _audit_table(conn):
        others = [name for name in (LOCK_TABLE_NAME, BINDING_TABLE_NAME) if has_table(conn, name)]
        if others:
            message = N_(
                "erpsync_audit is missing but {tables} exist: erpsync creates "
                "them together, so the audit table was dropped"
            )
            return message.format(tables=" and ".join(others)), True
        return None
    if not has_table(conn, BINDING_TABLE_NAME):
        return None
    bound = conn.execute(select(func.count()).select_from(erpsync_binding)).scalar_one()
    if not bound:
        return None
    message = N_(
        "the audit trail is empty but erpsync_binding holds {n} binding(s): "
        "the trail was emptied, unless only `erpsync import` has run here"
    )
    return message.format(n=bound), False
