"""Drift: how the live ERP differs from the policy, as plain data (spec section 7).

:func:`build_report` is pure: from the loaded policy, a live snapshot, the
settings, the last audited apply (or None), an ignore list and the clock, it
returns a :class:`DriftReport`. Its JSON form (:meth:`DriftReport.to_dict`) is
the source of every view (text, Markdown, HTML). The categories:

changed
    A department, role or user whose own attributes (or ``active``) differ from
    the policy; field by field, ``declared`` (the policy) and ``live`` (the ERP),
    with who changed the row and when where the ERP records it. ``out_of_band``
    is true when the policy is the one erpsync last applied (so the ERP moved
    since), or when that change is later than erpsync's last audited apply, or
    when erpsync never applied; false when it is not later (the policy moved
    on since); null when the ERP recorded no time.
missing
    Declared but absent: objects apply would create, grants and memberships it
    would add. A grant or membership is attributed as extra ones are; an object
    the ERP deleted itself (RuoYi's soft delete, :attr:`LiveSnapshot.deleted`) is
    ``deleted_in_erp``, with who and when as far as the ERP recorded it.
extra
    Present in the ERP, managed, not declared: what apply would delete,
    deactivate or revoke. Every item is attributed: objects by their own row,
    grants and memberships by the ERP's record of that link where it keeps one,
    else by the latest change of the role (grants) or of the user or role
    (memberships) they belong to. Attribution is best-effort: "not recorded by
    the ERP" when it kept nothing.
sod
    Separation-of-duties violations in the live state: every active live user's
    permissions through the live memberships and role grants, against the
    policy's rules and exceptions. A violation counts as drift when it is
    blocking (high or critical, without a current exception) and the user is
    managed; the others are listed with why they do not count.
expired_active
    Users whose policy ``expires`` date has passed but who are still active in
    the ERP, with the roles they still hold (these memberships are not listed
    again under extra).
unmanaged
    The plan's unmanaged objects (protected, ignored, outside the scope); never
    drift.
coverage
    Managed live users ÷ all live users.
accepted
    Drift items matched by ``.erpsyncignore`` (:mod:`erpsync.driftignore`): listed,
    not counted.
dormant
    Active users with no sign-in for ``settings.dormant_days`` days, from the ERP's own
    records (:mod:`erpsync.dormant`), with their high-risk access; or why the ERP gives
    none. Listed for review, not counted as drift: nothing in the policy says they
    should not be there.

changed, missing and extra are the plan's changes (:func:`erpsync.planner.make_plan`)
regrouped: drift is what apply would change, read the other way round.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from erpsync import __version__
from erpsync.access import holds
from erpsync.adapters.base import Adapter, Attribution, LiveSnapshot, LoginRecords
from erpsync.audit import AuditRecord
from erpsync.config import ResolvedTarget, Settings
from erpsync.dormant import DormantUser, dormant_report
from erpsync.driftignore import IgnoreEntry, IgnoreList
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind, Target, Unmanaged
from erpsync.planner import make_plan
from erpsync.policy.loader import LoadedPolicy
from erpsync.policy.model import Policy, SodRule
from erpsync.reports import live_model
from erpsync.revert import reverted_record
from erpsync.scope import Scope
from erpsync.sod import Violation, find_violations
from erpsync.state import State

FORMAT_VERSION = "1"
EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
KIND_ORDER = {str(k): i for i, k in enumerate(Kind)}  # department, role, permission, user, ...


def iso(value: dt.datetime | None) -> str | None:
    """A time as JSON text in UTC (``2026-11-27T10:00:00Z``), or None."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    declared: Any
    live: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "declared": self.declared, "live": self.live}


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who last changed the live row and when, and whether that was out of band."""

    by: str | None = None
    at: dt.datetime | None = None
    out_of_band: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"changed_by": self.by, "changed_at": iso(self.at), "out_of_band": self.out_of_band}


@dataclass(frozen=True, slots=True)
class Changed:
    kind: str
    key: str
    name: str | None
    fields: tuple[FieldChange, ...]
    stamp: Stamp

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "fields": [f.to_dict() for f in self.fields],
            **self.stamp.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Missing:
    kind: str
    key: str
    name: str | None
    reason: str
    stamp: Stamp = Stamp()
    deleted_in_erp: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "reason": self.reason,
            "deleted_in_erp": self.deleted_in_erp,
            **self.stamp.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Extra:
    kind: str
    key: str
    name: str | None
    apply_action: str  # what apply would do: delete, deactivate, revoke
    reason: str
    stamp: Stamp

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "apply_action": self.apply_action,
            "reason": self.reason,
            **self.stamp.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class SodFinding:
    rule: str
    severity: str
    description: str
    user: str
    held: tuple[tuple[str, ...], ...]
    status: str  # unmitigated | exception | exception_expired
    exception: dict[str, Any] | None
    managed: bool
    counts: bool  # counts as drift
    note: str  # why it does not count, when it does not

    kind = "sod"

    @property
    def key(self) -> str:
        return f"{self.rule}/{self.user}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "description": self.description,
            "user": self.user,
            "held": [list(group) for group in self.held],
            "status": self.status,
            "exception": self.exception,
            "managed": self.managed,
            "counts_as_drift": self.counts,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ExpiredActive:
    login: str
    name: str | None
    expires: dt.date
    roles: tuple[str, ...]
    stamp: Stamp

    kind = "user"

    @property
    def key(self) -> str:
        return self.login

    def to_dict(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "name": self.name,
            "expires": self.expires.isoformat(),
            "roles": list(self.roles),
            "changed_by": self.stamp.by,
            "changed_at": iso(self.stamp.at),
        }


@dataclass(frozen=True, slots=True)
class Accepted:
    """A drift item that ``.erpsyncignore`` accepts."""

    category: str
    kind: str
    key: str
    entry: str
    reason: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "kind": self.kind,
            "key": self.key,
            "entry": self.entry,
            "reason": self.reason,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    managed: int
    live: int

    def to_dict(self) -> dict[str, Any]:
        percent = None if not self.live else round(100.0 * self.managed / self.live, 1)
        return {"managed_users": self.managed, "live_users": self.live, "percent": percent}


@dataclass(frozen=True, slots=True)
class LastApply:
    id: int
    applied_at: dt.datetime
    actor: str
    git_commit: str | None
    reverts: int | None = None  # the audit record this apply undid (``audit revert``)
    policy_digest: str | None = None  # of the policy that apply made the ERP match

    @classmethod
    def of(cls, record: AuditRecord) -> LastApply:
        entry = record.entry
        undid = reverted_record(entry.changes)
        return cls(
            record.id, entry.applied_at, entry.actor, entry.git_commit, undid, entry.policy_digest
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "applied_at": iso(self.applied_at),
            "actor": self.actor,
            "git_commit": self.git_commit,
            "reverts": self.reverts,
        }


@dataclass(frozen=True)
class Dormant:
    """The dormant-accounts section: the users, or why the ERP gives no sign-ins."""

    days: int
    source: str | None  # None: no sign-in records (see ``reason``)
    users: tuple[DormantUser, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "source": self.source,
            "notes": list(self.notes),
            "unavailable": self.reason,
            "users": [u.to_dict() for u in self.users],
        }


def dormant_section(
    loaded: LoadedPolicy,
    snapshot: LiveSnapshot,
    logins: LoginRecords | str | None,
    settings: Settings,
    adapter: type[Adapter],
    now: dt.datetime,
) -> Dormant | None:
    """``logins``: the ERP's sign-in records, or why there are none (text); None with
    ``settings.dormant_days`` null."""
    days = settings.dormant_days
    if days is None or logins is None:
        return None
    if isinstance(logins, str):
        return Dormant(days, None, reason=logins)
    found = dormant_report(
        live_model(snapshot),
        logins,
        loaded.policy,
        Scope.for_adapter(settings, adapter),
        now,
        days,
    )
    return Dormant(days, found.source, found.users, found.notes)


@dataclass(frozen=True)
class DriftReport:
    target: Target
    created_at: dt.datetime
    policy_digest: str
    live_digest: str
    last_apply: LastApply | None
    coverage: Coverage
    changed: tuple[Changed, ...] = ()
    missing: tuple[Missing, ...] = ()
    extra: tuple[Extra, ...] = ()
    sod: tuple[SodFinding, ...] = ()
    expired_active: tuple[ExpiredActive, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    accepted: tuple[Accepted, ...] = ()
    warnings: tuple[str, ...] = ()
    ignore_file: str | None = None
    erpsync_version: str = __version__
    dormant: Dormant | None = None

    @property
    def summary(self) -> dict[str, Any]:
        counts = {
            "changed": len(self.changed),
            "missing": len(self.missing),
            "extra": len(self.extra),
            "sod_violations": sum(1 for s in self.sod if s.counts),
            "expired_active": len(self.expired_active),
        }
        stamps = [
            *(c.stamp for c in self.changed),
            *(m.stamp for m in self.missing),
            *(e.stamp for e in self.extra),
        ]
        out_of_band = sum(1 for stamp in stamps if stamp.out_of_band)
        return {
            "drift": any(counts.values()),
            "total": sum(counts.values()),
            **counts,
            "out_of_band": out_of_band,
            "unmanaged": len(self.unmanaged),
            "accepted": len(self.accepted),
            "dormant": len(self.dormant.users) if self.dormant else 0,
        }

    @property
    def has_drift(self) -> bool:
        return bool(self.summary["drift"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "erpsync_version": self.erpsync_version,
            "report": "drift",
            "target": self.target.to_dict(),
            "created_at": iso(self.created_at),
            "policy_digest": self.policy_digest,
            "live_digest": self.live_digest,
            "last_apply": None if self.last_apply is None else self.last_apply.to_dict(),
            "ignore_file": self.ignore_file,
            "summary": self.summary,
            "coverage": self.coverage.to_dict(),
            "changed": [c.to_dict() for c in self.changed],
            "missing": [m.to_dict() for m in self.missing],
            "extra": [e.to_dict() for e in self.extra],
            "sod": [s.to_dict() for s in self.sod],
            "expired_active": [e.to_dict() for e in self.expired_active],
            "unmanaged": [u.to_dict() for u in self.unmanaged],
            "accepted": [a.to_dict() for a in self.accepted],
            "dormant": None if self.dormant is None else self.dormant.to_dict(),
            "warnings": list(self.warnings),
        }


# -- building ------------------------------------------------------------------------------


def build_report(
    loaded: LoadedPolicy,
    snapshot: LiveSnapshot,
    settings: Settings,
    adapter: type[Adapter],
    target: ResolvedTarget,
    last_record: AuditRecord | None,
    ignore: IgnoreList,
    today: dt.date,
    now: dt.datetime,
    logins: LoginRecords | str | None = None,
) -> DriftReport:
    """The drift of ``snapshot`` from the policy; raises as :func:`make_plan` does for an
    invalid policy. Drift reports what differs even where putting it back would be
    refused by the ERP (``plan`` says so), so the adapter's plan check is not made."""
    plan = make_plan(loaded, snapshot, settings, adapter, target, today, now, check=False)
    last = None if last_record is None else LastApply.of(last_record)
    sorter = _Sorter(loaded.policy, snapshot, last, today)
    # The policy is the one erpsync last applied (not reverted since): the ERP matched it
    # then, so every difference now was made in the ERP, whatever it recorded.
    sorter.settled = (
        last is not None and last.reverts is None and last.policy_digest == plan.policy_digest
    )
    sorter.sort(plan.changes)
    unmanaged_users = {u.key for u in plan.unmanaged if u.kind is Kind.USER}
    admins = builtin_administrators(snapshot)
    findings = live_sod(
        loaded.policy, snapshot.state, unmanaged_users, plan.unmanaged, today, admins
    )
    live_users = snapshot.state.users
    coverage = Coverage(len(live_users.keys() - unmanaged_users), len(live_users))
    accept = _Acceptor(ignore)
    changed = accept.keep("changed", sorter.changed())
    missing = accept.keep("missing", sorter.missing)
    extra = accept.keep("extra", sorter.extra)
    sod = accept.keep("sod_violations", findings, lambda s: s.counts)
    expired = accept.keep("expired_active", sorter.expired)
    return DriftReport(
        target=plan.target,
        created_at=now,
        policy_digest=plan.policy_digest,
        live_digest=plan.live_digest,
        last_apply=last,
        coverage=coverage,
        changed=changed,
        missing=missing,
        extra=extra,
        sod=sod,
        expired_active=expired,
        unmanaged=plan.unmanaged,
        accepted=tuple(accept.accepted),
        warnings=(*plan.warnings, *accept.stale()),
        ignore_file=ignore.source if ignore.entries else None,
        dormant=dormant_section(loaded, snapshot, logins, settings, adapter, now),
    )


# Why a declared object is missing when the ERP deleted it itself: one whole message per
# case of what the ERP recorded (a view says each as one unit).
DELETED_BY_AT = N_(
    "deleted in the ERP (the row is marked deleted, {kind} left out of the live state); "
    "last recorded change by {who} at {at}; apply creates a new row, it does not restore "
    "the deleted one"
)
DELETED_BY = N_(
    "deleted in the ERP (the row is marked deleted, {kind} left out of the live state); "
    "last recorded change by {who}; apply creates a new row, it does not restore the "
    "deleted one"
)
DELETED_AT = N_(
    "deleted in the ERP (the row is marked deleted, {kind} left out of the live state); "
    "last recorded change by someone at {at}; apply creates a new row, it does not "
    "restore the deleted one"
)
DELETED_UNRECORDED = N_(
    "deleted in the ERP (the row is marked deleted, {kind} left out of the live state); "
    "who and when not recorded by the ERP; apply creates a new row, it does not restore "
    "the deleted one"
)


def deleted_reason(kind: str, gone: Attribution) -> str:
    """Why a declared object is missing: the ERP deleted it, by whom and when it recorded."""
    if gone.by is not None and gone.at is not None:
        return DELETED_BY_AT.format(kind=kind, who=gone.by, at=iso(gone.at))
    if gone.by is not None:
        return DELETED_BY.format(kind=kind, who=gone.by)
    if gone.at is not None:
        return DELETED_AT.format(kind=kind, at=iso(gone.at))
    return DELETED_UNRECORDED.format(kind=kind)


def out_of_band(at: dt.datetime | None, last: LastApply | None) -> bool | None:
    """Whether a change made at ``at`` bypassed erpsync (see the module docstring)."""
    if last is None:
        return True
    if at is None:
        return None
    return at > last.applied_at


class _Sorter:
    """Regroups the plan's changes into changed, missing, extra and expired_active."""

    def __init__(
        self, policy: Policy, snapshot: LiveSnapshot, last: LastApply | None, today: dt.date
    ) -> None:
        self.policy = policy
        self.live = snapshot.state
        self.attribution = snapshot.attribution
        self.deleted = snapshot.deleted
        self.last = last
        self.settled = False
        self.today = today
        self.fields: dict[tuple[str, str], list[FieldChange]] = {}
        self.missing: list[Missing] = []
        self.extra: list[Extra] = []
        self.expired: list[ExpiredActive] = []
        self.expiring = {
            login
            for login, user in policy.users.items()
            if user.active and user.expires is not None and user.expires <= today
        }

    def stamp(self, kind: str, key: str) -> Stamp:
        return self.stamped(self.attribution.get((kind, key)) or Attribution())

    def stamped(self, found: Attribution) -> Stamp:
        timing = True if self.settled else out_of_band(found.at, self.last)
        return Stamp(found.by, found.at, timing)

    def link_stamp(self, change: Change) -> Stamp:
        """A grant's or membership's: the ERP's record of the link itself, else of the last
        change of the role's grants or the user's memberships, else the latest change of
        the role (a grant) or of the user or role (a membership) it belongs to."""
        kind = str(change.kind)
        owned = "grants" if change.kind is Kind.PERMISSION else "memberships"
        found = self.attribution.get((kind, change.key))
        found = found or self.attribution.get((owned, change.parts()[0]))
        if found is None:
            owner, item = change.parts()
            owners = [("role", owner)] if change.kind is Kind.PERMISSION else []
            owners = owners or [("user", owner), ("role", item)]
            known = [a for o in owners if (a := self.attribution.get(o)) is not None]
            known.sort(
                key=lambda a: (a.at is not None, a.at or dt.datetime.min.replace(tzinfo=dt.UTC))
            )
            found = known[-1] if known else None
        return self.stamped(found or Attribution())

    def missing_item(self, change: Change) -> Missing:
        """A declared object, grant or membership absent from the ERP."""
        kind, key = str(change.kind), change.key
        name = self.name(kind, key)
        gone = self.deleted.get((kind, key)) if change.action is Action.CREATE else None
        if gone is not None:
            return Missing(kind, key, name, deleted_reason(kind, gone), self.stamped(gone), True)
        if change.kind in (Kind.PERMISSION, Kind.MEMBERSHIP):
            owner = change.parts()[0]
            owner_kind = "role" if change.kind is Kind.PERMISSION else "user"
            live = self.live.roles if owner_kind == "role" else self.live.users
            if owner in live and self.last is not None:
                return Missing(kind, key, name, change.reason, self.link_stamp(change))
        timing = True if self.settled else None
        return Missing(kind, key, name, change.reason, Stamp(out_of_band=timing))

    def name(self, kind: str, key: str) -> str | None:
        live: dict[str, Mapping[str, Any]] = {
            "department": self.live.departments,
            "role": self.live.roles,
            "user": self.live.users,
        }
        records = live.get(kind, {})
        if key in records:
            return str(records[key].name)
        policy: dict[str, Mapping[str, Any]] = {
            "department": self.policy.departments,
            "role": self.policy.roles,
            "user": self.policy.users,
        }
        declared = policy.get(kind, {})
        return str(declared[key].name) if key in declared else None

    def sort(self, changes: Sequence[Change]) -> None:
        # Expired users apply would deactivate; their memberships are listed with them.
        deactivated = {
            c.key
            for c in changes
            if c.action is Action.DEACTIVATE and c.kind is Kind.USER and c.key in self.expiring
        }
        for change in changes:
            kind, key, action = str(change.kind), change.key, change.action
            if action is Action.UPDATE:
                before, after = change.before or {}, change.after or {}
                for name in after:
                    self.field(kind, key, FieldChange(name, after[name], before.get(name)))
            elif action is Action.REACTIVATE:
                self.field(kind, key, FieldChange("active", True, False))
            elif action is Action.DEACTIVATE and key in deactivated:
                continue
            elif action is Action.DEACTIVATE and key in self.policy.users:
                self.field(kind, key, FieldChange("active", False, True))
            elif action in (Action.CREATE, Action.GRANT):
                self.missing.append(self.missing_item(change))
            elif not (change.kind is Kind.MEMBERSHIP and change.parts()[0] in deactivated):
                objects = ("department", "role", "user")
                stamp = self.stamp(kind, key) if kind in objects else self.link_stamp(change)
                self.extra.append(
                    Extra(kind, key, self.name(kind, key), str(action), change.reason, stamp)
                )
        self.missing.sort(key=lambda m: KIND_ORDER[m.kind])
        self.extra.sort(key=lambda e: KIND_ORDER[e.kind])
        self.expired = self.expired_users(deactivated)

    def field(self, kind: str, key: str, change: FieldChange) -> None:
        self.fields.setdefault((kind, key), []).append(change)

    def changed(self) -> list[Changed]:
        return [
            Changed(kind, key, self.name(kind, key), tuple(fields), self.stamp(kind, key))
            for (kind, key), fields in sorted(
                self.fields.items(), key=lambda item: (KIND_ORDER[item[0][0]], item[0][1])
            )
        ]

    def expired_users(self, logins: Iterable[str]) -> list[ExpiredActive]:
        held = self.live.user_roles
        out = []
        for login in sorted(set(logins)):
            expires = self.policy.users[login].expires
            assert expires is not None  # only users with a past expires date are here
            out.append(
                ExpiredActive(
                    login,
                    self.name("user", login),
                    expires,
                    tuple(sorted(held.get(login, ()))),
                    self.stamp("user", login),
                )
            )
        return out


def sod_holdings(state: State, rules: Mapping[str, SodRule]) -> dict[str, frozenset[str]]:
    """Each active live user's permissions that some rule names, through the live
    memberships and role grants.

    Only those permissions can make a violation, so the others are dropped first:
    users holding none are left out, and users with the same relevant roles share
    one permission set (computed once, and matched once by :func:`find_violations`).
    """
    wanted = [perm for rule in rules.values() for group in rule.conflicts for perm in group]
    relevant: dict[str, bool] = {}
    by_role: dict[str, set[str]] = {}
    for role, perm in state.grants:
        hit = relevant.get(perm)
        if hit is None:
            hit = relevant[perm] = any(holds(frozenset((perm,)), w) for w in wanted)
        if hit:
            by_role.setdefault(role, set()).add(perm)
    granting = frozenset(by_role)
    users = state.users
    made: dict[frozenset[str], frozenset[str]] = {}
    out = {}
    for login, held in state.user_roles.items():
        if granting.isdisjoint(held):
            continue
        user = users.get(login)
        if user is None or not user.active:
            continue
        key = held & granting
        perms = made.get(key)
        if perms is None:
            perms = made[key] = frozenset().union(*(by_role[r] for r in key))
        out[login] = perms
    return out


def builtin_administrators(snapshot: LiveSnapshot) -> set[str]:
    """The active live users the ERP gives every permission: its built-in administrator
    users and the holders of its built-in administrator roles."""
    state = snapshot.state
    users = {a.key for a in snapshot.administrators if a.kind == "user"}
    roles = {a.key for a in snapshot.administrators if a.kind == "role"}
    users |= {login for login, held in state.user_roles.items() if not roles.isdisjoint(held)}
    return {login for login in users if login in state.users and state.users[login].active}


def live_sod(
    policy: Policy,
    state: State,
    unmanaged_users: set[str],
    unmanaged: Iterable[Unmanaged],
    today: dt.date,
    admins: Iterable[str] = (),
) -> list[SodFinding]:
    """SoD violations in the live state, each with its exception status and whether it
    counts as drift. ``admins`` (built-in administrators) hold every permission the rules
    name: reported, marked built-in, never counted as drift the policy could fix."""
    if not policy.sod_rules:
        return []
    why_unmanaged = {u.key: u.reason for u in unmanaged if u.kind is Kind.USER}
    holdings = sod_holdings(state, policy.sod_rules)
    admins = set(admins)
    named = frozenset(p for rule in policy.sod_rules.values() for g in rule.conflicts for p in g)
    for login in admins:
        holdings[login] = named
    found = find_violations(policy.sod_rules, holdings, policy.sod_exceptions, today)
    return [
        _finding(v, policy, v.user not in unmanaged_users, why_unmanaged, v.user in admins)
        for v in found
    ]


def _finding(
    v: Violation,
    policy: Policy,
    managed: bool,
    why_unmanaged: Mapping[str, str],
    builtin: bool = False,
) -> SodFinding:
    exception = None
    status = "unmitigated"
    if v.exception is not None:
        exc = policy.sod_exceptions[v.exception]
        exception = {
            "reason": exc.reason,
            "approved_by": exc.approved_by,
            "expires": None if exc.expires is None else exc.expires.isoformat(),
        }
        status = "exception_expired" if v.exception_expired else "exception"
    if builtin:
        managed = False
        note = N_(
            "built-in administrator, unmanaged (the ERP grants every permission): "
            "not something the policy can fix"
        )
    elif not managed:
        why = why_unmanaged.get(v.user, N_("not managed"))
        note = N_("user is unmanaged: {reason}").format(reason=why)
    elif v.mitigated:
        note = N_("covered by an exception")
    elif not v.blocking:
        note = N_(
            "severity {severity}: allowed by the policy (only high and critical block)"
        ).format(severity=v.severity)
    else:
        note = ""
    rule = policy.sod_rules[v.rule]
    return SodFinding(
        v.rule,
        v.severity,
        rule.description,
        v.user,
        v.held,
        status,
        exception,
        managed,
        managed and v.blocking,
        note,
    )


class _Item(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def key(self) -> str: ...


Item = TypeVar("Item", bound=_Item)


class _Acceptor:
    """Moves drift items that ``.erpsyncignore`` matches to the accepted list."""

    def __init__(self, ignore: IgnoreList) -> None:
        self.ignore = ignore
        self.accepted: list[Accepted] = []
        self.used: set[IgnoreEntry] = set()

    def keep(
        self,
        category: str,
        items: Iterable[Item],
        counts: Callable[[Item], bool] | None = None,
    ) -> tuple[Item, ...]:
        """The items not accepted (items for which ``counts`` is false are always kept)."""
        if not self.ignore.entries:
            return tuple(items)
        kept = []
        for item in items:
            entry = None if counts is not None and not counts(item) else self.match(item)
            if entry is None:
                kept.append(item)
            else:
                self.accepted.append(
                    Accepted(category, item.kind, item.key, entry.text, entry.reason, entry.line)
                )
        return tuple(kept)

    def match(self, item: _Item) -> IgnoreEntry | None:
        entry = self.ignore.match(item.kind, item.key)
        if entry is not None:
            self.used.add(entry)
        return entry

    def stale(self) -> list[str]:
        stale = N_(
            "{source}:{line}: '{entry}' matches no drift any more; "
            "remove it when the drift it accepted is resolved"
        )
        return [
            stale.format(source=self.ignore.source, line=e.line, entry=e.text)
            for e in self.ignore.entries
            if e not in self.used
        ]
