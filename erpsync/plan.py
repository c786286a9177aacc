"""The plan: the changes that make the live ERP match the policy, as data.

One change per fact (spec section 5). What ``before`` and ``after`` hold::

    action       kind                         before              after
    create       department | role | user     None                every own attribute
    update       department | role | user     changed attrs, old  changed attrs, new
                                              (a rename, from the policy's moved:, adds
                                              "key": the old key before, the new after)
    delete       department | role | user     every own attribute None
    deactivate   user                         None                None
    reactivate   user                         None                None
    grant        permission | membership      None                None
    revoke       permission | membership      None                None

Keys: a department or role key, a login, ``ROLE/MODULE:ACTION`` for a
permission (the module in the ERP's own words, ``common/system:user:list``),
``LOGIN/ROLE`` for a membership. ``reason`` is for people only.
The JSON form (:meth:`Plan.to_dict`) is the source of every view and of a
saved plan file; ``format_version`` changes when that form does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from erpsync import __version__
from erpsync.errors import UsageError
from erpsync.i18n import N_

FORMAT_VERSION = "2"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    GRANT = "grant"
    REVOKE = "revoke"

    @property
    def removes(self) -> bool:
        return self in (Action.DELETE, Action.DEACTIVATE, Action.REVOKE)


class Kind(StrEnum):
    DEPARTMENT = "department"
    ROLE = "role"
    PERMISSION = "permission"
    USER = "user"
    MEMBERSHIP = "membership"


@dataclass(frozen=True, slots=True)
class Change:
    action: Action
    kind: Kind
    key: str
    reason: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": str(self.action),
            "kind": str(self.kind),
            "key": self.key,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(
            Action(data["action"]),
            Kind(data["kind"]),
            data["key"],
            data.get("reason", ""),
            data.get("before"),
            data.get("after"),
        )

    @property
    def renamed_from(self) -> str | None:
        """The key the object had, when this update renames it (``moved:``); else None."""
        if self.action is not Action.UPDATE or not self.before:
            return None
        old = self.before.get("key")
        return old if isinstance(old, str) else None

    def parts(self) -> tuple[str, str]:
        """``(owner, item)`` of a permission or membership key: ("li.na", "ap-clerk").

        Split at the first ``/``: role keys and logins hold none (validate refuses one,
        and scope leaves a live one alone), while the item may (a module's name)."""
        owner, _, item = self.key.partition("/")
        return owner, item


@dataclass(frozen=True, slots=True)
class Unmanaged:
    """A live object erpsync leaves alone, and why."""

    kind: Kind
    key: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": str(self.kind), "key": self.key, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class RoleNote:
    """A role the plan touches that a reviewer should look at first: its declared risk
    (high or critical) and the separation-of-duties rules its permissions fall under."""

    role: str
    risk: str | None = None
    sod_rules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"risk": self.risk, "sod_rules": list(self.sod_rules)}


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    adapter: str
    url: str  # always redacted
    tenant: str | None = None  # as erpsync.yaml names it; None: the ERP's default tenant

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "adapter": self.adapter, "url": self.url, "tenant": self.tenant}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One safety guard's answer on a plan (:mod:`erpsync.guards`), for people and CI."""

    guard: str
    passed: bool
    detail: str
    override: str | None = None  # the apply flag that lets a refused plan through

    def to_dict(self) -> dict[str, Any]:
        return {
            "guard": self.guard,
            "passed": self.passed,
            "detail": self.detail,
            "override": self.override,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(data["guard"], data["passed"], data["detail"], data.get("override"))


SUMMARY_ORDER = tuple(Action)


def changes_digest(changes: list[dict[str, Any]]) -> str:
    """``sha256:`` of the changes' canonical JSON: what a saved plan promises to do."""
    text = json.dumps(changes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Plan:
    target: Target
    created_at: dt.datetime
    policy_digest: str
    live_digest: str
    changes: tuple[Change, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    warnings: tuple[str, ...] = ()
    erpsync_version: str = __version__
    notes: tuple[str, ...] = field(default=())  # what the apply will tell the operator
    guards: tuple[Verdict, ...] = ()  # the guards' verdicts when the plan was made
    reverts: int | None = None  # the audit record this plan undoes (``audit revert``)
    roles_of_note: tuple[RoleNote, ...] = ()  # high-risk or SoD-relevant roles it touches

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(c.action for c in self.changes)
        return {str(a): counts.get(a, 0) for a in SUMMARY_ORDER}

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def to_dict(self) -> dict[str, Any]:
        changes = [c.to_dict() for c in self.changes]
        return {
            "format_version": FORMAT_VERSION,
            "erpsync_version": self.erpsync_version,
            "target": self.target.to_dict(),
            "created_at": self.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "policy_digest": self.policy_digest,
            "live_digest": self.live_digest,
            "reverts": self.reverts,
            "summary": self.summary,
            "changes_digest": changes_digest(changes),
            "changes": changes,
            "unmanaged": [u.to_dict() for u in self.unmanaged],
            "guards": [g.to_dict() for g in self.guards],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "roles_of_note": {n.role: n.to_dict() for n in self.roles_of_note},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: object = None) -> Plan:
        """The plan ``data`` holds; raises :class:`UsageError` naming ``path`` (the file it
        was read from, if any) when it is not a whole, unedited plan."""

        def refused(template: str, **values: object) -> UsageError:
            if path is None:
                return UsageError(template.format(**values))
            return UsageError(IN_FILE[template].format(path=path, **values))

        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise refused(UNSUPPORTED, version=repr(version), supported=repr(FORMAT_VERSION))
        from pydantic import ValidationError  # only reading a saved plan needs the schema

        from erpsync.plan_schema import PlanDocument

        try:
            PlanDocument.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise refused(INVALID, where=where, problem=first["msg"]) from None
        if changes_digest(data["changes"]) != data["changes_digest"]:
            raise refused(CHANGES_EDITED)
        try:
            target = data["target"]
            plan = cls(
                target=Target(
                    target["name"], target["adapter"], target["url"], target.get("tenant")
                ),
                created_at=dt.datetime.fromisoformat(data["created_at"].replace("Z", "+00:00")),
                policy_digest=data["policy_digest"],
                live_digest=data["live_digest"],
                changes=tuple(Change.from_dict(c) for c in data["changes"]),
                unmanaged=tuple(
                    Unmanaged(Kind(u["kind"]), u["key"], u["reason"]) for u in data["unmanaged"]
                ),
                warnings=tuple(data.get("warnings", ())),
                erpsync_version=data["erpsync_version"],
                notes=tuple(data.get("notes", ())),
                guards=tuple(Verdict.from_dict(g) for g in data["guards"]),
                reverts=data["reverts"],
                roles_of_note=tuple(
                    RoleNote(role, note.get("risk"), tuple(note.get("sod_rules", ())))
                    for role, note in (data.get("roles_of_note") or {}).items()
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise refused(NOT_A_PLAN, problem=exc) from None
        if plan.summary != data["summary"]:
            raise refused(SUMMARY_EDITED)
        return plan


# Why a saved plan cannot be read; each also as a plan file's error ("{path}: ...").
UNSUPPORTED = N_("plan format {version} is not supported (this erpsync reads {supported})")
INVALID = N_("not a valid erpsync plan: {where}: {problem}")
CHANGES_EDITED = N_(
    "the plan file's changes were edited after the plan was made (they no longer match its "
    "changes_digest): make a new plan and review it"
)
NOT_A_PLAN = N_("not an erpsync plan file: {problem}")
SUMMARY_EDITED = N_(
    "the plan file's summary does not count its changes: it was edited after the plan was "
    "made; make a new plan and review it"
)
IN_FILE = {
    UNSUPPORTED: N_(
        "{path}: plan format {version} is not supported (this erpsync reads {supported})"
    ),
    INVALID: N_("{path}: not a valid erpsync plan: {where}: {problem}"),
    CHANGES_EDITED: N_(
        "{path}: the plan file's changes were edited after the plan was made (they no longer "
        "match its changes_digest): make a new plan and review it"
    ),
    NOT_A_PLAN: N_("{path}: not an erpsync plan file: {problem}"),
    SUMMARY_EDITED: N_(
        "{path}: the plan file's summary does not count its changes: it was edited after the "
        "plan was made; make a new plan and review it"
    ),
}
