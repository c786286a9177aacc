"""Which live objects erpsync manages, and why it leaves the others alone.

Within its scope the policy is authoritative. Outside it — protected
built-ins and settings, objects matched by ``settings.ignore``, objects
outside ``settings.scope.departments``, and live roles the policy does not
declare where ``settings.scope.roles`` (or the adapter's default) is
``declared`` — erpsync changes nothing and reports the objects as unmanaged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from erpsync.config import RoleScope, Settings
from erpsync.i18n import N_
from erpsync.state import DepartmentRec

if TYPE_CHECKING:
    from erpsync.adapters.base import Adapter

# The reasons an object is unmanaged are English data from templates marked N_ (a view
# says them in the run's language, erpsync.i18n.said).
DECLARED_ROLES = N_("not declared (settings.scope.roles: declared)")
# A plan names a permission ROLE/MODULE:ACTION and a membership LOGIN/ROLE: a live role key
# or login holding '/' cannot be named, so erpsync leaves the role or the user alone.
SLASH_ROLE = N_(
    "its key holds '/', which a policy's role keys cannot (a plan writes ROLE/MODULE:ACTION); "
    "rename it in the ERP to manage it"
)
SLASH_USER = N_(
    "its login holds '/', which a policy's logins cannot (a plan writes LOGIN/ROLE); "
    "rename it in the ERP to manage it"
)
DEPARTMENT_ROLES = N_("not declared and settings.scope limits erpsync to some departments")


@dataclass(frozen=True)
class Scope:
    protected_users: frozenset[str] = frozenset()
    protected_roles: frozenset[str] = frozenset()
    ignore_users: tuple[str, ...] = ()
    ignore_roles: tuple[str, ...] = ()
    ignore_departments: tuple[str, ...] = ()
    departments: frozenset[str] | None = None  # roots of the managed subtrees; None: all
    delete_removed_users: bool = False
    # Live roles the policy does not declare: "all" manages them (removes them), "declared"
    # leaves them alone, for ``undeclared_reason``; None: "declared" under a department
    # scope, else "all".
    undeclared_roles: RoleScope | None = None
    undeclared_reason: str = DECLARED_ROLES

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        builtin_users: Iterable[str] = (),
        builtin_roles: Iterable[str] = (),
        undeclared_roles: RoleScope = "all",
        adapter: str = "",
    ) -> Scope:
        """The scope ``settings`` describe; ``undeclared_roles`` is the adapter's default for
        ``settings.scope.roles``, used when neither it nor ``departments`` is set."""
        scope = settings.scope
        departments = None if scope is None else scope.departments
        roles = None if scope is None else scope.roles
        reason = DECLARED_ROLES
        if roles is None and departments is None and undeclared_roles == "declared":
            roles = "declared"
            reason = N_(
                "not declared: the {adapter} adapter leaves undeclared roles alone "
                "(settings.scope.roles: all would manage them)"
            ).format(adapter=adapter or "target")
        return cls(
            protected_users=frozenset(settings.protected_users) | frozenset(builtin_users),
            protected_roles=frozenset(settings.protected_roles) | frozenset(builtin_roles),
            ignore_users=tuple(settings.ignore.users),
            ignore_roles=tuple(settings.ignore.roles),
            ignore_departments=tuple(settings.ignore.departments),
            departments=None if departments is None else frozenset(departments),
            delete_removed_users=settings.removed_users == "delete",
            undeclared_roles=roles,
            undeclared_reason=reason,
        )

    @classmethod
    def for_adapter(cls, settings: Settings, adapter: Adapter | type[Adapter]) -> Scope:
        """The scope of ``settings`` for a target of ``adapter``: its built-ins protected,
        and its default for undeclared roles."""
        return cls.from_settings(
            settings,
            adapter.builtin_users,
            adapter.builtin_roles,
            adapter.undeclared_roles,
            adapter.name,
        )

    def undeclared_role_reason(self) -> str | None:
        """Why a live role the policy does not declare is left alone, or None when such a
        role is managed (planned for removal)."""
        if self.undeclared_roles == "declared":
            return self.undeclared_reason
        if self.undeclared_roles is None and self.departments is not None:
            return DEPARTMENT_ROLES
        return None

    def role_reason(self, key: str, declared: bool) -> str | None:
        """Why the role is not managed, or None when it is."""
        if key in self.protected_roles:
            return N_("protected")
        if "/" in key:
            return SLASH_ROLE
        if pattern := _match(key, self.ignore_roles):
            return N_("ignored (settings.ignore.roles: {pattern})").format(pattern=repr(pattern))
        return None if declared else self.undeclared_role_reason()

    def department_reason(
        self, key: str, chains: Mapping[str, DepartmentRec], *more: Mapping[str, DepartmentRec]
    ) -> str | None:
        """Why the department is not managed (ignored, or outside the scope), or None."""
        if pattern := _match(key, self.ignore_departments):
            return N_("ignored (settings.ignore.departments: {pattern})").format(
                pattern=repr(pattern)
            )
        if self.departments is None:
            return None
        if self.in_scope(key, chains, *more):
            return None
        return "outside settings.scope"

    def in_scope(self, key: str | None, *trees: Mapping[str, DepartmentRec]) -> bool:
        """True when ``key`` or one of its ancestors (in any of ``trees``) is a scope root."""
        if self.departments is None:
            return True
        seen: set[str] = set()
        while key is not None and key not in seen:
            if key in self.departments:
                return True
            seen.add(key)
            key = next((t[key].parent for t in trees if key in t), None)
        return False

    def users_to_check(self, logins: set[str]) -> set[str]:
        """Those of ``logins`` that :meth:`user_reason` may leave unmanaged; it manages
        the rest. Without ignore patterns or a department scope, only the protected and
        logins holding '/'."""
        if self.departments is None and not self.ignore_users:
            return (logins & self.protected_users) | {login for login in logins if "/" in login}
        return logins

    def user_reason(
        self, login: str, department: str | None, *trees: Mapping[str, DepartmentRec]
    ) -> str | None:
        """Why the user is not managed, or None when it is."""
        if login in self.protected_users:
            return N_("protected")
        if "/" in login:
            return SLASH_USER
        if pattern := _match(login, self.ignore_users):
            return N_("ignored (settings.ignore.users: {pattern})").format(pattern=repr(pattern))
        if self.departments is not None and not self.in_scope(department, *trees):
            return N_("outside settings.scope")
        return None


def _match(key: str, patterns: Iterable[str]) -> str | None:
    return next((p for p in patterns if fnmatchcase(key, p)), None)
