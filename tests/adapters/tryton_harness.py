"""The shared behaviour suite (:mod:`tests.adapters.test_behaviour`) on a real Tryton database.

The suite speaks the reference ERP's vocabulary; :class:`TrytonSuite` says the same in
Tryton's: only what Tryton can store (its adapter's Capabilities: no departments, data
scopes or descriptions), permissions on Tryton models of the
live catalogue, and every state on top of the fresh database's own users and groups
(``admin``, the module groups), which erpsync leaves as they are.

Seeding writes through the adapter itself, except what it never writes: the built-in
``admin`` user's name, e-mail and groups, set with SQL as an administrator would in Tryton.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import insert, select, update

from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.adapters.tryton import TrytonAdapter
from erpsync.adapters.tryton.groups import active_groups, read_groups
from erpsync.adapters.tryton.tables import METADATA, res_user, user_group
from erpsync.diff import diff
from erpsync.importer import storable
from erpsync.scope import Scope
from erpsync.state import Desired, State, by_user
from tests.adapters.tryton_db import Erp

# The suite's modules as models of a database with company, party, product and sale, each
# with access rows already (deleting a group never leaves one with none: open to everyone).
MODELS = {
    "system.user": "res.user",
    "system.role": "res.group",
    "finance.ap_invoice": "sale.sale",
    "finance.payment": "product.category",
    "finance.report": "product.template",
    "hr.employee": "company.employee",
}
ACTIONS = {"approve": "delete"}  # Tryton's actions are read, create, update, delete


def permission(perm: str) -> str:
    module, _, action = perm.rpartition(":")
    return f"{MODELS.get(module, module)}:{ACTIONS.get(action, action)}"


def over(base: State, top: State) -> State:
    """``top`` on ``base``: its records win, grants and memberships add up."""
    return State(
        {**base.departments, **top.departments},
        {**base.users, **top.users},
        {**base.roles, **top.roles},
        base.grants | top.grants,
        by_user(base.memberships | top.memberships),
    )


class TrytonSuite:
    def __init__(self, erp: Erp) -> None:
        self.erp = erp
        self.fresh: LiveSnapshot = erp.adapter.read()
        missing = sorted(m for m in MODELS.values() if m not in self.fresh.catalogue)
        assert not missing, f"models missing from the Tryton catalogue: {missing}"

    @property
    def problems(self) -> tuple[str, ...]:
        """What reading the fresh database reports (groups inheriting from others)."""
        return self.fresh.problems

    @property
    def left_alone(self) -> frozenset[tuple[str, str]]:
        """The fresh database's groups: unmanaged where a policy does not declare them."""
        return frozenset(("role", key) for key in self.fresh.state.roles)

    def translate(self, state: State) -> State:
        kept, _ = storable(state, TrytonAdapter.capabilities)
        grants = frozenset((role, permission(perm)) for role, perm in kept.grants)
        mapped = State({}, kept.users, kept.roles, grants, kept.user_roles)
        return over(self.fresh.state, mapped)

    def policy(self, text: str) -> str:
        """A policy document of the suite in what a tryton policy may hold."""
        data: dict[str, Any] = yaml.safe_load(text)
        data.pop("departments", None)
        for user in data.get("users", {}).values():
            user.pop("department", None)
        for role in data.get("roles", {}).values():
            for field in ("description", "data_scope", "data_departments"):
                role.pop(field, None)
            perms = role.get("permissions", {})
            if isinstance(perms, list):
                role["permissions"] = [permission(p) for p in perms]
            else:
                role["permissions"] = {
                    MODELS.get(m, m): [ACTIONS.get(a, a) for a in actions]
                    for m, actions in perms.items()
                }
        out: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        return out

    def seed(self, state: State) -> Adapter:
        fresh = self.fresh.state
        admin = state.users["admin"]
        own = frozenset(m for m in state.memberships if m[0] != "admin")
        through_erpsync = State(
            {},
            {**state.users, "admin": fresh.users["admin"]},
            state.roles,
            state.grants,
            by_user(own | {m for m in fresh.memberships if m[0] == "admin"}),
        )
        changes = diff(Desired(through_erpsync), fresh, Scope()).changes
        if changes:
            self.erp.apply(changes)
        with self.erp.adapter.engine.begin() as conn:
            conn.execute(
                update(res_user)
                .where(res_user.c.login == "admin")
                .values(name=admin.name, email=admin.email)
            )
            uid = conn.execute(select(res_user.c.id).where(res_user.c.login == "admin")).scalar()
            groups = read_groups(conn, active_groups(conn)).ids  # key -> id
            added = {r for login, r in state.memberships if login == "admin"} - {
                r for login, r in fresh.memberships if login == "admin"
            }
            if added:
                conn.execute(insert(user_group), [{"user": uid, "group": groups[r]} for r in added])
        return self.erp.adapter

    def contents(self, adapter: Adapter) -> object:
        """Every row of every Tryton table erpsync reads or writes."""
        with adapter.engine.connect() as conn:
            return {
                table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
                for table in METADATA.sorted_tables
            }
