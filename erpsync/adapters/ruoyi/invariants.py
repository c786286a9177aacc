"""RuoYi's rules, enforced before anything is written.

:class:`Rules` applies a plan's changes one at a time to a
:class:`~erpsync.adapters.ruoyi.model.Model` the way RuoYi's own services
would, and refuses (:class:`DatabaseError` naming the change) what RuoYi would
refuse or what would corrupt it:

- never the super administrator (``user_id`` 1), its role (``role_id`` 1) or a
  role keyed ``admin``, and never a second role keyed ``admin``;
- uniqueness among live rows, case-insensitively as ``utf8mb4_general_ci``
  compares: logins, role keys, role names, department names among siblings;
- column lengths, as the live schema declares them (``dept_name`` 30,
  ``role_name`` 30, ``leader`` 20, ``ancestors`` 50, …);
- a department's key is the policy's (bound to the row it creates or renames, see
  :mod:`erpsync.bindings`), never one the ERP already uses; no department moves below
  itself;
- a department is deleted only when no live department or user is left in it
  and no role's custom data scope names it; a role only when nobody holds it;
- a login is never renamed on RuoYi with Shiro (the password hash is
  ``md5(login + password + salt)``: the user could no longer log in);
- granting a button writes the directory and page rows above it; a page row
  carrying perms of its own grants those too, so the plan must declare them,
  and a revoke may not take away a page a granted button still needs.

The planner runs a plan through the same rules (:func:`refusals`, called by
:meth:`RuoYiAdapter.check_plan` on the model the read built), collecting every
refused change: a change whose subject was refused (a membership of a user whose
creation was refused) is skipped rather than refused again. The writer
(:mod:`~erpsync.adapters.ruoyi.write`) runs the whole plan through :class:`Rules`
on a copy of the model first (:func:`check_plan`), as a last line of defence;
only when every change passes does it write, applying the changes to the live
model again, batch by batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from erpsync.adapters.base import refused as cannot
from erpsync.adapters.dispatch import handlers
from erpsync.adapters.ruoyi.facts import SchemaFacts
from erpsync.adapters.ruoyi.keys import (
    ADMIN_ROLE_ID,
    ADMIN_ROLE_KEY,
    ADMIN_USER_ID,
    CODE_BY_SCOPE,
    CUSTOM,
    SCOPE_BY_CODE,
)
from erpsync.adapters.ruoyi.model import ROOT, Dept, Model, Role, User
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind

_ATTRIBUTES: dict[Kind, frozenset[str]] = {
    Kind.DEPARTMENT: frozenset({"key", "name", "parent", "manager"}),
    Kind.USER: frozenset({"key", "name", "email", "department", "active"}),
    Kind.ROLE: frozenset({"key", "name", "description", "data_scope", "data_departments"}),
}


class Refused(DatabaseError):
    """A change RuoYi's rules do not allow; nothing was written. ``change`` is the change
    refused, when one is to blame, and ``reason`` the message without it."""

    def __init__(self, message: str, change: Change | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.change = change
        self.reason = reason or message


def label(change: Change) -> str:
    return f"{change.action} {change.kind} {change.key}"


def _fold(value: str) -> str:
    """How RuoYi's case-insensitive collation compares (close enough: case only)."""
    return value.casefold()


class Rules:
    """Applies changes to ``model`` (mutating it), refusing what RuoYi does not allow."""

    def __init__(self, model: Model, schema: SchemaFacts) -> None:
        self.model = model
        self.schema = schema
        self.declared: dict[int, set[str]] = {}  # role id -> permissions the plan leaves it
        self.held_before: dict[int, set[int]] = {}  # role id -> menus held before the plan
        self.moved: set[int] = set()  # departments created or moved (their ancestors change)
        self.leaders: set[int] = set()  # departments whose leader (a renamed login) changed
        self.led: set[str] = set()  # departments (keys) whose manager the plan sets
        self.granting: dict[int, Change] = {}  # role id -> its first grant of the plan
        self.revoking: dict[tuple[int, str], Change] = {}  # (role id, permission) -> revoke
        self.placing: dict[str, Change] = {}  # department key -> its create or update

    # -- helpers ----------------------------------------------------------------------------

    def refuse(self, change: Change, why: str) -> Refused:
        return Refused(cannot(change, why), change, why)

    def length(self, change: Change, table: str, column: str, value: str | None) -> None:
        limit = self.schema.length(table, column)
        if value is not None and limit is not None and len(value) > limit:
            quoted = repr(value)
            # The template starts with the quote, so it never matches a message quoting it
            if quoted.startswith("'"):
                why = N_("'{value}' is {n} characters; RuoYi's {column} holds {limit}")
            else:
                why = N_('"{value}" is {n} characters; RuoYi\'s {column} holds {limit}')
            why = why.format(
                value=quoted[1:-1], n=len(value), column=f"{table}.{column}", limit=limit
            )
            raise self.refuse(change, why)

    def attributes(self, change: Change) -> dict[str, Any]:
        after = dict(change.after or {})
        unknown = sorted(set(after) - _ATTRIBUTES[change.kind])
        if unknown:
            why = N_("unknown attribute(s) {names}").format(names=", ".join(unknown))
            raise self.refuse(change, why)
        return after

    def dept(self, change: Change, key: str | None) -> int:
        """The id of department ``key`` (ROOT for None)."""
        if key is None:
            return ROOT
        found = self.model.dept_id(key)
        if found is None:
            raise self.refuse(change, N_("the ERP has no department {key}").format(key=repr(key)))
        return found

    def user(self, change: Change, login: str) -> User:
        found = self.model.user_by_login(login)
        if found is None:
            raise self.refuse(change, N_("the ERP has no user {key}").format(key=repr(login)))
        if found.id == ADMIN_USER_ID:
            raise self.refuse(
                change, N_("user_id 1 is RuoYi's super administrator; erpsync never touches it")
            )
        return found

    def role(self, change: Change, key: str) -> Role:
        found = self.model.role_by_key(key)
        if found is None:
            raise self.refuse(change, N_("the ERP has no role {key}").format(key=repr(key)))
        if found.id == ADMIN_ROLE_ID or _fold(found.key) == ADMIN_ROLE_KEY:
            raise self.refuse(
                change,
                N_("the admin role (role_id 1, key admin) is RuoYi's; erpsync never touches it"),
            )
        return found

    # -- departments ------------------------------------------------------------------------

    def _dept_name(self, change: Change, name: Any, parent: int, itself: int | None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise self.refuse(change, N_("a department needs a name"))
        self.length(change, "sys_dept", "dept_name", name)
        for other in self.model.depts.values():
            if other.parent == parent and other.id != itself and _fold(other.name) == _fold(name):
                if parent == ROOT:
                    why = N_("a department named {name} already exists at the top").format(
                        name=repr(other.name)
                    )
                else:
                    why = N_("a department named {name} already exists under {parent}").format(
                        name=repr(other.name), parent=self.model.dept_key(parent)
                    )
                raise self.refuse(change, why)
        return name

    def _leader(self, change: Change, manager: Any) -> str | None:
        if manager is not None:
            self.length(change, "sys_dept", "leader", str(manager))
        return None if manager is None else str(manager)

    def create_department(self, change: Change) -> Dept:
        after = self.attributes(change)
        parent = self.dept(change, after.get("parent"))
        name = self._dept_name(change, after.get("name"), parent, None)
        if self.model.dept_id(change.key) is not None:
            raise self.refuse(change, N_("the ERP already has a department under that key"))
        siblings = [d.order for d in self.model.depts.values() if d.parent == parent]
        dept = Dept(
            self.model.provisional_id(),
            name,
            parent,
            self._leader(change, after.get("manager")),
            max(siblings, default=0) + 1,
        )
        self.model.depts[dept.id] = dept
        self.led.add(change.key)
        self.model.bind(dept.id, change.key)
        self.moved.add(dept.id)
        self.placing[change.key] = change
        return dept

    def update_department(self, change: Change) -> Dept:
        after = self.attributes(change)
        dept = self.model.depts[self.dept(change, change.renamed_from or change.key)]
        self.model.bind(dept.id, change.key)  # its key stays whatever its name becomes
        parent = self.dept(change, after["parent"]) if "parent" in after else dept.parent
        if parent != ROOT and dept.id in self.model.path(parent):
            raise self.refuse(change, N_("a department cannot move below itself"))
        if "name" in after or parent != dept.parent:
            dept.name = self._dept_name(change, after.get("name", dept.name), parent, dept.id)
        if parent != dept.parent:
            dept.parent = parent
            self.moved.add(dept.id)
        self.placing[change.key] = change
        if "manager" in after:
            dept.leader = self._leader(change, after["manager"])
            self.led.add(change.key)
        self.model.tree_changed()
        return dept

    def delete_department(self, change: Change) -> Dept:
        dept = self.model.depts[self.dept(change, change.key)]
        children = self.model.children(dept.id)
        if children:
            names = ", ".join(sorted(self.model.dept_key(c) for c in children))
            why = N_("it still has departments ({keys}); RuoYi refuses").format(keys=names)
            raise self.refuse(change, why)
        members = sorted(u.login for u in self.model.users.values() if u.dept == dept.id)
        if members:
            why = N_("it still has users ({logins}); RuoYi refuses").format(
                logins=", ".join(members)
            )
            raise self.refuse(change, why)
        scoped = sorted(r.key for r in self.model.roles.values() if dept.id in r.depts)
        if scoped:
            why = N_("the data scope of role(s) {keys} names it").format(keys=", ".join(scoped))
            raise self.refuse(change, why)
        del self.model.depts[dept.id]
        self.model.tree_changed()
        return dept

    # -- users ------------------------------------------------------------------------------

    def _login(self, change: Change, login: str, itself: int | None) -> None:
        if not login:
            raise self.refuse(change, N_("a user needs a login"))
        self.length(change, "sys_user", self.schema.login, login)
        other = self.model.user_by_login(login, exact=False)
        if other is not None and other.id != itself:
            raise self.refuse(
                change,
                N_(
                    "the login is taken by user {login} (RuoYi compares logins case-insensitively)"
                ).format(login=repr(other.login)),
            )

    def _user_fields(self, change: Change, user: User, after: Mapping[str, Any]) -> None:
        if "name" in after:
            name = after["name"]
            if not isinstance(name, str) or not name:
                raise self.refuse(change, N_("a user needs a name"))
            self.length(change, "sys_user", self.schema.display, name)
            user.name = name
        if "email" in after:
            self.length(change, "sys_user", "email", after["email"])
            user.email = after["email"]
        if "department" in after:
            dept = self.dept(change, after["department"])
            user.dept = dept if dept != ROOT else None

    def _not_a_leader_yet(self, change: Change, login: str) -> None:
        """Refuse a new login that a department's ``leader`` text already holds: RuoYi's
        leader is free text, read as the manager only while it is a login, so the new user
        would silently become that department's manager, which the plan does not say."""
        for dept in self.model.depts.values():
            if dept.leader == login and self.model.dept_key(dept.id) not in self.led:
                raise self.refuse(
                    change,
                    N_(
                        "department {department} has the leader {leader} (free "
                        "text in RuoYi), which would name this user as its manager: declare "
                        "manager: {login} for it, or change its leader in RuoYi"
                    ).format(
                        department=self.model.dept_key(dept.id), leader=repr(login), login=login
                    ),
                )

    def create_user(self, change: Change) -> User:
        after = self.attributes(change)
        self._login(change, change.key, None)
        self._not_a_leader_yet(change, change.key)
        user = User(self.model.provisional_id(), change.key, "", active=after.get("active", True))
        self._user_fields(change, user, {"name": after.get("name"), **after})
        self.model.add_user(user)
        return user

    def update_user(self, change: Change) -> User:
        after = self.attributes(change)
        user = self.user(change, change.renamed_from or change.key)
        if "key" in after and after["key"] != user.login:
            if self.schema.variant == "ruoyi":
                raise self.refuse(
                    change,
                    N_(
                        "RuoYi (Shiro) hashes the password with the login (md5(login + password "
                        "+ salt)): renaming the login would lock the user out"
                    ),
                )
            self._login(change, str(after["key"]), user.id)
            self._not_a_leader_yet(change, str(after["key"]))
            for dept in self.model.depts.values():  # leader holds the manager's login
                if dept.leader == user.login:
                    dept.leader = str(after["key"])
                    self.leaders.add(dept.id)
            self.model.rename_user(user, str(after["key"]))
        self._user_fields(change, user, after)
        if "active" in after:
            user.active = bool(after["active"])
        return user

    def set_active(self, change: Change, active: bool) -> User:
        user = self.user(change, change.key)
        user.active = active
        return user

    def delete_user(self, change: Change) -> User:
        user = self.user(change, change.key)
        return self.model.remove_user(user.id)

    # -- roles ------------------------------------------------------------------------------

    def _role_fields(self, change: Change, role: Role, after: Mapping[str, Any]) -> None:
        if "name" in after:
            name = after["name"]
            if not isinstance(name, str) or not name:
                raise self.refuse(change, N_("a role needs a name"))
            self.length(change, "sys_role", "role_name", name)
            for other in self.model.roles.values():
                if other.id != role.id and _fold(other.name) == _fold(name):
                    why = N_("role {role} already has the name {name}").format(
                        role=repr(other.key), name=repr(other.name)
                    )
                    raise self.refuse(change, why)
            role.name = name
        if "description" in after:
            self.length(change, "sys_role", "remark", after["description"])
            role.remark = after["description"]
        if "data_scope" in after:
            scope = after["data_scope"]
            if scope is not None and scope not in CODE_BY_SCOPE:
                raise self.refuse(
                    change, N_("unknown data scope {scope}").format(scope=repr(scope))
                )
            role.scope = None if scope is None else CODE_BY_SCOPE[scope]
        if "data_departments" in after:
            role.depts = {self.dept(change, d) for d in after["data_departments"] or ()}
        if role.depts and SCOPE_BY_CODE.get(role.scope or "") != CUSTOM:
            raise self.refuse(change, N_("data departments need data_scope custom"))

    def _role_key(self, change: Change, key: str, itself: int | None) -> None:
        if _fold(key) == ADMIN_ROLE_KEY:
            raise self.refuse(
                change, N_("RuoYi has exactly one admin role; erpsync never makes one")
            )
        if not key:
            raise self.refuse(change, N_("a role needs a key"))
        self.length(change, "sys_role", "role_key", key)
        other = self.model.role_by_key(key, exact=False)
        if other is not None and other.id != itself:
            raise self.refuse(
                change,
                N_(
                    "the key is taken by role {role} (RuoYi compares role keys case-insensitively)"
                ).format(role=repr(other.key)),
            )

    def create_role(self, change: Change) -> Role:
        after = self.attributes(change)
        key = change.key
        self._role_key(change, key, None)
        sort = max((r.sort for r in self.model.roles.values()), default=0) + 1
        role = Role(self.model.provisional_id(), key, "", sort=sort)
        self._role_fields(change, role, {"name": after.get("name"), **after})
        self.model.add_role(role)
        self.declared[role.id] = set()
        self.held_before[role.id] = set()
        return role

    def update_role(self, change: Change) -> Role:
        after = self.attributes(change)
        role = self.role(change, change.renamed_from or change.key)
        if "key" in after and after["key"] != role.key:
            self._role_key(change, str(after["key"]), role.id)
            self.model.rename_role(role, str(after["key"]))
        self._role_fields(change, role, after)
        return role

    def delete_role(self, change: Change) -> Role:
        role = self.role(change, change.key)
        holders = self.model.holders(role.id)
        if holders:
            why = N_("users still hold it ({logins}); RuoYi refuses to delete it").format(
                logins=", ".join(holders)
            )
            raise self.refuse(change, why)
        self.model.remove_role(role.id)
        self.declared.pop(role.id, None)
        return role

    # -- grants -----------------------------------------------------------------------------

    def _permission(self, change: Change) -> tuple[Role, str, tuple[int, ...]]:
        owner, permission = change.parts()
        role = self.role(change, owner)
        menus = self.model.menus_of(permission)
        if not menus:
            why = N_("no menu of the ERP has the perms of {permission}").format(
                permission=repr(permission)
            )
            raise self.refuse(change, why)
        if role.id not in self.declared:
            self.declared[role.id] = self.model.permissions_of(role.id)
            self.held_before[role.id] = set(self.model.role_menus.get(role.id, ()))
        return role, permission, menus

    def grant_permission(self, change: Change) -> list[tuple[int, int]]:
        """Grant; returns the sys_role_menu rows added (the button's and the rows above it)."""
        role, permission, menus = self._permission(change)
        self.declared[role.id].add(permission)
        self.granting.setdefault(role.id, change)
        wanted = {m for menu in menus for m in (menu, *self.model.menu_ancestors(menu))}
        held = self.model.role_menus.setdefault(role.id, set())
        added = sorted((role.id, m) for m in wanted - held)
        held.update(wanted)
        return added

    def revoke_permission(self, change: Change) -> list[tuple[int, int]]:
        """Revoke; returns the sys_role_menu rows removed: the permission's, and directory
        or page rows (without perms) above them that no menu the role keeps needs."""
        role, permission, menus = self._permission(change)
        self.declared[role.id].discard(permission)
        self.revoking[(role.id, permission)] = change
        held = self.model.role_menus.setdefault(role.id, set())
        gone = held & set(menus)
        above = {
            a
            for m in gone
            for a in self.model.menu_ancestors(m)
            if a in held and self.model.menus[a].permission is None
        }
        anchors = held - gone - above  # rows kept for their own sake
        needed = {a for m in anchors for a in self.model.menu_ancestors(m)}
        gone |= above - needed
        held -= gone
        return sorted((role.id, m) for m in gone)

    # -- memberships ------------------------------------------------------------------------

    def membership(self, change: Change) -> tuple[int, int]:
        login, key = change.parts()
        return self.user(change, login).id, self.role(change, key).id

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
        handler = _HANDLERS.get((change.kind, change.action))
        if handler is None:
            why = N_("RuoYi has no way to {action} a {kind}").format(
                action=change.action, kind=change.kind
            )
            raise self.refuse(change, why)
        return handler(self, change)

    def finish(self) -> None:
        """The checks that need the whole plan: what grants mean, and ``ancestors``;
        raises the first refusal."""
        for refused in self.pending():
            raise refused

    def pending(self) -> Iterator[Refused]:
        """What the checks that need the whole plan refuse, each naming the change to
        blame where one is (a role's first grant, the revoke, the department placed)."""
        for role_id, declared in sorted(self.declared.items()):
            role = self.model.roles.get(role_id)
            if role is None:
                continue
            extra = sorted(self.model.permissions_of(role_id) - declared)
            if extra:
                if len(extra) > 1:
                    why = N_(
                        "in RuoYi a button needs the page above it, and that page grants "
                        "{permissions} as well: declare them for the role too"
                    )
                else:
                    why = N_(
                        "in RuoYi a button needs the page above it, and that page grants "
                        "{permissions} as well: declare it for the role too"
                    )
                why = why.format(permissions=", ".join(extra))
                yield Refused(
                    N_("cannot grant the permissions of role {role}: {reason}").format(
                        role=role.key, reason=why
                    ),
                    self.granting.get(role_id),
                    why,
                )
            held = self.model.role_menus.get(role_id, set())
            lost = self.held_before.get(role_id, set()) - held
            for menu in sorted(held):
                if self.model.menus[menu].permission is None:
                    continue
                missing = [a for a in self.model.menu_ancestors(menu) if a in lost]
                if missing:
                    page = self.model.menus[missing[0]]
                    why = N_(
                        "its menu {menu} is the page above {permission}, which the role keeps"
                    ).format(menu=page.name, permission=self.model.menus[menu].permission)
                    yield Refused(
                        N_("cannot revoke {permission} from role {role}: {reason}").format(
                            permission=page.permission, role=role.key, reason=why
                        ),
                        self.revoking.get((role_id, page.permission or "")),
                        why,
                    )
                    break
        yield from self.too_deep(self.subtrees(self.moved), provisional=True)

    def subtrees(self, roots: Iterable[int]) -> list[int]:
        out: dict[int, None] = {}
        for root in roots:
            if root in self.model.depts:
                out.update(dict.fromkeys(self.model.subtree(root)))
        return list(out)

    def check_ancestors(self, dept_ids: Iterable[int], provisional: bool = False) -> None:
        """Refuse ``ancestors`` values longer than the column (provisional ids counted at
        the width the next ids will have)."""
        for refused in self.too_deep(dept_ids, provisional):
            raise refused

    def too_deep(self, dept_ids: Iterable[int], provisional: bool = False) -> Iterator[Refused]:
        limit = self.schema.length("sys_dept", "ancestors")
        if limit is None or not self.schema.has("sys_dept", "ancestors"):
            return
        width = len(str(max((i for i in self.model.depts if i > 0), default=0) + 1000))
        for dept_id in dept_ids:
            value = self.model.ancestors(dept_id, width if provisional else 0)
            if len(value) > limit:
                key = self.model.dept_key(dept_id)
                why = N_(
                    "its ancestors {value} would be {n} characters, RuoYi's "
                    "sys_dept.ancestors holds {limit} (the tree is too deep)"
                ).format(value=repr(value), n=len(value), limit=limit)
                yield Refused(
                    N_("cannot place department {key}: {reason}").format(key=key, reason=why),
                    self.placing.get(key),
                    why,
                )


_HANDLERS = handlers(Rules)


def check_plan(model: Model, schema: SchemaFacts, changes: Sequence[Change]) -> None:
    """Run every change through :class:`Rules` on a copy of ``model``; raise on the first
    change RuoYi would refuse. Nothing is written."""
    for refused in required_columns(schema, changes):
        raise refused
    rules = Rules(model.copy(), schema)
    for change in changes:
        rules.apply(change)
    rules.finish()


def refusals(model: Model, schema: SchemaFacts, changes: Sequence[Change]) -> list[Refused]:
    """Every change RuoYi would refuse, run through :class:`Rules` on a copy of ``model``
    (for the planner). A change whose subject (the object, the role or user of a link,
    the department it names) was refused or skipped is skipped, not refused again."""
    found = list(required_columns(schema, changes))
    rules = Rules(model.copy(), schema)
    blocked: set[tuple[str, str]] = set()
    for change in changes:
        if _subjects(change) & blocked:
            blocked |= _own(change)
            continue
        try:
            rules.apply(change)
        except Refused as exc:
            found.append(exc)
            blocked |= _own(change)
    found += rules.pending()
    return found


def _own(change: Change) -> set[tuple[str, str]]:
    """The object a change makes or changes (nothing, for a grant or revoke)."""
    if change.kind in (Kind.DEPARTMENT, Kind.USER, Kind.ROLE):
        return {(str(change.kind), change.key)}
    return set()


def _subjects(change: Change) -> set[tuple[str, str]]:
    """Every object a change needs: its own, its owner and item, the departments named."""
    after = change.after or {}
    if change.kind is Kind.PERMISSION:
        return {("role", change.parts()[0])}
    if change.kind is Kind.MEMBERSHIP:
        login, role = change.parts()
        return {("user", login), ("role", role)}
    named = [after.get("parent"), after.get("department"), *(after.get("data_departments") or ())]
    return _own(change) | {("department", d) for d in named if isinstance(d, str)}


# One template per table (one that began with the table as a placeholder would also match
# the refusal that quotes it)
_UNFILLED = {
    "sys_dept": N_(
        "sys_dept has required column(s) {columns} that erpsync does not know how to fill"
    ),
    "sys_user": N_(
        "sys_user has required column(s) {columns} that erpsync does not know how to fill"
    ),
    "sys_role": N_(
        "sys_role has required column(s) {columns} that erpsync does not know how to fill"
    ),
}


def required_columns(schema: SchemaFacts, changes: Sequence[Change]) -> Iterator[Refused]:
    """Refuse creating rows of a table that has a required column erpsync cannot fill."""
    filled = {
        "sys_dept": {"dept_id", "parent_id", "ancestors", "dept_name", "order_num", "leader"},
        "sys_user": {"user_id", "dept_id", schema.login, schema.display, "email", "user_type"},
        "sys_role": {"role_id", "role_key", "role_name", "role_sort", "data_scope", "remark"},
    }
    common = {"status", "del_flag", "create_by", "create_time", "update_by", "update_time"}
    tables = {Kind.DEPARTMENT: "sys_dept", Kind.USER: "sys_user", Kind.ROLE: "sys_role"}
    for kind, table in tables.items():
        first = next((c for c in changes if c.kind is kind and c.action is Action.CREATE), None)
        if first is None:
            continue
        unknown = [n for n in schema.required(table) if n not in filled[table] | common]
        if unknown:
            why = _UNFILLED[table].format(columns=", ".join(unknown))
            yield Refused(
                N_("cannot create {kind}s: {reason}").format(kind=kind, reason=why), first, why
            )
