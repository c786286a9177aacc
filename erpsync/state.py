"""The canonical state both sides are brought to before they are compared.

A :class:`State` is what an ERP holds, keyed by natural keys (department key,
login, role key, ``module:action``) and never by database ids: departments,
users, roles, each role's flattened permission set (``grants``) and each
user's roles (``user_roles``). The live side is read into it by an adapter;
the desired side is resolved from the policy by :func:`desired_state`,
following the spec's "effective access" rules. Records are frozen, so a
State can be hashed into a digest and shared freely.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

from erpsync import access, moves
from erpsync.i18n import N_
from erpsync.policy.loader import LoadedPolicy


class _Record:
    """What the three record types share: how they travel through pickle (from the
    process that reads the live ERP, :mod:`erpsync.live_read`)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[type[Any], tuple[Any, ...]]:
        # Rebuilt by the constructor from a tuple of fields: twice as fast to unpickle
        # as the state a frozen dataclass sends by default (0.01 s per 10,000 users).
        return type(self), _ROW[type(self)](self)


@dataclass(frozen=True, slots=True)
class DepartmentRec(_Record):
    key: str
    name: str
    parent: str | None = None
    manager: str | None = None


@dataclass(frozen=True, slots=True)
class UserRec(_Record):
    login: str
    name: str
    email: str | None = None
    department: str | None = None
    active: bool = True
    # The ERP's own objects the user is assigned to, where the ERP has them and the policy
    # declares them (see ASSIGNMENTS): sorted; None on the desired side means "not
    # declared" (the live value is kept), on the live side "the ERP has none of them".
    posts: tuple[str, ...] | None = None
    warehouses: tuple[str, ...] | None = None
    customers: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RoleRec(_Record):
    key: str
    name: str
    description: str | None = None
    data_scope: str | None = None
    data_departments: tuple[str, ...] = ()


Record = DepartmentRec | UserRec | RoleRec

# A user's assignments to the ERP's own objects, by the ERP's identity of them: posts
# (RuoYi/ruoyi-vue-pro 岗位, by code), warehouses and customers (jshERP's per-user data
# scopes, by name). An adapter stores those its Capabilities.user_assignments names; a
# user whose policy does not declare one leaves it as the ERP has it.
ASSIGNMENTS: tuple[str, ...] = ("posts", "warehouses", "customers")

# The attributes a create/update change carries (spec section 5); identity and
# ``active`` (deactivate/reactivate) are not among them.
ATTRIBUTES: dict[type[Any], tuple[str, ...]] = {
    DepartmentRec: ("name", "parent", "manager"),
    UserRec: ("name", "email", "department", *ASSIGNMENTS),
    RoleRec: ("name", "description", "data_scope", "data_departments"),
}


_GETTERS = {cls: attrgetter(*names) for cls, names in ATTRIBUTES.items()}


def same_attributes(a: Record, b: Record) -> bool:
    """True when the two records' own attributes (see ATTRIBUTES) are equal."""
    getter = _GETTERS[type(a)]
    return type(a) is type(b) and bool(getter(a) == getter(b))


def attributes(record: Record) -> dict[str, Any]:
    """The record's own attributes as plain JSON-ready values."""
    out = {}
    for name in ATTRIBUTES[type(record)]:
        value = getattr(record, name)
        if value is None and name in ASSIGNMENTS:
            continue  # not declared, or not held by this ERP: not an attribute here
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


# A record's fields in declaration order, as a tuple (dataclasses.astuple is 10x slower).
_ROW: dict[type[Any], attrgetter[tuple[Any, ...]]] = {
    cls: attrgetter(*cls.__slots__) for cls in (DepartmentRec, UserRec, RoleRec)
}


def _check_records() -> None:
    """_Record.__reduce__ passes a record's fields, in slot order, to its constructor."""
    for cls in _ROW:
        positional = [f.name for f in fields(cls) if f.init and not f.kw_only]
        if positional != list(cls.__slots__) or len(positional) < 2:  # 1: no tuple from _ROW
            raise TypeError(f"{cls.__name__}: fields must be positional, and two or more")


_check_records()


def by_user(memberships: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """(login, role) pairs as :attr:`State.user_roles`: login -> the roles it holds."""
    held: dict[str, set[str]] = {}
    for login, role in memberships:
        held.setdefault(login, set()).add(role)
    return {login: frozenset(roles) for login, roles in held.items()}


@dataclass(frozen=True)
class State:
    """Everything erpsync manages in one ERP, desired or live.

    Memberships are kept per user (``user_roles``), as the ERPs store and erpsync
    resolves them: comparing two users' role sets is one set comparison, where
    10^5 users' memberships as pairs would be 5 x 10^5 tuples to hash, sort and free.
    :attr:`memberships` gives them as pairs, for the code that lists them.
    """

    departments: Mapping[str, DepartmentRec] = field(default_factory=dict)
    users: Mapping[str, UserRec] = field(default_factory=dict)
    roles: Mapping[str, RoleRec] = field(default_factory=dict)
    grants: frozenset[tuple[str, str]] = frozenset()  # (role, "module:action")
    # login -> the roles it holds; a user who holds none has no entry (never an empty set)
    user_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not all(self.user_roles.values()):
            empty = sorted(login for login, roles in self.user_roles.items() if not roles)
            raise ValueError(f"user_roles holds empty role sets (leave the users out): {empty}")

    @cached_property
    def memberships(self) -> frozenset[tuple[str, str]]:
        """Every (login, role) membership."""
        return frozenset(
            chain.from_iterable(
                zip(repeat(login), roles) for login, roles in self.user_roles.items()
            )
        )

    def renamed(self, renames: Mapping[str, Mapping[str, str]]) -> State:
        """This state with keys renamed (``renames[kind][old] = new``, kind being
        department, role or user), and every reference to them: parents, managers,
        users' departments, custom data scopes, grants and memberships."""
        depts = renames.get("department", {})
        roles = renames.get("role", {})
        logins = renames.get("user", {})
        if not (depts or roles or logins):
            return self

        def dept(key: str | None) -> str | None:
            return None if key is None else depts.get(key, key)

        def login(key: str | None) -> str | None:
            return None if key is None else logins.get(key, key)

        departments = {
            dept(k) or k: DepartmentRec(dept(k) or k, d.name, dept(d.parent), login(d.manager))
            for k, d in self.departments.items()
        }
        users = {
            login(k) or k: dataclasses.replace(
                u, login=login(k) or k, department=dept(u.department)
            )
            for k, u in self.users.items()
        }
        role_recs = {
            roles.get(k, k): RoleRec(
                roles.get(k, k),
                r.name,
                r.description,
                r.data_scope,
                tuple(sorted(dept(d) or d for d in r.data_departments)),
            )
            for k, r in self.roles.items()
        }
        grants = frozenset((roles.get(r, r), p) for r, p in self.grants) if roles else self.grants
        user_roles = {
            login(k) or k: frozenset(roles.get(r, r) for r in held) if roles else held
            for k, held in self.user_roles.items()
        }
        return State(departments, users, role_recs, grants, user_roles)

    def canonical_lines(self) -> list[str]:
        """The state as sorted text lines, one per fact: the input of :meth:`digest`.

        repr() of a record's fields (str, bool, None, tuples) is deterministic; keys
        and pairs hold no NUL, which separates the parts of a pair. Sorting strings
        is faster than sorting tuples, and map() over C functions keeps the loop out
        of the interpreter: this runs on every plan and apply, at 10^5-10^6 facts.
        """
        lines: list[str] = []
        for name, cls in (("departments", DepartmentRec), ("users", UserRec), ("roles", RoleRec)):
            records: Mapping[str, Record] = getattr(self, name)
            lines.append(f"[{name}]")
            lines += sorted(map(repr, map(_ROW[cls], records.values())))
        lines.append("[grants]")
        lines += sorted(map("\x00".join, self.grants))
        lines.append("[user_roles]")  # one line per user: its login, then its roles
        held = self.user_roles
        lines += ["\x00".join((login, *sorted(held[login]))) for login in sorted(held)]
        return lines

    def digest(self) -> str:
        """sha256 of :meth:`canonical_lines`. Worked out once, as a State is frozen, and
        kept with it when it is pickled (see :mod:`erpsync.live_read`)."""
        return self._digest

    @cached_property
    def _digest(self) -> str:
        text = "\n".join(self.canonical_lines())
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Desired:
    """The desired State plus what is needed to say why each fact is there.

    Reasons are worked out only for the facts that become changes (a few), not
    for every fact of a large organisation.
    """

    state: State
    loaded: LoadedPolicy | None = None
    catalogue: access.Catalogue | None = None
    # login -> role -> the department whose default gave it (None: declared on the user)
    holdings: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    inactive_reason: Mapping[str, str] = field(default_factory=dict)
    # kind ("department" | "role" | "user") -> old key -> the key declared now (moved:)
    renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def membership_department(self, login: str, role: str) -> str | None:
        """The department whose default role gives ``login`` the ``role``, if any."""
        return self.holdings.get(login, {}).get(role)

    def origin(self, section: str, key: str) -> str:
        """``file:line`` where the object is declared (``section`` as in the policy)."""
        if self.loaded is None:
            return "the policy"
        return self.loaded.position(section, key).file_line

    def membership_reason(self, login: str, role: str) -> str:
        dept = self.membership_department(login, role)
        if dept is not None:
            return N_("default role of department {department}").format(department=dept)
        if self.loaded is None:
            return N_("declared in the policy")
        index = self.loaded.policy.users[login].roles.index(role)
        where = self.loaded.position("users", login, "roles", index).file_line
        return N_("declared in {where}").format(where=where)

    def grant_reason(self, role: str, perm: str) -> str:
        if self.loaded is None:
            return N_("role {role} declares it").format(role=role)
        roles = self.loaded.policy.roles
        for source in access.included_roles(roles, role):
            if access.holds(access.own_permissions(roles[source], self.catalogue), perm):
                if source != role:
                    return N_("included from role {role}").format(role=source)
                path = roles[source].declared_at(perm)
                where = self.loaded.position("roles", role, *path)
                return N_("declared in {where}").format(where=where.file_line)
        return N_("role {role} declares it").format(role=role)


def policy_digest(loaded: LoadedPolicy, catalogue: access.Catalogue | None, today: dt.date) -> str:
    """What the desired state depends on: the policy files, the catalogue that expands
    ``*``, and which users have expired by ``today``. Cheap, unlike digesting the state."""
    expired = sorted(
        login
        for login, user in loaded.policy.users.items()
        if user.expires is not None and user.expires <= today
    )
    parts = [
        loaded.sources_digest,
        repr(sorted((m, tuple(a)) for m, a in (catalogue or {}).items())),
        "\n".join(expired),
    ]
    return "sha256:" + hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def desired_state(
    loaded: LoadedPolicy,
    catalogue: access.Catalogue | None,
    today: dt.date,
    resolution: access.Resolution | None = None,
) -> Desired:
    """Resolve the policy's effective access (spec section 2) into a :class:`Desired`;
    ``resolution``, when given, must be of the same policy, catalogue and day."""
    policy = loaded.policy
    resolved = resolution or access.Resolution(policy, catalogue, today)
    departments = {
        key: DepartmentRec(key, d.name, d.parent, d.manager)
        for key, d in policy.departments.items()
    }
    roles = {
        key: RoleRec(
            key, r.name, r.description, r.data_scope, tuple(sorted(set(r.data_departments)))
        )
        for key, r in policy.roles.items()
    }
    grants = frozenset(
        chain.from_iterable(zip(repeat(role), perms) for role, perms in resolved.flat.items())
    )
    holdings = resolved.holdings  # exactly the users active today
    users = {
        login: UserRec(
            login,
            u.name,
            u.email,
            u.department,
            login in holdings,
            *(_assigned(getattr(u, name)) for name in ASSIGNMENTS),
        )
        for login, u in policy.users.items()
    }
    inactive: dict[str, str] = {}
    for login in policy.users.keys() - holdings.keys():
        u = policy.users[login]
        if not u.active:
            where = loaded.position("users", login, "active").file_line
            inactive[login] = N_("active: false in {where}").format(where=where)
        else:
            inactive[login] = N_("expired {date}").format(date=u.expires)
    user_roles = {login: frozenset(held) for login, held in holdings.items() if held}
    state = State(departments, users, roles, grants, user_roles)
    renames = moves.renames(policy.moved)
    return Desired(state, loaded, catalogue, holdings, inactive, renames)


def _assigned(declared: list[str] | None) -> tuple[str, ...] | None:
    return None if declared is None else tuple(sorted(set(declared)))


def replace_record(record: Record, **changes: Any) -> Record:
    """A copy of ``record`` with ``changes``; only known fields."""
    known = {f.name for f in fields(record)}
    unknown = set(changes) - known
    if unknown:
        raise ValueError(f"unknown attributes for {type(record).__name__}: {sorted(unknown)}")
    values = {f.name: getattr(record, f.name) for f in fields(record)}
    values.update(changes)
    return type(record)(**values)
