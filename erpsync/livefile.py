"""A live ERP state written as YAML: the ``live.yaml`` of the golden cases and
the demo company's as-is data.

    catalogue:                      # optional: module -> actions
      finance.payment: [read, create, approve, export]
    departments:
      finance: {name: 财务部, parent: hq, manager: chen.jing}
    roles:
      ap-clerk:
        name: 应付会计
        description: Enters supplier invoices     # optional
        data_scope: department                    # optional
        data_departments: []                      # optional
        permissions: [finance.ap_invoice:read, finance.payment:read]
    users:
      li.na: {name: 李娜, email: li.na@example.com, department: finance, active: true,
              roles: [ap-clerk]}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from erpsync.state import ASSIGNMENTS, DepartmentRec, RoleRec, State, UserRec, by_user
from erpsync.yamlsafe import load_file, loads

Catalogue = dict[str, tuple[str, ...]]


def from_data(data: Mapping[str, Any] | None) -> tuple[State, Catalogue]:
    data = data or {}
    departments = {
        key: DepartmentRec(key, d["name"], d.get("parent"), d.get("manager"))
        for key, d in (data.get("departments") or {}).items()
    }
    roles: dict[str, RoleRec] = {}
    grants: set[tuple[str, str]] = set()
    for key, r in (data.get("roles") or {}).items():
        roles[key] = RoleRec(
            key,
            r["name"],
            r.get("description"),
            r.get("data_scope"),
            tuple(sorted(r.get("data_departments") or ())),
        )
        grants.update((key, perm) for perm in r.get("permissions") or ())
    users: dict[str, UserRec] = {}
    memberships: set[tuple[str, str]] = set()
    for login, u in (data.get("users") or {}).items():
        users[login] = UserRec(
            login,
            u["name"],
            u.get("email"),
            u.get("department"),
            u.get("active", True),
            *(None if (v := u.get(n)) is None else tuple(sorted(v)) for n in ASSIGNMENTS),
        )
        memberships.update((login, role) for role in u.get("roles") or ())
    catalogue = {m: tuple(a) for m, a in (data.get("catalogue") or {}).items()}
    return State(departments, users, roles, frozenset(grants), by_user(memberships)), catalogue


def load(path: Path) -> tuple[State, Catalogue]:
    return from_data(load_file(path))


def parse(text: str) -> tuple[State, Catalogue]:
    return from_data(loads(text))


def to_data(state: State, catalogue: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    perms: dict[str, list[str]] = {}
    for role, perm in sorted(state.grants):
        perms.setdefault(role, []).append(perm)
    held: dict[str, list[str]] = {}
    for login, role in sorted(state.memberships):
        held.setdefault(login, []).append(role)
    data: dict[str, Any] = {}
    if catalogue:
        data["catalogue"] = {m: list(a) for m, a in catalogue.items()}
    data["departments"] = {
        k: _compact({"name": d.name, "parent": d.parent, "manager": d.manager})
        for k, d in sorted(state.departments.items())
    }
    data["roles"] = {
        k: _compact(
            {
                "name": r.name,
                "description": r.description,
                "data_scope": r.data_scope,
                "data_departments": list(r.data_departments),
                "permissions": perms.get(k, []),
            }
        )
        for k, r in sorted(state.roles.items())
    }
    data["users"] = {
        k: _compact(
            {
                "name": u.name,
                "email": u.email,
                "department": u.department,
                "active": u.active,
                "roles": held.get(k, []),
            }
        )
        # an empty list kept: the ERP holds none (absent: it has no such thing)
        | {n: list(v) for n in ASSIGNMENTS if (v := getattr(u, n)) is not None}
        for k, u in sorted(state.users.items())
    }
    return data


def dump(state: State, catalogue: Mapping[str, tuple[str, ...]] | None = None) -> str:
    return yaml.safe_dump(to_data(state, catalogue), allow_unicode=True, sort_keys=False, width=100)


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and v != []}
