"""Access reports: who holds what, and through which path.

An :class:`AccessModel` is one picture of an organisation's access, taken
either from the LIVE ERP (:func:`live_model`, from a
:class:`~erpsync.adapters.base.LiveSnapshot`) or from the DESIRED state
(:func:`desired_model`, from the loaded policy through
:func:`erpsync.state.desired_state`, the plan's own computation). Every
permission a user holds carries every :class:`Path` by which it arrives:

- live: ``via role X`` only, since the ERP stores each role flattened;
- desired: the role the user holds, why they hold it (explicit, or a default
  role of which department), and the chain of included roles that brings the
  permission (``gl-reviewer`` includes ``finance-viewer``, which declares it).

The report functions (:func:`show_user`, :func:`show_role`, :func:`who_can`,
:func:`access_listing`, :func:`sod_report`, :func:`expiring`) are pure and
return small dataclasses whose ``to_dict()`` is the JSON form every view is
rendered from. An inactive user holds nothing: such a user's stored
memberships are shown as dormant, never as access.

The live view knows the ERP's built-in administrators
(:attr:`LiveSnapshot.administrators`: RuoYi's user 1 and role ``admin``, Tryton's
administrators): the ERP gives them every permission whatever its tables say, so
they hold every permission the model knows, by a path marked :data:`BUILTIN_TEXT`;
separation-of-duties reports count them, marked as built-in rather than as a
violation the policy can fix. Where the ERP labels its permissions (RuoYi's menu
names, module names elsewhere) every report carries the label beside the code.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from erpsync import access, sod
from erpsync.adapters.base import LiveSnapshot
from erpsync.errors import UsageError
from erpsync.i18n import N_
from erpsync.policy.loader import did_you_mean, native_spelling
from erpsync.policy.model import (
    ALL_ACTIONS,
    PERMISSION_PATTERN,
    PolicyDocument,
    Role,
    SodException,
    SodRule,
)
from erpsync.state import DepartmentRec, Desired, UserRec

_PERMISSION = re.compile(PERMISSION_PATTERN)

LIVE = "live"
DESIRED = "desired"

# Source of a membership.
EXPLICIT = "explicit"
DEFAULT = "department default"
STORED = "live membership"
BUILTIN = "built-in administrator"
BUILTIN_TEXT = N_("built-in administrator, unmanaged (the ERP grants every permission)")
# How a role is held, as the views say it (the JSON keeps the English words).
SOURCE_WORDS = (N_("explicit"), N_("live membership"), N_("department default"))

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
Chain = tuple[str, ...]  # included roles from the held role to the declaring one; () = own


class Report(Protocol):
    """What every report function returns: plain data with a JSON form."""

    def to_dict(self) -> dict[str, Any]: ...


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Path:
    """One way a permission reaches a user: the role they hold, why, and the include chain."""

    role: str
    source: str  # EXPLICIT | DEFAULT | STORED
    department: str | None = None  # with DEFAULT: the department whose default_roles give it
    chain: Chain = ()

    @property
    def declared_by(self) -> str:
        """The role whose own permissions list it."""
        return self.chain[-1] if self.chain else self.role

    def text(self) -> str:
        """How the permission arrives, in English (data: the views say it with ``said``)."""
        if self.source == BUILTIN:
            if not self.role:
                return BUILTIN_TEXT
            template = N_(
                "via role {role}: built-in administrator, unmanaged "
                "(the ERP grants every permission)"
            )
            return template.format(role=self.role)
        if self.source == STORED:
            return N_("via role {role}").format(role=self.role)
        reason = source_text(self.source, self.department)
        if not self.chain:
            return N_("role {role} ({reason})").format(role=self.role, reason=reason)
        if len(self.chain) == 1:
            template = N_("role {role} via included role {chain} ({reason})")
        else:
            template = N_("role {role} via included roles {chain} ({reason})")
        return template.format(role=self.role, chain=" -> ".join(self.chain), reason=reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "source": self.source,
            "department": self.department,
            "included": list(self.chain),
            "declared_by": self.declared_by,
            "text": self.text(),
        }


def source_text(source: str, department: str | None) -> str:
    """``explicit``, ``default of department hq`` or ``live membership``."""
    if source == DEFAULT:
        return N_("default of department {department}").format(department=department)
    if source == BUILTIN:
        return BUILTIN_TEXT
    return source


@dataclass(frozen=True)
class RoleInfo:
    """A role as the model sees it: its own and its flattened permissions, and where each
    flattened permission comes from (``chains``: permission -> include chains)."""

    key: str
    name: str
    description: str | None
    data_scope: str | None
    risk: str | None
    includes: tuple[str, ...]  # declared directly
    carries: tuple[str, ...]  # itself and every role it includes, transitively
    own: frozenset[str]
    chains: Mapping[str, tuple[Chain, ...]]

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(self.chains)


@dataclass(frozen=True)
class AccessModel:
    """Users, their memberships and the roles' permissions, from one side (live or desired)."""

    view: str  # LIVE | DESIRED
    users: Mapping[str, UserRec]
    departments: Mapping[str, DepartmentRec]
    roles: Mapping[str, RoleInfo]
    memberships: Mapping[str, Mapping[str, Path]]  # login -> role -> how it is held
    catalogue: access.Catalogue | None = None
    expires: Mapping[str, dt.date] = field(default_factory=dict)  # desired: users' expiry
    inactive_reason: Mapping[str, str] = field(default_factory=dict)
    # live: the ERP's built-in administrators, login / role key -> the ERP's rule
    admin_users: Mapping[str, str] = field(default_factory=dict)
    admin_roles: Mapping[str, str] = field(default_factory=dict)
    # permission -> the ERP's label for it; module -> the ERP's name for it (the fallback)
    labels: Mapping[str, str] = field(default_factory=dict)
    module_names: Mapping[str, str] = field(default_factory=dict)

    def label(self, perm: str) -> str | None:
        """The ERP's own label for ``perm`` (its menu name, else its module's name)."""
        found = self.labels.get(perm)
        if found:
            return found
        return self.module_names.get(access.split_permission(perm)[0]) or None

    @cached_property
    def every_permission(self) -> frozenset[str]:
        """What a built-in administrator holds: every permission the model can name."""
        return frozenset(known_permissions(self))

    def builtin(self, login: str) -> str | None:
        """Why ``login`` holds every permission (a built-in administrator), else None."""
        why = self.admin_users.get(login)
        if why is not None:
            return why
        held = sorted(self.memberships.get(login, {}).keys() & self.admin_roles.keys())
        return self.admin_roles[held[0]] if held else None

    def user(self, login: str) -> UserRec:
        found = self.users.get(login)
        if found is None:
            hint = did_you_mean(login, self.users)
            message = N_("unknown user '{login}'{detail}") if hint else N_("unknown user '{login}'")
            raise UsageError(message.format(login=login, detail=hint))
        return found

    def role(self, key: str) -> RoleInfo:
        found = self.roles.get(key)
        if found is None:
            hint = did_you_mean(key, self.roles)
            message = N_("unknown role '{key}'{detail}") if hint else N_("unknown role '{key}'")
            raise UsageError(message.format(key=key, detail=hint))
        return found

    def granted(self, login: str) -> dict[str, list[Path]]:
        """Permission -> paths, from the user's memberships, whether active or not."""
        out: dict[str, list[Path]] = {}
        admin_user = login in self.admin_users
        if admin_user:
            for perm in sorted(self.every_permission):
                out[perm] = [Path("", BUILTIN)]
        for key, held in sorted(self.memberships.get(login, {}).items()):
            if key in self.admin_roles:
                if not admin_user:  # the user's own path says it already
                    for perm in sorted(self.every_permission):
                        out.setdefault(perm, []).append(Path(key, BUILTIN))
                continue
            info = self.roles.get(key)
            for perm, chains in info.chains.items() if info else ():
                paths = out.setdefault(perm, [])
                paths.extend(Path(held.role, held.source, held.department, c) for c in chains)
        return out

    def effective(self, login: str) -> dict[str, list[Path]]:
        """What the user holds: nothing when inactive, else :meth:`granted`."""
        user = self.users.get(login)
        return self.granted(login) if user is not None and user.active else {}

    def holdings(self) -> dict[str, frozenset[str]]:
        """Every active user's permissions (for separation of duties)."""
        return {login: frozenset(self.effective(login)) for login in self.users}


def _chains(roles: Mapping[str, Role], key: str) -> dict[str, Chain]:
    """Each role reached from ``key`` (access.included_roles) -> the include chain to it."""
    members = access.included_roles(roles, key)
    chains: dict[str, Chain] = {key: ()}
    for member in members:
        for inc in roles[member].includes:
            if inc in members and inc not in chains:
                chains[inc] = (*chains[member], inc)
    return chains


def desired_model(desired: Desired) -> AccessModel:
    """The policy's view, from :func:`erpsync.state.desired_state` (the plan's computation)."""
    if desired.loaded is None:
        raise ValueError("desired_model needs the Desired of a loaded policy")
    policy = desired.loaded.policy
    catalogue = desired.catalogue
    own = {key: access.own_permissions(role, catalogue) for key, role in policy.roles.items()}
    roles = {}
    for key, role in policy.roles.items():
        chains = _chains(policy.roles, key)
        found: dict[str, list[Chain]] = {}
        for member, chain in chains.items():
            for perm in own[member]:
                found.setdefault(perm, []).append(chain)
        roles[key] = RoleInfo(
            key,
            role.name,
            role.description,
            role.data_scope,
            role.risk,
            tuple(role.includes),
            tuple(chains),
            frozenset(own[key]),
            {
                perm: tuple(sorted(c, key=lambda x: (len(x), x)))
                for perm, c in sorted(found.items())
            },
        )
    memberships: dict[str, dict[str, Path]] = {}
    for login, held in desired.state.memberships:
        dept = desired.membership_department(login, held)
        source = EXPLICIT if dept is None else DEFAULT
        memberships.setdefault(login, {})[held] = Path(held, source, dept)
    expires = {k: u.expires for k, u in policy.users.items() if u.expires is not None}
    names = {key: m.name for key, m in policy.modules.items() if m.name}
    return AccessModel(
        DESIRED,
        desired.state.users,
        desired.state.departments,
        roles,
        memberships,
        catalogue,
        expires,
        desired.inactive_reason,
        module_names=names,
    )


def live_model(snapshot: LiveSnapshot) -> AccessModel:
    """The live ERP's view: roles are stored flattened, so every path is ``via role X``."""
    state = snapshot.state
    perms: dict[str, set[str]] = {}
    for role, perm in state.grants:
        perms.setdefault(role, set()).add(perm)
    roles = {
        key: RoleInfo(
            key,
            r.name,
            r.description,
            r.data_scope,
            None,
            (),
            (key,),
            frozenset(perms.get(key, ())),
            dict.fromkeys(sorted(perms.get(key, ())), ((),)),
        )
        for key, r in state.roles.items()
    }
    memberships: dict[str, dict[str, Path]] = {}
    for login, role in state.memberships:
        memberships.setdefault(login, {})[role] = Path(role, STORED)
    admins = snapshot.administrators
    return AccessModel(
        LIVE,
        state.users,
        state.departments,
        roles,
        memberships,
        dict(snapshot.catalogue),
        admin_users={a.key: a.why for a in admins if a.kind == "user"},
        admin_roles={a.key: a.why for a in admins if a.kind == "role"},
        labels=dict(snapshot.permission_names),
        module_names=dict(snapshot.module_names),
    )


# --- show user ------------------------------------------------------------------------------


def _department_name(model: AccessModel, key: str | None) -> str | None:
    dept = model.departments.get(key) if key is not None else None
    return dept.name if dept else None


def _status(model: AccessModel, user: UserRec) -> tuple[str, str]:
    """(status, why) of a user: active, expired (the policy's expiry has passed) or
    inactive, with the reason where known."""
    if user.active:
        return "active", ""
    why = model.inactive_reason.get(user.login, "")
    return ("expired" if why.startswith("expired") else "inactive"), why


@dataclass(frozen=True)
class UserReport:
    view: str
    user: UserRec
    department_name: str | None
    status: str
    status_reason: str
    expires: dt.date | None
    roles: tuple[tuple[Path, str | None], ...]  # how each role is held, and its name
    permissions: tuple[tuple[str, tuple[Path, ...]], ...]
    dormant: tuple[str, ...]  # inactive: what its stored memberships would grant
    builtin: str | None = None  # a built-in administrator: the ERP's rule
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        u = self.user
        return {
            "report": "user",
            "view": self.view,
            "login": u.login,
            "name": u.name,
            "email": u.email,
            "department": u.department,
            "department_name": self.department_name,
            "active": u.active,
            "status": self.status,
            "status_reason": self.status_reason,
            "expires": self.expires.isoformat() if self.expires else None,
            "builtin_administrator": self.builtin,
            "roles": [
                {
                    "role": p.role,
                    "name": name,
                    "source": p.source,
                    "department": p.department,
                    "text": source_text(p.source, p.department),
                }
                for p, name in self.roles
            ],
            "permissions": [
                {
                    "permission": perm,
                    "label": self.labels.get(perm),
                    "paths": [p.to_dict() for p in paths],
                }
                for perm, paths in self.permissions
            ],
            "dormant_permissions": list(self.dormant),
            "labels": {p: self.labels[p] for p in self.dormant if p in self.labels},
        }


def show_user(model: AccessModel, login: str) -> UserReport:
    """A user's status, department, roles (with their source) and every effective
    permission with all its paths."""
    user = model.user(login)
    status, why = _status(model, user)
    held = sorted(model.memberships.get(login, {}).values(), key=lambda p: p.role)
    roles = tuple((p, model.roles[p.role].name if p.role in model.roles else None) for p in held)
    effective = model.effective(login)
    dormant = () if user.active else tuple(sorted(model.granted(login)))
    shown = set(effective) | set(dormant)
    labels = {p: label for p in shown if (label := model.label(p))}
    return UserReport(
        model.view,
        user,
        _department_name(model, user.department),
        status,
        why,
        model.expires.get(login),
        roles,
        tuple((perm, tuple(effective[perm])) for perm in sorted(effective)),
        dormant,
        model.builtin(login),
        labels,
    )


# --- show role ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """A user holding a role, directly (``through`` None) or through a role including it."""

    user: UserRec
    path: Path
    through: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "login": self.user.login,
            "name": self.user.name,
            "department": self.user.department,
            "active": self.user.active,
            "source": self.path.source,
            "department_default": self.path.department,
            "through": self.through,
            "text": self.text(),
        }

    def text(self) -> str:
        how = source_text(self.path.source, self.path.department)
        if self.through:
            return N_("through role {role} ({reason})").format(role=self.through, reason=how)
        return how


@dataclass(frozen=True)
class RoleReport:
    view: str
    role: RoleInfo
    included_by: tuple[str, ...]
    holders: tuple[Holder, ...]
    builtin: str | None = None  # a built-in administrator role: the ERP's rule
    every: frozenset[str] = frozenset()  # with builtin: every permission, which it holds
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        r = self.role
        included = [
            {
                "permission": perm,
                "from": [" -> ".join(c) for c in chains if c],
            }
            for perm, chains in r.chains.items()
            if perm not in r.own
        ]
        return {
            "report": "role",
            "view": self.view,
            "key": r.key,
            "name": r.name,
            "description": r.description,
            "risk": r.risk,
            "data_scope": r.data_scope,
            "includes": list(r.includes),
            "included_by": list(self.included_by),
            "builtin_administrator": self.builtin,
            "own": sorted(r.own),
            "included": included,
            "permissions": sorted(self.every if self.builtin else r.permissions),
            "labels": dict(sorted(self.labels.items())),
            "holders": [h.to_dict() for h in self.holders],
        }


def show_role(model: AccessModel, key: str) -> RoleReport:
    """A role's own and included permissions, the roles that include it, and its holders
    (active or not, directly or through an including role)."""
    role = model.role(key)
    including = {other for other, info in model.roles.items() if key in info.carries[1:]}
    holders = []
    for login in sorted(model.memberships):
        user = model.users.get(login)
        if user is None:
            continue
        for held_key, path in sorted(model.memberships[login].items()):
            if held_key == key:
                holders.append(Holder(user, path))
            elif held_key in including:
                holders.append(Holder(user, path, held_key))
    holders.sort(key=lambda h: (h.user.login, h.through or ""))
    builtin = model.admin_roles.get(key)
    every = model.every_permission if builtin else frozenset()
    labels = {p: label for p in every | role.permissions if (label := model.label(p))}
    return RoleReport(
        model.view, role, tuple(sorted(including)), tuple(holders), builtin, every, labels
    )


# --- who can -------------------------------------------------------------------------------


def known_permissions(model: AccessModel) -> set[str]:
    """What the model can name: the catalogue's permissions and every granted one."""
    known = {
        access.permission(module, action)
        for module, actions in (model.catalogue or {}).items()
        for action in actions
    }
    for info in model.roles.values():
        known |= info.permissions
    return known


def check_permission(model: AccessModel, wanted: str) -> None:
    """A UsageError for a permission that is malformed or that nothing knows."""
    if not _PERMISSION.match(wanted):
        raise UsageError(
            N_(
                "'{permission}' is not a permission: write it as MODULE:ACTION "
                "(the action follows the last ':')"
            ).format(permission=wanted)
        )
    module, action = access.split_permission(wanted)
    known = known_permissions(model)
    if wanted in known:
        return
    modules = {access.split_permission(p)[0] for p in known}
    if module in modules and (action == ALL_ACTIONS or f"{module}:{ALL_ACTIONS}" in known):
        return
    if module not in modules:
        hint = native_spelling(module, modules)
        message = (
            N_("unknown module '{module}'{detail}") if hint else N_("unknown module '{module}'")
        )
        raise UsageError(message.format(module=module, detail=hint))
    actions = sorted({a for m, a in map(access.split_permission, known) if m == module})
    hint = did_you_mean(action, actions)
    message = (
        N_("module '{module}' has no action '{action}'{detail} (it has: {actions})")
        if hint
        else N_("module '{module}' has no action '{action}' (it has: {actions})")
    )
    raise UsageError(
        message.format(module=module, action=action, detail=hint, actions=", ".join(actions))
    )


@dataclass(frozen=True)
class WhoCanEntry:
    user: UserRec
    department_name: str | None
    paths: tuple[tuple[str, Path], ...]  # (the permission held that grants it, path)
    builtin: str | None = None  # a built-in administrator: the ERP's rule

    def to_dict(self) -> dict[str, Any]:
        return {
            "login": self.user.login,
            "name": self.user.name,
            "department": self.user.department,
            "department_name": self.department_name,
            "builtin_administrator": self.builtin,
            "paths": [{"permission": perm, **p.to_dict()} for perm, p in self.paths],
        }


@dataclass(frozen=True)
class WhoCanReport:
    view: str
    permission: str
    holders: tuple[WhoCanEntry, ...]
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "who-can",
            "view": self.view,
            "permission": self.permission,
            "label": self.label,
            "count": len(self.holders),
            "holders": [h.to_dict() for h in self.holders],
        }


def who_can(model: AccessModel, wanted: str) -> WhoCanReport:
    """Every active user holding ``wanted`` (``*`` as in :func:`erpsync.access.holds`),
    with every path, built-in administrators included; raises UsageError for an unknown
    permission."""
    check_permission(model, wanted)
    granting = {key for key, info in model.roles.items() if access.holds(info.permissions, wanted)}
    entries = []
    for login in sorted(model.users):
        user = model.users[login]
        builtin = model.builtin(login)
        held = model.memberships.get(login, {}).keys()
        if not user.active or (builtin is None and not granting & held):
            continue
        paths = [
            (perm, path)
            for perm, found in sorted(model.effective(login).items())
            if access.holds({perm}, wanted)
            for path in found
        ]
        if builtin is not None and not any(p.source == BUILTIN for _, p in paths):
            # a permission no catalogue lists: the ERP grants it to its administrators too
            role = "" if login in model.admin_users else min(held & model.admin_roles.keys())
            paths.insert(0, (wanted, Path(role, BUILTIN)))
        dept = _department_name(model, user.department)
        entries.append(WhoCanEntry(user, dept, tuple(paths), builtin))
    return WhoCanReport(model.view, wanted, tuple(entries), model.label(wanted))


# --- access listing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessRow:
    login: str
    name: str
    department: str | None
    department_name: str | None
    active: bool
    permission: str | None  # None: a user who holds nothing (listed all the same)
    roles: tuple[str, ...]
    status: str = "active"  # active | inactive | expired
    label: str | None = None  # the ERP's label for the permission
    builtin: bool = False  # held as a built-in administrator

    def to_dict(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "name": self.name,
            "department": self.department,
            "department_name": self.department_name,
            "active": self.active,
            "status": self.status,
            "permission": self.permission,
            "permission_label": self.label,
            "roles": list(self.roles),
            "builtin_administrator": self.builtin,
            "via": BUILTIN_TEXT if self.builtin else None,
        }


@dataclass(frozen=True)
class AccessListing:
    view: str
    rows: tuple[AccessRow, ...]

    def to_dict(self) -> dict[str, Any]:
        active = {r.login for r in self.rows if r.active}
        return {
            "report": "access",
            "view": self.view,
            "summary": {
                "rows": len(self.rows),
                "users": len({r.login for r in self.rows}),
                "active_users": len(active),
                "builtin_administrators": len({r.login for r in self.rows if r.builtin}),
                "permissions": len({r.permission for r in self.rows if r.permission}),
            },
            "rows": [r.to_dict() for r in self.rows],
        }


def access_listing(model: AccessModel) -> AccessListing:
    """One row per (user, permission): an active user's effective permissions, and for an
    inactive user the permissions its stored memberships would grant (``active`` false,
    with its status); a user granted nothing has one row without a permission, so every
    user is listed. A built-in administrator has a row for every permission."""
    rows = []
    for login in sorted(model.users):
        user = model.users[login]
        dept_name = _department_name(model, user.department)
        status, _ = _status(model, user)
        base = (login, user.name, user.department, dept_name, user.active)
        granted = model.granted(login)
        for perm, paths in sorted(granted.items()):
            roles = tuple(sorted({p.role for p in paths if p.role}))
            builtin = any(p.source == BUILTIN for p in paths)
            rows.append(AccessRow(*base, perm, roles, status, model.label(perm), builtin))
        if not granted:
            rows.append(AccessRow(*base, None, (), status))
    return AccessListing(model.view, tuple(rows))


# --- separation of duties ------------------------------------------------------------------


@dataclass(frozen=True)
class SodEntry:
    violation: sod.Violation
    rule: SodRule
    user: UserRec | None
    exception: SodException | None
    roles: Mapping[str, tuple[str, ...]]  # held permission -> roles granting it
    builtin: str | None = None  # a built-in administrator: the ERP's rule

    @property
    def status(self) -> str:
        if self.builtin is not None:
            return BUILTIN
        if self.violation.mitigated:
            return "mitigated"
        return "exception expired" if self.violation.exception_expired else "unmitigated"

    @property
    def blocking(self) -> bool:
        """Blocking as a policy violation: never for a built-in administrator, whom no
        policy can change (it is counted, marked built-in)."""
        return self.builtin is None and self.violation.blocking

    def to_dict(self) -> dict[str, Any]:
        v, exc = self.violation, self.exception
        return {
            "rule": v.rule,
            "description": self.rule.description,
            "severity": v.severity,
            "user": v.user,
            "name": self.user.name if self.user else None,
            "department": self.user.department if self.user else None,
            "held": [list(group) for group in v.held],
            "roles": {perm: list(roles) for perm, roles in sorted(self.roles.items())},
            "status": self.status,
            "blocking": self.blocking,
            "builtin_administrator": self.builtin,
            "exception": None
            if exc is None
            else {
                "reason": exc.reason,
                "approved_by": exc.approved_by,
                "expires": exc.expires.isoformat() if exc.expires else None,
            },
        }


@dataclass(frozen=True)
class SodReport:
    view: str
    today: dt.date
    entries: tuple[SodEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        statuses = [e.status for e in self.entries]
        return {
            "report": "sod",
            "view": self.view,
            "today": self.today.isoformat(),
            "summary": {
                "violations": len(self.entries),
                "unmitigated": statuses.count("unmitigated"),
                "exception_expired": statuses.count("exception expired"),
                "mitigated": statuses.count("mitigated"),
                "builtin_administrator": statuses.count(BUILTIN),
                "blocking": sum(1 for e in self.entries if e.blocking),
            },
            "violations": [e.to_dict() for e in self.entries],
        }


def sod_report(
    rules: Mapping[str, SodRule],
    exceptions: Sequence[SodException],
    model: AccessModel,
    today: dt.date,
) -> SodReport:
    """Every violation among the model's active users (erpsync.sod.find_violations), most
    severe first, with the permissions held per conflict set and the exception's status.
    A built-in administrator holds every permission, those the rules name included, so
    it violates every rule: counted, and marked built-in."""
    holdings = model.holdings()
    named = frozenset(p for rule in rules.values() for group in rule.conflicts for p in group)
    admins = {
        login
        for login, user in model.users.items()
        if user.active and model.builtin(login) is not None
    }
    for login in admins:
        holdings[login] = holdings[login] | named
    entries = []
    for v in sod.find_violations(rules, holdings, exceptions, today):
        paths = model.effective(v.user)
        roles = {
            perm: tuple(sorted({p.role or BUILTIN for p in paths.get(perm, ())}))
            or ((BUILTIN,) if v.user in admins else ())
            for group in v.held
            for perm in group
        }
        exc = exceptions[v.exception] if v.exception is not None else None
        user = model.users.get(v.user)
        builtin = model.builtin(v.user) if v.user in admins else None
        entries.append(SodEntry(v, rules[v.rule], user, exc, roles, builtin))
    entries.sort(key=lambda e: (SEVERITY_ORDER.get(e.violation.severity, 9), e.violation.rule))
    return SodReport(model.view, today, tuple(entries))


# --- expiring ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expiry:
    kind: str  # "user" | "sod_exception"
    key: str
    detail: str
    expires: dt.date
    days_left: int
    live_active: bool | None = None  # a user: still active in the live ERP (None: not known)

    @property
    def status(self) -> str:
        return "expired" if self.days_left <= 0 else "expiring"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "detail": self.detail,
            "expires": self.expires.isoformat(),
            "days_left": self.days_left,
            "status": self.status,
            "live_active": self.live_active,
        }


@dataclass(frozen=True)
class ExpiringReport:
    view: str
    today: dt.date
    days: int
    entries: tuple[Expiry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": "expiring",
            "view": self.view,
            "today": self.today.isoformat(),
            "days": self.days,
            "summary": {
                "expired": sum(1 for e in self.entries if e.status == "expired"),
                "expiring": sum(1 for e in self.entries if e.status == "expiring"),
            },
            "entries": [e.to_dict() for e in self.entries],
        }


def expiring(
    policy: PolicyDocument, today: dt.date, days: int, live: AccessModel | None = None
) -> ExpiringReport:
    """Active users and SoD exceptions whose ``expires`` falls within ``days`` days, and
    those already expired; with ``live``, whether each user is still active there."""
    if days < 0:
        raise UsageError(N_("--days must be 0 or more"))
    entries = []
    for login, user in policy.users.items():
        if user.expires is None or not user.active:
            continue
        left = (user.expires - today).days
        if left <= days:
            live_user = live.users.get(login) if live is not None else None
            live_active = None if live is None else bool(live_user and live_user.active)
            entries.append(Expiry("user", login, user.name, user.expires, left, live_active))
    for exc in policy.sod_exceptions:
        if exc.expires is None:
            continue
        left = (exc.expires - today).days
        if left <= days:
            detail = N_("{rule} for {user}, approved by {approver}: {text}").format(
                rule=exc.rule, user=exc.user, approver=exc.approved_by, text=exc.reason
            )
            entries.append(
                Expiry("sod_exception", f"{exc.rule}/{exc.user}", detail, exc.expires, left)
            )
    entries.sort(key=lambda e: (e.expires, e.kind, e.key))
    view = LIVE if live is not None else DESIRED
    return ExpiringReport(view, today, days, tuple(entries))
