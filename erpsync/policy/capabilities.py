"""What the target ERP can store, checked against the policy before anything is planned.

An adapter declares its :class:`~erpsync.adapters.base.Capabilities`; a policy that
relies on something the ERP cannot store (a data scope in Tryton, say) is a validation
error naming the place, never a silent drop and never a failure half-way into apply.

Departments are the exception: where the ERP stores none, they are *policy-only*. They
still give their members default roles and appear in reports, so a policy may keep
them; validation says once that they are not written, and :func:`storable` takes them
out of the desired state before it is compared with the ERP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

from erpsync.adapters.base import Capabilities
from erpsync.diagnostics import Diagnostic, Position, at_field, error, warning
from erpsync.i18n import N_
from erpsync.policy.loader import LoadedPolicy
from erpsync.state import ASSIGNMENTS, Desired, State, UserRec

if TYPE_CHECKING:
    from erpsync.config import Settings


def check(
    loaded: LoadedPolicy, can: Capabilities, adapter: str, settings: Settings | None = None
) -> list[Diagnostic]:
    """Everything the policy (and, given ``settings``, the configuration) asks of the ERP
    that ``can`` says it cannot store; :meth:`Adapter.check_policy` calls it."""
    found = list(_problems(loaded, can, adapter))
    if settings is not None:
        found += _settings(settings, can, adapter)
    return found


def _settings(settings: Settings, can: Capabilities, adapter: str) -> Iterator[Diagnostic]:
    """Settings the ERP cannot honour. ``removed_users: delete`` where users cannot be
    deleted is refused, never planned as something else: the reviewer would approve one
    thing and the ERP do another."""
    if settings.removed_users == "delete" and not can.delete_users:
        yield error(
            "capability",
            settings.position("removed_users") or Position("erpsync.yaml"),
            "",
            N_(
                "settings.removed_users: delete: the {adapter} adapter cannot delete users "
                "(it deactivates them): set settings.removed_users to deactivate"
            ).format(adapter=adapter),
        )


def _problems(loaded: LoadedPolicy, can: Capabilities, adapter: str) -> Iterator[Diagnostic]:
    policy = loaded.policy

    def refuse(section: str, key: str, field: str, template: str, **values: str) -> Diagnostic:
        noun = {"users": "user", "roles": "role", "departments": "department"}[section]
        where = loaded.position(section, key, field)
        message = template.format(adapter=adapter, **values)
        return error("capability", where, f"{noun} {key}", at_field(field, message))

    if not can.departments and policy.departments:
        first = next(iter(policy.departments))
        yield warning(
            "policy-only",
            loaded.position("departments", first),
            f"department {first}",
            N_(
                "the {adapter} adapter stores no departments: the policy's {n} department(s) "
                "give their members default roles and appear in reports, but are not written "
                "to the ERP"
            ).format(adapter=adapter, n=len(policy.departments)),
        )
    for login, user in policy.users.items():
        if user.email is not None and not can.email:
            yield refuse(
                "users", login, "email", N_("the {adapter} adapter cannot store email addresses")
            )
        for name in ASSIGNMENTS:
            if getattr(user, name) is not None and name not in can.user_assignments:
                yield refuse(
                    "users",
                    login,
                    name,
                    N_("the {adapter} adapter cannot store a user's {name}"),
                    name=name,
                )
    for key, role in policy.roles.items():
        if role.description is not None and not can.role_descriptions:
            yield refuse(
                "roles",
                key,
                "description",
                N_("the {adapter} adapter cannot store role descriptions"),
            )
        if role.data_scope is not None and not can.data_scope:
            yield refuse(
                "roles", key, "data_scope", N_("the {adapter} adapter cannot store data scopes")
            )
        elif role.data_scope == "custom" and not can.custom_data_scope:
            yield refuse(
                "roles",
                key,
                "data_scope",
                N_("the {adapter} adapter cannot store a custom data scope"),
            )
    for key, dept in policy.departments.items():
        if dept.manager is not None and can.departments and not can.department_manager:
            yield refuse(
                "departments",
                key,
                "manager",
                N_("the {adapter} adapter cannot store department managers"),
            )


def storable(desired: Desired, can: Capabilities) -> Desired:
    """The part of ``desired`` the ERP can hold. Without departments in the ERP, the
    departments (which have already given their default roles) and the users'
    department fields are left out, so they are neither created nor seen as drift. A role
    declaring no data scope gets the ERP's default one (``can.default_data_scope``), so the
    plan shows what is written and a role created so is not drift afterwards."""
    desired = _default_scopes(desired, can.default_data_scope if can.data_scope else None)
    if can.departments:
        return desired
    state = desired.state
    users = {
        login: u if u.department is None else dataclasses.replace(u, department=None)
        for login, u in state.users.items()
    }
    return dataclasses.replace(
        desired, state=dataclasses.replace(state, departments={}, users=users)
    )


def _default_scopes(desired: Desired, scope: str | None) -> Desired:
    """``desired`` with ``scope`` as the data scope of every role that declares none."""
    roles = desired.state.roles
    if scope is None or all(r.data_scope is not None for r in roles.values()):
        return desired
    given = {
        key: r if r.data_scope is not None else dataclasses.replace(r, data_scope=scope)
        for key, r in roles.items()
    }
    return dataclasses.replace(desired, state=dataclasses.replace(desired.state, roles=given))


def undeclared_as_live(desired: Desired, live: State, can: Capabilities) -> Desired:
    """``desired`` with each assignment a user's policy does not declare (posts,
    warehouses, customers: None) taken from the live user, so it is left as the ERP has
    it rather than planned away. A user created without them gets none. Cheap: a look-up
    per declared user."""
    if not can.user_assignments:  # the ERP holds none: nothing is declared or read
        return desired
    users = desired.state.users
    was = {new: old for old, new in desired.renames.get("user", {}).items()}  # moved:
    kept: dict[str, UserRec] = {}
    for login, want in users.items():
        have = live.users.get(login) or live.users.get(was.get(login, ""))
        if have is None:
            continue
        given = {
            name: getattr(have, name)
            for name in ASSIGNMENTS
            if getattr(want, name) is None and getattr(have, name) is not None
        }
        if given:
            kept[login] = dataclasses.replace(want, **given)
    if not kept:
        return desired
    state = dataclasses.replace(desired.state, users={**users, **kept})
    return dataclasses.replace(desired, state=state)
