"""Who reviews whom, and what each sheet lists (:func:`build_sheets`): pure.

``department`` scope: each active, managed user of the live ERP is reviewed by the
manager of their department (the policy's ``manager``), going up the department tree
until one is found who is not the user (a manager's own access goes to the next manager
up); failing that, by the first ``owners`` entry up the tree (the top manager's access
goes to the company's owners). ``role`` scope: each role's holders
are reviewed by the role's first ``owners`` entry. Whoever has no reviewer goes on the
``unassigned`` sheet. Built-in administrators and protected or ignored users are not
listed: erpsync never changes them.

Each person has an account line, then a line per role held, the roles a reviewer should
look at first (high risk, or touching a SoD rule) on top. ``since_last_review`` compares
with the previous campaign: a new person, a role added since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from erpsync.access import holds
from erpsync.policy.model import PolicyDocument
from erpsync.render import clean
from erpsync.reports import AccessModel
from erpsync.review.model import Line, LineKind, Sheet
from erpsync.roles_of_note import HIGH_RISK
from erpsync.scope import Scope

UNASSIGNED = "(unassigned)"  # no login or owner handle is written so
JOIN = "; "


@dataclass(frozen=True)
class Previous:
    """What the previous campaign listed: (login, role or None for the account)."""

    campaign: str
    listed: frozenset[tuple[str, str | None]]


def campaign_id(started: dt.datetime, scope: str, salt: str) -> str:
    """``2026-12-03-department-1a2b3c``: the day, the scope and a short hash."""
    short = hashlib.sha256(f"{started.isoformat()}|{salt}".encode()).hexdigest()[:6]
    return f"{started:%Y-%m-%d}-{scope}-{short}"


def build_sheets(
    model: AccessModel,
    policy: PolicyDocument,
    scope: Scope,
    kind: str,
    campaign: str,
    started: dt.date,
    due: dt.date | None,
    previous: Previous | None = None,
) -> list[Sheet]:
    """One sheet per reviewer, sorted by reviewer."""
    people = [
        login
        for login in sorted(model.users)
        if model.users[login].active
        and model.builtin(login) is None
        and scope.user_reason(login, model.users[login].department, model.departments) is None
    ]
    notes = _role_notes(model, policy)
    named = frozenset(p for r in policy.sod_rules.values() for g in r.conflicts for p in g)
    per_reviewer: dict[str, list[tuple[LineKind, str, str | None]]] = {}
    if kind == "department":
        for login in people:
            reviewer = _manager_of(login, model, policy)
            rows = per_reviewer.setdefault(reviewer, [])
            rows.append(("account", login, None))
            held = sorted(model.memberships.get(login, {}), key=lambda r: (r not in notes, r))
            rows += [("role", login, role) for role in held]
    elif kind == "role":
        for role in sorted(model.roles, key=lambda r: (r not in notes, r)):
            declared = policy.roles.get(role)
            owner = declared.owners[0] if declared and declared.owners else UNASSIGNED
            for person in (p for p in people if role in model.memberships.get(p, {})):
                reviewer = owner if owner != person else UNASSIGNED  # never oneself
                per_reviewer.setdefault(reviewer, []).append(("role", person, role))
    else:
        raise ValueError(f"unknown review scope {kind!r}")
    sheets = []
    for reviewer in sorted(per_reviewer):
        rows = per_reviewer[reviewer]
        if not rows:
            continue
        lines = tuple(
            _line(number, line_kind, login, role, model, notes, named, previous)
            for number, (line_kind, login, role) in enumerate(rows, start=1)
        )
        who = model.users.get(reviewer)
        name = clean(who.name) if who else ""
        scope_kind: Literal["department", "role"] = "department" if kind == "department" else "role"
        sheets.append(Sheet(campaign, reviewer, name, scope_kind, started, due, lines))
    return sheets


def _manager_of(login: str, model: AccessModel, policy: PolicyDocument) -> str:
    """The first manager up the user's department tree who is not the user; else the
    first ``owners`` entry up the tree (a top manager's own access goes to the owners)."""
    chain = _departments_up(model.users[login].department, model, policy)
    for _, manager, _owners in chain:
        if manager and manager != login:
            return manager
    for _, _manager, owners in chain:
        others = [o for o in owners if o != login]
        if others:
            return others[0]
    return UNASSIGNED


def _departments_up(
    key: str | None, model: AccessModel, policy: PolicyDocument
) -> list[tuple[str, str | None, list[str]]]:
    """(key, manager, owners) from ``key`` up to the root (the policy's view first)."""
    out: list[tuple[str, str | None, list[str]]] = []
    seen: set[str] = set()
    while key is not None and key not in seen:
        seen.add(key)
        declared = policy.departments.get(key)
        live = model.departments.get(key)
        if declared is not None:
            out.append((key, declared.manager, list(declared.owners)))
            key = declared.parent
        elif live is not None:
            out.append((key, live.manager, []))
            key = live.parent
        else:
            break
    return out


def _role_notes(model: AccessModel, policy: PolicyDocument) -> dict[str, str]:
    """Role -> its risk and the SoD rules its permissions touch, for roles of note."""
    out: dict[str, str] = {}
    for key, info in model.roles.items():
        why: list[str] = []
        declared = policy.roles.get(key)
        if declared is not None and declared.risk in HIGH_RISK:
            why.append(str(declared.risk))
        why += [
            rule
            for rule, r in sorted(policy.sod_rules.items())
            if any(holds(info.permissions, p) for group in r.conflicts for p in group)
        ]
        if why:
            out[key] = JOIN.join(why)
    return out


def _line(
    number: int,
    kind: LineKind,
    login: str,
    role: str | None,
    model: AccessModel,
    notes: Mapping[str, str],
    named: frozenset[str],
    previous: Previous | None,
) -> Line:
    user = model.users[login]
    dept = model.departments.get(user.department) if user.department else None
    department = clean(f"{dept.name} ({dept.key})" if dept else (user.department or ""))
    name = clean(user.name)  # no control character reaches a sheet
    if role is None:
        since = _since(login, None, previous)
        return Line(number, kind, login, name, department, since_last_review=since)
    info = model.roles.get(role)
    shown = _noted(info.permissions if info else frozenset(), notes.get(role, ""), named)
    return Line(
        number,
        kind,
        login,
        name,
        department,
        role,
        clean(info.name if info else role),
        notes.get(role, ""),
        JOIN.join(shown),
        _since(login, role, previous),
    )


def _noted(perms: frozenset[str], note: str, named: frozenset[str]) -> Sequence[str]:
    """A role of note's permissions, those a SoD rule names first (at most 12, then a
    count); none for another role."""
    if not note:
        return []
    shown = sorted(perms, key=lambda p: (not any(holds({p}, n) for n in named), p))
    return shown if len(shown) <= 12 else [*shown[:12], f"… {len(shown) - 12} more"]


def _since(login: str, role: str | None, previous: Previous | None) -> str:
    if previous is None:
        return "first review"
    if (login, None) not in previous.listed and role is None:
        return f"new since {previous.campaign}"
    if role is not None and (login, role) not in previous.listed:
        return "role added" if (login, None) in previous.listed else "new"
    return ""
