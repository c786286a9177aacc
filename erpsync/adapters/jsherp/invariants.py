"""jshERP's rules, checked on a copy of the model before anything is written.

jshERP's schema has no foreign or unique keys: its application keeps the rules, and
erpsync keeps them too. :class:`Rules` plays a plan's changes on a :class:`~.model.Model`
(the writer then stores what differs, :mod:`.write`), refusing:

- built-ins: the platform administrator (``admin``), the tenant administrator
  (``id = tenant_id``), users with ``isystem = 1``;
- a login used by a live user of any tenant (compared case-insensitively, trailing
  spaces ignored, as utf8_general_ci does), ``admin``; a role or department name another
  of the tenant's roles or departments has; a role name outside 2–30 characters;
  values longer than their column, or holding 4-byte characters (the identity tables are
  utf8mb3);
- data scopes other than all, self and department_tree;
- more than one role for a user (jshERP reads the UserRole value as one number);
- a warehouse or customer (the user's data scopes) the tenant lacks, that two live rows
  share the name of, or that is disabled (:mod:`.scopes`), at the list item;
- a function the tenant may not have (outside its administrator's role, or under
  系统管理), a button its page does not offer, a button without its page;
- deleting a department with live children or members, or a role someone holds;
- a department manager who is not a member of it (jshERP's manager is the member flagged
  ``leader_flag = '1'``);
- creating or enabling users beyond ``jsh_tenant.user_num_limit``.

Refusals of the whole plan's outcome (quota, one role, managers, deletes) are found by
:meth:`Rules.pending` once every change has been played.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erpsync.adapters.dispatch import handlers
from erpsync.adapters.jsherp.keys import (
    BANNED,
    CODE_BY_ACTION,
    LENGTHS,
    NORMAL,
    PLATFORM_ADMIN,
    ROLE_NAME_MAX,
    ROLE_NAME_MIN,
    SCOPE_TYPES,
    SCOPES,
    VIEW,
    fold,
    four_byte,
)
from erpsync.adapters.jsherp.model import Dept, Function, Model, Role, User
from erpsync.adapters.jsherp.scopes import NotScoped, resolve
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.plan import Change, Kind


@dataclass(frozen=True)
class Private:
    """What :meth:`JshErpAdapter.check_plan` needs beyond the state: the tenant's rows."""

    model: Model


class Refused(DatabaseError):
    """A change jshERP's rules do not allow; nothing was written."""

    def __init__(self, change: Change | None, reason: str, at: tuple[str | int, ...] = ()) -> None:
        if change is None:
            message = N_("cannot apply the plan: {reason}").format(reason=reason)
        else:
            message = N_("cannot {action} {kind} {key}: {reason}").format(
                action=change.action, kind=change.kind, key=change.key, reason=reason
            )
        super().__init__(message)
        self.change = change
        self.reason = reason
        self.at = at  # where below the change's declaration (("warehouses", "仓库1"))


class Rules:
    """Applies changes to ``model`` (mutating it), refusing what jshERP does not allow."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.managers: dict[int, tuple[str | None, Change]] = {}  # dept -> manager set
        self.deleted_depts: dict[int, Change] = {}
        self.deleted_roles: dict[int, tuple[Role, Change]] = {}
        self.role_grants: dict[int, Change] = {}  # user id -> the last membership grant
        self.button_grants: dict[tuple[int, int], Change] = {}  # (role, function) -> grant
        self.creating: list[Change] = []  # user creates and reactivations (the quota)
        self.leaving: dict[int, tuple[int, Change]] = {}  # managers moved out: user -> dept
        self.dept_keys = model.dept_keys()
        self.role_keys = model.role_keys()
        self.dept_ids = {k: i for i, k in self.dept_keys.items()}
        self.role_ids = {k: i for i, k in self.role_keys.items()}
        self.own_logins = Counter(fold(u.login) for u in model.users.values())  # as read
        self.folded = Counter(self.own_logins)  # as the plan leaves them
        self.by_login: dict[str, int] = {}  # the lowest id holding each login
        for u in sorted(model.users.values(), key=lambda u: abs(u.id), reverse=True):
            self.by_login[u.login] = u.id

    # -- lookups ------------------------------------------------------------------------------

    def dept(self, change: Change, key: str) -> Dept:
        dept_id = self.dept_ids.get(key)
        if dept_id is None or dept_id not in self.model.depts:
            raise Refused(
                change, N_("department {department} is not in this tenant").format(department=key)
            )
        return self.model.depts[dept_id]

    def role(self, change: Change, key: str) -> Role:
        role_id = self.role_ids.get(key)
        if role_id is None or role_id not in self.model.roles:
            raise Refused(change, N_("role {role} is not a role of this tenant").format(role=key))
        return self.model.roles[role_id]

    def user(self, change: Change, login: str) -> User:
        user_id = self.by_login.get(login)
        if user_id is None or user_id not in self.model.users:
            raise Refused(change, N_("user {login} is not in this tenant").format(login=login))
        user = self.model.users[user_id]
        if user.fixed:
            raise Refused(change, _fixed(login, user.fixed))
        return user

    # -- values -----------------------------------------------------------------------------

    def text(self, change: Change, table: str, column: str, value: Any) -> None:
        if not isinstance(value, str):
            return
        limit = LENGTHS.get((table, column))
        if limit is not None and len(value) > limit:
            raise Refused(
                change,
                N_("{column} {value} is {length} characters; {table} holds {limit}").format(
                    column=column, value=repr(value), length=len(value), table=table, limit=limit
                ),
            )
        if four_byte(value):
            raise Refused(
                change,
                N_(
                    "{column} {value} holds a character jshERP's utf8 (3-byte) tables cannot "
                    "store (an emoji or a rare CJK character)"
                ).format(column=column, value=repr(value)),
            )

    def dept_name(self, change: Change, name: Any, itself: int | None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise Refused(change, N_("a department needs a name (org_abr)"))
        self.text(change, "jsh_organization", "org_abr", name)
        for d in self.model.depts.values():
            if d.id != itself and fold(d.name) == fold(name):
                raise Refused(
                    change,
                    N_("the tenant already has a department named {name}").format(
                        name=repr(d.name)
                    ),
                )
        return name

    def role_name(self, change: Change, name: Any, itself: int | None) -> str:
        if not isinstance(name, str) or not ROLE_NAME_MIN <= len(name) <= ROLE_NAME_MAX:
            raise Refused(
                change,
                N_("jshERP's role names have {min} to {max} characters").format(
                    min=ROLE_NAME_MIN, max=ROLE_NAME_MAX
                ),
            )
        self.text(change, "jsh_role", "name", name)
        for r in self.model.roles.values():
            if r.id != itself and fold(r.name) == fold(name):
                raise Refused(
                    change,
                    N_("the tenant already has a role named {name}").format(name=repr(r.name)),
                )
        return name

    def login(self, change: Change, login: str, itself: int | None) -> None:
        if fold(login) == PLATFORM_ADMIN:
            raise Refused(change, N_("'admin' is jshERP's platform administrator"))
        self.text(change, "jsh_user", "login_name", login)
        for u in self.model.users.values():
            if u.fixed and fold(u.login) == fold(login):
                raise Refused(change, _fixed(u.login, u.fixed))
        folded = fold(login)
        elsewhere = self.model.logins.get(folded, 0) - self.own_logins[folded]
        here = self.folded[folded]
        if itself is not None and fold(self.model.users[itself].login) == folded:
            here -= 1
        taken = elsewhere > 0 or here > 0
        if taken:
            raise Refused(
                change,
                N_("login {login} is taken (jshERP's logins are unique in every tenant)").format(
                    login=repr(login)
                ),
            )

    def parent(self, change: Change, key: Any, itself: int | None) -> int | None:
        if key is None:
            return None
        parent = self.dept(change, str(key))
        current: int | None = parent.id
        while current is not None and itself is not None:
            if current == itself:
                raise Refused(
                    change, N_("department {department} is below it").format(department=key)
                )
            current = self.model.depts[current].parent if current in self.model.depts else None
        return parent.id

    def scope(self, change: Change, scope: Any) -> str | None:
        if scope is not None and scope not in SCOPES:
            raise Refused(
                change,
                N_(
                    "jshERP's data scopes are all data, own data and the department's tree "
                    "({scopes}), not {scope}"
                ).format(scopes=", ".join(SCOPES), scope=scope),
            )
        return self.model.scope_type(scope or "all")

    # -- departments --------------------------------------------------------------------------

    def create_department(self, change: Change) -> None:
        after = change.after or {}
        dept = Dept(
            self.model.provisional_id(),
            self.dept_name(change, after.get("name"), None),
            self.parent(change, after.get("parent"), None),
            change.key[:20],
        )
        self.model.depts[dept.id] = dept
        self.dept_keys[dept.id] = change.key
        self.dept_ids[change.key] = dept.id
        self.model.bind("department", dept.id, change.key)
        if after.get("manager") is not None:
            self.managers[dept.id] = (after["manager"], change)

    def update_department(self, change: Change) -> None:
        after = change.after or {}
        dept = self.dept(change, change.renamed_from or change.key)
        if "name" in after:
            dept.name = self.dept_name(change, after["name"], dept.id)
        if "parent" in after:
            dept.parent = self.parent(change, after["parent"], dept.id)
        if "manager" in after:
            self.managers[dept.id] = (after["manager"], change)
        if change.renamed_from:
            self.dept_keys[dept.id] = change.key
            self.dept_ids.pop(change.renamed_from, None)
            self.dept_ids[change.key] = dept.id
            self.model.bind("department", dept.id, change.key)

    def delete_department(self, change: Change) -> None:
        dept = self.dept(change, change.key)
        self.deleted_depts[dept.id] = change

    # -- users ------------------------------------------------------------------------------

    def user_fields(self, change: Change, user: User, after: Mapping[str, Any]) -> None:
        if "name" in after:
            name = after["name"]
            if not isinstance(name, str) or not name.strip():
                raise Refused(change, N_("a user needs a name (username)"))
            self.text(change, "jsh_user", "username", name)
            user.name = name
        if "email" in after:
            self.text(change, "jsh_user", "email", after["email"])
            user.email = after["email"]
        if "department" in after:
            dept = None if after["department"] is None else self.dept(change, after["department"])
            if user.leader and user.dept is not None:
                self.leaving[user.id] = (user.dept, change)
            user.dept = dept.id if dept else None
            user.leader = False
        for attr, kind in SCOPE_TYPES.items():
            if after.get(attr) is not None:
                held = user.scopes.get(kind, [])
                try:
                    user.scopes[kind] = resolve(self.model, kind, after[attr], held)
                except NotScoped as exc:
                    raise Refused(change, exc.reason, (attr, exc.name)) from None

    def create_user(self, change: Change) -> None:
        after = change.after or {}
        self.login(change, change.key, None)
        user = User(self.model.provisional_id(), change.key, "")
        self.user_fields(change, user, after)
        user.status = NORMAL if after.get("active", True) else BANNED
        self.model.users[user.id] = user
        self.by_login[user.login] = user.id
        self.folded[fold(user.login)] += 1
        self.creating.append(change)

    def update_user(self, change: Change) -> None:
        user = self.user(change, change.renamed_from or change.key)
        if change.renamed_from:
            self.login(change, change.key, user.id)
            self.folded[fold(user.login)] -= 1
            self.by_login.pop(user.login, None)
            user.login = change.key
            self.folded[fold(user.login)] += 1
            self.by_login[user.login] = user.id
        self.user_fields(change, user, change.after or {})

    def set_active(self, change: Change, active: bool) -> None:
        user = self.user(change, change.key)
        user.status = NORMAL if active else BANNED
        if active:
            self.creating.append(change)

    def delete_user(self, change: Change) -> None:
        user = self.user(change, change.key)
        if user.leader and user.dept is not None:
            self.leaving[user.id] = (user.dept, change)
        del self.model.users[user.id]
        self.by_login.pop(user.login, None)
        self.folded[fold(user.login)] -= 1

    # -- roles ------------------------------------------------------------------------------

    def role_fields(self, change: Change, role: Role, after: Mapping[str, Any]) -> None:
        if "name" in after:
            role.name = self.role_name(change, after["name"], role.id)
        if "description" in after:
            self.text(change, "jsh_role", "description", after["description"])
            role.description = after["description"]
        if "data_scope" in after:
            role.type = self.scope(change, after["data_scope"])
        if after.get("data_departments"):
            raise Refused(change, N_("jshERP has no custom data scope (data_departments)"))

    def create_role(self, change: Change) -> None:
        after = change.after or {}
        role = Role(self.model.provisional_id(), "", self.scope(change, after.get("data_scope")))
        self.role_fields(change, role, after)
        self.model.roles[role.id] = role
        self.role_keys[role.id] = change.key
        self.role_ids[change.key] = role.id
        self.model.bind("role", role.id, change.key)

    def update_role(self, change: Change) -> None:
        role = self.role(change, change.renamed_from or change.key)
        self.role_fields(change, role, change.after or {})
        if change.renamed_from:
            self.role_keys[role.id] = change.key
            self.role_ids.pop(change.renamed_from, None)
            self.role_ids[change.key] = role.id
            self.model.bind("role", role.id, change.key)

    def delete_role(self, change: Change) -> None:
        role = self.role(change, change.key)
        self.deleted_roles[role.id] = (role, change)
        del self.model.roles[role.id]

    # -- grants -----------------------------------------------------------------------------

    def function(self, change: Change) -> tuple[Role, Function, str]:
        owner, perm = change.parts()
        role = self.role(change, owner)
        module, _, action = perm.rpartition(":")
        page = next((f for f in self.model.leaves().values() if f.url == module), None)
        if page is None:
            raise Refused(
                change, N_("jshERP has no page (function) with url {url}").format(url=module)
            )
        if action != VIEW and action not in CODE_BY_ACTION:
            raise Refused(
                change,
                N_("jshERP's actions are view and the buttons, not {action}").format(action=action),
            )
        return role, page, action

    def grant_permission(self, change: Change) -> None:
        role, page, action = self.function(change)
        if page.id in self.model.system_functions():
            raise Refused(
                change,
                N_("{url} is under 系统管理, which tenant roles never get").format(url=page.url),
            )
        if page.id not in self.model.ceiling:
            raise Refused(
                change,
                N_(
                    "{url} ({name}) is not among the tenant's functions (the tenant "
                    "administrator's role)"
                ).format(url=page.url, name=page.name),
            )
        if action == VIEW:
            role.views.add(page.id)
            return
        code = CODE_BY_ACTION[action]
        if code not in page.buttons:
            if page.buttons:
                offers = N_("page {url} offers buttons {offered}, not {code}")
            else:
                offers = N_("page {url} offers buttons none, not {code}")
            raise Refused(
                change, offers.format(url=page.url, offered=",".join(page.buttons), code=code)
            )
        role.buttons.setdefault(page.id, set()).add(code)
        self.button_grants[(role.id, page.id)] = change

    def revoke_permission(self, change: Change) -> None:
        role, page, action = self.function(change)
        if action == VIEW:
            role.views.discard(page.id)
            role.buttons.pop(page.id, None)  # buttons of a page the role no longer has
            return
        codes = role.buttons.get(page.id, set())
        codes.discard(CODE_BY_ACTION[action])
        if not codes:
            role.buttons.pop(page.id, None)

    # -- memberships --------------------------------------------------------------------------

    def grant_membership(self, change: Change) -> None:
        login, key = change.parts()
        user, role = self.user(change, login), self.role(change, key)
        user.roles.add(role.id)
        self.role_grants[user.id] = change

    def revoke_membership(self, change: Change) -> None:
        login, key = change.parts()
        user = self.user(change, login)
        user.roles.discard(self.role(change, key).id)

    # -- the whole plan -------------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        handler = _HANDLERS.get((change.kind, change.action))
        if handler is None:
            raise Refused(change, N_("the jsherp adapter does not know this change"))
        handler(self, change)

    def pending(self) -> Iterator[Refused]:
        """What only the plan's outcome shows (called once, after every change)."""
        model = self.model
        yield from self._managers()
        for dept_id, change in self.deleted_depts.items():
            children = [d.name for d in model.depts.values() if d.parent == dept_id]
            members = [u.login for u in model.users.values() if u.dept == dept_id]
            if children or members:
                if children:
                    has = N_("it still has departments {names}").format(names=children)
                else:
                    has = N_("it still has members {names}").format(names=members)
                yield Refused(change, has)
            else:
                del model.depts[dept_id]
        for role_id, (_role, change) in self.deleted_roles.items():
            held = sorted(u.login for u in model.users.values() if role_id in u.roles)
            if held:
                yield Refused(
                    change,
                    N_(
                        "{users} still hold it (jshERP would keep their menus and break their "
                        "lists)"
                    ).format(users=", ".join(held)),
                )
        for user_id, change in self.role_grants.items():
            user = model.users.get(user_id)
            if user is not None and len(user.roles) > 1:
                yield Refused(
                    change,
                    N_("jshERP holds exactly one role per user; {login} would hold {n}").format(
                        login=user.login, n=len(user.roles)
                    ),
                )
        for (role_id, fun_id), change in self.button_grants.items():
            role = model.roles.get(role_id)
            if role is not None and fun_id in role.buttons and fun_id not in role.views:
                yield Refused(change, N_("a button needs its page: grant view too"))
        for role in model.roles.values():  # buttons left on a page the role lost
            for fun_id in [f for f in role.buttons if f not in role.views]:
                if (role.id, fun_id) not in self.button_grants:
                    del role.buttons[fun_id]
        limit = model.tenant.user_limit
        over = limit is not None and (
            len(model.users) > limit or sum(u.active for u in model.users.values()) > limit
        )
        if over and self.creating:
            yield Refused(
                self.creating[0],
                N_("the tenant may have {limit} users (jsh_tenant.user_num_limit)").format(
                    limit=limit
                ),
            )

    def _managers(self) -> Iterator[Refused]:
        for dept_id, change in self.leaving.values():
            if dept_id in self.model.depts and dept_id not in self.managers:
                yield Refused(
                    change,
                    N_(
                        "the user manages {department} and jshERP's manager is a member of the "
                        "department: give it another manager (or none) too"
                    ).format(department=repr(self.model.depts[dept_id].name)),
                )
        for dept_id, (login, change) in self.managers.items():
            members = [u for u in self.model.managed_users() if u.dept == dept_id]
            if login is not None and not any(u.login == login for u in members):
                yield Refused(
                    change,
                    N_(
                        "{login} is not a member of it: jshERP's department manager is the "
                        "member flagged leader"
                    ).format(login=login),
                )
                continue
            for u in members:
                u.leader = u.login == login


_HANDLERS = handlers(Rules)


def _fixed(login: str, why: str) -> str:
    """Why the user ``login`` is never changed (``why``: what it is, a message itself)."""
    return N_("{login} is {detail}: erpsync never changes it").format(login=login, detail=why)


def _owner(change: Change) -> set[tuple[str, str]]:
    """The objects a change needs (a refused one makes its dependants skipped)."""
    if change.kind is Kind.PERMISSION:
        return {("role", change.parts()[0])}
    if change.kind is Kind.MEMBERSHIP:
        login, role = change.parts()
        return {("user", login), ("role", role)}
    return {(str(change.kind), change.key)}


def play(model: Model, changes: Sequence[Change]) -> tuple[Model, list[Refused]]:
    """``changes`` played on a copy of ``model``: the model they make, and every refusal
    (a change whose object was refused is skipped, not refused again)."""
    rules = Rules(model.copy())
    found: list[Refused] = []
    blocked: set[tuple[str, str]] = set()
    for change in changes:
        if _owner(change) & blocked:
            continue
        try:
            rules.apply(change)
        except Refused as exc:
            found.append(exc)
            blocked |= _owner(change)
    found += rules.pending()
    return rules.model, found
