"""One tenant's rows of ruoyi-vue-pro in memory, and the canonical :class:`State` they mean.

:mod:`.read` fills a :class:`TenantModel` per tenant from one ``SELECT`` per table
(live rows only, ``deleted = 0``; menus are global and shared by every tenant's
model). The model names every row by its natural key — a user by ``username``, a
role by ``code``, a department by its binding or else its name path, a permission
by ``system_menu.permission`` — and turns into the State (:meth:`TenantModel.state`).
:mod:`.invariants` changes a copy of it change by change, so keys mean what they
mean at that point of a plan; rows about to be inserted carry negative ids.

Menus: a permission string sits on pages (type 2) and buttons (type 3), and
directories (type 1) carry none. The app shows a button only when the role holds
its page and every directory above it, so granting a permission holds the rows of
its menus and every menu above them; rows above that carry no permission are
*implied* (written with the grant, read as part of it, never a grant of their own),
and one carrying a permission (a button's page) is a grant the policy must declare
too (:meth:`TenantModel.requires`).

Posts (岗位, ``system_post``): a user's posts are the live ``system_user_post`` rows of
the tenant (:attr:`TenantModel.user_posts`, post ids as stored, a missing post's too:
the app's own update of a user replaces them all), named by the post's ``code``; a
database without the post tables has no posts (:attr:`TenantModel.posts` is None).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

from erpsync.adapters.menutree import above, module_actions
from erpsync.adapters.namepath import department_key
from erpsync.adapters.ruoyi_vue_pro.keys import CUSTOM, ROOT, SCOPE_BY_CODE
from erpsync.state import DepartmentRec, RoleRec, State, UserRec


@dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    contact_user: int | None = None  # the tenant's administrator (never touched)
    package: frozenset[int] | None = None  # menus the tenant may grant; None: no limit
    account_count: int | None = None  # the user quota


@dataclass
class Dept:
    id: int
    name: str
    parent: int = ROOT
    leader: int | None = None  # leader_user_id
    sort: int = 0
    enabled: bool = True  # status 0: the app puts users only in enabled departments


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
    code: str
    name: str
    remark: str | None = None
    scope: int = 1
    scope_depts: tuple[int, ...] = ()  # data_scope_dept_ids, as stored
    builtin: bool = False  # type 1
    sort: int = 0


@dataclass(frozen=True)
class Post:
    """A post (岗位) the tenant keeps; erpsync assigns users to it, never changes it."""

    id: int
    code: str
    name: str
    enabled: bool = True  # status 0: the app's user form accepts only enabled posts


@dataclass(frozen=True)
class Menu:
    id: int
    parent: int
    type: int
    name: str
    permission: str | None


@dataclass
class TenantModel:
    tenant: Tenant
    menus: dict[int, Menu]  # global, shared by the tenants of one read
    depts: dict[int, Dept] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    role_menus: dict[int, set[int]] = field(default_factory=dict)
    user_roles: dict[int, set[int]] = field(default_factory=dict)
    bound: dict[int, str] = field(default_factory=dict)  # dept id -> its binding's key
    # posts: None when the database has no post tables (then users have no posts at all)
    posts: dict[int, Post] | None = None
    user_posts: dict[int, set[int]] = field(default_factory=dict)  # user id -> post ids
    folds_case: bool = False  # how the database compares logins, codes and names
    _next: int = 0
    # derived, rebuilt after touch(): department keys, users by login, roles by code
    _keys: dict[int, str] | None = field(default=None, repr=False)
    _ids: dict[str, int] | None = field(default=None, repr=False)
    _logins: dict[str, list[User]] | None = field(default=None, repr=False)
    _codes: dict[str, list[Role]] | None = field(default=None, repr=False)
    _emails: dict[str, set[int]] | None = field(default=None, repr=False)

    def touch(self) -> None:
        """Forget what is derived from the rows (a row was added, renamed, moved or removed)."""
        self._keys = self._ids = None
        self._logins = self._codes = None
        self._emails = None

    def emails_changed(self) -> None:
        self._emails = None

    def email_holders(self, email: str) -> list[User]:
        """The users with ``email`` (as the database compares)."""
        if self._emails is None:
            self._emails = {}
            for user in self.users.values():
                if user.email:
                    self._emails.setdefault(self.fold(user.email), set()).add(user.id)
        return [self.users[i] for i in sorted(self._emails.get(self.fold(email), ()))]

    def fold(self, value: str) -> str:
        """``value`` as the database compares it."""
        return value.casefold() if self.folds_case else value

    def copy(self) -> TenantModel:
        """A copy to check a plan on; the menus (global, read only) are shared, not
        copied. It never changes this model, which threads planning tenants together
        may be copying at the same time."""
        twin = copy.deepcopy(self, {id(self.menus): self.menus})
        twin.touch()  # derived indexes are not copied: the copy rebuilds its own
        return twin

    def provisional_id(self) -> int:
        self._next -= 1
        return self._next

    def same(self, a: str, b: str) -> bool:
        """Whether the database sees ``a`` and ``b`` as one value."""
        return a.casefold() == b.casefold() if self.folds_case else a == b

    # -- departments ------------------------------------------------------------------------

    def path(self, dept_id: int) -> list[int]:
        chain: list[int] = []
        current = dept_id
        while current in self.depts and current not in chain:
            chain.append(current)
            current = self.depts[current].parent
        return chain[::-1]

    def natural_key(self, dept_id: int) -> str:
        return department_key([self.depts[i].name for i in self.path(dept_id)])

    def dept_keys(self) -> dict[int, str]:
        """Department id -> key: its binding's, else its name path (``#id`` when taken)."""
        if self._keys is None:
            keys = {i: k for i, k in self.bound.items() if i in self.depts}
            taken = set(keys.values())
            for dept_id in sorted(set(self.depts) - set(keys), key=lambda i: (i < 0, abs(i))):
                key = self.natural_key(dept_id)
                key = f"{key}#{dept_id}" if key in taken else key
                taken.add(key)
                keys[dept_id] = key
            self._keys, self._ids = keys, {k: i for i, k in keys.items()}
        return self._keys

    def dept_by_key(self, key: str) -> int | None:
        self.dept_keys()
        assert self._ids is not None
        return self._ids.get(key)

    def children(self, dept_id: int) -> list[int]:
        return sorted(d.id for d in self.depts.values() if d.parent == dept_id)

    def identities(self) -> dict[str, tuple[str, str]]:
        return {str(i): (k, self.natural_key(i)) for i, k in self.dept_keys().items()}

    # -- users and roles --------------------------------------------------------------------

    def user_by_login(self, login: str, folded: bool = False) -> User | None:
        found = [
            u
            for u in self.users.values()
            if (self.same(u.login, login) if folded else u.login == login)
        ]
        return min(found, key=lambda u: abs(u.id)) if found else None

    def role_by_code(self, code: str, folded: bool = False) -> Role | None:
        found = [
            r
            for r in self.roles.values()
            if (self.same(r.code, code) if folded else r.code == code)
        ]
        return min(found, key=lambda r: abs(r.id)) if found else None

    def post_by_code(self, code: str) -> Post | None:
        """The live post coded exactly ``code`` (the lowest id when two share it)."""
        found = [p for p in (self.posts or {}).values() if p.code == code]
        return min(found, key=lambda p: p.id) if found else None

    def post_codes(self, user_id: int) -> tuple[str, ...] | None:
        """The codes of a user's live posts, sorted; None without post tables. A row of a
        post that does not exist is not a post (the read reports it)."""
        if self.posts is None:
            return None
        held = self.user_posts.get(user_id, ())
        return tuple(sorted({self.posts[p].code for p in held if p in self.posts}))

    def holders(self, role_id: int) -> list[str]:
        return sorted(self.users[u].login for u, rs in self.user_roles.items() if role_id in rs)

    # -- menus ------------------------------------------------------------------------------

    def menus_of(self, permission: str) -> list[int]:
        return sorted(m.id for m in self.menus.values() if m.permission == permission)

    def above(self, menu_id: int) -> Iterator[int]:
        """The menus above ``menu_id``, up to the root."""
        return above(self.menus, menu_id)

    def requires(self) -> dict[str, tuple[str, ...]]:
        """Permission -> the permissions on the menus above its own (a button's page)."""
        found: dict[str, set[str]] = {}
        for menu in self.menus.values():
            if menu.permission is None:
                continue
            for up in self.above(menu.id):
                p = self.menus[up].permission
                if p is not None and p != menu.permission:
                    found.setdefault(menu.permission, set()).add(p)
        return {p: tuple(sorted(ps)) for p, ps in sorted(found.items())}

    def permissions_of(self, role_id: int) -> set[str]:
        return {
            p
            for m in self.role_menus.get(role_id, ())
            if m in self.menus and (p := self.menus[m].permission) is not None
        }

    def catalogue(self) -> tuple[dict[str, tuple[str, ...]], dict[str, str], dict[str, str]]:
        """module -> actions (menu id order), module -> the name of the menu above its
        first menu (the page), permission -> its own menu's name (用户查询)."""
        carrying = [m for m in sorted(self.menus.values(), key=lambda m: m.id) if m.permission]
        actions = module_actions(m.permission for m in carrying if m.permission)
        modules: dict[str, str] = {}
        labels: dict[str, str] = {}
        for menu in carrying:
            assert menu.permission is not None
            module = menu.permission.rpartition(":")[0]
            parent = self.menus.get(menu.parent)
            owner = parent.name if parent is not None and menu.type == 3 else menu.name
            if owner:
                modules.setdefault(module, owner)
            if menu.name:
                labels.setdefault(menu.permission, menu.name)
        return {m: tuple(a) for m, a in actions.items()}, modules, labels

    # -- the canonical state ----------------------------------------------------------------

    def state(self) -> State:
        keys = self.dept_keys()
        logins = {u.id: u.login for u in self.users.values()}
        departments = {
            keys[d.id]: DepartmentRec(
                keys[d.id],
                d.name,
                keys.get(d.parent),
                logins.get(d.leader) if d.leader is not None else None,
            )
            for d in self.depts.values()
        }
        users = {
            u.login: UserRec(
                u.login,
                u.name,
                u.email,
                keys.get(u.dept or ROOT),
                u.active,
                posts=self.post_codes(u.id),
            )
            for u in self.users.values()
        }
        roles = {}
        for r in self.roles.values():
            scope = SCOPE_BY_CODE.get(r.scope)
            named = sorted({keys[d] for d in r.scope_depts if d in keys}) if scope == CUSTOM else []
            roles[r.code] = RoleRec(r.code, r.name, r.remark, scope, tuple(named))
        grants = frozenset(
            (self.roles[r].code, p) for r in self.role_menus for p in self.permissions_of(r)
        )
        user_roles = {
            self.users[u].login: frozenset(self.roles[r].code for r in rs)
            for u, rs in self.user_roles.items()
            if rs
        }
        return State(departments, users, roles, grants, user_roles)
