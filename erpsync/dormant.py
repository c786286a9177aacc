"""Dormant access: active users the ERP has not seen sign in for a while, and what they
could still do.

An account nobody uses is an account someone else can use. :func:`dormant_report` takes
the live ERP's access (:func:`erpsync.reports.live_model`), the ERP's own sign-in
records (:meth:`Adapter.read_logins`) and the policy (for roles' ``risk`` and the SoD
rules), and lists every active, managed user whose last sign-in is ``days`` or more
days old, or who never signed in, with the roles they hold and their high-risk
permissions (those of a ``risk: high``/``critical`` role, or named by a SoD rule). The
ERP's built-in administrators are listed too, marked so: the most powerful accounts
are the first an auditor asks about, though erpsync never changes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erpsync.access import holds
from erpsync.adapters.base import LoginRecords
from erpsync.i18n import N_
from erpsync.policy.edit import FieldEdit
from erpsync.policy.loader import LoadedPolicy
from erpsync.policy.model import PolicyDocument
from erpsync.reports import LIVE, AccessModel
from erpsync.roles_of_note import HIGH_RISK
from erpsync.scope import Scope


@dataclass(frozen=True, slots=True)
class DormantUser:
    login: str
    name: str
    department: str | None
    department_name: str | None
    last_login: dt.datetime | None  # None: the ERP recorded no sign-in
    days_since: int | None
    roles: tuple[str, ...]
    # role -> why it is of note ("risk: high", "SOD-P2P-01")
    roles_of_note: Mapping[str, tuple[str, ...]]
    high_risk_permissions: tuple[str, ...]
    builtin: str | None  # a built-in administrator: the ERP's rule
    declared: bool  # in the policy (so a proposal can edit it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "name": self.name,
            "department": self.department,
            "department_name": self.department_name,
            "last_login": None if self.last_login is None else _iso(self.last_login),
            "days_since": self.days_since,
            "roles": list(self.roles),
            "roles_of_note": {k: list(v) for k, v in self.roles_of_note.items()},
            "high_risk_permissions": list(self.high_risk_permissions),
            "builtin_administrator": self.builtin,
            "declared": self.declared,
        }


@dataclass(frozen=True)
class DormantReport:
    today: dt.date
    days: int
    source: str
    notes: tuple[str, ...]
    checked: int  # active managed users (and built-in administrators) looked at
    users: tuple[DormantUser, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "dormant",
            "view": LIVE,
            "today": self.today.isoformat(),
            "days": self.days,
            "source": self.source,
            "notes": list(self.notes),
            "summary": {
                "checked": self.checked,
                "dormant": len(self.users),
                "never_signed_in": sum(1 for u in self.users if u.last_login is None),
                "with_high_risk": sum(1 for u in self.users if u.high_risk_permissions),
                "builtin_administrators": sum(1 for u in self.users if u.builtin),
            },
            "users": [u.to_dict() for u in self.users],
        }


def dormant_report(
    model: AccessModel,
    logins: LoginRecords,
    policy: PolicyDocument,
    scope: Scope,
    now: dt.datetime,
    days: int,
) -> DormantReport:
    """The active users (managed within ``scope``, or built-in administrators) whose last
    sign-in is at least ``days`` days before ``now``, or who never signed in; longest
    dormant first."""
    today = now.date()
    noted = _roles_of_note(model, policy)
    named = frozenset(p for rule in policy.sod_rules.values() for g in rule.conflicts for p in g)
    risky_roles = {k for k, why in noted.items() if any(w.startswith("risk") for w in why)}
    found: list[DormantUser] = []
    checked = 0
    for login in sorted(model.users):
        user = model.users[login]
        builtin = model.builtin(login)
        if not user.active:
            continue
        if builtin is None and scope.user_reason(login, user.department, model.departments):
            continue
        checked += 1
        last = logins.last.get(login)
        since = None if last is None else (today - last.astimezone(dt.UTC).date()).days
        if since is not None and since < days:
            continue
        held = tuple(sorted(model.memberships.get(login, {})))
        granted = model.granted(login)
        risky = sorted(
            perm
            for perm, paths in granted.items()
            if any(p.role in risky_roles for p in paths) or any(holds({perm}, n) for n in named)
        )
        dept = model.departments.get(user.department) if user.department else None
        found.append(
            DormantUser(
                login,
                user.name,
                user.department,
                dept.name if dept else None,
                last,
                since,
                held,
                {r: noted[r] for r in held if r in noted},
                tuple(risky) if builtin is None else (),
                builtin,
                login in policy.users,
            )
        )
    found.sort(key=lambda u: (u.days_since is not None, -(u.days_since or 0), u.login))
    return DormantReport(today, days, logins.source, logins.notes, checked, tuple(found))


def _roles_of_note(model: AccessModel, policy: PolicyDocument) -> dict[str, tuple[str, ...]]:
    """Role -> why a reviewer looks at it: the policy's high risk, the SoD rules its live
    permissions touch."""
    out: dict[str, tuple[str, ...]] = {}
    for key, info in model.roles.items():
        why: list[str] = []
        declared = policy.roles.get(key)
        if declared is not None and declared.risk in HIGH_RISK:
            why.append(f"risk: {declared.risk}")
        why += [
            rule_key
            for rule_key, rule in sorted(policy.sod_rules.items())
            if any(holds(info.permissions, p) for g in rule.conflicts for p in g)
        ]
        if why:
            out[key] = tuple(why)
    return out


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Proposal:
    """The policy edits ``--propose`` makes, and the dormant users it cannot edit."""

    edits: tuple[FieldEdit, ...]
    skipped: tuple[tuple[str, str], ...]  # (login, why not)


def propose(
    report: DormantReport, loaded: LoadedPolicy, on: dt.date, deactivate: bool = False
) -> Proposal:
    """For each dormant user the policy declares, ``expires: on`` (or ``active: false``),
    commented with the evidence, in the file and place the user is declared. A built-in
    administrator, a user the policy does not declare (the plan deactivates it anyway)
    and one already expiring by then are left, each with the reason."""
    edits: list[FieldEdit] = []
    skipped: list[tuple[str, str]] = []
    for user in report.users:
        declared = loaded.policy.users.get(user.login)
        origin = loaded.origins.get(("users", user.login))
        if user.builtin is not None:
            skipped.append((user.login, N_("built-in administrator: erpsync never changes it")))
            continue
        if declared is None or origin is None:
            skipped.append((user.login, N_("not declared: the next apply deactivates it anyway")))
            continue
        if not deactivate and declared.expires is not None and declared.expires <= on:
            skipped.append((user.login, N_("already expires {date}").format(date=declared.expires)))
            continue
        seen = (
            N_("never signed in")
            if user.last_login is None
            else N_("no sign-in since {date}").format(date=user.last_login.date().isoformat())
        )
        note = N_("dormant: {detail} (erpsync report dormant, {date})").format(
            detail=seen, date=report.today.isoformat()
        )
        field, value = ("active", "false") if deactivate else ("expires", on.isoformat())
        edits.append(FieldEdit(Path(origin.file), "users", user.login, field, value, note))
    return Proposal(tuple(edits), tuple(skipped))
