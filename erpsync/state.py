"""The canonical state both sides are brought to before they are compared.

A :class:`State` is what an ERP holds, keyed by natural keys (department key,
login, role key, ``module:action``) and never by database ids: departments,
users, roles, each role's flattened permission set (``grants``) and each
user's roles (``memberships``). The live side is read into it by an adapter;
the desired side is resolved from the policy by :func:`desired_state`,
following the spec's "effective access" rules. Records are frozen, so a
State can be hashed into a digest and shared freely.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from erpsync import access
from erpsync.policy.loader import LoadedPolicy


@dataclass(frozen=True, slots=True)
class DepartmentRec:
    key: str
    name: str
    parent: str | None = None
    manager: str | None = None


@dataclass(frozen=True, slots=True)
class UserRec:
    login: str
    name: str
    email: str | None = None
    department: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class RoleRec:
    key: str
    name: str
    description: str | None = None
    data_scope: str | None = None
    data_departments: tuple[str, ...] = ()


Record = DepartmentRec | UserRec | RoleRec

# The attributes a create/update change carries (spec section 5); identity and
# ``active`` (deactivate/reactivate) are not among them.
ATTRIBUTES: dict[type[Any], tuple[str, ...]] = {
    DepartmentRec: ("name", "parent", "manager"),
    UserRec: ("name", "email", "department"),
    RoleRec: ("name", "description", "data_scope", "data_departments"),
}


def attributes(record: Record) -> dict[str, Any]:
    """The record's own attributes as plain JSON-ready values."""
    out = {}
    for name in ATTRIBUTES[type(record)]:
        value = getattr(record, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


@dataclass(frozen=True)
class State:
    """Everything erpsync manages in one ERP, desired or live."""

    departments: Mapping[str, DepartmentRec] = field(default_factory=dict)
    users: Mapping[str, UserRec] = field(default_factory=dict)
    roles: Mapping[str, RoleRec] = field(default_factory=dict)
    grants: frozenset[tuple[str, str]] = frozenset()  # (role, "module:action")
    memberships: frozenset[tuple[str, str]] = frozenset()  # (login, role)

    def canonical(self) -> dict[str, Any]:
        """A deterministic plain-data form (sorted), the input of :meth:`digest`."""
        return {
            "departments": [asdict(self.departments[k]) for k in sorted(self.departments)],
            "users": [asdict(self.users[k]) for k in sorted(self.users)],
            "roles": [asdict(self.roles[k]) for k in sorted(self.roles)],
            "grants": sorted(self.grants),
            "memberships": sorted(self.memberships),
        }

    def digest(self) -> str:
        text = json.dumps(self.canonical(), ensure_ascii=False, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Desired:
    """The desired State plus why each fact is there, for the plan's reasons."""

    state: State
    origin: Mapping[tuple[str, str], str]  # (kind, key) -> "policies/users/x.yaml:14"
    membership_reason: Mapping[tuple[str, str], str]  # (login, role) -> reason
    grant_reason: Mapping[tuple[str, str], str]  # (role, permission) -> reason
    inactive_reason: Mapping[str, str]  # login -> why the user is planned inactive


def desired_state(
    loaded: LoadedPolicy, catalogue: access.Catalogue | None, today: dt.date
) -> Desired:
    """Resolve the policy's effective access (spec section 2) into a :class:`Desired`."""
    policy = loaded.policy
    origin: dict[tuple[str, str], str] = {}
    departments = {}
    for key, d in policy.departments.items():
        departments[key] = DepartmentRec(key, d.name, d.parent, d.manager)
        origin[("department", key)] = loaded.position("departments", key).file_line
    roles = {}
    for key, r in policy.roles.items():
        roles[key] = RoleRec(
            key, r.name, r.description, r.data_scope, tuple(sorted(r.data_departments))
        )
        origin[("role", key)] = loaded.position("roles", key).file_line
    grants = _grant_reasons(loaded, catalogue)
    users = {}
    memberships: dict[tuple[str, str], str] = {}
    inactive: dict[str, str] = {}
    for login, u in policy.users.items():
        origin[("user", login)] = loaded.position("users", login).file_line
        expired = u.expires is not None and u.expires <= today
        active = u.active and not expired
        users[login] = UserRec(login, u.name, u.email, u.department, active)
        if not u.active:
            inactive[login] = (
                f"active: false in {loaded.position('users', login, 'active').file_line}"
            )
        elif expired:
            inactive[login] = f"expired {u.expires}"
        if not active:
            continue
        for role, dept in access.role_sources(u.roles, u.department, policy.departments).items():
            if dept is None:
                index = u.roles.index(role)
                reason = f"declared in {loaded.position('users', login, 'roles', index).file_line}"
            else:
                reason = f"default role of department {dept}"
            memberships[(login, role)] = reason
    state = State(departments, users, roles, frozenset(grants), frozenset(memberships))
    return Desired(state, origin, memberships, grants, inactive)


def _grant_reasons(
    loaded: LoadedPolicy, catalogue: access.Catalogue | None
) -> dict[tuple[str, str], str]:
    """Every (role, permission) of the flattened roles, with where it comes from."""
    roles = loaded.policy.roles
    own = {key: access.own_permissions(role, catalogue) for key, role in roles.items()}
    reasons: dict[tuple[str, str], str] = {}
    for key in roles:
        for source in access.included_roles(roles, key):
            for perm in own[source]:
                if (key, perm) in reasons:
                    continue
                if source == key:
                    module = access.split_permission(perm)[0]
                    where = loaded.position("roles", key, "permissions", module)
                    reasons[(key, perm)] = f"declared in {where.file_line}"
                else:
                    reasons[(key, perm)] = f"included from role {source}"
    return reasons


def replace_record(record: Record, **changes: Any) -> Record:
    """A copy of ``record`` with ``changes``; only known fields."""
    known = {f.name for f in fields(record)}
    unknown = set(changes) - known
    if unknown:
        raise ValueError(f"unknown attributes for {type(record).__name__}: {sorted(unknown)}")
    values = {f.name: getattr(record, f.name) for f in fields(record)}
    values.update(changes)
    return type(record)(**values)
