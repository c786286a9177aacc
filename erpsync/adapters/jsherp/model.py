"""jshERP's rows of one tenant in memory, and the canonical state they make.

The read (:mod:`.read`) fills a :class:`Model`; the invariants (:mod:`.invariants`) play
a plan's changes on a copy of it, and the writer (:mod:`.write`) stores what differs.
No SQLAlchemy here: the model travels with the snapshot to the planner.

Built-in rows are in the model (so departments count their members and logins their
owners) but not in the state: the tenant administrator (``id = tenant_id``) and users
with ``isystem = 1`` (:attr:`User.fixed` says why). Platform roles (``tenant_id`` NULL)
are not in the model at all; the tenant ceiling (the functions of the tenant
administrator's role) is, and so are the tenant's warehouses and customers and the
switches that make users' scopes of them count (:mod:`.scopes`).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from erpsync.adapters.jsherp.keys import (
    ACTION_BY_CODE,
    DEPARTMENT_DATA,
    NORMAL,
    SCOPE_BY_TYPE,
    SYSTEM_URL,
    USER_CUSTOMER,
    USER_DEPOT,
    VIEW,
    natural_key,
)
from erpsync.state import DepartmentRec, RoleRec, State, UserRec


@dataclass(frozen=True)
class Tenant:
    id: int  # jsh_tenant.tenant_id = the tenant administrator's jsh_user.id
    login: str  # the tenant administrator's login_name: the tenant's name
    user_limit: int | None  # jsh_tenant.user_num_limit


@dataclass(frozen=True)
class Function:
    id: int
    number: str
    name: str
    parent_number: str
    url: str
    enabled: bool
    buttons: tuple[str, ...]  # push_btn codes the page offers, in stored order
    sort: str


@dataclass(frozen=True)
class Scoped:
    """A warehouse (``jsh_depot``) or customer (``jsh_supplier`` of type 客户) a user's data
    scope may name: read-only context, named by its name."""

    id: int
    name: str
    enabled: bool


@dataclass
class Dept:
    id: int
    name: str  # org_abr
    parent: int | None
    org_no: str | None = None


@dataclass
class User:
    id: int
    login: str
    name: str
    email: str | None = None
    status: int = NORMAL
    dept: int | None = None  # orga_id of the user's first live jsh_orga_user_rel row
    leader: bool = False  # leader_flag '1': the manager of that department
    rel: int | None = None  # that rel row's id
    roles: set[int] = field(default_factory=set)  # what the first live UserRole row gives
    role_row: int | None = None  # that UserRole row's id
    fixed: str | None = None  # why erpsync never touches it (None: managed)
    # UserDepot / UserCustomer -> the ids of the first live row's value, in stored order
    # (ids naming no live warehouse or customer included), and that row's id
    scopes: dict[str, list[int]] = field(default_factory=dict)
    scope_rows: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status == NORMAL


@dataclass
class Role:
    id: int
    name: str
    type: str | None = None  # the data scope as stored
    description: str | None = None
    views: set[int] = field(default_factory=set)  # leaf functions in RoleFunctions.value
    buttons: dict[int, set[str]] = field(default_factory=dict)  # btn_str: function -> codes
    functions_row: int | None = None  # the first live RoleFunctions row's id
    stored_value: str = ""  # that row's value and btn_str, as read
    stored_buttons: str = ""


@dataclass
class Model:
    tenant: Tenant
    functions: dict[int, Function] = field(default_factory=dict)
    depts: dict[int, Dept] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    bound: dict[str, dict[int, str]] = field(default_factory=dict)  # kind -> id -> key
    # folded login -> how many live users of any tenant have it (keys.fold)
    logins: Mapping[str, int] = field(default_factory=dict)
    ceiling: frozenset[int] = frozenset()  # function ids of the tenant admin's role
    spelling: str = DEPARTMENT_DATA  # how this version writes the department scope
    # department id -> when jshERP last stamped it (update_time, else create_time), in UTC
    stamps: dict[int, dt.datetime] = field(default_factory=dict)
    # UserDepot / UserCustomer -> the tenant's live warehouses / customers by id
    scoped: dict[str, dict[int, Scoped]] = field(default_factory=dict)
    # UserDepot / UserCustomer -> whether jsh_system_config switches that scope on ('1')
    scope_flags: dict[str, bool] = field(default_factory=dict)
    _next_id: int = 0
    _leaves: dict[int, Function] | None = field(default=None, repr=False)

    def copy(self) -> Model:
        return copy.deepcopy(self)

    def provisional_id(self) -> int:
        """An id for a row about to be inserted: negative, never a real id."""
        self._next_id -= 1
        return self._next_id

    # -- functions --------------------------------------------------------------------------

    def live_children(self) -> dict[str, list[int]]:
        """parent_number -> the function ids below it."""
        below: dict[str, list[int]] = {}
        for f in self.functions.values():
            below.setdefault(f.parent_number, []).append(f.id)
        return below

    def leaves(self) -> dict[int, Function]:
        """The pages: functions with no function below them (only these are granted);
        worked out once, as the functions never change."""
        if self._leaves is None:
            below = self.live_children()
            self._leaves = {i: f for i, f in self.functions.items() if f.number not in below}
        return self._leaves

    def ordered(self) -> list[Function]:
        return sorted(self.functions.values(), key=lambda f: (f.sort, f.id))

    def system_functions(self) -> set[int]:
        """系统管理 (``/system``) and every function below it."""
        below = self.live_children()
        found: set[int] = set()
        todo = [f for f in self.functions.values() if f.url == SYSTEM_URL]
        while todo:
            f = todo.pop()
            if f.id not in found:
                found.add(f.id)
                todo.extend(self.functions[i] for i in below.get(f.number, ()))
        return found

    def function_by_url(self) -> dict[str, Function]:
        return {f.url: f for f in self.functions.values()}

    def catalogue(self) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """module (url) -> view and the buttons its page offers; module -> its name."""
        actions: dict[str, tuple[str, ...]] = {}
        names: dict[str, str] = {}
        for f in sorted(self.leaves().values(), key=lambda f: (f.sort, f.id)):
            codes = [ACTION_BY_CODE[c] for c in f.buttons if c in ACTION_BY_CODE]
            actions[f.url] = (VIEW, *dict.fromkeys(codes))
            names[f.url] = f.name
        return actions, names

    def parents_in_value(self, views: set[int]) -> list[int]:
        """The ids jshERP's role tree stores for ``views``: the pages, and every function
        all of whose pages are granted (cosmetic), in menu order."""
        below = self.live_children()
        full: dict[int, bool] = {}

        def covered(f: Function) -> bool:
            if f.id not in full:
                kids = below.get(f.number, [])
                full[f.id] = (
                    f.id in views if not kids else all(covered(self.functions[k]) for k in kids)
                )
            return full[f.id]

        return [f.id for f in self.ordered() if covered(f)]

    # -- keys -------------------------------------------------------------------------------

    def _keys(self, kind: str, rows: dict[int, str]) -> dict[int, str]:
        bound = {i: k for i, k in self.bound.get(kind, {}).items() if i in rows}
        taken = set(bound.values())
        keys = dict(bound)
        for row_id in sorted(rows.keys() - bound.keys(), key=lambda i: (i < 0, abs(i))):
            key = natural_key(rows[row_id])
            if key in taken:
                key = f"{key}#{row_id}"
            taken.add(key)
            keys[row_id] = key
        return keys

    def dept_keys(self) -> dict[int, str]:
        return self._keys("department", {i: d.name for i, d in self.depts.items()})

    def role_keys(self) -> dict[int, str]:
        return self._keys("role", {i: r.name for i, r in self.roles.items()})

    def bind(self, kind: str, row_id: int, key: str) -> None:
        self.bound.setdefault(kind, {})[row_id] = key

    def names(self, kind: str) -> dict[int, str]:
        """Row id -> name of the departments or roles."""
        if kind == "department":
            return {i: d.name for i, d in self.depts.items()}
        return {i: r.name for i, r in self.roles.items()}

    def identities(self, kind: str) -> dict[str, tuple[str, str]]:
        """What erpsync binds: row id (text) -> (its key, its natural key)."""
        names = self.names(kind)
        keys = self.dept_keys() if kind == "department" else self.role_keys()
        return {str(i): (key, natural_key(names[i])) for i, key in keys.items()}

    def unbound(self, kind: str) -> dict[str, str]:
        names = self.names(kind)
        keys = self.dept_keys() if kind == "department" else self.role_keys()
        bound = self.bound.get(kind, {})
        return {k: natural_key(names[i]) for i, k in keys.items() if i not in bound}

    # -- people -----------------------------------------------------------------------------

    def managed_users(self) -> Iterator[User]:
        return (u for u in self.users.values() if u.fixed is None)

    def manager(self, dept_id: int) -> User | None:
        """The managed user flagged leader in ``dept_id`` (the lowest id when several)."""
        found = [u for u in self.managed_users() if u.leader and u.dept == dept_id]
        return min(found, key=lambda u: abs(u.id)) if found else None

    def members(self, dept_id: int) -> list[User]:
        return [u for u in self.users.values() if u.dept == dept_id]

    def holders(self, role_id: int) -> list[User]:
        return [u for u in self.users.values() if role_id in u.roles]

    def scope_type(self, scope: str | None) -> str | None:
        from erpsync.adapters.jsherp.keys import ALL_DATA, OWN_DATA

        return {"all": ALL_DATA, "self": OWN_DATA, "department_tree": self.spelling}.get(
            scope or ""
        )

    # -- per-user data scopes ---------------------------------------------------------------

    def scope_names(self, user: User, kind: str) -> tuple[str, ...]:
        """The names of the live warehouses or customers (``kind``: UserDepot, UserCustomer)
        ``user``'s scope holds, sorted; ids naming none are left out (read reports them)."""
        known = self.scoped.get(kind, {})
        return tuple(sorted({known[i].name for i in user.scopes.get(kind, ()) if i in known}))

    def by_name(self, kind: str) -> dict[str, list[Scoped]]:
        """name -> the tenant's live warehouses or customers of that name (two: ambiguous)."""
        found: dict[str, list[Scoped]] = {}
        for row in sorted(self.scoped.get(kind, {}).values(), key=lambda r: r.id):
            found.setdefault(row.name, []).append(row)
        return found

    # -- the canonical state ----------------------------------------------------------------

    def grants_of(self, role: Role) -> set[str]:
        leaves = self.leaves()
        out = {f"{leaves[i].url}:{VIEW}" for i in role.views if i in leaves}
        for fun_id, codes in role.buttons.items():
            f = self.functions.get(fun_id)
            if f is not None:
                out |= {f"{f.url}:{ACTION_BY_CODE[c]}" for c in codes if c in ACTION_BY_CODE}
        return out

    def state(self) -> State:
        dkeys, rkeys = self.dept_keys(), self.role_keys()
        leaders: dict[int, User] = {}
        for u in sorted(self.managed_users(), key=lambda u: abs(u.id), reverse=True):
            if u.leader and u.dept is not None:
                leaders[u.dept] = u  # the lowest id wins, as in manager()
        departments = {}
        for d in self.depts.values():
            manager = leaders.get(d.id)
            departments[dkeys[d.id]] = DepartmentRec(
                dkeys[d.id],
                d.name,
                dkeys.get(d.parent) if d.parent is not None else None,
                manager.login if manager else None,
            )
        users = {
            u.login: UserRec(
                u.login,
                u.name,
                u.email or None,
                dkeys.get(u.dept) if u.dept else None,
                u.active,
                warehouses=self.scope_names(u, USER_DEPOT),
                customers=self.scope_names(u, USER_CUSTOMER),
            )
            for u in self.managed_users()
        }
        roles = {
            rkeys[r.id]: RoleRec(
                rkeys[r.id], r.name, r.description or None, SCOPE_BY_TYPE.get(r.type or "")
            )
            for r in self.roles.values()
        }
        grants = frozenset(
            (rkeys[r.id], perm) for r in self.roles.values() for perm in self.grants_of(r)
        )
        user_roles = {
            u.login: frozenset(rkeys[r] for r in u.roles if r in rkeys)
            for u in self.managed_users()
            if any(r in rkeys for r in u.roles)
        }
        return State(departments, users, roles, grants, user_roles)
