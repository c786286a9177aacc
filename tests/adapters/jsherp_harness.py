"""The shared behaviour suite (:mod:`tests.adapters.test_behaviour`) on jshERP (MariaDB).

The suite speaks the reference ERP's vocabulary; :class:`JshErpSuite` says the same in
jshERP's, on our own DDL (:func:`~tests.adapters.jsherp_fixture.create_schema`), in
tenant 63, so the suite runs without ``../shared``. What jshERP cannot hold is translated:

- one role per user: a user keeps the first of its roles (sorted);
- data scopes all, self and department_tree only: custom is read as self (a scope of its
  own, so a change between them stays a change), and a role with none gets all (what
  erpsync writes for it, as jshERP's role dialog does);
- a department's manager is a member flagged leader: a manager outside the department
  is dropped;
- 4-byte characters (utf8mb3 tables) are dropped from names;
- permissions are pages (``url``) with ``view`` and the buttons their ``push_btn``
  offers, a button bringing its page;
- every user has warehouses and customers (none, where the suite gives none): jshERP
  reads a scope, possibly empty, for every user.

The suite's ``admin`` user is inserted with SQL, as jshERP's own admin screens would
(erpsync refuses the login ``admin``); everything else is written through the adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import yaml
from sqlalchemy import Engine, text

from erpsync.adapters.base import Adapter
from erpsync.adapters.jsherp import JshErpAdapter
from erpsync.diff import diff
from erpsync.plan import Change
from erpsync.scope import Scope
from erpsync.state import DepartmentRec, Desired, RoleRec, State, UserRec
from tests.adapters import jsherp_fixture as fx

MODULES = {
    "system.user": "/hr/account",
    "system.role": "/hr/grant",
    "finance.ap_invoice": "/financial/ap_invoice",
    "finance.payment": "/financial/money_out",
    "finance.report": "/financial/report",
    "hr.employee": "/hr/employee",
}
ACTIONS = {"read": "view", "create": "edit", "update": "edit", "delete": "edit", "approve": "audit"}
SCOPES = {"custom": "self", None: "all"}

# Behaviours whose exact list of changes jshERP cannot make (they still converge; only the
# list differs), run as strict expected failures.
CANNOT = {
    "test_moves_a_user_and_a_department_under_a_new_parent": (
        "chen.jing moves out of finance, which she manages: jshERP's manager is a member, so "
        "finance loses its manager (one more change)"
    ),
    "test_deactivates_and_reactivates_users": (
        "chen.jing holds one role in jshERP (ap-clerk): there is no viewer membership to revoke"
    ),
}


def permission(perm: str) -> str:
    module, _, action = perm.rpartition(":")
    return f"{MODULES.get(module, module)}:{ACTIONS.get(action, action)}"


def with_pages(perms: set[str]) -> set[str]:
    return perms | {f"{p.rpartition(':')[0]}:view" for p in perms}


def storable_text(name: str) -> str:
    return "".join(c for c in name if ord(c) <= 0xFFFF).strip()


def translate(state: State) -> State:
    users = state.users
    departments = {
        k: DepartmentRec(
            k,
            storable_text(d.name),
            d.parent,
            d.manager if d.manager in users and users[d.manager].department == k else None,
        )
        for k, d in state.departments.items()
    }
    roles = {
        k: RoleRec(k, r.name, r.description, SCOPES.get(r.data_scope, r.data_scope))
        for k, r in state.roles.items()
    }
    by_role: dict[str, set[str]] = {}
    for role, perm in state.grants:
        by_role.setdefault(role, set()).add(permission(perm))
    grants = frozenset((r, p) for r, perms in by_role.items() for p in with_pages(perms))
    user_roles = {login: frozenset({min(held)}) for login, held in state.user_roles.items()}
    scoped = {
        login: replace(u, warehouses=u.warehouses or (), customers=u.customers or ())
        for login, u in users.items()
    }
    return State(departments, scoped, roles, grants, user_roles)


def policy(source: str) -> str:
    """A policy document of the suite in what a jsherp policy may hold."""
    data: dict[str, Any] = yaml.safe_load(source)
    users = data.get("users", {})
    for key, dept in data.get("departments", {}).items():
        dept["name"] = storable_text(dept["name"])
        manager = dept.get("manager")
        if manager is not None and users.get(manager, {}).get("department") != key:
            dept.pop("manager")
    for user in users.values():
        if len(user.get("roles", [])) > 1:
            user["roles"] = [min(user["roles"])]
    for role in data.get("roles", {}).values():
        role.pop("data_departments", None)
        if role.get("data_scope") == "custom":
            role["data_scope"] = "self"
        perms = role.get("permissions", {})
        flat = (
            perms
            if isinstance(perms, list)
            else [f"{m}:{a}" for m, actions in perms.items() for a in actions]
        )
        role["permissions"] = sorted(with_pages({permission(p) for p in flat}))
    out: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return out


class JshErpSuite:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.checked = 0  # applies checked against jshERP's own rule

    def seed(self, state: State) -> Adapter:
        fx.create_schema(self.engine)
        adapter = JshErpAdapter(self.engine, str(fx.TENANT))
        if "admin" in state.users:
            with self.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO jsh_user (username, login_name, status, tenant_id, "
                        "delete_flag) VALUES ('admin', 'admin', 0, :t, '0')"
                    ),
                    {"t": fx.TENANT},
                )
        changes = diff(Desired(state), adapter.read().state, Scope()).changes
        if changes:
            with self.engine.begin() as conn:
                adapter.write(conn, changes, "seed")
        return adapter

    def apply(self, adapter: Adapter, changes: Sequence[Change]) -> None:
        """Write as apply does, then check jshERP's own menu rule (the facts' query, when
        ``../shared`` is there) for every user. The suite's ``admin`` is left out: jshERP
        treats any ``admin`` login as its platform administrator (every menu, no button)."""
        with adapter.engine.begin() as conn:
            adapter.write(conn, changes, "test")
        fx.check_scopes(adapter, fx.TENANT)
        if fx.effective_sql() is not None:
            fx.check_ground_truth(adapter, fx.TENANT, skip={"admin"})
            self.checked += 1

    def contents(self, adapter: Adapter) -> object:
        """Every row of every jsh_* table erpsync reads or writes."""
        with adapter.engine.connect() as conn:
            return fx.rows_outside(conn, -1)


__all__ = ["JshErpSuite", "UserRec", "policy", "translate"]
