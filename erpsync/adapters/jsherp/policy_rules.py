"""What a policy for jshERP may not ask, found without a database (``validate``).

jshERP holds exactly one role per user: its UserRole value is read as one number (``[6][7]``
is role 67). A user who would hold two roles — declared, or added by the default roles of
the department and the departments above it — is an error at the user's second role (or at
the user, when the roles come from departments).
"""

from __future__ import annotations

from collections.abc import Iterator

from erpsync.diagnostics import Diagnostic, error
from erpsync.i18n import N_
from erpsync.policy.loader import LoadedPolicy


def _defaults(loaded: LoadedPolicy, department: str | None) -> list[str]:
    departments = loaded.policy.departments
    found: list[str] = []
    seen: set[str] = set()
    while department is not None and department in departments and department not in seen:
        seen.add(department)
        found += departments[department].default_roles
        department = departments[department].parent
    return found


def one_role_per_user(loaded: LoadedPolicy) -> Iterator[Diagnostic]:
    for login, user in loaded.policy.users.items():
        held = dict.fromkeys([*user.roles, *_defaults(loaded, user.department)])
        if len(held) <= 1:
            continue
        if len(dict.fromkeys(user.roles)) > 1:
            where = loaded.position("users", login, "roles", 1)
        else:
            where = loaded.position("users", login)
        yield error(
            "capability",
            where,
            N_("user {login}").format(login=login),
            N_("jshERP holds exactly one role per user; {login} would hold {n}: {roles}").format(
                login=login, n=len(held), roles=", ".join(held)
            ),
        )
