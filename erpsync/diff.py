"""diff(desired, live) -> changes: pure, no I/O.

Key-set algebra first (``desired - live`` is created, ``live - desired`` is
removed, ``&`` is compared), then a field comparison of the shared records
that differ — DeepDiff only names the changed attributes of those few. Objects
outside the managed scope never become changes; they are reported as
unmanaged. The result is ordered so that applying it in order is valid:
departments (parents first), roles, permissions, users, memberships; then the
removals in the reverse order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind, Unmanaged
from erpsync.scope import Scope
from erpsync.state import (
    DepartmentRec,
    Desired,
    Record,
    State,
    UserRec,
    attributes,
    same_attributes,
)

REMOVED = N_("not declared: removed by policy")
REMOVED_DELETED = N_("not declared: removed by policy (settings.removed_users: delete)")
MOVED = N_("moved:")
ADOPTED = N_("adopted: the ERP's own identity")
# A declared object erpsync leaves alone (outside settings.scope, ignored, protected).
DECLARED_UNMANAGED = {
    Kind.DEPARTMENT: N_(
        "department {key} is declared in the policy but {reason}: erpsync leaves it alone"
    ),
    Kind.ROLE: N_("role {key} is declared in the policy but {reason}: erpsync leaves it alone"),
    Kind.USER: N_("user {key} is declared in the policy but {reason}: erpsync leaves it alone"),
}
CANNOT_RENAME = {
    Kind.DEPARTMENT: N_(
        "cannot rename department {old} to {new} ({why}): the ERP already has department "
        "{other} under that key"
    ),
    Kind.ROLE: N_(
        "cannot rename role {old} to {new} ({why}): the ERP already has role {other} under that key"
    ),
    Kind.USER: N_(
        "cannot rename user {old} to {new} ({why}): the ERP already has user {other} under that key"
    ),
}


@dataclass
class DiffResult:
    changes: list[Change] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the plan cannot be made as declared


def diff(
    desired: Desired,
    live: State,
    scope: Scope,
    adoptions: Mapping[str, Mapping[str, str]] | None = None,
) -> DiffResult:
    """The changes that make ``live`` match ``desired`` within ``scope``. ``adoptions``
    (kind -> live key -> declared key, from :func:`erpsync.moves.adoptions`) rename live
    rows that no binding names to the declared objects they are, like ``moved:`` does."""
    return _Differ(desired, live, scope, adoptions or {}).run()


def changed_attributes(
    before: Record, after: Record
) -> tuple[dict[str, object], dict[str, object]]:
    """Only the attributes that differ, old and new."""
    old, new = attributes(before), attributes(after)
    # A user's assignment is left out where a side has none (None): it differs when only
    # one side has it
    for k in old.keys() ^ new.keys():
        old.setdefault(k, None)
        new.setdefault(k, None)
    lists = {k: old[k] for k in old if isinstance(old[k], list) and isinstance(new[k], list)}
    keys = [k for k in old if k not in lists and old[k] != new[k]]
    if lists:  # list attributes compare as sets: DeepDiff names what really differs
        # Imported only here: it takes 0.04 s, a twentieth of planning 10,000 users, and
        # records without lists (users without posts, departments) do not need it.
        from deepdiff import DeepDiff

        keys += DeepDiff(lists, {k: new[k] for k in lists}, ignore_order=True).affected_root_keys
    return {k: old[k] for k in sorted(keys)}, {k: new[k] for k in sorted(keys)}


def split_difference(
    want: frozenset[tuple[str, str]], live: frozenset[tuple[str, str]]
) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]:
    """(want - live, live - want), from one pass over the large sets: the symmetric
    difference is small when little changed, and is split cheaply."""
    both = want ^ live
    return both & want, both & live


def role_changes(
    want: Mapping[str, frozenset[str]], live: Mapping[str, frozenset[str]]
) -> Iterator[tuple[str, frozenset[str], frozenset[str]]]:
    """(login, roles to grant, roles to revoke) for each user whose roles differ, by login.
    Users whose roles are equal cost one set comparison each."""
    none: frozenset[str] = frozenset()
    get_want, get_live = want.get, live.get
    for login in sorted(
        login for login in want.keys() | live.keys() if get_want(login) != get_live(login)
    ):
        wanted, held = get_want(login, none), get_live(login, none)
        yield login, wanted - held, held - wanted


def depth(departments: Mapping[str, DepartmentRec], key: str) -> int:
    seen: set[str] = set()
    while key in departments and key not in seen:
        seen.add(key)
        parent = departments[key].parent
        if parent is None:
            break
        key = parent
    return len(seen)


class _Differ:
    def __init__(
        self,
        desired: Desired,
        live: State,
        scope: Scope,
        adoptions: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.d = desired
        self.want = desired.state
        self.scope = scope
        self.out = DiffResult()
        # kind -> new key -> (old key, why): live rows renamed by the policy's moved: list,
        # or adopted by a declared object
        self.renamed: dict[Kind, dict[str, tuple[str, str]]] = {}
        self.live = live.renamed(self.applicable_renames(live, adoptions))
        self.outside: set[str] = set()  # declared departments outside the scope, not in the ERP
        self.forward: dict[Kind, list[Change]] = {k: [] for k in Kind}
        self.backward: dict[Kind, list[Change]] = {k: [] for k in Kind}

    def run(self) -> DiffResult:
        users = self.managed_users()
        roles = self.managed_roles()
        self.departments(users)
        kept = self.roles(roles, users)
        self.grants(roles - kept)
        removed_users = self.users(users)
        self.memberships(users, roles, removed_users)
        order = list(Kind)
        for kind in order:
            self.out.changes.extend(self.forward[kind])
        for kind in reversed(order):
            self.out.changes.extend(self.backward[kind])
        self.out.unmanaged.sort(key=lambda u: (list(Kind).index(u.kind), u.key))
        return self.out

    def applicable_renames(
        self, live: State, adoptions: Mapping[str, Mapping[str, str]]
    ) -> dict[str, dict[str, str]]:
        """The renames of ``moved:`` that apply to ``live`` (their old key is there; an old
        key no longer in the ERP was renamed by an earlier apply and changes nothing), and
        the adoptions."""
        applicable: dict[str, dict[str, str]] = {}
        sources = [(self.d.renames, MOVED), (adoptions, ADOPTED)]
        for renames_of, why in sources:
            for kind_name, renames in renames_of.items():
                kind = Kind(kind_name)
                keys: Mapping[str, object] = getattr(live, f"{kind_name}s")
                claimed = self.renamed.setdefault(kind, {})
                taken = applicable.setdefault(kind_name, {})
                for old, new in sorted(renames.items()):
                    if old not in keys or old in taken:
                        continue
                    if new in keys or new in claimed:
                        other = new if new in keys else claimed[new][0]
                        self.out.errors.append(
                            CANNOT_RENAME[kind].format(old=old, new=new, why=why, other=other)
                        )
                        continue
                    claimed[new] = (old, why)
                    taken[old] = new
        return applicable

    def unmanaged(self, kind: Kind, key: str, reason: str, declared: bool) -> None:
        self.out.unmanaged.append(Unmanaged(kind, key, reason))
        if declared:
            self.out.warnings.append(DECLARED_UNMANAGED[kind].format(key=key, reason=reason))

    # -- scope ------------------------------------------------------------------------------

    def managed_users(self) -> set[str]:
        everyone = self.want.users.keys() | self.live.users.keys()
        left_alone = {}
        for login in self.scope.users_to_check(everyone):
            rec = self.want.users.get(login) or self.live.users[login]
            reason = self.scope.user_reason(
                login, rec.department, self.want.departments, self.live.departments
            )
            if reason is not None:
                left_alone[login] = reason
        for login in sorted(left_alone):
            self.unmanaged(Kind.USER, login, left_alone[login], login in self.want.users)
        return everyone - left_alone.keys()

    def managed_roles(self) -> set[str]:
        managed = set()
        for key in sorted(self.want.roles.keys() | self.live.roles.keys()):
            reason = self.scope.role_reason(key, key in self.want.roles)
            if reason is None:
                managed.add(key)
            else:
                self.unmanaged(Kind.ROLE, key, reason, key in self.want.roles)
        return managed

    # -- objects ----------------------------------------------------------------------------

    def departments(self, managed_users: set[str]) -> None:
        want, live = self.want.departments, self.live.departments
        managed = set()
        for key in sorted(want.keys() | live.keys()):
            reason = self.scope.department_reason(key, want, live)
            if reason is None:
                managed.add(key)
            elif key in live:
                self.unmanaged(Kind.DEPARTMENT, key, reason, key in want)
            else:
                self.outside.add(key)
        for key in sorted(managed & want.keys(), key=lambda k: (depth(want, k), k)):
            parent = want[key].parent
            if parent in self.outside and key not in live:
                self.out.errors.append(
                    N_(
                        "department {key} cannot be created: its parent {parent} is outside "
                        "settings.scope and does not exist in the ERP (widen the scope or "
                        "create {parent} first)"
                    ).format(key=key, parent=parent)
                )
                continue
            self.create_or_update(Kind.DEPARTMENT, key, want[key], live.get(key))
        kept = self.anchored_departments(managed, managed_users)
        gone = sorted(managed & (live.keys() - want.keys()), key=lambda k: (-depth(live, k), k))
        for key in gone:
            if key in kept:
                self.out.warnings.append(
                    N_(
                        "department {key} is not declared but still holds users or departments "
                        "that erpsync keeps; it is kept"
                    ).format(key=key)
                )
                continue
            self.backward[Kind.DEPARTMENT].append(
                Change(Action.DELETE, Kind.DEPARTMENT, key, REMOVED, attributes(live[key]), None)
            )

    def anchored_departments(self, managed: set[str], managed_users: set[str]) -> set[str]:
        """Live departments that must stay: those holding a user erpsync keeps there
        (unmanaged, or deactivated rather than deleted) or a department that stays, and
        every department above them."""
        live = self.live.departments
        keeps_user = not self.scope.delete_removed_users
        roots = {
            u.department
            for u in self.live.users.values()
            if u.login not in managed_users or (u.login not in self.want.users and keeps_user)
        }
        roots |= {k for k in live if k not in managed}
        kept: set[str] = set()
        for root in roots:
            key = root
            while key is not None and key in live and key not in kept:
                kept.add(key)
                if key in self.want.departments:
                    break  # declared: its ancestors after the apply are the declared ones
                key = live[key].parent
        return kept - self.want.departments.keys()

    def roles(self, managed: set[str], managed_users: set[str]) -> set[str]:
        """Plan role changes; returns the undeclared roles that are kept (still held)."""
        want, live = self.want.roles, self.live.roles
        for key in sorted(managed & want.keys()):
            self.create_or_update(Kind.ROLE, key, want[key], live.get(key))
        held_elsewhere: dict[str, list[str]] = {}
        live_roles = self.live.user_roles
        for login in live_roles.keys() - managed_users:
            for role in live_roles[login]:
                held_elsewhere.setdefault(role, []).append(login)
        kept = set()
        for key in sorted(managed & (live.keys() - want.keys())):
            if key in held_elsewhere:
                kept.add(key)
                holders = ", ".join(sorted(held_elsewhere[key]))
                self.out.warnings.append(
                    N_(
                        "role {key} is not declared but users erpsync does not manage hold it "
                        "({holders}); it is kept"
                    ).format(key=key, holders=holders)
                )
                continue
            self.backward[Kind.ROLE].append(
                Change(Action.DELETE, Kind.ROLE, key, REMOVED, attributes(live[key]), None)
            )
        return kept

    def create_or_update(self, kind: Kind, key: str, want: Record, live: Record | None) -> None:
        old, why = self.renamed.get(kind, {}).get(key, (None, ""))
        if live is not None and old is None and same_attributes(want, live):
            return
        where = self.d.origin(f"{kind}s", key)
        if live is None:
            after = attributes(want)
            if isinstance(want, UserRec):
                after["active"] = want.active
            self.forward[kind].append(
                Change(
                    Action.CREATE,
                    kind,
                    key,
                    N_("declared in {where}").format(where=where),
                    None,
                    after,
                )
            )
        else:
            before, after = changed_attributes(live, want)
            reason = N_("differs from {where}").format(where=where)
            if old is not None:  # the key is renamed: the same row, updated in place
                before, after = {"key": old, **before}, {"key": key, **after}
                reason = N_("renamed from {old} ({why}), declared in {where}").format(
                    old=old, why=why, where=where
                )
            self.forward[kind].append(Change(Action.UPDATE, kind, key, reason, before, after))

    def grants(self, managed: set[str]) -> None:
        granted, revoked = split_difference(self.want.grants, self.live.grants)
        for role, perm in sorted(g for g in granted if g[0] in managed):
            self.forward[Kind.PERMISSION].append(
                Change(
                    Action.GRANT,
                    Kind.PERMISSION,
                    f"{role}/{perm}",
                    self.d.grant_reason(role, perm),
                )
            )
        for role, perm in sorted(g for g in revoked if g[0] in managed):
            reason = (
                REMOVED
                if role in self.want.roles
                else N_("role {role} is removed").format(role=role)
            )
            self.backward[Kind.PERMISSION].append(
                Change(Action.REVOKE, Kind.PERMISSION, f"{role}/{perm}", reason)
            )

    def users(self, managed: set[str]) -> dict[str, str]:
        """Plan user changes; returns login -> why its memberships go (removed users)."""
        want, live = self.want.users, self.live.users
        gone: dict[str, str] = {}
        # Only users that differ, or are inactive (their roles go), need a look.
        differ = [
            login
            for login in managed & want.keys()
            if (target := want[login]) != live.get(login)
            or not target.active
            or login in self.renamed.get(Kind.USER, ())
        ]
        for login in sorted(differ):
            target, current = want[login], live.get(login)
            self.create_or_update(Kind.USER, login, target, current)
            if current is not None and current.active != target.active:
                where = self.d.origin("users", login)
                if target.active:
                    self.forward[Kind.USER].append(
                        Change(
                            Action.REACTIVATE,
                            Kind.USER,
                            login,
                            N_("declared active in {where}").format(where=where),
                        )
                    )
                else:
                    why = self.d.inactive_reason.get(login, N_("declared inactive"))
                    self.backward[Kind.USER].append(
                        Change(Action.DEACTIVATE, Kind.USER, login, why)
                    )
            if not target.active:
                gone[login] = N_("user {login} is deactivated: {why}").format(
                    login=login, why=self.d.inactive_reason.get(login)
                )
        for login in sorted(managed & (live.keys() - want.keys())):
            gone[login] = N_("user {login} is removed: not declared").format(login=login)
            if self.scope.delete_removed_users:
                before = {**attributes(live[login]), "active": live[login].active}
                self.backward[Kind.USER].append(
                    Change(
                        Action.DELETE,
                        Kind.USER,
                        login,
                        REMOVED_DELETED,
                        before,
                        None,
                    )
                )
            elif live[login].active:
                self.backward[Kind.USER].append(
                    Change(Action.DEACTIVATE, Kind.USER, login, REMOVED)
                )
        return gone

    def memberships(self, users: set[str], roles: set[str], gone: Mapping[str, str]) -> None:
        granted: list[tuple[str, str]] = []
        revoked: list[tuple[str, str]] = []
        for login, to_grant, to_revoke in role_changes(self.want.user_roles, self.live.user_roles):
            if login in users:
                granted += ((login, role) for role in sorted(to_grant & roles))
                revoked += ((login, role) for role in sorted(to_revoke & roles))
        for login, role in granted:
            self.forward[Kind.MEMBERSHIP].append(
                Change(
                    Action.GRANT,
                    Kind.MEMBERSHIP,
                    f"{login}/{role}",
                    self.d.membership_reason(login, role),
                )
            )
        self.kept_by_inactive(users, roles, gone)
        for login, role in revoked:
            if login in gone:
                reason = gone[login]
            elif role not in self.want.roles:
                reason = N_("role {role} is not declared").format(role=role)
            else:
                reason = N_("not among the roles the policy gives {login}").format(login=login)
            self.backward[Kind.MEMBERSHIP].append(
                Change(Action.REVOKE, Kind.MEMBERSHIP, f"{login}/{role}", reason)
            )

    def kept_by_inactive(self, users: set[str], roles: set[str], gone: Mapping[str, str]) -> None:
        """Warn where a user loses its roles (deactivated) but keeps those erpsync leaves
        alone: their memberships are not erpsync's to revoke."""
        if not gone or not (self.live.roles.keys() - roles):
            return
        for login in sorted(gone.keys() & users):
            if self.scope.delete_removed_users and login not in self.want.users:
                continue  # deleted, with every membership
            kept = self.live.user_roles.get(login, frozenset()) - roles
            if kept:
                self.out.warnings.append(
                    N_(
                        "user {login} is deactivated but keeps its membership of roles erpsync "
                        "leaves alone ({roles})"
                    ).format(login=login, roles=", ".join(sorted(kept)))
                )
