"""ruoyi-vue-pro's rules, enforced before anything is written.

:class:`Rules` applies a plan's changes one at a time to a copy of a tenant's
:class:`~erpsync.adapters.ruoyi_vue_pro.model.TenantModel` as the app's services
would, and refuses (:class:`Refused`, naming the change) what the app refuses or
what would break it:

- built-ins, never touched: the ``super_admin`` role and every user holding it, user
  id 1, the tenant's administrator (``system_tenant.contact_user_id``), every role of
  ``type = 1`` (``super_admin``, ``common``, ``crm_admin``, ``tenant_admin``: no
  change, no grant or revoke, no delete); no role is created or renamed to the codes
  ``super_admin`` or ``tenant_admin``;
- users: ``username`` matches ``^[A-Za-z0-9]{4,30}$`` and is unique in the tenant,
  e-mail unique in the tenant when set, compared as the database compares (MariaDB's
  ``utf8mb4_unicode_ci`` ignores case, PostgreSQL does not); a department only an
  enabled one; a new user needs room in the tenant's ``account_count``;
- posts (岗位): each code a live post of the tenant, and enabled when newly assigned (the
  app's ``validatePostList`` refuses a missing or disabled post), their ids' JSON within
  ``system_users.post_ids``; refused at the post's item in the policy;
- roles: ``name`` and ``code`` set and unique in the tenant; custom data-scope ids fit
  ``data_scope_dept_ids``;
- departments: ``name`` set and unique among its siblings, no move below itself, no
  delete while departments or users are in it or a custom data scope names it;
- every text within its column's length, as the live schema declares it;
- grants: the permission is on a menu, and inside the tenant's package
  (``system_tenant_package.menu_ids``; the app would silently drop it); a grant holds
  the menus above it, and one of them carrying a permission (a button's page) must be
  declared too, as a kept permission's page may not be revoked.

:func:`refusals` runs a plan through the rules for the planner (every refusal, a
change whose subject was refused skipped); :func:`check_plan` is the writer's last
line of defence (the first refusal raises).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from erpsync.adapters.dispatch import handlers
from erpsync.adapters.ruoyi_vue_pro.facts import SchemaFacts
from erpsync.adapters.ruoyi_vue_pro.keys import (
    ADMIN_USER_ID,
    CODE_BY_SCOPE,
    CUSTOM,
    LOGIN,
    RESERVED_CODES,
    ROOT,
    SCOPE_BY_CODE,
    SUPER_ADMIN,
)
from erpsync.adapters.ruoyi_vue_pro.model import Dept, Role, TenantModel, User
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.plan import Change, Kind


class Refused(DatabaseError):
    """A change the app's rules do not allow; nothing was written. ``at``: where below the
    change's declaration the refused value is (``("posts", "hr")``: the user's post hr);
    ``others``: more refusals of the same change (every bad post of a user)."""

    def __init__(
        self,
        change: Change,
        reason: str,
        at: tuple[str | int, ...] = (),
        others: Sequence[Refused] = (),
    ) -> None:
        super().__init__(
            N_("cannot {action} {kind} {key}: {reason}").format(
                action=change.action, kind=change.kind, key=change.key, reason=reason
            )
        )
        self.change = change
        self.reason = reason
        self.at = at
        self.others = tuple(others)


class Rules:
    """Applies changes to ``model`` (mutating it), refusing what the app does not allow."""

    def __init__(self, model: TenantModel, facts: SchemaFacts) -> None:
        self.model = model
        self.facts = facts
        self.declared: dict[int, set[str]] = {}  # role id -> permissions the plan leaves it
        self.first_grant: dict[int, Change] = {}
        self.revokes: dict[tuple[int, str], Change] = {}
        self.held_before: dict[int, set[int]] = {}
        # departments whose manager the plan sets (the login, resolved when all users exist)
        self.managed: list[tuple[Dept, str | None, Change]] = []
        # users whose posts the plan sets: (user, post ids added, post ids removed), in
        # order, for the writer to take (:meth:`take_posts`)
        self.posted: list[tuple[User, set[int], set[int]]] = []

    # -- helpers ----------------------------------------------------------------------------

    def fits(self, change: Change, table: str, column: str, value: str | None) -> None:
        limit = self.facts.length(table, column)
        if value is not None and limit is not None and len(value) > limit:
            raise Refused(
                change,
                N_("{value} is {length} characters; {table}.{column} holds {limit}").format(
                    value=repr(value), length=len(value), table=table, column=column, limit=limit
                ),
            )

    def builtin_user(self, user: User) -> str | None:
        """Why ``user`` is never touched (None: it may be)."""
        if user.id == ADMIN_USER_ID:
            return N_("user id 1 is ruoyi-vue-pro's built-in administrator")
        if user.id == self.model.tenant.contact_user:
            return N_("it is the administrator of tenant {tenant}").format(
                tenant=self.model.tenant.name or 0
            )
        held = self.model.user_roles.get(user.id, set())
        if any(self.model.roles[r].code == SUPER_ADMIN for r in held if r in self.model.roles):
            return N_("it holds the built-in super_admin role, which erpsync never touches")
        return None

    def user(self, change: Change, login: str) -> User:
        found = self.model.user_by_login(login)
        if found is None:
            raise Refused(
                change,
                N_("tenant {tenant} has no user {login}").format(
                    tenant=self.model.tenant.id, login=repr(login)
                ),
            )
        why = self.builtin_user(found)
        if why is not None:
            raise Refused(change, why)
        return found

    def role(self, change: Change, code: str) -> Role:
        found = self.model.role_by_code(code)
        if found is None:
            raise Refused(change, self._no_role(code))
        if found.builtin:
            raise Refused(
                change,
                N_(
                    "{role} is a built-in role (type 1); the app and erpsync never change it"
                ).format(role=found.code),
            )
        return found

    def dept(self, change: Change, key: str | None) -> int:
        if key is None:
            return ROOT
        found = self.model.dept_by_key(key)
        if found is None:
            raise Refused(
                change,
                N_("tenant {tenant} has no department {department}").format(
                    tenant=self.model.tenant.id, department=repr(key)
                ),
            )
        return found

    # -- departments ------------------------------------------------------------------------

    def _dept_name(self, change: Change, name: Any, parent: int, itself: int | None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise Refused(change, N_("a department needs a name"))
        self.fits(change, "system_dept", "name", name)
        for other in self.model.depts.values():
            if other.parent == parent and other.id != itself and self.model.same(other.name, name):
                raise Refused(
                    change,
                    N_("its parent already has a department named {name}").format(
                        name=repr(other.name)
                    ),
                )
        return name

    def create_department(self, change: Change) -> Dept:
        after = change.after or {}
        parent = self.dept(change, after.get("parent"))
        if self.model.dept_by_key(change.key) is not None:
            raise Refused(change, N_("the tenant already has a department under that key"))
        name = self._dept_name(change, after.get("name"), parent, None)
        sort = max((d.sort for d in self.model.depts.values() if d.parent == parent), default=0)
        dept = Dept(self.model.provisional_id(), name, parent, None, sort + 1)
        self.model.depts[dept.id] = dept
        self.model.bound[dept.id] = change.key
        self.model.touch()
        if after.get("manager") is not None:
            self.managed.append((dept, after["manager"], change))
        return dept

    def update_department(self, change: Change) -> Dept:
        after = change.after or {}
        dept = self.model.depts[self.dept(change, change.renamed_from or change.key)]
        self.model.bound[dept.id] = change.key
        parent = self.dept(change, after["parent"]) if "parent" in after else dept.parent
        if parent != ROOT and dept.id in self.model.path(parent):
            raise Refused(change, N_("a department cannot move below itself"))
        if "name" in after or parent != dept.parent:
            dept.name = self._dept_name(change, after.get("name", dept.name), parent, dept.id)
        dept.parent = parent
        self.model.touch()
        if "manager" in after:
            self.managed.append((dept, after["manager"], change))
        return dept

    def delete_department(self, change: Change) -> Dept:
        dept_id = self.dept(change, change.key)
        keys = self.model.dept_keys()
        inside = [keys[c] for c in self.model.children(dept_id)]
        if inside:
            raise Refused(
                change,
                N_("departments are still in it ({departments}); the app refuses").format(
                    departments=", ".join(inside)
                ),
            )
        members = sorted(u.login for u in self.model.users.values() if u.dept == dept_id)
        if members:
            raise Refused(
                change, N_("users are still in it ({users})").format(users=", ".join(members))
            )
        scoped = sorted(r.code for r in self.model.roles.values() if dept_id in self._scope(r))
        if scoped:
            raise Refused(
                change,
                N_("the custom data scope of role(s) {roles} names it").format(
                    roles=", ".join(scoped)
                ),
            )
        dept = self.model.depts.pop(dept_id)
        self.model.touch()
        return dept

    # -- users ------------------------------------------------------------------------------

    def _login(self, change: Change, login: str, itself: int | None) -> None:
        if not LOGIN.match(login):
            raise Refused(
                change,
                N_(
                    "ruoyi-vue-pro usernames are 4 to 30 letters and digits ({pattern}); "
                    "{login} is not"
                ).format(pattern=LOGIN.pattern, login=repr(login)),
            )
        other = self.model.user_by_login(login, folded=True)
        if other is not None and other.id != itself:
            if other.login != login:
                taken = N_(
                    "the username is taken in the tenant by {login} (MariaDB compares it "
                    "ignoring case)"
                )
            else:
                taken = N_("the username is taken in the tenant by {login}")
            raise Refused(change, taken.format(login=repr(other.login)))

    def _user_fields(self, change: Change, user: User, after: Mapping[str, Any]) -> None:
        if "name" in after:
            name = after["name"]
            if not isinstance(name, str) or not name.strip():
                raise Refused(change, N_("a user needs a name (nickname)"))
            self.fits(change, "system_users", "nickname", name)
            user.name = name
        if "email" in after:
            email = after["email"]
            self.fits(change, "system_users", "email", email)
            holders = self.model.email_holders(email) if email else []
            others = [u for u in holders if u.id != user.id]
            if others:
                raise Refused(
                    change,
                    N_("user {login} already has that e-mail").format(login=others[0].login),
                )
            user.email = email
            self.model.emails_changed()
        if "department" in after:
            dept = self.dept(change, after["department"])
            if dept != ROOT and not self.model.depts[dept].enabled:
                raise Refused(
                    change,
                    N_(
                        "department {department} is disabled; the app puts users only in "
                        "enabled departments"
                    ).format(department=after["department"]),
                )
            user.dept = None if dept == ROOT else dept
        if "active" in after:
            user.active = bool(after["active"])
        if after.get("posts") is not None:
            self._posts(change, user, after["posts"])

    def _posts(self, change: Change, user: User, codes: Sequence[str]) -> None:
        """Set ``user``'s posts to ``codes`` as the app's user update does: every row of a
        post no longer held goes (a missing post's too), the new ones come."""
        model = self.model
        if model.posts is None:
            raise Refused(
                change,
                N_(
                    "this ruoyi-vue-pro database has no posts (no system_post and "
                    "system_user_post tables)"
                ),
                ("posts",),
            )
        held = model.user_posts.get(user.id, set())
        wanted: set[int] = set()
        bad: list[Refused] = []
        for code in codes:
            post = model.post_by_code(code)
            if post is None:
                bad.append(Refused(change, self._no_post(code), ("posts", code)))
            elif not post.enabled and post.id not in held:
                reason = N_(
                    "post {post} ({name}) is disabled; the app assigns only enabled posts"
                ).format(post=post.code, name=post.name)
                bad.append(Refused(change, reason, ("posts", code)))
            else:
                wanted.add(post.id)
        if bad:
            raise Refused(bad[0].change, bad[0].reason, bad[0].at, bad[1:])
        text = post_ids_text(wanted)
        limit = self.facts.length("system_users", "post_ids")
        if limit is not None and len(text) > limit:
            raise Refused(
                change,
                N_(
                    "its post ids {ids} are {length} characters; system_users.post_ids holds "
                    "{limit}"
                ).format(ids=text, length=len(text), limit=limit),
                ("posts",),
            )
        self.posted.append((user, wanted - held, held - wanted))
        model.user_posts[user.id] = wanted

    def _no_post(self, code: str) -> str:
        assert self.model.posts is not None
        near = sorted(
            p.code for p in self.model.posts.values() if p.code.casefold() == code.casefold()
        )
        if near:
            return N_(
                "tenant {tenant} has no post {post} (it has {near}: codes match exactly); "
                "erpsync assigns posts, it never creates them"
            ).format(tenant=self.model.tenant.id, post=repr(code), near=", ".join(map(repr, near)))
        return N_(
            "tenant {tenant} has no post {post}; erpsync assigns posts, it never creates them"
        ).format(tenant=self.model.tenant.id, post=repr(code))

    def _no_role(self, code: str) -> str:
        return N_("tenant {tenant} has no role {role}").format(
            tenant=self.model.tenant.id, role=repr(code)
        )

    def take_posts(self) -> list[tuple[User, set[int], set[int]]]:
        """The users whose posts changed since the last call, with the post ids added and
        removed (a user's id is final once the writer inserted it)."""
        taken, self.posted = self.posted, []
        return taken

    def create_user(self, change: Change) -> User:
        after = change.after or {}
        self._login(change, change.key, None)
        quota = self.model.tenant.account_count
        if quota is not None and len(self.model.users) >= quota:
            raise Refused(
                change,
                N_("tenant {tenant} has {n} users, its account_count allows {quota}").format(
                    tenant=self.model.tenant.id, n=len(self.model.users), quota=quota
                ),
            )
        user = User(self.model.provisional_id(), change.key, "")
        self._user_fields(change, user, {"name": after.get("name"), **after})
        self.model.users[user.id] = user
        self.model.touch()
        return user

    def update_user(self, change: Change) -> User:
        after = change.after or {}
        user = self.user(change, change.renamed_from or change.key)
        if "key" in after and after["key"] != user.login:
            self._login(change, str(after["key"]), user.id)
            user.login = str(after["key"])
            self.model.touch()
        self._user_fields(change, user, after)
        return user

    def set_active(self, change: Change, active: bool) -> User:
        found = self.user(change, change.key)
        found.active = active
        return found

    def delete_user(self, change: Change) -> User:
        user = self.user(change, change.key)
        self.model.user_roles.pop(user.id, None)
        self.model.user_posts.pop(user.id, None)
        del self.model.users[user.id]
        self.model.touch()
        return user

    # -- roles ------------------------------------------------------------------------------

    def _scope(self, role: Role) -> tuple[int, ...]:
        return role.scope_depts if SCOPE_BY_CODE.get(role.scope) == CUSTOM else ()

    def _code(self, change: Change, code: str, itself: int | None) -> None:
        if not code.strip():
            raise Refused(change, N_("a role needs a code"))
        if any(self.model.same(code, reserved) for reserved in RESERVED_CODES):
            raise Refused(
                change,
                N_("{code} is reserved for ruoyi-vue-pro's built-in roles").format(code=repr(code)),
            )
        self.fits(change, "system_role", "code", code)
        other = self.model.role_by_code(code, folded=True)
        if other is not None and other.id != itself:
            raise Refused(
                change,
                N_("the code is taken in the tenant by role {role}").format(role=repr(other.code)),
            )

    def _role_fields(self, change: Change, role: Role, after: Mapping[str, Any]) -> None:
        if "name" in after:
            name = after["name"]
            if not isinstance(name, str) or not name.strip():
                raise Refused(change, N_("a role needs a name"))
            self.fits(change, "system_role", "name", name)
            for other in self.model.roles.values():
                if other.id != role.id and self.model.same(other.name, name):
                    raise Refused(
                        change,
                        N_("role {role} already has the name {name}").format(
                            role=other.code, name=repr(other.name)
                        ),
                    )
            role.name = name
        if "description" in after:
            self.fits(change, "system_role", "remark", after["description"])
            role.remark = after["description"]
        if "data_scope" in after:
            scope = after["data_scope"] or "all"
            if scope not in CODE_BY_SCOPE:
                raise Refused(change, N_("unknown data scope {scope}").format(scope=repr(scope)))
            role.scope = CODE_BY_SCOPE[scope]
        if "data_departments" in after:
            role.scope_depts = tuple(
                sorted(self.dept(change, d) for d in after["data_departments"] or ())
            )
        if role.scope_depts and SCOPE_BY_CODE.get(role.scope) != CUSTOM:
            role.scope_depts = ()  # the app reads the ids only for a custom scope
        self.fits(change, "system_role", "data_scope_dept_ids", scope_text(role, 12))

    def create_role(self, change: Change) -> Role:
        after = change.after or {}
        self._code(change, change.key, None)
        sort = max((r.sort for r in self.model.roles.values()), default=0) + 1
        role = Role(self.model.provisional_id(), change.key, "", sort=sort)
        self._role_fields(change, role, {"name": after.get("name"), **after})
        self.model.roles[role.id] = role
        self.model.touch()
        return role

    def update_role(self, change: Change) -> Role:
        after = change.after or {}
        role = self.role(change, change.renamed_from or change.key)
        if "key" in after and after["key"] != role.code:
            self._code(change, str(after["key"]), role.id)
            role.code = str(after["key"])
            self.model.touch()
        self._role_fields(change, role, after)
        return role

    def delete_role(self, change: Change) -> Role:
        role = self.role(change, change.key)
        for user_id, roles in self.model.user_roles.items():
            user = self.model.users.get(user_id)
            if user is None or role.id not in roles:
                continue
            why = self.builtin_user(user)
            if why is not None:  # deleting the role would take it from that user
                raise Refused(
                    change,
                    N_("{login} holds it, and {why}").format(login=repr(user.login), why=why),
                )
        for held in self.model.user_roles.values():
            held.discard(role.id)
        self.model.role_menus.pop(role.id, None)
        self.declared.pop(role.id, None)
        del self.model.roles[role.id]
        self.model.touch()
        return role

    # -- grants and memberships -------------------------------------------------------------

    def _menus(self, change: Change) -> tuple[Role, str, list[int]]:
        code, permission = change.parts()
        role = self.role(change, code)
        menus = self.model.menus_of(permission)
        if not menus:
            raise Refused(
                change,
                N_("no menu of ruoyi-vue-pro carries {permission}").format(
                    permission=repr(permission)
                ),
            )
        if role.id not in self.declared:
            self.declared[role.id] = self.model.permissions_of(role.id)
            self.held_before[role.id] = set(self.model.role_menus.get(role.id, ()))
        return role, permission, menus

    def grant_permission(self, change: Change) -> list[tuple[int, int]]:
        """Grant; returns the (role, menu) rows to insert: the permission's menus and every
        menu above them, within the tenant's package."""
        role, permission, menus = self._menus(change)
        package = self.model.tenant.package
        if package is not None:
            menus = [m for m in menus if m in package]
            if not menus:
                raise Refused(
                    change,
                    N_(
                        "{permission} is outside the package of tenant {tenant} ({name}); the "
                        "app would drop the grant"
                    ).format(
                        permission=permission,
                        tenant=self.model.tenant.id,
                        name=self.model.tenant.name,
                    ),
                )
        wanted = {m for menu in menus for m in (menu, *self.model.above(menu))}
        if package is not None:
            wanted &= package
        self.declared[role.id].add(permission)
        self.first_grant.setdefault(role.id, change)
        held = self.model.role_menus.setdefault(role.id, set())
        added = sorted((role.id, m) for m in wanted - held)
        held |= wanted
        return added

    def revoke_permission(self, change: Change) -> list[tuple[int, int]]:
        """Revoke; returns the (role, menu) rows to soft-delete: the permission's, and the
        implied rows above them (no permission of their own) that no kept menu needs."""
        role, permission, menus = self._menus(change)
        self.declared[role.id].discard(permission)
        self.revokes[(role.id, permission)] = change
        held = self.model.role_menus.setdefault(role.id, set())
        gone = held & set(menus)
        implied = {m for m in held if self.model.menus[m].permission is None}
        kept = held - gone - implied
        needed = {a for m in kept for a in self.model.above(m)}
        gone |= implied - needed
        held -= gone
        return sorted((role.id, m) for m in gone)

    def membership(self, change: Change) -> tuple[int, int]:
        login, code = change.parts()
        user = self.user(change, login)
        role = self.model.role_by_code(code)
        if role is None:
            raise Refused(change, self._no_role(code))
        if role.code == SUPER_ADMIN:
            raise Refused(
                change, N_("erpsync never grants or revokes the built-in super_admin role")
            )
        return user.id, role.id

    def grant_membership(self, change: Change) -> tuple[int, int]:
        pair = self.membership(change)
        self.model.user_roles.setdefault(pair[0], set()).add(pair[1])
        return pair

    def revoke_membership(self, change: Change) -> tuple[int, int]:
        pair = self.membership(change)
        self.model.user_roles.get(pair[0], set()).discard(pair[1])
        return pair

    # -- the whole plan ---------------------------------------------------------------------

    def apply(self, change: Change) -> object:
        handler = HANDLERS.get((change.kind, change.action))
        if handler is None:
            raise Refused(
                change,
                N_("ruoyi-vue-pro has no way to {action} a {kind}").format(
                    action=change.action, kind=change.kind
                ),
            )
        return handler(self, change)

    def leader_ids(self) -> dict[int, int | None]:
        """Department id -> the leader_user_id the plan sets (logins resolved now)."""
        return {dept.id: dept.leader for dept, _, _ in self.managed if dept.id in self.model.depts}

    def pending(self) -> Iterator[Refused]:
        """What needs the whole plan: managers (users the plan may create), and pages."""
        for dept, login, change in self.managed:
            if login is None:
                dept.leader = None
                continue
            user = self.model.user_by_login(str(login))
            if user is None:
                yield Refused(
                    change,
                    N_("its manager {login} is no user of the tenant").format(login=repr(login)),
                )
            else:
                dept.leader = user.id
        for role_id, declared in sorted(self.declared.items()):
            if role_id not in self.model.roles:
                continue
            extra = sorted(self.model.permissions_of(role_id) - declared)
            if extra and role_id in self.first_grant:
                yield Refused(
                    self.first_grant[role_id],
                    N_(
                        "in ruoyi-vue-pro a button shows only with the page above it, and that "
                        "page carries {permissions}: declare it for the role too"
                    ).format(permissions=", ".join(extra)),
                )
            held = self.model.role_menus.get(role_id, set())
            lost = self.held_before.get(role_id, set()) - held
            for menu in sorted(held):
                page = next((a for a in self.model.above(menu) if a in lost), None)
                if page is not None and self.model.menus[menu].permission is not None:
                    name = self.model.menus[page].permission or ""
                    revoke = self.revokes.get((role_id, name))
                    if revoke is not None:
                        yield Refused(
                            revoke,
                            N_(
                                "its menu {menu} is the page above {permission}, which the "
                                "role keeps"
                            ).format(
                                menu=self.model.menus[page].name,
                                permission=self.model.menus[menu].permission,
                            ),
                        )
                        break


def post_ids_text(ids: Iterable[int]) -> str:
    """``system_users.post_ids`` as the app writes it (Jackson, a set of ids): a JSON
    array, ascending, no spaces: ``[2,4]``, ``[]``."""
    return json.dumps(sorted(set(ids)), separators=(",", ":"))


def scope_text(role: Role, width: int = 0) -> str:
    """``data_scope_dept_ids`` as the app stores it: a JSON array (provisional ids counted
    ``width`` digits wide)."""
    ids = [i if i > 0 else int("9" * width or "0") for i in role.scope_depts]
    return json.dumps(ids, separators=(",", ":"))


HANDLERS = handlers(Rules)  # Rules.<action>_<kind>, set_active (erpsync.adapters.dispatch)


def _needs(change: Change) -> set[tuple[str, str]]:
    """The objects a change names: its own, a link's two ends, the departments it uses."""
    if change.kind is Kind.PERMISSION:
        return {("role", change.parts()[0])}
    if change.kind is Kind.MEMBERSHIP:
        login, code = change.parts()
        return {("user", login), ("role", code)}
    after = change.after or {}
    named = [after.get("parent"), after.get("department"), *(after.get("data_departments") or ())]
    return {(str(change.kind), change.key)} | {("department", d) for d in named if d}


def refusals(model: TenantModel, facts: SchemaFacts, changes: Sequence[Change]) -> list[Refused]:
    """Every change the app would refuse (a change naming a refused object is skipped)."""
    rules = Rules(model.copy(), facts)
    found: list[Refused] = []
    blocked: set[tuple[str, str]] = set()
    for change in changes:
        if _needs(change) & blocked:
            continue
        try:
            rules.apply(change)
        except Refused as exc:
            found += [exc, *exc.others]
            if change.kind in (Kind.DEPARTMENT, Kind.USER, Kind.ROLE):
                blocked.add((str(change.kind), change.key))
    return found + list(rules.pending())


def check_plan(model: TenantModel, facts: SchemaFacts, changes: Sequence[Change]) -> None:
    """Raise the first change the app would refuse; nothing is written."""
    for refused in refusals(model, facts, changes):
        raise refused
