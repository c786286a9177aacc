"""Access reviews kept as evidence: one hash-chained ``erpsync_review`` record per event.

A campaign is two events: ``started`` (every sheet sent: reviewer, digest, lines) and
``closed`` (every sheet returned: who decided what on which line, and the policy edits
that resulted). Records are chained as the audit trail's are (:mod:`erpsync.audit`)::

    hash = sha256(prev_hash + canonical JSON of {id, campaign, event, recorded_at,
                  actor, body})

so an edited, deleted or reordered record is found by :func:`verify`. Removing the
newest records leaves a valid, shorter chain: ``review start`` and ``close`` print the
head (``id:hash``) to keep with the campaign and its pull request, and ``report review``
shows the head it finds, to compare. The table lives
beside the audit trail in the ERP database; nothing here
writes to the ERP's own tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from erpsync.audit import GENESIS, canonical_json
from erpsync.errors import UsageError
from erpsync.i18n import N_
from erpsync.owntables import (
    REVIEW_TABLE_NAME,
    ensure_tables,
    erpsync_review,
    format_time,
    has_table,
)


@dataclass(frozen=True)
class Event:
    id: int
    campaign: str
    event: str
    recorded_at: dt.datetime
    actor: str
    body: Mapping[str, Any]
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign": self.campaign,
            "event": self.event,
            "recorded_at": format_time(self.recorded_at),
            "actor": self.actor,
            "body": self.body,
        }

    def hash_matches(self) -> bool:
        return _hash(self.prev_hash, self.content()) == self.hash


def _hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


def record(
    conn: Connection,
    campaign: str,
    event: str,
    actor: str,
    body: Mapping[str, Any],
    at: dt.datetime,
) -> Event:
    """Append an event in the caller's transaction."""
    ensure_tables(conn)
    t = erpsync_review
    latest = conn.execute(select(t.c.id, t.c.hash).order_by(t.c.id.desc())).first()
    record_id, prev_hash = (latest.id + 1, latest.hash) if latest else (1, GENESIS)
    body = json.loads(canonical_json(body))  # as it will read back
    draft = Event(record_id, campaign, event, at, actor, body, prev_hash, "")
    digest = _hash(prev_hash, draft.content())
    conn.execute(
        insert(t).values(
            id=record_id,
            campaign=campaign,
            event=event,
            recorded_at=at,
            actor=actor,
            body=canonical_json(body),
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return Event(record_id, campaign, event, at, actor, body, prev_hash, digest)


def events(conn: Connection) -> list[Event]:
    """Every event, oldest first ([] before the first campaign)."""
    if not has_table(conn, REVIEW_TABLE_NAME):
        return []
    t = erpsync_review
    out = []
    for row in conn.execute(select(t).order_by(t.c.id)).mappings():
        try:
            body = json.loads(row["body"])
        except ValueError:
            body = {"unreadable": row["body"]}
        out.append(
            Event(
                row["id"],
                row["campaign"],
                row["event"],
                row["recorded_at"],
                row["actor"],
                body,
                row["prev_hash"],
                row["hash"],
            )
        )
    return out


@dataclass(frozen=True)
class Campaign:
    """A campaign as its events tell it."""

    id: str
    started: Event
    closed: Event | None = None

    @property
    def status(self) -> str:
        return "closed" if self.closed else "open"


def campaigns(found: list[Event]) -> list[Campaign]:
    """The campaigns, oldest first."""
    started = {e.campaign: e for e in found if e.event == "started"}
    closed = {e.campaign: e for e in found if e.event == "closed"}
    return [Campaign(c, e, closed.get(c)) for c, e in started.items()]


def campaign(conn: Connection, wanted: str | None = None) -> Campaign:
    """The campaign ``wanted``, or the latest one; UsageError when there is none."""
    known = campaigns(events(conn))
    if not known:
        raise UsageError(N_("no access review has been started here: run erpsync review start"))
    if wanted is None:
        return known[-1]
    for found in known:
        if found.id == wanted:
            return found
    names = ", ".join(c.id for c in known[-5:])
    raise UsageError(
        N_("no review campaign {campaign} (latest: {names})").format(
            campaign=repr(wanted), names=names
        )
    )


def verify(found: list[Event]) -> list[str]:
    """Problems in the chain, one message each; [] when it is intact."""
    problems: list[str] = []
    expected_prev, expected_id = GENESIS, 1
    seen: set[tuple[str, str]] = set()
    for e in found:
        if (e.campaign, e.event) in seen:
            problems.append(
                N_("review record {id}: a second {event} of {campaign}").format(
                    id=e.id, event=e.event, campaign=e.campaign
                )
            )
        seen.add((e.campaign, e.event))
        if e.id != expected_id:
            problems.append(
                N_("review record {first} to {last} missing: deleted").format(
                    first=expected_id, last=e.id - 1
                )
            )
        if e.prev_hash != expected_prev:
            problems.append(
                N_("review record {id}: not chained to the record before it").format(id=e.id)
            )
        if not e.hash_matches():
            problems.append(
                N_("review record {id}: edited: its content no longer matches").format(id=e.id)
            )
        expected_prev, expected_id = e.hash, e.id + 1
    return problems
