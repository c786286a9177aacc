"""From a live ERP to policy documents: what ``erpsync import`` writes.

:func:`import_policy` is pure: it reads a :class:`LiveSnapshot` and the
:class:`Scope` erpsync would manage, and returns the policy files (relative
path -> :class:`PolicyDocument`) plus what a person should know about them.
The one promise is an exact round trip: resolving the imported policy
(:func:`erpsync.state.desired_state`) gives the live state back within the
scope, so ``erpsync plan`` right after an import shows no changes. Where the
live data cannot be written exactly (a key or a name the policy syntax does
not allow, roles on an inactive account), the import says so in ``warnings``.

What is written, and how:

- Only what the target ERP can store (its adapter's capabilities): an ERP with
  no departments gets none, nor user departments; data scopes, e-mail
  addresses, role descriptions and role names other than the key likewise
  (each dropped one is warned about).
- Departments, roles and users that erpsync manages; protected, ignored and
  out-of-scope objects are left out, except where a managed object refers to
  them (a parent department, a department manager, a user's department, a
  role's data departments): those are written too, unchanged, so the
  references resolve; erpsync still leaves them alone (see ``context``).
- Where the scope leaves undeclared roles alone (``settings.scope.roles:
  declared``, a department scope, or the adapter's default, as in Tryton), a
  role no managed active user holds is left out, and so is a role whose key
  is no valid policy key: left out, it stays as it is, where a renamed key
  would plan a second role.
- A role's permissions are grouped by module, in the catalogue's order of
  actions, and written as ``["*"]`` when the role holds every action the
  catalogue lists for the module.
- Department default roles are inferred: a role held by every active member
  of a department's whole subtree (at least two of them) becomes a default of
  the highest such department and is not repeated on those users. Inactive
  users hold no roles in a policy, so they do not count.
- Files: ``departments.yaml`` (parents before children), ``roles/<area>.yaml``
  (area: the module prefix most of the role's permissions belong to),
  ``users/<top-level department>.yaml`` (``users/unassigned.yaml`` without a
  department) and ``catalog.yaml``; everything sorted, so the same ERP always
  gives the same files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from erpsync import access
from erpsync.adapters.base import Capabilities, LiveSnapshot
from erpsync.i18n import N_
from erpsync.policy.model import (
    ALL_ACTIONS,
    EMAIL_PATTERN,
    KEY_PATTERN,
    MODULE_PATTERN,
    NAME_LIMIT,
    NAME_PATTERN,
    PERMISSION_PATTERN,
    Department,
    Module,
    PolicyDocument,
    Role,
    User,
)
from erpsync.scope import SLASH_ROLE, SLASH_USER, Scope
from erpsync.state import ASSIGNMENTS, DepartmentRec, RoleRec, State

DATA_SCOPES = frozenset({"all", "department", "department_tree", "self", "custom"})
TEXT_LIMIT = 1000  # model.Text
EMAIL_LIMIT = 254
MIN_DEFAULT_MEMBERS = 2  # one person's roles never become a department default
NO_DEPARTMENT = "unassigned"
NO_AREA = "common"

_KEY = re.compile(KEY_PATTERN)
_NAME = re.compile(NAME_PATTERN)
_MODULE = re.compile(MODULE_PATTERN)
_AREA = re.compile(r"[.:]")  # what ends the first part of a module's name
_PERMISSION = re.compile(PERMISSION_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
_NOT_KEY_CHARS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_NOT_FILE_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|\s]+')

Note = tuple[str, str, str]  # (kind, key, why)


@dataclass(frozen=True)
class Imported:
    """The policy files of one import and what the person running it should know."""

    files: dict[str, PolicyDocument]  # relative POSIX path -> document, sorted by path
    defaults: dict[str, tuple[str, ...]] = field(default_factory=dict)  # inferred, by department
    renamed: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, live key) -> key
    left_out: tuple[Note, ...] = ()  # not written: protected, ignored, outside the scope
    context: tuple[Note, ...] = ()  # written only so that references resolve; not managed
    warnings: tuple[str, ...] = ()  # where the round trip is not exact, or live data is dirty

    def count(self, section: str) -> int:
        """How many objects of ``section`` (departments, roles, users, modules) were written."""
        return sum(len(getattr(doc, section)) for doc in self.files.values())


def import_policy(
    snapshot: LiveSnapshot, scope: Scope, can: Capabilities | None = None
) -> Imported:
    """The policy documents that declare ``snapshot`` as it is, within ``scope``, using
    only what an ERP that ``can`` store this can (default: everything)."""
    return _Importer(snapshot, scope, can or Capabilities()).run()


def storable(state: State, can: Capabilities) -> tuple[State, list[str]]:
    """``state`` without what the ERP cannot store, and a warning for each thing dropped
    (an adapter that cannot store something does not read it either: these are defensive)."""
    dropped: list[str] = []
    departments = state.departments
    if not can.departments and departments:
        dropped.append(
            N_("{n} department(s): the ERP stores none; left out").format(n=len(departments))
        )
        departments = {}
    users = dict(state.users)
    for login, user in state.users.items():
        department, email = user.department, user.email
        if not can.departments and department is not None:
            dropped.append(
                N_("user {login}: department left out (the ERP stores none)").format(login=login)
            )
            department = None
        if not can.email and email is not None:
            dropped.append(
                N_("user {login}: email left out (the ERP stores none)").format(login=login)
            )
            email = None
        held: dict[str, Any] = {n: None for n in ASSIGNMENTS if n not in can.user_assignments}
        users[login] = dataclasses.replace(user, email=email, department=department, **held)
    roles = dict(state.roles)
    for key, role in state.roles.items():
        scope, data, description = role.data_scope, role.data_departments, role.description
        if scope is not None and (
            not can.data_scope or (scope == "custom" and not can.custom_data_scope)
        ):
            dropped.append(
                N_("role {key}: data scope {scope} left out (the ERP cannot store it)").format(
                    key=key, scope=scope
                )
            )
            scope, data = None, ()
        if description is not None and not can.role_descriptions:
            dropped.append(
                N_("role {key}: description left out (the ERP stores none)").format(key=key)
            )
            description = None
        roles[key] = RoleRec(role.key, role.name, description, scope, data)
    kept = State(departments, users, roles, state.grants, state.user_roles)
    return kept, dropped


@dataclass
class _Selection:
    """Which live objects are written, and why the others are not."""

    users: set[str] = field(default_factory=set)  # managed
    roles: set[str] = field(default_factory=set)  # managed
    departments: set[str] = field(default_factory=set)  # managed
    context_users: set[str] = field(default_factory=set)
    context_departments: set[str] = field(default_factory=set)
    left_out: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, key) -> why
    context: dict[tuple[str, str], str] = field(default_factory=dict)


class _Importer:
    def __init__(self, snapshot: LiveSnapshot, scope: Scope, can: Capabilities) -> None:
        self.snapshot = snapshot
        self.live, dropped = storable(snapshot.state, can)
        self.scope = scope
        self.warnings: list[str] = [
            N_("live data: {problem}").format(problem=p) for p in (*snapshot.problems, *dropped)
        ]
        self.held = self.live.user_roles
        self.sel = _Selection()
        self.keys: dict[str, dict[str, str]] = {}  # kind -> live key -> policy key
        self.renamed: dict[tuple[str, str], str] = {}

    def run(self) -> Imported:
        self.select()
        self.assign_keys()
        defaults = infer_defaults(
            self.live.departments,
            self.written_departments(),
            self.sel.departments,
            self.active_members(),
        )
        files: dict[str, dict[str, dict[str, Any]]] = {}
        self.add_departments(files, defaults)
        self.add_roles(files)
        self.add_users(files, defaults)
        documents = {
            path: PolicyDocument(**sections)
            for path, sections in files.items()
            if any(sections.values())
        }
        catalogue = self.catalogue()
        if catalogue:
            documents = {"catalog.yaml": PolicyDocument(modules=catalogue), **documents}
        return Imported(
            files=dict(sorted(documents.items())),
            defaults={
                self.key("department", d): tuple(self.key("role", r) for r in roles)
                for d, roles in defaults.items()
            },
            renamed=self.renamed,
            left_out=_notes(self.sel.left_out),
            context=_notes(self.sel.context),
            warnings=tuple(self.warnings),
        )

    # -- which objects ------------------------------------------------------------------------

    def select(self) -> None:
        self.select_users()
        self.select_roles()
        self.select_departments()

    def select_users(self) -> None:
        departments = self.live.departments
        for login in sorted(self.live.users):
            user = self.live.users[login]
            reason = self.scope.user_reason(login, user.department, departments)
            if reason is None:
                self.sel.users.add(login)
            else:
                self.sel.left_out[("user", login)] = reason
                self.warn_unnameable("user", login, reason)

    def select_roles(self) -> None:
        held_inside = {
            role
            for login in self.sel.users
            if self.live.users[login].active
            for role in self.held.get(login, ())
        }
        undeclared = self.scope.undeclared_role_reason()
        for key in sorted(self.live.roles):
            reason = self.scope.role_reason(key, declared=True)
            if reason is None and undeclared is not None:
                if key not in held_inside:
                    reason = (
                        N_("held by no active user inside settings.scope")
                        if self.scope.departments is not None
                        else N_("held by no active user erpsync manages; {reason}").format(
                            reason=undeclared
                        )
                    )
                elif not _KEY.match(key):
                    reason = N_("{key} is not a valid policy key; {reason}").format(
                        key=repr(key), reason=undeclared
                    )
            if reason is None:
                self.sel.roles.add(key)
            else:
                self.sel.left_out[("role", key)] = reason
                self.warn_unnameable("role", key, reason)

    def warn_unnameable(self, kind: str, key: str, reason: str) -> None:
        """A warning for a live role or user left out because no policy can name it."""
        if reason in (SLASH_ROLE, SLASH_USER):
            left_out = _UNNAMEABLE[kind]
            self.warnings.append(left_out.format(key=repr(key), reason=reason))

    def select_departments(self) -> None:
        live = self.live.departments
        for key in sorted(live):
            if self.scope.department_reason(key, live) is None:
                self.sel.departments.add(key)
        self.select_context_users()
        needed = self.referenced_departments()
        for key in sorted(live):
            if key in self.sel.departments:
                continue
            reason = self.scope.department_reason(key, live) or N_("not managed")
            if key in needed:
                self.sel.context_departments.add(key)
                self.sel.context[("department", key)] = N_(
                    "{reason}; written as a reference"
                ).format(reason=reason)
            else:
                self.sel.left_out[("department", key)] = reason

    def select_context_users(self) -> None:
        """Managers of managed departments whom erpsync does not manage are written as
        references; a manager who is no user of the ERP is dropped, with a warning."""
        for key in sorted(self.sel.departments):
            manager = self.live.departments[key].manager
            if manager is None or manager in self.sel.users:
                continue
            if manager not in self.live.users:
                self.warnings.append(
                    N_(
                        "department {key}: its manager {manager} is no user of the ERP; "
                        "left out (the plan will clear the manager)"
                    ).format(key=key, manager=repr(manager))
                )
            elif "/" in manager:
                self.warnings.append(
                    N_(
                        "department {key}: its manager {manager} cannot be named in a policy "
                        "(a login holds no '/'); left out (the plan will clear the manager)"
                    ).format(key=key, manager=repr(manager))
                )
            elif manager not in self.sel.context_users:
                self.sel.context_users.add(manager)
                reason = self.sel.left_out.pop(("user", manager))
                self.sel.context[("user", manager)] = N_(
                    "{reason}; written as manager of department {key}"
                ).format(reason=reason, key=key)

    def referenced_departments(self) -> set[str]:
        """Managed departments and every department a written object refers to, with
        all their ancestors."""
        users = self.live.users
        wanted = set(self.sel.departments)
        wanted.update(
            d
            for login in self.sel.users | self.sel.context_users
            if (d := users[login].department) is not None
        )
        wanted.update(d for r in self.sel.roles for d in self.live.roles[r].data_departments)
        return _with_ancestors(wanted, self.live.departments)

    def written_departments(self) -> set[str]:
        return self.sel.departments | self.sel.context_departments

    def active_members(self) -> dict[str, list[frozenset[str]]]:
        """Department -> the written roles of each active managed user in it."""
        out: dict[str, list[frozenset[str]]] = {}
        for login in self.sel.users:
            user = self.live.users[login]
            if user.active and user.department is not None:
                roles = self.held.get(login, frozenset()) & self.sel.roles
                out.setdefault(user.department, []).append(roles)
        return out

    # -- keys ---------------------------------------------------------------------------------

    def assign_keys(self) -> None:
        self.keys["department"] = self.policy_keys("department", self.written_departments())
        self.keys["role"] = self.policy_keys("role", self.sel.roles)
        self.keys["user"] = self.policy_keys("user", self.sel.users | self.sel.context_users)

    def policy_keys(self, kind: str, live_keys: Iterable[str]) -> dict[str, str]:
        keys = sorted(live_keys)
        out = {k: k for k in keys if _KEY.match(k)}
        taken = set(out.values())
        for key in keys:
            if key in out:
                continue
            new = derive_key(key, kind, taken)
            out[key] = new
            taken.add(new)
            self.renamed[(kind, key)] = new
            self.warnings.append(
                _NOT_A_KEY[kind].format(key=repr(key), new=repr(new), new_again=repr(new))
            )
        return out

    def key(self, kind: str, live_key: str) -> str:
        return self.keys[kind][live_key]

    def department_ref(self, kind: str, key: str, field: str, live_key: str | None) -> str | None:
        """The policy key of a department a record points at; a department the ERP does
        not have (dirty data an adapter let through) is dropped with a warning."""
        if live_key is None:
            return None
        if live_key in self.keys["department"]:
            return self.key("department", live_key)
        unknown = _NOT_A_DEPARTMENT[(kind, field)]
        self.warnings.append(unknown.format(key=key, value=repr(live_key)))
        return None

    # -- documents ----------------------------------------------------------------------------

    def add_departments(
        self, files: dict[str, dict[str, dict[str, Any]]], defaults: Mapping[str, list[str]]
    ) -> None:
        live = self.live.departments
        written = self.written_departments()
        section = files.setdefault("departments.yaml", {}).setdefault("departments", {})
        for key in tree_order(live, written):
            rec = live[key]
            manager = rec.manager
            if manager is not None and manager not in self.keys["user"]:
                manager = None  # warned about in select_context_users (managed departments)
            section[self.key("department", key)] = Department(
                name=self.text("department", key, "name", rec.name, required=True) or key,
                parent=self.department_ref("department", key, "parent", rec.parent),
                manager=None if manager is None else self.key("user", manager),
                default_roles=[self.key("role", r) for r in defaults.get(key, ())],
            )

    def add_roles(self, files: dict[str, dict[str, dict[str, Any]]]) -> None:
        grants = self.role_grants()
        for key in sorted(self.sel.roles):
            rec = self.live.roles[key]
            perms = grants.get(key, {})
            path = f"roles/{file_stem(role_area(perms))}.yaml"
            data_scope, data_departments = self.data_scope(
                key, rec.data_scope, rec.data_departments
            )
            section = files.setdefault(path, {}).setdefault("roles", {})
            section[self.key("role", key)] = Role(
                name=self.text("role", key, "name", rec.name, required=True) or key,
                description=self.text("role", key, "description", rec.description),
                permissions=self.compact(perms),
                data_scope=data_scope,
                data_departments=[
                    ref
                    for d in data_departments
                    if (ref := self.department_ref("role", key, "data department", d))
                ],
            )

    def add_users(
        self, files: dict[str, dict[str, dict[str, Any]]], defaults: Mapping[str, list[str]]
    ) -> None:
        inherited = inherited_roles(self.live.departments, self.written_departments(), defaults)
        groups = user_groups(self.live.departments, self.written_departments())
        for login in sorted(self.sel.users | self.sel.context_users):
            rec = self.live.users[login]
            department = self.department_ref("user", login, "department", rec.department)
            group = NO_DEPARTMENT
            if department is not None and rec.department is not None:
                group = self.key("department", groups[rec.department])
            section = files.setdefault(f"users/{file_stem(group)}.yaml", {}).setdefault("users", {})
            section[self.key("user", login)] = User(
                name=self.text("user", login, "name", rec.name, required=True) or login,
                email=self.email(login, rec.email),
                department=department,
                roles=sorted(self.key("role", r) for r in self.explicit_roles(login, inherited)),
                active=rec.active,
                **self.assignments(login),
            )

    def assignments(self, login: str) -> dict[str, list[str]]:
        """A managed user's posts, warehouses and customers as the ERP has them; those it
        holds none of are left undeclared (so unmanaged), keeping the files short."""
        if login not in self.sel.users:
            return {}
        rec = self.live.users[login]
        return {n: list(v) for n in ASSIGNMENTS if (v := getattr(rec, n))}

    def explicit_roles(self, login: str, inherited: Mapping[str, frozenset[str]]) -> set[str]:
        """The written roles a user holds that no department default explains."""
        rec = self.live.users[login]
        if login not in self.sel.users:
            return set()  # a reference: its roles are not managed
        roles = set(self.held.get(login, frozenset()) & self.sel.roles)
        if roles and not rec.active:
            self.warnings.append(
                N_(
                    "user {login} is inactive but holds roles in the ERP "
                    "({roles}); written inactive without them "
                    "(the plan will revoke them)"
                ).format(login=login, roles=", ".join(sorted(roles)))
            )
            return set()
        if rec.department is not None:
            roles -= inherited.get(rec.department, frozenset())
        return roles

    def catalogue(self) -> dict[str, Module]:
        out: dict[str, Module] = {}
        for module, actions in sorted(self.snapshot.catalogue.items()):
            valid = [a for a in actions if _action(a)]
            if not _module(module) or not valid:
                self.warnings.append(
                    N_("catalogue: module {module} cannot be written: left out").format(
                        module=repr(module)
                    )
                )
                continue
            name = self.snapshot.module_names.get(module) or None
            out[module] = Module(
                name=None if name is None else name[:TEXT_LIMIT],
                actions=list(dict.fromkeys(valid)),
                requires=self.requires(module, valid),
            )
        return out

    def requires(self, module: str, actions: list[str]) -> dict[str, list[str]]:
        """Action -> the permissions granting it also grants (a button's page), for those
        of ``actions`` that bring any; permissions that cannot be written are left out."""
        out = {}
        for action in actions:
            needed = self.snapshot.requires.get(access.permission(module, action), ())
            written = [p for p in needed if _PERMISSION.match(p)]
            if written:
                out[action] = written
        return out

    # -- fields -------------------------------------------------------------------------------

    def role_grants(self) -> dict[str, dict[str, set[str]]]:
        """Written role -> module -> actions, skipping what the catalogue does not list."""
        catalogue = self.snapshot.catalogue
        out: dict[str, dict[str, set[str]]] = {}
        for role, perm in sorted(self.live.grants):
            if role not in self.sel.roles:
                continue
            module, _, action = perm.rpartition(":")
            unknown = catalogue and action not in catalogue.get(module, ())
            if unknown or not (_module(module) and _action(action)):
                self.warnings.append(
                    N_(
                        "role {role}: permission {permission} is not in the ERP's catalogue; "
                        "left out (the plan will revoke it)"
                    ).format(role=role, permission=repr(perm))
                )
                continue
            out.setdefault(role, {}).setdefault(module, set()).add(action)
        return out

    def compact(self, perms: Mapping[str, set[str]]) -> dict[str, list[str]]:
        """Module -> actions in the catalogue's order; ``["*"]`` for every action."""
        catalogue = self.snapshot.catalogue
        out = {}
        for module in sorted(perms):
            listed = catalogue.get(module, ())
            actions = perms[module]
            if listed and actions >= set(listed):
                out[module] = [ALL_ACTIONS]
            else:
                order = {a: i for i, a in enumerate(listed)}
                out[module] = sorted(actions, key=lambda a: (order.get(a, len(order)), a))
        return out

    def data_scope(
        self, role: str, scope: str | None, departments: tuple[str, ...]
    ) -> tuple[str | None, tuple[str, ...]]:
        if scope is not None and scope not in DATA_SCOPES:
            self.warnings.append(
                N_("role {role}: data scope {scope} has no policy equivalent; left out").format(
                    role=role, scope=repr(scope)
                )
            )
            scope = None
        if departments and scope != "custom":
            self.warnings.append(
                N_("role {role}: data departments without data scope custom; left out").format(
                    role=role
                )
            )
            departments = ()
        return scope, departments

    def text(
        self, kind: str, key: str, name: str, value: str | None, required: bool = False
    ) -> str | None:
        """``value`` as policy text (1-1000 characters); warns where that changes it."""
        if value is None:
            return None
        if value == "":
            self.warnings.append(_EMPTY[(kind, name, required)].format(key=key))
            return None
        if len(value) > TEXT_LIMIT:
            self.warnings.append(_CUT[(kind, name)].format(key=key, limit=TEXT_LIMIT))
            return value[:TEXT_LIMIT]
        return value

    def email(self, login: str, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) <= EMAIL_LIMIT and _EMAIL.match(value):
            return value
        self.warnings.append(
            N_("user {login}: email {email} is not an email address; left out").format(
                login=login, email=repr(value)
            )
        )
        return None


_KINDS = ("department", "user", "role")

# The importer's warnings about one object, by its kind (and field): one template each, so
# each reads whole in every language.
_UNNAMEABLE = {
    "role": N_("role {key} left out: {reason}"),
    "user": N_("user {key} left out: {reason}"),
}
_NOT_A_DEPARTMENT = {
    ("department", "parent"): N_(
        "department {key}: parent {value} is no department of the ERP; left out"
    ),
    ("role", "data department"): N_(
        "role {key}: data department {value} is no department of the ERP; left out"
    ),
    ("user", "department"): N_(
        "user {key}: department {value} is no department of the ERP; left out"
    ),
}
_EMPTY = {  # (kind, field, required)
    ("department", "name", True): N_("department {key}: empty name written as its key"),
    ("role", "name", True): N_("role {key}: empty name written as its key"),
    ("user", "name", True): N_("user {key}: empty name written as its key"),
    ("role", "description", False): N_("role {key}: empty description left out"),
}
_CUT = {
    ("department", "name"): N_("department {key}: name cut to {limit} characters"),
    ("role", "name"): N_("role {key}: name cut to {limit} characters"),
    ("user", "name"): N_("user {key}: name cut to {limit} characters"),
    ("role", "description"): N_("role {key}: description cut to {limit} characters"),
}

# A live key no policy can hold, by kind: the warning (one template per kind, so each reads
# whole in every language).
_NOT_A_KEY = {
    "department": N_(
        "department {key} is not a valid policy key: written as {new}; "
        "the plan will show it as a different department until the ERP's key is {new_again}"
    ),
    "role": N_(
        "role {key} is not a valid policy key: written as {new}; "
        "the plan will show it as a different role until the ERP's key is {new_again}"
    ),
    "user": N_(
        "user {key} is not a valid policy key: written as {new}; "
        "the plan will show it as a different user until the ERP's key is {new_again}"
    ),
}


# -- pure helpers --------------------------------------------------------------------------------


def _notes(found: Mapping[tuple[str, str], str]) -> tuple[Note, ...]:
    """(kind, key, why), departments first, then users, then roles, each sorted by key."""
    order = sorted(found, key=lambda kk: (_KINDS.index(kk[0]), kk[1]))
    return tuple((kind, key, found[(kind, key)]) for kind, key in order)


def _chain(departments: Mapping[str, DepartmentRec], key: str) -> list[str]:
    """``key`` and its ancestors, nearest first (cycle-safe)."""
    chain: list[str] = []
    current: str | None = key
    while current is not None and current in departments and current not in chain:
        chain.append(current)
        current = departments[current].parent
    return chain


def _with_ancestors(keys: Iterable[str], departments: Mapping[str, DepartmentRec]) -> set[str]:
    out: set[str] = set()
    for key in keys:
        if key not in out:
            out.update(_chain(departments, key))
    return out


def tree_order(departments: Mapping[str, DepartmentRec], keys: Iterable[str]) -> list[str]:
    """``keys`` depth first, parents before children, siblings sorted."""
    wanted = set(keys)
    children: dict[str | None, list[str]] = {}
    for key in sorted(wanted):
        parent = departments[key].parent
        children.setdefault(parent if parent in wanted else None, []).append(key)
    out: list[str] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        key = stack.pop()
        out.append(key)
        stack.extend(reversed(children.get(key, [])))
    out.extend(sorted(wanted - set(out)))  # a parent cycle in dirty data: still written
    return out


def infer_defaults(
    departments: Mapping[str, DepartmentRec],
    written: set[str],
    managed: set[str],
    members: Mapping[str, list[frozenset[str]]],
) -> dict[str, list[str]]:
    """Managed department -> the default roles that explain its members' roles exactly.

    ``members`` holds, per department, the roles of each of its active managed
    users. A role is a default of a department when every such user in its
    subtree (at least two of them) holds it and no department above gives it.
    """
    order = tree_order(departments, written)
    common, counts = _subtree_common_roles(departments, order, members)
    out: dict[str, list[str]] = {}
    given: dict[str, frozenset[str]] = {}
    for key in order:
        parent = departments[key].parent
        above = given.get(parent, frozenset()) if parent is not None else frozenset()
        new: frozenset[str] = frozenset()
        if key in managed and counts.get(key, 0) >= MIN_DEFAULT_MEMBERS:
            new = common[key] - above
        given[key] = above | new
        if new:
            out[key] = sorted(new)
    return out


def _subtree_common_roles(
    departments: Mapping[str, DepartmentRec],
    order: list[str],
    members: Mapping[str, list[frozenset[str]]],
) -> tuple[dict[str, frozenset[str]], dict[str, int]]:
    """Per department (``order``: parents first): the roles every active member of its
    subtree holds, and how many members the subtree has; children are folded into
    their parents, so each department is visited once."""
    written = set(order)
    common: dict[str, frozenset[str]] = {}
    counts: Counter[str] = Counter()
    for key in reversed(order):
        for held in members.get(key, ()):
            common[key] = common[key] & held if key in common else held
            counts[key] += 1
        parent = departments[key].parent
        if parent is not None and parent in written and counts[key]:
            common[parent] = common[parent] & common[key] if parent in common else common[key]
            counts[parent] += counts[key]
    return common, dict(counts)


def inherited_roles(
    departments: Mapping[str, DepartmentRec],
    written: set[str],
    defaults: Mapping[str, list[str]],
) -> dict[str, frozenset[str]]:
    """Department -> the default roles its members get from it and every department above."""
    out: dict[str, frozenset[str]] = {}
    for key in tree_order(departments, written):
        parent = departments[key].parent
        above = out.get(parent, frozenset()) if parent is not None else frozenset()
        out[key] = above | frozenset(defaults.get(key, ()))
    return out


def user_groups(departments: Mapping[str, DepartmentRec], written: set[str]) -> dict[str, str]:
    """Department -> the top-level department whose users file holds its users.

    Top level means the roots of the tree; when the whole organisation hangs
    below one root (the company), its children, and the root keeps its own users.
    """
    roots = [k for k in written if departments[k].parent not in written]
    single = len(roots) == 1
    out = {}
    for key in written:
        chain = _chain(departments, key)
        out[key] = chain[-2] if single and len(chain) >= 2 else chain[-1]
    return out


def derive_key(key: str, kind: str, taken: set[str]) -> str:
    """A valid policy key for a live key that is not one: whitespace and control
    characters become ``-``, a long key is cut and marked with a hash of the original,
    and a key already taken gets that hash too. Stable: the same key gives the same
    result."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    base = _NOT_KEY_CHARS.sub("-", key).strip("-") or kind
    if len(base) > 64:
        base = f"{base[:55]}-{digest}"
    if base in taken:
        base = f"{base[:55]}-{digest}"
    return base


def _module(name: str) -> bool:
    return len(name) <= NAME_LIMIT and _MODULE.match(name) is not None


def _action(name: str) -> bool:
    return len(name) <= NAME_LIMIT and _NAME.match(name) is not None


def role_area(perms: Mapping[str, Iterable[str]]) -> str:
    """The module prefix (``finance`` of ``finance.payment``, ``system`` of RuoYi's
    ``system:user``) most of the permissions belong to; ties go to the first
    alphabetically; ``common`` without permissions."""
    counts: Counter[str] = Counter()
    for module, actions in perms.items():
        counts[_AREA.split(module, 1)[0]] += len(list(actions))
    if not counts:
        return NO_AREA
    return min(counts, key=lambda area: (-counts[area], area))


def file_stem(text: str) -> str:
    """``text`` as a file name: path separators, reserved and control characters become
    ``_``; Unicode letters are kept."""
    stem = _NOT_FILE_CHARS.sub("_", text)
    if stem.startswith("."):
        stem = "_" + stem[1:]
    return stem[:100] or "_"
