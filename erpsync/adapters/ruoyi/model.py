"""RuoYi's rows in memory, by id, and the canonical :class:`State` they mean.

:mod:`~erpsync.adapters.ruoyi.read` fills a :class:`Model` from one ``SELECT``
per table (live rows only: ``del_flag = '2'`` rows are gone, dangling link rows
are left out and reported). The model derives every natural key — a
department's key from its name path (:func:`~erpsync.adapters.ruoyi.keys.department_key`),
a permission from a menu's ``perms`` — and turns into the canonical State
(:meth:`Model.state`). Writing changes the same model, change by change (see
:mod:`~erpsync.adapters.ruoyi.invariants`), so keys always mean what they mean
at that point of the plan; rows erpsync is about to insert carry provisional
negative ids until the database has given them real ones.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from erpsync.adapters.menutree import above, module_actions
from erpsync.adapters.ruoyi.keys import BUTTON, CUSTOM, PAGE, SCOPE_BY_CODE, department_key
from erpsync.state import DepartmentRec, RoleRec, State, UserRec

ROOT = 0  # sys_dept.parent_id / sys_menu.parent_id of a top-level row


@dataclass
class Dept:
    id: int
    name: str
    parent: int  # ROOT for a top-level department
    leader: str | None = None
    order: int = 0
    ancestors: str | None = None  # as stored


@dataclass
class User:
    id: int
    login: str
    name: str
    email: str | None = None
    dept: int | None = None
    active: bool = True


@dataclass
class Role:
    id: int
    key: str
    name: str
    remark: str | None = None
    scope: str | None = None  # sys_role.data_scope code
    depts: set[int] = field(default_factory=set)  # sys_role_dept
    sort: int = 0


@dataclass(frozen=True)
class Menu:
    id: int
    parent: int
    type: str  # M directory, C page, F button
    name: str
    permission: str | None  # erpsync's module:action, when perms maps to one


class _Index:
    """Natural key -> ids, exactly and case-insensitively; :meth:`find` gives the lowest."""

    def __init__(self, rows: Iterable[tuple[int, str]]) -> None:
        self.exact: dict[str, set[int]] = {}
        self.folded: dict[str, set[int]] = {}
        for row_id, key in rows:
            self.add(row_id, key)

    def add(self, row_id: int, key: str) -> None:
        self.exact.setdefault(key, set()).add(row_id)
        self.folded.setdefault(key.casefold(), set()).add(row_id)

    def remove(self, row_id: int, key: str) -> None:
        self.exact.get(key, set()).discard(row_id)
        self.folded.get(key.casefold(), set()).discard(row_id)

    def find(self, key: str, exact: bool) -> int | None:
        found = self.exact.get(key) if exact else self.folded.get(key.casefold())
        return min(found, key=abs) if found else None


@dataclass
class Model:
    """The live rows erpsync manages, plus the (static) menu tree."""

    depts: dict[int, Dept] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    menus: dict[int, Menu] = field(default_factory=dict)
    role_menus: dict[int, set[int]] = field(default_factory=dict)  # role id -> menu ids
    user_roles: dict[int, set[int]] = field(default_factory=dict)  # user id -> role ids
    _next_id: int = 0
    _logins: _Index | None = field(default=None, repr=False)
    _role_keys: _Index | None = field(default=None, repr=False)
    # department id -> the policy key it is bound to (erpsync.bindings); unbound departments
    # are named by their name path (keys.department_key)
    bound: dict[int, str] = field(default_factory=dict)
    _dept_keys: dict[int, str] | None = field(default=None, repr=False)
    _dept_ids: dict[str, int] | None = field(default=None, repr=False)
    _menus_of: dict[str, tuple[int, ...]] | None = field(default=None, repr=False)

    def copy(self) -> Model:
        return copy.deepcopy(self)

    def provisional_id(self) -> int:
        """An id for a row about to be inserted: negative, never a real id."""
        self._next_id -= 1
        return self._next_id

    # -- departments ------------------------------------------------------------------------

    def tree_changed(self) -> None:
        """Forget the derived department keys (a department was added, moved or renamed)."""
        self._dept_keys = self._dept_ids = None

    def bind(self, dept_id: int, key: str) -> None:
        """Name department ``dept_id`` by ``key`` from now on (created or renamed by a plan)."""
        if self.bound.get(dept_id) == key:
            return
        self.bound[dept_id] = key
        self.tree_changed()

    def natural_key(self, dept_id: int) -> str:
        """The department's key by RuoYi's own identity: its name path from the root."""
        return department_key([self.depts[i].name for i in self.path(dept_id)])

    def path(self, dept_id: int) -> list[int]:
        """Ids from the top of the department's tree down to it (a broken parent or a
        cycle ends the walk: read reports those)."""
        chain: list[int] = []
        seen: set[int] = set()
        current: int | None = dept_id
        while current is not None and current in self.depts and current not in seen:
            seen.add(current)
            chain.append(current)
            current = self.depts[current].parent
        return chain[::-1]

    def dept_keys(self) -> dict[int, str]:
        """Department id -> key: its binding's key, else its name path. A name path that is
        taken (by a bound department, or by another department with that path: dirty data,
        RuoYi keeps sibling names unique) is kept apart with ``#id``."""
        if self._dept_keys is None:
            keys = {i: key for i, key in self.bound.items() if i in self.depts}
            taken = set(keys.values())
            for dept_id in sorted(self.depts.keys() - keys.keys(), key=lambda i: (i < 0, abs(i))):
                key = self.natural_key(dept_id)
                if key in taken:
                    key = f"{key}#{dept_id}"
                taken.add(key)
                keys[dept_id] = key
            self._dept_keys = keys
            self._dept_ids = {key: dept_id for dept_id, key in keys.items()}
        return self._dept_keys

    def dept_id(self, key: str) -> int | None:
        self.dept_keys()
        assert self._dept_ids is not None
        return self._dept_ids.get(key)

    def dept_key(self, dept_id: int) -> str:
        return self.dept_keys()[dept_id]

    def children(self, dept_id: int) -> list[int]:
        return [d.id for d in self.depts.values() if d.parent == dept_id]

    def subtree(self, dept_id: int) -> list[int]:
        """The department and every department below it, parents first."""
        out, todo = [], [dept_id]
        while todo:
            current = todo.pop(0)
            if current in out:
                continue  # a cycle in dirty data
            out.append(current)
            todo.extend(sorted(self.children(current)))
        return out

    def ancestors(self, dept_id: int, provisional_width: int = 0) -> str:
        """The ``ancestors`` value RuoYi keeps: ``0`` and the ids above, comma-separated.
        Provisional ids are written as ``provisional_width`` nines (an upper bound)."""
        ids = [ROOT, *self.path(dept_id)[:-1]]
        return ",".join(str(i) if i >= 0 else "9" * provisional_width for i in ids)

    def reassign_dept(self, old: int, new: int) -> None:
        dept = self.depts.pop(old)
        dept.id = new
        self.depts[new] = dept
        for other in self.depts.values():
            if other.parent == old:
                other.parent = new
        if old in self.bound:
            self.bound[new] = self.bound.pop(old)
        if self._dept_keys is not None and self._dept_ids is not None:
            key = self._dept_keys.pop(old)
            self._dept_keys[new] = key
            self._dept_ids[key] = new

    def unbound_depts(self) -> dict[str, str]:
        """Key -> name path of the departments no binding names (adoptable by the policy)."""
        return {
            key: self.natural_key(i) for i, key in self.dept_keys().items() if i not in self.bound
        }

    def dept_identities(self) -> dict[str, tuple[str, str]]:
        """What erpsync binds: department id (as text) -> (its key, its name path)."""
        return {str(i): (key, self.natural_key(i)) for i, key in self.dept_keys().items()}

    # -- users and roles --------------------------------------------------------------------

    def logins(self) -> _Index:
        if self._logins is None:
            self._logins = _Index((u.id, u.login) for u in self.users.values())
        return self._logins

    def role_keys(self) -> _Index:
        if self._role_keys is None:
            self._role_keys = _Index((r.id, r.key) for r in self.roles.values())
        return self._role_keys

    def user_by_login(self, login: str, exact: bool = True) -> User | None:
        """The live user with ``login`` (``exact=False``: compared case-insensitively, as
        RuoYi's collation does; the lowest id when several match)."""
        found = self.logins().find(login, exact)
        return None if found is None else self.users.get(found)

    def role_by_key(self, key: str, exact: bool = True) -> Role | None:
        found = self.role_keys().find(key, exact)
        return None if found is None else self.roles.get(found)

    def add_user(self, user: User) -> None:
        self.users[user.id] = user
        self.logins().add(user.id, user.login)

    def remove_user(self, user_id: int) -> User:
        user = self.users.pop(user_id)
        self.logins().remove(user.id, user.login)
        self.user_roles.pop(user_id, None)
        return user

    def rename_role(self, role: Role, key: str) -> None:
        self.role_keys().remove(role.id, role.key)
        role.key = key
        self.role_keys().add(role.id, key)

    def rename_user(self, user: User, login: str) -> None:
        self.logins().remove(user.id, user.login)
        user.login = login
        self.logins().add(user.id, login)

    def add_role(self, role: Role) -> None:
        self.roles[role.id] = role
        self.role_keys().add(role.id, role.key)

    def remove_role(self, role_id: int) -> Role:
        role = self.roles.pop(role_id)
        self.role_keys().remove(role.id, role.key)
        self.role_menus.pop(role_id, None)
        return role

    def reassign_user(self, old: int, new: int) -> None:
        user = self.users.pop(old)
        self.logins().remove(old, user.login)
        user.id = new
        self.add_user(user)
        if old in self.user_roles:
            self.user_roles[new] = self.user_roles.pop(old)

    def reassign_role(self, old: int, new: int) -> None:
        role = self.roles.pop(old)
        self.role_keys().remove(old, role.key)
        role.id = new
        self.add_role(role)
        if old in self.role_menus:
            self.role_menus[new] = self.role_menus.pop(old)
        for held in self.user_roles.values():
            if old in held:
                held.discard(old)
                held.add(new)

    def holders(self, role_id: int) -> list[str]:
        return sorted(
            self.users[u].login for u, roles in self.user_roles.items() if role_id in roles
        )

    # -- menus ------------------------------------------------------------------------------

    def menus_of(self, permission: str) -> tuple[int, ...]:
        """The menu rows whose perms is ``permission`` (RuoYi allows several)."""
        if self._menus_of is None:
            found: dict[str, list[int]] = {}
            for menu in sorted(self.menus.values(), key=lambda m: m.id):
                if menu.permission is not None:
                    found.setdefault(menu.permission, []).append(menu.id)
            self._menus_of = {p: tuple(ids) for p, ids in found.items()}
        return self._menus_of.get(permission, ())

    def menu_ancestors(self, menu_id: int) -> Iterator[int]:
        """The menus above ``menu_id`` (directory and page rows the UI tree needs)."""
        return above(self.menus, menu_id)

    def requires(self) -> dict[str, tuple[str, ...]]:
        """Permission -> the permissions of the rows above its menus (a button's page),
        which granting it also grants; only permissions that bring others."""
        out: dict[str, tuple[str, ...]] = {}
        for permission in sorted({m.permission for m in self.menus.values() if m.permission}):
            above = {
                p
                for menu in self.menus_of(permission)
                for a in self.menu_ancestors(menu)
                if (p := self.menus[a].permission) is not None and p != permission
            }
            if above:
                out[permission] = tuple(sorted(above))
        return out

    def permissions_of(self, role_id: int) -> set[str]:
        return {
            perm
            for m in self.role_menus.get(role_id, ())
            if (perm := self.menus[m].permission) is not None
        }

    def catalogue(self) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """module -> actions (menu id order), and module -> display name: the name of the
        module's page (C) row, else of the parent of its first button."""
        rows = [m for m in sorted(self.menus.values(), key=lambda m: m.id) if m.permission]
        actions = module_actions(m.permission for m in rows if m.permission)
        pages: dict[str, str] = {}
        others: dict[str, str] = {}
        for menu in rows:
            module = (menu.permission or "").rpartition(":")[0]
            parent = self.menus.get(menu.parent)
            if menu.type == PAGE:
                pages.setdefault(module, menu.name)
            elif menu.type == BUTTON and parent is not None:
                others.setdefault(module, parent.name)
            else:
                others.setdefault(module, menu.name)
        names = {m: pages.get(m) or others.get(m) or "" for m in actions}
        return {m: tuple(a) for m, a in actions.items()}, {m: n for m, n in names.items() if n}

    # -- the canonical state ----------------------------------------------------------------

    def state(self) -> State:
        keys = self.dept_keys()
        logins = {u.login for u in self.users.values()}
        departments = {
            keys[d.id]: DepartmentRec(
                keys[d.id],
                d.name,
                keys.get(d.parent),
                d.leader if d.leader in logins else None,
            )
            for d in self.depts.values()
        }
        users = {
            u.login: UserRec(
                u.login, u.name, u.email, keys.get(u.dept) if u.dept else None, u.active
            )
            for u in self.users.values()
        }
        roles = {}
        for r in self.roles.values():
            scope = SCOPE_BY_CODE.get(r.scope or "")
            scoped = tuple(sorted(keys[d] for d in r.depts if d in keys)) if scope == CUSTOM else ()
            roles[r.key] = RoleRec(r.key, r.name, r.remark, scope, scoped)
        grants = frozenset(
            (self.roles[r].key, perm)
            for r, menus in self.role_menus.items()
            for m in menus
            if (perm := self.menus[m].permission) is not None
        )
        user_roles = {
            self.users[u].login: frozenset(self.roles[r].key for r in roles)
            for u, roles in self.user_roles.items()
            if roles
        }
        return State(departments, users, roles, grants, user_roles)
