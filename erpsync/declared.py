"""Where in the policy a planned change comes from: the declaration a reviewer edits.

When the target's adapter refuses a planned change (:meth:`Adapter.check_plan`), the
plan fails with a diagnostic at the ``file:line:col`` of the declaration that made
the change:

- a department, role or user (created, updated, deactivated, …): its key;
- a permission grant: the ``permissions`` entry for the module (its action in the
  list, when the action is written there) of the role that declares it — the role
  itself, or the role it includes the permission from;
- a membership grant: the user's ``roles`` item, or the ``default_roles`` item of the
  department that gave it;
- a removal (delete, revoke): the owner's declaration when the owner is still
  declared (a revoked permission: the role; a revoked membership: the user); else
  there is no declaration, and the diagnostic names the live object instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from erpsync import access
from erpsync.access import Catalogue
from erpsync.adapters.base import Refusal
from erpsync.diagnostics import LIVE, Diagnostic, Position, error
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind
from erpsync.policy.loader import LoadedPolicy
from erpsync.policy.model import ALL_ACTIONS
from erpsync.state import ASSIGNMENTS, Desired

_SECTIONS = {Kind.DEPARTMENT: "departments", Kind.ROLE: "roles", Kind.USER: "users"}


def declaration(
    desired: Desired, change: Change, at: tuple[str | int, ...] = ()
) -> tuple[Position, str] | None:
    """The position of the declaration ``change`` comes from and the object declared there
    (``role clerk``); None when no declaration gave it (a live object being removed).
    ``at``: the path below a department, role or user to the value in question."""
    loaded = desired.loaded
    if loaded is None:
        return None
    if change.kind in _SECTIONS:
        section = _SECTIONS[change.kind]
        if (section, change.key) not in loaded.origins:
            return None
        if change.kind is Kind.USER:
            at = _listed(loaded, change.key, at)
        return loaded.position(section, change.key, *at), f"{change.kind} {change.key}"
    owner, item = change.parts()
    if change.kind is Kind.PERMISSION:
        if ("roles", owner) not in loaded.origins:
            return None
        if change.action is Action.GRANT:
            return _grant(loaded, desired.catalogue, owner, item)
        module = access.split_permission(item)[0]
        if module in loaded.policy.roles[owner].permissions:
            return loaded.position("roles", owner, "permissions", module), f"role {owner}"
        return loaded.position("roles", owner), f"role {owner}"
    if ("users", owner) not in loaded.origins:
        return None
    if change.action is Action.GRANT:
        department = desired.membership_department(owner, item)
        if department is not None:
            defaults = loaded.policy.departments[department].default_roles
            where = loaded.position(
                "departments", department, "default_roles", defaults.index(item)
            )
            return where, f"department {department}"
        roles = loaded.policy.users[owner].roles
        if item in roles:
            return loaded.position("users", owner, "roles", roles.index(item)), f"user {owner}"
    return loaded.position("users", owner), f"user {owner}"


def _listed(loaded: LoadedPolicy, login: str, at: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """``at`` with a user's assignment named by its value (``("warehouses", "一号仓")``, what
    an adapter sees in the change) turned into that item's index in the policy's list."""
    if len(at) != 2 or at[0] not in ASSIGNMENTS or not isinstance(at[1], str):
        return at
    written = getattr(loaded.policy.users[login], str(at[0])) or []
    return (at[0], written.index(at[1])) if at[1] in written else at[:1]


def _grant(
    loaded: LoadedPolicy, catalogue: Catalogue | None, role: str, perm: str
) -> tuple[Position, str]:
    """The ``permissions`` entry that grants ``perm`` to ``role`` (maybe through includes)."""
    roles = loaded.policy.roles
    module, action = access.split_permission(perm)
    for source in access.included_roles(roles, role):
        if not access.holds(access.own_permissions(roles[source], catalogue), perm):
            continue
        written_as = roles[source].permissions
        if isinstance(written_as, list):  # the list form: the item that grants it
            item = roles[source].declared_at(perm)
            return loaded.position("roles", source, *item), f"role {source}"
        actions = written_as.get(module)
        if actions is None:
            break
        written = action if action in actions else ALL_ACTIONS
        path: tuple[object, ...] = ("permissions", module)
        if written in actions:
            path = (*path, actions.index(written))
        return loaded.position("roles", source, *path), f"role {source}"
    return loaded.position("roles", role), f"role {role}"


_OWNER = {Kind.PERMISSION: "role", Kind.MEMBERSHIP: "user"}


def refusal_diagnostics(
    refusals: Iterable[Refusal], desired: Desired, live: Position, adapter: str
) -> list[Diagnostic]:
    """One error per refused change, at its declaration; a change no declaration gave is
    reported at ``live`` (the target) and names the live object."""
    out = []
    for refusal in refusals:
        found = declaration(desired, refusal.change, refusal.at)
        if found is None:
            kind, key = refusal.change.kind, refusal.change.key
            noun = _OWNER.get(kind, str(kind))
            subject = key.partition("/")[0] if kind in _OWNER else key
            found = live, f"{noun} {subject}{LIVE}"
        where, obj = found
        message = N_("{problem} (the {adapter} adapter refuses it)").format(
            problem=refusal, adapter=adapter
        )
        out.append(error("refused", where, obj, message))
    return out
