"""The audit trail: one hash-chained ``erpsync_audit`` record per apply.

:func:`append` runs inside the apply's own transaction, so a record exists
exactly when its changes were committed. Each record stores who applied what,
when, from which git commit, against which target, and every change with its
``before`` and ``after``; and two hashes::

    hash = sha256(prev_hash + canonical JSON of {id, every entry field, summary})

where ``prev_hash`` is the previous record's ``hash`` (:data:`GENESIS` for the
first). The id is hashed too, so a record moved to another id no longer
matches. :func:`verify` recomputes the chain and reports records that were
edited (content no longer matches the hash), deleted (a gap in the ids, or a
broken link) or reordered (a record linked to another than its predecessor).

The chain is tamper-evident, not tamper-proof: someone who can write the table
can rewrite every later hash too, and removing the newest records leaves a
valid, shorter chain. An anchor kept outside the database catches those: the
head (``id:hash`` of the newest record, :mod:`erpsync.audit_anchor`) or a JSON
Lines export of every record (:mod:`erpsync.audit_export`), each record being
:func:`as_object`.

Ids are assigned here as the last id + 1; the caller holds the apply lock
(:mod:`erpsync.lock`), so two appends never race (if they did, the primary key
would refuse the second).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, RowMapping, String, insert, select, type_coerce

from erpsync import __version__
from erpsync.errors import AuditError
from erpsync.i18n import N_
from erpsync.owntables import (
    AUDIT_TABLE_NAME,
    ensure_tables,
    erpsync_audit,
    format_time,
    parse_time,
)
from erpsync.owntables import has_table as _has_table
from erpsync.plan import SUMMARY_ORDER

GENESIS = "0" * 64  # prev_hash of the first record

# CI systems and the variable naming who started the run, as actor prefixes.
CI_ACTORS = (
    ("github", "GITHUB_ACTOR"),
    ("gitlab", "GITLAB_USER_LOGIN"),
    ("buildkite", "BUILDKITE_BUILD_CREATOR"),
)

GIT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class AuditEntry:
    """What one apply did; ``changes`` are the plan's change dicts (with before/after)."""

    applied_at: dt.datetime
    actor: str
    git_commit: str | None
    git_branch: str | None
    target: str
    adapter: str
    erpsync_version: str
    policy_digest: str
    live_digest: str
    changes: list[dict[str, Any]]

    def __post_init__(self) -> None:
        if self.applied_at.tzinfo is None or self.applied_at.utcoffset() is None:
            raise ValueError("AuditEntry.applied_at must be timezone-aware")

    @property
    def summary(self) -> dict[str, int]:
        """How many changes of each action, as in a plan's summary."""
        return summarise(self.changes)


@dataclass(frozen=True)
class AuditRecord:
    """A stored entry, with its place in the chain."""

    id: int
    entry: AuditEntry
    prev_hash: str
    hash: str


def summarise(changes: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(str(c.get("action")) for c in changes)
    summary = {str(a): counts.pop(str(a), 0) for a in SUMMARY_ORDER}
    return summary | dict(sorted(counts.items()))


def _canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _chain_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(content)).encode("utf-8")).hexdigest()


def _content(record_id: int, entry: AuditEntry, summary: Mapping[str, int]) -> dict[str, Any]:
    """The hashed content: the id, every entry field and the stored summary."""
    return {
        "id": record_id,
        "applied_at": format_time(entry.applied_at),
        "actor": entry.actor,
        "git_commit": entry.git_commit,
        "git_branch": entry.git_branch,
        "target": entry.target,
        "adapter": entry.adapter,
        "erpsync_version": entry.erpsync_version,
        "policy_digest": entry.policy_digest,
        "live_digest": entry.live_digest,
        "summary": dict(summary),
        "changes": entry.changes,
    }


def append(conn: Connection, entry: AuditEntry) -> AuditRecord:
    """Write ``entry`` as the next record, in the caller's transaction (under the lock)."""
    ensure_tables(conn)
    latest = conn.execute(
        select(erpsync_audit.c.id, erpsync_audit.c.hash).order_by(erpsync_audit.c.id.desc())
    ).first()
    record_id, prev_hash = (latest.id + 1, latest.hash) if latest else (1, GENESIS)
    try:
        summary_text = _canonical(entry.summary)
        changes_text = _canonical(entry.changes)
    except (TypeError, ValueError) as exc:
        raise AuditError(
            N_("the changes cannot be recorded as JSON: {reason}").format(reason=exc)
        ) from None
    digest = _chain_hash(prev_hash, _content(record_id, entry, entry.summary))
    conn.execute(
        insert(erpsync_audit).values(
            id=record_id,
            applied_at=entry.applied_at,
            actor=entry.actor,
            git_commit=entry.git_commit,
            git_branch=entry.git_branch,
            target=entry.target,
            adapter=entry.adapter,
            erpsync_version=entry.erpsync_version,
            policy_digest=entry.policy_digest,
            live_digest=entry.live_digest,
            summary=summary_text,
            changes=changes_text,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return AuditRecord(record_id, entry, prev_hash, digest)


@dataclass(frozen=True)
class _Stored:
    """A row as read back, with the summary it stored (which the hash covers)."""

    record: AuditRecord
    summary: dict[str, int]

    def hash_matches(self) -> bool:
        content = _content(self.record.id, self.record.entry, self.summary)
        return _chain_hash(self.record.prev_hash, content) == self.record.hash


def _from_row(row: RowMapping) -> _Stored:
    try:
        changes = json.loads(row["changes"])
        summary = json.loads(row["summary"])
        if not isinstance(summary, dict) or not isinstance(changes, list):
            raise ValueError(N_("summary is not an object, or changes not a list"))
        entry = AuditEntry(
            applied_at=parse_time(row["applied_at"]),
            actor=row["actor"],
            git_commit=row["git_commit"],
            git_branch=row["git_branch"],
            target=row["target"],
            adapter=row["adapter"],
            erpsync_version=row["erpsync_version"],
            policy_digest=row["policy_digest"],
            live_digest=row["live_digest"],
            changes=changes,
        )
    except (TypeError, ValueError) as exc:
        raise AuditError(
            N_("audit record {id} is unreadable: {reason}").format(id=row["id"], reason=exc)
        ) from None
    return _Stored(AuditRecord(row["id"], entry, row["prev_hash"], row["hash"]), summary)


# Every column, applied_at as its stored text: a row that no longer parses is then reported
# as that record's problem rather than failing the whole read.
_COLUMNS = [
    type_coerce(c, String).label(c.name) if c.name == "applied_at" else c
    for c in erpsync_audit.columns
]


def _read(conn: Connection) -> list[RowMapping]:
    if not _has_table(conn, AUDIT_TABLE_NAME):
        return []
    return list(conn.execute(select(*_COLUMNS).order_by(erpsync_audit.c.id)).mappings())


def records(conn: Connection) -> list[AuditRecord]:
    """Every record, oldest first (none when the trail does not exist yet)."""
    return [_from_row(row).record for row in _read(conn)]


def get(conn: Connection, record_id: int) -> AuditRecord:
    """The record with this id; :class:`AuditError` when there is none."""
    row = None
    if _has_table(conn, AUDIT_TABLE_NAME):
        query = select(*_COLUMNS).where(erpsync_audit.c.id == record_id)
        row = conn.execute(query).mappings().first()
    if row is None:
        newest = last(conn)
        if newest is None:
            message = N_("there is no audit record {id} (the trail is empty)")
        else:
            message = N_("there is no audit record {id} (the trail has records 1 to {newest})")
        raise AuditError(message.format(id=record_id, newest=newest.id if newest else 0))
    return _from_row(row).record


def last(conn: Connection, target: str | None = None) -> AuditRecord | None:
    """The newest record (of ``target``'s, when given: see
    :func:`erpsync.removals.trail_target`), or None when nothing was applied yet."""
    if not _has_table(conn, AUDIT_TABLE_NAME):
        return None
    query = select(*_COLUMNS).order_by(erpsync_audit.c.id.desc()).limit(1)
    if target is not None:
        query = query.where(erpsync_audit.c.target == target)
    row = conn.execute(query).mappings().first()
    return None if row is None else _from_row(row).record


def hashes(conn: Connection) -> dict[int, str]:
    """Each record's stored hash by id, read without parsing the records ({} without a
    trail)."""
    if not _has_table(conn, AUDIT_TABLE_NAME):
        return {}
    query = select(erpsync_audit.c.id, erpsync_audit.c.hash).order_by(erpsync_audit.c.id)
    return {row.id: row.hash for row in conn.execute(query)}


# The keys of a record as an object (:func:`as_object`): the hashed content, then the links.
OBJECT_KEYS = (
    "id",
    "applied_at",
    "actor",
    "git_commit",
    "git_branch",
    "target",
    "adapter",
    "erpsync_version",
    "policy_digest",
    "live_digest",
    "summary",
    "changes",
    "prev_hash",
    "hash",
)


def as_object(record: AuditRecord, summary: Mapping[str, int] | None = None) -> dict[str, Any]:
    """A record as one JSON object: exactly what its hash covers, plus ``prev_hash`` and
    ``hash`` (the stored ``summary`` when given, else the entry's own)."""
    stored = record.entry.summary if summary is None else summary
    content = _content(record.id, record.entry, stored)
    return {**content, "prev_hash": record.prev_hash, "hash": record.hash}


def objects(conn: Connection) -> list[tuple[int, dict[str, Any] | None]]:
    """Every record as :func:`as_object`, oldest first; None for a row that is unreadable."""
    found: list[tuple[int, dict[str, Any] | None]] = []
    for row in _read(conn):
        try:
            stored = _from_row(row)
        except AuditError:
            found.append((row["id"], None))
            continue
        found.append((row["id"], as_object(stored.record, stored.summary)))
    return found


def object_hash(obj: Mapping[str, Any]) -> str:
    """The hash a record object should carry: recomputed from its content and prev_hash."""
    content = {k: v for k, v in obj.items() if k not in ("prev_hash", "hash")}
    return _chain_hash(str(obj.get("prev_hash")), content)


def canonical_json(value: Any) -> str:
    """``value`` as the canonical JSON the hashes are computed over (sorted keys, no
    spaces, UTF-8 text rather than escapes)."""
    return _canonical(value)


def verify(conn: Connection) -> list[str]:
    """Problems in the trail, one message each, naming record ids; [] when it is intact."""
    rows = _read(conn)
    by_hash = {row["hash"]: row["id"] for row in rows}
    problems: list[str] = []
    previous: RowMapping | None = None
    for row in rows:
        problems.extend(_content_problems(row))
        problems.extend(_link_problems(row, previous, by_hash))
        previous = row
    return problems


def _content_problems(row: RowMapping) -> list[str]:
    try:
        stored = _from_row(row)
    except AuditError as exc:
        return [N_("record {id}: edited: {reason}").format(id=row["id"], reason=exc)]
    if stored.hash_matches():
        return []
    return [
        N_(
            "record {id}: edited: its content no longer matches its hash "
            "(changed in place, or moved from another id)"
        ).format(id=row["id"])
    ]


def _link_problems(
    row: RowMapping, previous: RowMapping | None, by_hash: Mapping[str, int]
) -> list[str]:
    """Gaps in the ids and broken links between a record and the one before it."""
    record_id = row["id"]
    expected_id = previous["id"] + 1 if previous else 1
    if record_id != expected_id:
        if record_id == expected_id + 1:
            gap = N_("record {first} missing before record {id}: deleted")
        else:
            gap = N_("records {first} to {last} missing before record {id}: deleted")
        return [gap.format(first=expected_id, last=record_id - 1, id=record_id)]
    expected_hash = previous["hash"] if previous else GENESIS
    if row["prev_hash"] == expected_hash:
        return []
    linked = by_hash.get(row["prev_hash"])
    if linked is not None and linked != record_id:
        if previous:
            moved = N_(
                "record {id}: reordered: it is chained after record {linked}, "
                "not after record {before}"
            )
        else:
            moved = N_(
                "record {id}: reordered: it is chained after record {linked}, "
                "not after the start of the trail"
            )
        before = previous["id"] if previous else 0
        return [moved.format(id=record_id, linked=linked, before=before)]
    if previous:
        broken = N_(
            "record {id}: its previous hash does not match record {before}: "
            "a record between them was deleted or replaced"
        )
    else:
        broken = N_(
            "record {id}: its previous hash does not match the start of the trail: "
            "a record between them was deleted or replaced"
        )
    return [broken.format(id=record_id, before=previous["id"] if previous else 0)]


def entry_from_plan(
    plan: Mapping[str, Any],
    actor: str,
    git: tuple[str | None, str | None],
    applied_at: dt.datetime | None = None,
) -> AuditEntry:
    """The audit entry of applying ``plan`` (its JSON form) now, by ``actor``."""
    target = plan["target"]
    return AuditEntry(
        applied_at=applied_at or dt.datetime.now(dt.UTC),
        actor=actor,
        git_commit=git[0],
        git_branch=git[1],
        target=target["name"],
        adapter=target["adapter"],
        erpsync_version=__version__,
        policy_digest=plan["policy_digest"],
        live_digest=plan["live_digest"],
        changes=[dict(c) for c in plan["changes"]],
    )


def actor(environ: Mapping[str, str] | None = None) -> str:
    """Who is applying: ``ERPSYNC_ACTOR`` as given, else ``ci:<system>:<login>`` from a CI
    variable (``ci:github:octocat``), else ``os:<user>`` (``os:alice``)."""
    env = os.environ if environ is None else environ
    explicit = env.get("ERPSYNC_ACTOR", "").strip()
    if explicit:
        return explicit
    for system, variable in CI_ACTORS:
        login = env.get(variable, "").strip()
        if login:
            return f"ci:{system}:{login}"
    return f"os:{_os_user()}"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def git_info(path: Path | str) -> tuple[str | None, str | None]:
    """``(commit, branch)`` of the git work tree holding ``path``; None for what is unknown
    (not a repository, no commit yet, a detached HEAD has no branch, git missing). Local
    only: never fetches, never prompts, never raises."""
    commit = _git(path, "rev-parse", "--verify", "--quiet", "HEAD")
    branch = _git(path, "symbolic-ref", "--quiet", "--short", "HEAD")
    return commit, branch


def _git(path: Path | str, *args: str) -> str | None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(
            ["git", "-C", str(path), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    output = done.stdout.strip()
    return output if done.returncode == 0 and output else None
