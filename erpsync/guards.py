"""Safety guards checked before apply writes anything.

Each guard looks at the plan (and the live state it was made from) and
raises :class:`GuardError` naming itself and, where one exists, the override.
Separation-of-duties is guarded by validation itself (an unmitigated high or
critical violation makes the policy invalid).
"""

from __future__ import annotations

from collections.abc import Iterable

from erpsync.config import Settings
from erpsync.errors import GuardError
from erpsync.plan import Action, Change, Kind, Plan
from erpsync.scope import Scope
from erpsync.state import State


def touched(change: Change) -> list[tuple[Kind, str]]:
    """The users and roles a change touches: (Kind.USER|Kind.ROLE, key)."""
    if change.kind in (Kind.USER, Kind.ROLE):
        old = change.renamed_from
        keys = [change.key] if old is None else [change.key, old]
        return [(change.kind, key) for key in keys]
    owner, item = change.parts()
    if change.kind is Kind.MEMBERSHIP:
        return [(Kind.USER, owner), (Kind.ROLE, item)]
    if change.kind is Kind.PERMISSION:
        return [(Kind.ROLE, owner)]
    return []


def check_protected(changes: Iterable[Change], scope: Scope) -> None:
    for change in changes:
        for kind, key in touched(change):
            protected = scope.protected_users if kind is Kind.USER else scope.protected_roles
            if key in protected:
                raise GuardError(
                    f"guard protected-objects: the plan would {change.action} {change.kind} "
                    f"{change.key}, which touches protected {kind} {key}; erpsync never changes "
                    "protected objects (no override)"
                )


def limit_of(setting: int | str, total: int) -> int:
    """The most removals ``max_removals`` allows out of ``total``."""
    if isinstance(setting, int):
        return setting
    return int(total * float(setting.rstrip("%")) / 100)


def check_mass_removal(plan: Plan, live: State, settings: Settings, allowed: bool) -> None:
    if allowed:
        return
    unmanaged_users = {u.key for u in plan.unmanaged if u.kind is Kind.USER}
    managed_users = len(live.users.keys() - unmanaged_users)
    managed_memberships = sum(
        len(roles) for login, roles in live.user_roles.items() if login not in unmanaged_users
    )
    users = sum(
        1
        for c in plan.changes
        if c.kind is Kind.USER and c.action in (Action.DEACTIVATE, Action.DELETE)
    )
    revokes = sum(
        1 for c in plan.changes if c.kind is Kind.MEMBERSHIP and c.action is Action.REVOKE
    )
    setting = settings.max_removals
    for what, count, total in (
        ("users", users, managed_users),
        ("memberships", revokes, managed_memberships),
    ):
        if count > limit_of(setting, total):
            raise GuardError(
                f"guard max_removals: the plan removes {count} of {total} managed {what}, over "
                f"settings.max_removals ({setting}); if this is intended, rerun with "
                "--allow-mass-removal"
            )
