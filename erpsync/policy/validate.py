"""Cross-object rules of a loaded policy, reported as diagnostics.

The schema (:mod:`erpsync.policy.model`) has already checked each object's
shape; here the objects are checked against each other: references,
cycles, the module catalogue, separation of duties and the calendar. Every
finding is collected; nothing stops at the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from erpsync import access, moves, sod
from erpsync.diagnostics import Diagnostic, at_field, error, ordered, warning
from erpsync.i18n import N_
from erpsync.policy.loader import (
    LoadedPolicy,
    exception_name,
    field_path,
    native_spelling,
)
from erpsync.policy.model import ALL_ACTIONS, NOUN, PolicyDocument, Role
from erpsync.policy.suggest import Suggester

EXPIRY_WARNING_DAYS = 14
EMPTY_DEPARTMENTS_SHOWN = 10  # keys named in the one warning about empty departments

# The messages below are English data made from templates marked N_; a view says them in
# the run's language (erpsync.i18n.said). A hint after a message is its {detail}.

# An unknown reference, by the kind of object referred to: without and with a hint.
UNKNOWN = {
    "department": (N_("unknown department '{value}'"), N_("unknown department '{value}'{detail}")),
    "user": (N_("unknown user '{value}'"), N_("unknown user '{value}'{detail}")),
    "role": (N_("unknown role '{value}'"), N_("unknown role '{value}'{detail}")),
    "SoD rule": (N_("unknown SoD rule '{value}'"), N_("unknown SoD rule '{value}'{detail}")),
}
# The hint when the value is the display name of objects: which keys to write instead.
NAMED = {
    "department": N_("; departments named {value}: {keys} (write the key)"),
    "role": N_("; roles named {value}: {keys} (write the key)"),
}
_EXPIRES = N_("expires {date}, in {days} day(s)")
_NEEDS_IT = N_(
    "in the ERP, granting {perm} also grants {needed} (the page above it): declare it for "
    "the role too"
)
_NEEDS_THEM = N_(
    "in the ERP, granting {perm} also grants {needed} (the page above it): declare them "
    "for the role too"
)
# A SoD violation: (its exception has expired, how many conflicting permissions) -> its
# template. Two or three (the usual rules) are each a {detail}, {cause} and {problem} of
# it, so a view says each; any other number is one {detail}, said only as a whole.
_VIOLATES = {
    (False, 1): N_(
        "violates {severity} SoD rule {rule}: {detail}; change the roles or add an entry to "
        "sod_exceptions"
    ),
    (True, 1): N_(
        "violates {severity} SoD rule {rule} (its exception has expired): {detail}; change "
        "the roles or add an entry to sod_exceptions"
    ),
    (False, 2): N_(
        "violates {severity} SoD rule {rule}: {detail}; {cause}; change the roles or add an "
        "entry to sod_exceptions"
    ),
    (True, 2): N_(
        "violates {severity} SoD rule {rule} (its exception has expired): {detail}; {cause}; "
        "change the roles or add an entry to sod_exceptions"
    ),
    (False, 3): N_(
        "violates {severity} SoD rule {rule}: {detail}; {cause}; {problem}; change the roles "
        "or add an entry to sod_exceptions"
    ),
    (True, 3): N_(
        "violates {severity} SoD rule {rule} (its exception has expired): {detail}; {cause}; "
        "{problem}; change the roles or add an entry to sod_exceptions"
    ),
}
# How a user holds a permission that breaks a SoD rule: one part of a violation.
_VIA = {
    (False, False): N_("{perm} (role {role})"),
    (True, False): N_("{perm} (role {role}, via {source})"),
    (False, True): N_("{perm} (role {role}, default of department {department})"),
    (True, True): N_("{perm} (role {role}, via {source}, default of department {department})"),
}


def validate(
    loaded: LoadedPolicy,
    today: dt.date,
    catalogue: access.Catalogue | None = None,
    resolution: access.Resolution | None = None,
    requires: Mapping[str, Sequence[str]] | None = None,
) -> list[Diagnostic]:
    """All findings for the policy, errors first. ``catalogue`` defaults to ``modules``;
    ``resolution`` is reused when it was made for the same policy, catalogue and day;
    ``requires`` (permission -> the permissions granting it also grants) defaults to the
    ``requires`` of ``modules``."""
    policy = loaded.policy
    if catalogue is None and policy.modules:
        catalogue = {key: module.actions for key, module in policy.modules.items()}
    if resolution is None or not _serves(resolution, policy, catalogue, today):
        resolution = access.Resolution(policy, catalogue, today)
    if requires is None:
        requires = written_requires(policy)
    checks = _Checks(loaded, policy, today, catalogue, resolution, requires)
    return ordered(checks.run())


def written_requires(policy: PolicyDocument) -> dict[str, tuple[str, ...]]:
    """The ``requires`` of the policy's catalogue (catalog.yaml), by permission."""
    return {
        access.permission(module, action): tuple(needed)
        for module, entry in policy.modules.items()
        for action, needed in entry.requires.items()
    }


def _serves(
    resolution: access.Resolution,
    policy: PolicyDocument,
    catalogue: access.Catalogue | None,
    today: dt.date,
) -> bool:
    """Whether ``resolution`` was made for this very policy (the same object: comparing
    two 100,000-user documents field by field would cost more than resolving again),
    an equal catalogue and the same day."""
    return (
        resolution.policy is policy
        and resolution.catalogue == catalogue
        and resolution.today == today
    )


class _Checks:
    def __init__(
        self,
        loaded: LoadedPolicy,
        policy: PolicyDocument,
        today: dt.date,
        catalogue: access.Catalogue | None,
        resolution: access.Resolution,
        requires: Mapping[str, Sequence[str]],
    ) -> None:
        self.loaded = loaded
        self.policy = policy
        self.today = today
        self.catalogue = catalogue
        self.resolution = resolution
        self.requires = requires
        self.suggest = Suggester()
        self.by_name: dict[str, dict[str, list[str]]] = {}  # kind -> display name -> keys

    def run(self) -> Iterator[Diagnostic]:
        yield from self.departments()
        yield from self.roles()
        yield from self.pages()
        yield from self.users()
        yield from self.sod_rules()
        yield from self.sod_exceptions()
        yield from self.moved()
        yield from self.separation_of_duties()
        yield from self.unused()

    # -- helpers ---------------------------------------------------------------------------

    def _ref(
        self,
        section: str,
        key: Any,
        path: tuple[Any, ...],
        target: str,
        value: str,
        known: Mapping[str, Any],
    ) -> Iterator[Diagnostic]:
        """An error when ``value`` is not a key of ``known`` (the ``target`` kind)."""
        if value in known:
            return
        obj = self._name(section, key)
        named = self._named(target, value)
        if named:
            hint = NAMED[target].format(value=value, keys=", ".join(named))
        else:
            hint = self.suggest.hint(value, known)
        plain, hinted = UNKNOWN[target]
        message = hinted.format(value=value, detail=hint) if hint else plain.format(value=value)
        yield error(
            "unknown-reference",
            self.loaded.position(section, key, *path),
            obj,
            at_field(field_path(path), message),
        )

    def _named(self, target: str, value: str) -> list[str]:
        """The keys of the departments or roles whose display name is ``value``: people
        write the name they see in the ERP (市场部门) where the policy wants a key."""
        if target not in ("department", "role"):
            return []
        if target not in self.by_name:
            objects = self.policy.departments if target == "department" else self.policy.roles
            index: dict[str, list[str]] = {}
            for key, obj in objects.items():
                index.setdefault(obj.name, []).append(key)
            self.by_name[target] = index
        return self.by_name[target].get(value, [])

    def _name(self, section: str, key: Any) -> str:
        if section == "sod_exceptions":
            exc = self.policy.sod_exceptions[key]
            return exception_name({"rule": exc.rule, "user": exc.user}, key)
        if section == "moved":
            move = self.policy.moved[key]
            return f"moved {move.kind} {move.from_} → {move.to}"
        return f"{NOUN[section]} {key}"

    # -- checks ----------------------------------------------------------------------------

    def departments(self) -> Iterator[Diagnostic]:
        p = self.policy
        for key, dept in p.departments.items():
            if dept.parent is not None:
                yield from self._ref(
                    "departments", key, ("parent",), "department", dept.parent, p.departments
                )
            if dept.manager is not None:
                yield from self._ref(
                    "departments", key, ("manager",), "user", dept.manager, p.users
                )
            for i, role in enumerate(dept.default_roles):
                yield from self._ref(
                    "departments", key, ("default_roles", i), "role", role, p.roles
                )
        edges = {k: [d.parent] if d.parent else [] for k, d in p.departments.items()}
        for cycle in access.find_cycles(edges):
            yield error(
                "cycle",
                self.loaded.position("departments", cycle[0], "parent"),
                f"department {cycle[0]}",
                N_("departments form a cycle: {cycle}").format(
                    cycle=" -> ".join([*cycle, cycle[0]])
                ),
            )

    def roles(self) -> Iterator[Diagnostic]:
        p = self.policy
        for key, role in p.roles.items():
            for i, inc in enumerate(role.includes):
                yield from self._ref("roles", key, ("includes", i), "role", inc, p.roles)
            for i, dept in enumerate(role.data_departments):
                yield from self._ref(
                    "roles", key, ("data_departments", i), "department", dept, p.departments
                )
            if role.data_departments and role.data_scope != "custom":
                yield error(
                    "data-scope",
                    self.loaded.position("roles", key, "data_departments"),
                    f"role {key}",
                    N_("data_departments needs data_scope: custom"),
                )
            elif role.data_scope == "custom" and not role.data_departments:
                yield warning(
                    "data-scope",
                    self.loaded.position("roles", key, "data_scope"),
                    f"role {key}",
                    N_("data_scope custom with no data_departments: the role sees no records"),
                )
            yield from self._permissions(key, role)
        for cycle in access.find_cycles({k: r.includes for k, r in p.roles.items()}):
            yield error(
                "cycle",
                self.loaded.position("roles", cycle[0], "includes"),
                f"role {cycle[0]}",
                N_("role includes form a cycle: {cycle}").format(
                    cycle=" -> ".join([*cycle, cycle[0]])
                ),
            )

    def _permissions(self, key: str, role: Role) -> Iterator[Diagnostic]:
        """The role's permissions against the catalogue; in the list form, each item at its
        own position, and a permission listed twice is a warning."""
        obj = f"role {key}"
        if isinstance(role.permissions, dict):
            if self.catalogue is None:
                return
            for module, actions in role.permissions.items():
                where: tuple[Any, ...] = ("roles", key, "permissions", module)
                yield from self._catalogue(
                    where, obj, module, [(a, (*where, i)) for i, a in enumerate(actions)]
                )
            return
        first: dict[str, int] = {}
        for index, perm in enumerate(role.permissions):
            at = ("roles", key, "permissions", index)
            if perm in first:
                earlier = self.loaded.position("roles", key, "permissions", first[perm])
                yield warning(
                    "duplicate-permission",
                    self.loaded.position(*at),
                    obj,
                    N_(
                        "permissions[{index}]: {perm} is listed twice "
                        "(first at line {line}, column {col})"
                    ).format(index=index, perm=perm, line=earlier.line, col=earlier.col),
                )
                continue
            first[perm] = index
            module, action = access.split_permission(perm)
            if (
                self.catalogue is not None
                and module not in self.catalogue
                and perm in self.catalogue
            ):
                yield error(
                    "unknown-module",
                    self.loaded.position(*at),
                    obj,
                    N_(
                        "'{perm}' is a module, not a permission: write {module}:ACTION for each "
                        "action"
                    ).format(perm=perm, module=perm),
                )
                continue
            yield from self._catalogue(at, obj, module, [(action, at)])

    def pages(self) -> Iterator[Diagnostic]:
        """A role granting a permission that, in the ERP, also grants others (a RuoYi button
        brings the page above it) must declare those too, or apply would refuse it."""
        if not self.requires:
            return
        for key, role in self.policy.roles.items():
            held = self.resolution.flat.get(key, frozenset())
            for module, action, path in _written(role):
                for perm in sorted(access.expand(module, [action], self.catalogue)):
                    missing = [p for p in self.requires.get(perm, ()) if not access.holds(held, p)]
                    if missing:
                        yield error(
                            "needs-page",
                            self.loaded.position("roles", key, *path),
                            f"role {key}",
                            at_field(
                                field_path(path),
                                (_NEEDS_THEM if len(missing) > 1 else _NEEDS_IT).format(
                                    perm=perm, needed=", ".join(missing)
                                ),
                            ),
                        )

    def _catalogue(
        self,
        where: tuple[Any, ...],
        obj: str,
        module: str,
        actions: Iterable[tuple[str, tuple[Any, ...]]],
    ) -> Iterator[Diagnostic]:
        """Errors for a module, or actions of it (each with where it is written), that the
        catalogue does not list."""
        if self.catalogue is None:
            return
        if module not in self.catalogue:
            hint = native_spelling(module, self.catalogue, self.suggest.hint)
            yield error(
                "unknown-module",
                self.loaded.position(*where),
                obj,
                N_("unknown module '{module}'{detail}").format(module=module, detail=hint)
                if hint
                else N_("unknown module '{module}'").format(module=module),
            )
            return
        known = self.catalogue[module]
        for action, at in actions:
            if action != ALL_ACTIONS and action not in known:
                hint = self.suggest.hint(action, known)
                template = (
                    N_("module '{module}' has no action '{action}'{detail} (it has: {actions})")
                    if hint
                    else N_("module '{module}' has no action '{action}' (it has: {actions})")
                )
                yield error(
                    "unknown-action",
                    self.loaded.position(*at),
                    obj,
                    template.format(
                        module=module, action=action, detail=hint, actions=", ".join(known)
                    ),
                )

    def users(self) -> Iterator[Diagnostic]:
        p = self.policy
        roles = frozenset(p.roles)
        for login, user in p.users.items():  # 10^5 users: the common case is kept cheap
            if user.department is not None and user.department not in p.departments:
                yield from self._ref(
                    "users", login, ("department",), "department", user.department, p.departments
                )
            if not roles.issuperset(user.roles):
                for i, role in enumerate(user.roles):
                    yield from self._ref("users", login, ("roles", i), "role", role, p.roles)
            if user.active and user.expires is not None:
                days = (user.expires - self.today).days
                if days <= 0:
                    yield warning(
                        "expired",
                        self.loaded.position("users", login, "expires"),
                        f"user {login}",
                        N_("expired {date}: planned as deactivated").format(date=user.expires),
                    )
                elif days <= EXPIRY_WARNING_DAYS:
                    yield warning(
                        "expiring",
                        self.loaded.position("users", login, "expires"),
                        f"user {login}",
                        _EXPIRES.format(date=user.expires, days=days),
                    )

    def sod_rules(self) -> Iterator[Diagnostic]:
        for key, rule in self.policy.sod_rules.items():
            for g, group in enumerate(rule.conflicts):
                for i, perm in enumerate(group):
                    module, action = access.split_permission(perm)
                    where = ("sod_rules", key, "conflicts", g, i)
                    yield from self._catalogue(where, f"sod_rule {key}", module, [(action, where)])

    def sod_exceptions(self) -> Iterator[Diagnostic]:
        p = self.policy
        for index, exc in enumerate(p.sod_exceptions):
            yield from self._ref(
                "sod_exceptions", index, ("rule",), "SoD rule", exc.rule, p.sod_rules
            )
            yield from self._ref("sod_exceptions", index, ("user",), "user", exc.user, p.users)
            yield from self._ref(
                "sod_exceptions", index, ("approved_by",), "user", exc.approved_by, p.users
            )
            obj = self._name("sod_exceptions", index)
            if exc.approved_by == exc.user:
                yield error(
                    "self-approved",
                    self.loaded.position("sod_exceptions", index, "approved_by"),
                    obj,
                    N_("{user} cannot approve an exception that covers themselves").format(
                        user=exc.user
                    ),
                )
            if exc.expires is None:
                continue
            days = (exc.expires - self.today).days
            where = self.loaded.position("sod_exceptions", index, "expires")
            if days <= 0:
                yield warning(
                    "expired",
                    where,
                    obj,
                    N_("expired {date}: no longer covers {rule} for {user}").format(
                        date=exc.expires, rule=exc.rule, user=exc.user
                    ),
                )
            elif days <= EXPIRY_WARNING_DAYS:
                yield warning("expiring", where, obj, _EXPIRES.format(date=exc.expires, days=days))

    def moved(self) -> Iterator[Diagnostic]:
        p = self.policy
        declared = {kind: getattr(p, section) for kind, section in moves.SECTION.items()}
        for found in moves.problems(p.moved, declared):
            yield (error if found.fatal else warning)(
                "moved",
                self.loaded.position("moved", found.index, found.field),
                self._name("moved", found.index),
                found.message,
            )

    def separation_of_duties(self) -> Iterator[Diagnostic]:
        p = self.policy
        holders = self.resolution.holdings
        # Only permissions of modules some rule names can matter; keep just those.
        modules = {
            access.split_permission(perm)[0]
            for rule in p.sod_rules.values()
            for group in rule.conflicts
            for perm in group
        }
        every = frozenset().union(*self.resolution.flat.values())
        named = frozenset(x for x in every if access.split_permission(x)[0] in modules)
        flat = {role: perms & named for role, perms in self.resolution.flat.items()}
        union: dict[frozenset[str], frozenset[str]] = {}  # role set -> permissions, shared
        holdings = {}
        for login in sod.suspects(p.sod_rules, flat, holders):
            key = frozenset(holders[login])
            if key not in union:
                union[key] = frozenset().union(*(flat.get(r, frozenset()) for r in key))
            holdings[login] = union[key]
        for v in sod.find_violations(p.sod_rules, holdings, p.sod_exceptions, self.today):
            if v.mitigated:
                continue
            make = error if v.severity in sod.BLOCKING else warning
            via = [self._via(holders[v.user], flat, group[0]) for group in v.held]
            parts = len(via) if len(via) in (2, 3) else 1
            units = via if parts > 1 else ["; ".join(via)]
            template = _VIOLATES[(v.exception_expired, parts)]
            yield make(
                "sod-violation",
                self.loaded.position("users", v.user),
                f"user {v.user}",
                template.format(
                    severity=v.severity,
                    rule=v.rule,
                    **dict(zip(("detail", "cause", "problem"), units, strict=False)),
                ),
            )

    def _via(
        self, roles: Mapping[str, str | None], flat: Mapping[str, frozenset[str]], perm: str
    ) -> str:
        """``perm (role X via Y, default of department D)``: how the user got it."""
        for role in sorted(roles):
            if not access.holds(flat.get(role, frozenset()), perm):
                continue
            via = None
            for source in access.included_roles(self.policy.roles, role)[1:]:
                own = access.own_permissions(self.policy.roles[source], self.catalogue)
                if access.holds(own, perm):
                    via = source
                    break
            template = _VIA[(via is not None, roles[role] is not None)]
            return template.format(perm=perm, role=role, source=via, department=roles[role])
        return perm

    def unused(self) -> Iterator[Diagnostic]:
        p = self.policy
        direct: set[str] = set().union(*self.resolution.holdings.values())
        held = {inc for role in direct for inc in access.included_roles(p.roles, role)}
        for key in p.roles:
            if key not in held:
                yield warning(
                    "unused-role",
                    self.loaded.position("roles", key),
                    f"role {key}",
                    N_("no active user holds this role, directly or through includes"),
                )
        populated: set[str] = set()
        for department in {user.department for user in p.users.values()}:
            populated.update(access.department_chain(p.departments, department))
        empty = [key for key in p.departments if key not in populated]
        if len(empty) == 1:
            yield warning(
                "empty-department",
                self.loaded.position("departments", empty[0]),
                f"department {empty[0]}",
                N_("no user in this department or below it"),
            )
        elif empty:
            # An imported ERP has such departments by nature (RuoYi's seed has seven): one
            # line for all of them, at the first, rather than one line each.
            yield warning(
                "empty-department",
                self.loaded.position("departments", empty[0]),
                "",
                _empty_departments(empty),
            )


def _empty_departments(keys: Sequence[str], shown: int = EMPTY_DEPARTMENTS_SHOWN) -> str:
    """``N departments have no users …: a, b, c`` or ``…: a, b, c, … (4 more)`` when
    there are more than ``shown``."""
    listed = ", ".join(keys[:shown])
    if len(keys) <= shown:
        return N_("{n} departments have no users in them or below them: {keys}").format(
            n=len(keys), keys=listed
        )
    return N_(
        "{n} departments have no users in them or below them: {keys}, … ({more} more)"
    ).format(n=len(keys), keys=listed, more=len(keys) - shown)


def _written(role: Role) -> Iterator[tuple[str, str, tuple[Any, ...]]]:
    """Each permission of ``role`` as written: (module, action, its path below the role)."""
    if isinstance(role.permissions, dict):
        for module, actions in role.permissions.items():
            for i, action in enumerate(actions):
                yield module, action, ("permissions", module, i)
    else:
        for index, perm in enumerate(role.permissions):
            module, action = access.split_permission(perm)
            yield module, action, ("permissions", index)
