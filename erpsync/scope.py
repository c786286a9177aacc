"""Which live objects erpsync manages, and why it leaves the others alone.

Within its scope the policy is authoritative. Outside it — protected
built-ins and settings, objects matched by ``settings.ignore``, and objects
outside ``settings.scope.departments`` — erpsync changes nothing and reports
the objects as unmanaged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from erpsync.config import Settings
from erpsync.state import DepartmentRec


@dataclass(frozen=True)
class Scope:
    protected_users: frozenset[str] = frozenset()
    protected_roles: frozenset[str] = frozenset()
    ignore_users: tuple[str, ...] = ()
    ignore_roles: tuple[str, ...] = ()
    ignore_departments: tuple[str, ...] = ()
    departments: frozenset[str] | None = None  # roots of the managed subtrees; None: all
    delete_removed_users: bool = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        builtin_users: Iterable[str] = (),
        builtin_roles: Iterable[str] = (),
    ) -> Scope:
        return cls(
            protected_users=frozenset(settings.protected_users) | frozenset(builtin_users),
            protected_roles=frozenset(settings.protected_roles) | frozenset(builtin_roles),
            ignore_users=tuple(settings.ignore.users),
            ignore_roles=tuple(settings.ignore.roles),
            ignore_departments=tuple(settings.ignore.departments),
            departments=frozenset(settings.scope.departments) if settings.scope else None,
            delete_removed_users=settings.removed_users == "delete",
        )

    def role_reason(self, key: str, declared: bool) -> str | None:
        """Why the role is not managed, or None when it is."""
        if key in self.protected_roles:
            return "protected"
        if pattern := _match(key, self.ignore_roles):
            return f"ignored (settings.ignore.roles: {pattern!r})"
        if self.departments is not None and not declared:
            return "not declared and settings.scope limits erpsync to some departments"
        return None

    def department_reason(
        self, key: str, chains: Mapping[str, DepartmentRec], *more: Mapping[str, DepartmentRec]
    ) -> str | None:
        """Why the department is not managed (ignored, or outside the scope), or None."""
        if pattern := _match(key, self.ignore_departments):
            return f"ignored (settings.ignore.departments: {pattern!r})"
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
        the rest. Without ignore patterns or a department scope, only the protected."""
        if self.departments is None and not self.ignore_users:
            return logins & self.protected_users
        return logins

    def user_reason(
        self, login: str, department: str | None, *trees: Mapping[str, DepartmentRec]
    ) -> str | None:
        """Why the user is not managed, or None when it is."""
        if login in self.protected_users:
            return "protected"
        if pattern := _match(login, self.ignore_users):
            return f"ignored (settings.ignore.users: {pattern!r})"
        if self.departments is not None and not self.in_scope(department, *trees):
            return "outside settings.scope"
        return None


def _match(key: str, patterns: Iterable[str]) -> str | None:
    return next((p for p in patterns if fnmatchcase(key, p)), None)
