"""Effective access: which roles a user holds and which permissions a role carries.

Pure functions on plain mappings, shared by validation, the desired state and
the reports, so the spec's rules are written once:

- a user's roles are the explicit ones plus the ``default_roles`` of the
  user's department and of every department above it;
- a role's permissions are its own plus those of every role it includes,
  transitively; ``*`` means every action the catalogue lists for the module.

Broken input (a cycle, a dangling reference) never loops or raises here:
the functions skip what they cannot follow, and validation reports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property

from erpsync.policy import model
from erpsync.policy.model import ALL_ACTIONS, Department, PolicyDocument, Role

Catalogue = Mapping[str, Sequence[str]]  # module -> actions

split_permission = model.split_permission  # the action follows the last ':'


def permission(module: str, action: str) -> str:
    return f"{module}:{action}"


def department_chain(departments: Mapping[str, Department], key: str | None) -> list[str]:
    """``key`` and its ancestors, nearest first; stops at an unknown key or a cycle."""
    chain: list[str] = []
    while key is not None and key in departments and key not in chain:
        chain.append(key)
        key = departments[key].parent
    return chain


def find_cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Each cycle of a directed graph once, as a path that starts at its smallest key."""
    cycles: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished

    for start in sorted(edges):
        if state.get(start):
            continue
        path: list[str] = [start]
        stack = [iter(sorted(edges.get(start, ())))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                turn = cycle.index(min(cycle))
                cycles.add(tuple(cycle[turn:] + cycle[:turn]))
            elif not state.get(nxt) and nxt in edges:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return [list(c) for c in sorted(cycles)]


def expand(module: str, actions: Iterable[str], catalogue: Catalogue | None) -> set[str]:
    """Permissions for ``actions`` on ``module``; ``*`` is every catalogue action.

    Without a catalogue entry for the module, ``*`` stays as ``module:*``.
    """
    out: set[str] = set()
    for action in actions:
        if action == ALL_ACTIONS and catalogue is not None and module in catalogue:
            out.update(permission(module, a) for a in catalogue[module])
        else:
            out.add(permission(module, action))
    return out


def own_permissions(role: Role, catalogue: Catalogue | None) -> set[str]:
    out: set[str] = set()
    for module, actions in role.by_module().items():
        out |= expand(module, actions, catalogue)
    return out


def included_roles(roles: Mapping[str, Role], key: str) -> list[str]:
    """``key`` and every role it includes, transitively, each once (cycle-safe)."""
    seen = [key]
    index = 0
    while index < len(seen):
        role = roles.get(seen[index])
        index += 1
        for inc in role.includes if role else ():
            if inc not in seen and inc in roles:
                seen.append(inc)
    return seen


def flatten_roles(
    roles: Mapping[str, Role], catalogue: Catalogue | None
) -> dict[str, frozenset[str]]:
    """Every role's flattened permission set (its own plus all included roles')."""
    own = {key: own_permissions(role, catalogue) for key, role in roles.items()}
    flat: dict[str, frozenset[str]] = {}
    for key in roles:
        perms: set[str] = set()
        for member in included_roles(roles, key):
            perms |= own[member]
        flat[key] = frozenset(perms)
    return flat


def inherited_defaults(departments: Mapping[str, Department]) -> dict[str, list[tuple[str, str]]]:
    """Department -> its members' default roles, as (role, department that gives it),
    nearest department first. Worked out once per policy, not once per user."""
    out: dict[str, list[tuple[str, str]]] = {}
    for key in departments:
        pairs: list[tuple[str, str]] = []
        for dept in department_chain(departments, key):
            pairs.extend((role, dept) for role in departments[dept].default_roles)
        out[key] = pairs
    return out


def role_sources(
    explicit: Iterable[str],
    department: str | None,
    defaults: Mapping[str, list[tuple[str, str]]],
) -> dict[str, str | None]:
    """Role -> the department whose default gave it (``None`` when explicit); ``defaults``
    comes from :func:`inherited_defaults`."""
    out: dict[str, str | None] = dict.fromkeys(explicit)
    for role, dept in defaults.get(department, ()) if department is not None else ():
        out.setdefault(role, dept)
    return out


def holds(perms: Iterable[str], wanted: str) -> bool:
    """True when ``perms`` grant ``wanted``; ``m:*`` on either side matches any action of m."""
    module, action = split_permission(wanted)
    perms = perms if isinstance(perms, set | frozenset) else set(perms)
    if wanted in perms or permission(module, ALL_ACTIONS) in perms:
        return True
    return action == ALL_ACTIONS and any(p.startswith(module + ":") for p in perms)


class Resolution:
    """A policy's effective access on ``today``, worked out once.

    Validation (for SoD and unused roles), the desired state and the reports all
    need each active user's roles and each role's flattened permissions; a plan
    needs all of them, so it shares one Resolution instead of resolving 10^5
    users twice.
    """

    def __init__(self, policy: PolicyDocument, catalogue: Catalogue | None, today: dt.date) -> None:
        self.policy = policy
        self.catalogue = catalogue
        self.today = today

    @cached_property
    def flat(self) -> dict[str, frozenset[str]]:
        """Role -> its flattened permissions (see :func:`flatten_roles`)."""
        return flatten_roles(self.policy.roles, self.catalogue)

    @cached_property
    def holdings(self) -> dict[str, dict[str, str | None]]:
        """Each user who holds roles today (active, not expired): role -> the department
        whose default gave it, ``None`` when explicit."""
        defaults = inherited_defaults(self.policy.departments)
        today = self.today
        return {
            login: role_sources(user.roles, user.department, defaults)
            for login, user in self.policy.users.items()
            if user.active and (user.expires is None or user.expires > today)
        }
