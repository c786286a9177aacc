"""What the target ERP can store, checked against the policy before anything is planned.

An adapter declares its :class:`~erpsync.adapters.base.Capabilities`; a policy that
relies on something the ERP cannot store (departments in Tryton, say) is a validation
error naming the place, never a silent drop and never a failure half-way into apply.
"""

from __future__ import annotations

from collections.abc import Iterator

from erpsync.adapters.base import Capabilities
from erpsync.diagnostics import Diagnostic, error
from erpsync.policy.loader import LoadedPolicy


def check(loaded: LoadedPolicy, can: Capabilities, adapter: str) -> list[Diagnostic]:
    return list(_problems(loaded, can, adapter))


def _problems(loaded: LoadedPolicy, can: Capabilities, adapter: str) -> Iterator[Diagnostic]:
    policy = loaded.policy
    cannot = f"the {adapter} adapter cannot store"
    if not can.departments:
        for key in policy.departments:
            yield error(
                "capability",
                loaded.position("departments", key),
                f"department {key}",
                f"{cannot} departments; keep them in a policy for another target",
            )
    for login, user in policy.users.items():
        if user.department is not None and not can.departments:
            yield error(
                "capability",
                loaded.position("users", login, "department"),
                f"user {login}",
                f"department: {cannot} departments",
            )
        if user.email is not None and not can.email:
            yield error(
                "capability",
                loaded.position("users", login, "email"),
                f"user {login}",
                f"email: {cannot} email addresses",
            )
    for key, role in policy.roles.items():
        if role.name != key and not can.role_names:
            yield error(
                "capability",
                loaded.position("roles", key, "name"),
                f"role {key}",
                f"name: the {adapter} adapter identifies a role by its name: "
                f"give it the name {key!r}",
            )
        if role.description is not None and not can.role_descriptions:
            yield error(
                "capability",
                loaded.position("roles", key, "description"),
                f"role {key}",
                f"description: {cannot} role descriptions",
            )
        if role.data_scope is not None and not can.data_scope:
            yield error(
                "capability",
                loaded.position("roles", key, "data_scope"),
                f"role {key}",
                f"data_scope: {cannot} data scopes",
            )
        elif role.data_scope == "custom" and not can.custom_data_scope:
            yield error(
                "capability",
                loaded.position("roles", key, "data_scope"),
                f"role {key}",
                f"data_scope: {cannot} a custom data scope",
            )
    for key, dept in policy.departments.items():
        if dept.manager is not None and can.departments and not can.department_manager:
            yield error(
                "capability",
                loaded.position("departments", key, "manager"),
                f"department {key}",
                f"manager: {cannot} department managers",
            )
