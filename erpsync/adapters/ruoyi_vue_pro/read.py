"""Reading ruoyi-vue-pro: one ``SELECT`` per table for any number of tenants, split by
``tenant_id`` in memory, and the :class:`LiveSnapshot` of each.

Only live rows are read (``deleted = 0``, compared in SQL: ``bit(1)`` on MariaDB,
``smallint`` on PostgreSQL), and only the tenants asked for (``tenant_id IN (...)``);
``system_menu`` is global and read once. Dirty data is reported in
:attr:`LiveSnapshot.problems`, never fatal and never "fixed":

- link rows (``system_user_role``, ``system_role_menu``) pointing at a user, role or
  menu that is missing, deleted or in another tenant: skipped (the app ignores them);
- duplicate logins or role codes among live rows (compared as the database does):
  the lowest id is read, the others left out; a department path two rows share keeps
  the later one apart with ``#id``;
- a user or department pointing at a missing department: read without it;
- a disabled role (``status = 1``): the app grants nothing through it, while the policy
  model has no role status, so its grants and holders are read as they are;
- ``data_scope_dept_ids`` that is no JSON array or names another tenant's or a missing
  department; an unknown ``data_scope``; a permission that is no ``module:action``;
- posts (:mod:`.posts`): a row naming a missing post, ``post_ids`` disagreeing with
  ``system_user_post`` (the rows are read), two posts with one code.
Duplicate live link rows (the seed has them) are one grant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from erpsync import bindings
from erpsync.adapters.base import Attribution, LiveSnapshot
from erpsync.adapters.ruoyi_vue_pro.attribution import Stamps, operations, stamp
from erpsync.adapters.ruoyi_vue_pro.facts import Private, SchemaFacts
from erpsync.adapters.ruoyi_vue_pro.keys import (
    BUILTIN_TYPE,
    ENABLED,
    ROOT,
    SCOPE_BY_CODE,
    permission_of,
)
from erpsync.adapters.ruoyi_vue_pro.model import Dept, Menu, Role, Tenant, TenantModel, User
from erpsync.adapters.ruoyi_vue_pro.posts import read_posts
from erpsync.adapters.ruoyi_vue_pro.schema import Schema
from erpsync.adapters.ruoyi_vue_pro.tenants import json_ids, tenants_from
from erpsync.i18n import N_

__all__ = ["live_tenants", "load", "menu_facts", "snapshot"]


def _live(schema: Schema, name: str, tenants: Sequence[int] | None = None) -> Any:
    t = schema.tables[name]
    query = select(*t.c).where(t.c.deleted == 0)
    if tenants is not None:
        query = query.where(t.c.tenant_id.in_(sorted(set(tenants))))
    return query.order_by(t.c.id)


def live_tenants(conn: Connection, schema: Schema, problems: list[str]) -> list[Tenant]:
    return tenants_from(
        conn.execute(_live(schema, "system_tenant")),
        conn.execute(_live(schema, "system_tenant_package")),
        problems,
    )


def scope_of(tenant: Tenant) -> str:
    """The bindings' scope of a tenant (erpsync.bindings): its id."""
    return f"tenant:{tenant.id}"


def load(
    conn: Connection,
    schema: Schema,
    tenants: Sequence[Tenant],
    problems: dict[int, list[str]],
    stamps: Stamps | None = None,
) -> dict[int, TenantModel]:
    """Every tenant's model (tenant id -> model), one ``SELECT`` per table for them all."""
    ids = [t.id for t in tenants]
    menus = _menus(conn, schema, problems)
    models = {t.id: TenantModel(t, menus, folds_case=schema.facts.folds_case) for t in tenants}
    stamps = {} if stamps is None else stamps
    for row in conn.execute(_live(schema, "system_dept", ids)):
        stamp(stamps, "department", row)
        models[row.tenant_id].depts[row.id] = Dept(
            row.id,
            str(row.name or ""),
            row.parent_id or ROOT,
            row.leader_user_id,
            row.sort or 0,
            row.status == ENABLED,
        )
    seen: dict[tuple[str, int, str], int] = {}  # (table, tenant, key as compared) -> id
    listed: dict[tuple[int, int], Any] = {}  # (tenant, user id) -> post_ids as stored
    for row in conn.execute(_live(schema, "system_users", ids)):
        model = models[row.tenant_id]
        if _first(seen, "system_users", model, row, str(row.username or ""), problems):
            stamp(stamps, "user", row)
            _user(model, row)
            listed[(row.tenant_id, row.id)] = row.post_ids
    for row in conn.execute(_live(schema, "system_role", ids)):
        model = models[row.tenant_id]
        if _first(seen, "system_role", model, row, str(row.code or ""), problems):
            stamp(stamps, "role", row)
            _role(model, row, problems[row.tenant_id])
    _links(conn, schema, ids, models, problems)
    read_posts(conn, schema, ids, models, listed, problems, stamps)
    operations(conn, schema.tables.get("system_operate_log"), ids, stamps)
    bound = bindings.load_scopes(conn, [scope_of(t) for t in tenants])
    for tenant in tenants:
        model = models[tenant.id]
        model.bound = {
            int(i): key
            for i, key in bound[scope_of(tenant)].of("department").items()
            if _int(i) in model.depts
        }
        _check_tree(model, problems[tenant.id])
    return models


def _int(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() else None


def _menus(conn: Connection, schema: Schema, problems: dict[int, list[str]]) -> dict[int, Menu]:
    menus: dict[int, Menu] = {}
    bad: list[str] = []
    for row in conn.execute(_live(schema, "system_menu")):
        text = str(row.permission or "").strip()
        permission = permission_of(text)
        if text and permission is None:
            bad.append(
                N_(
                    "system_menu: menu {menu} ({name}) has the permission {permission}, which "
                    "is no module:action permission erpsync can manage; left out"
                ).format(menu=row.id, name=row.name, permission=repr(text))
            )
        menus[row.id] = Menu(
            row.id, row.parent_id or ROOT, row.type, str(row.name or ""), permission
        )
    for found in problems.values():
        found.extend(bad)
    return menus


def _first(
    seen: dict[tuple[str, int, str], int],
    table: str,
    model: TenantModel,
    row: Any,
    key: str,
    problems: dict[int, list[str]],
) -> bool:
    """Whether ``row`` is the first live row of its tenant with ``key`` (a username, a
    role code, compared as the database compares); a later one is reported."""
    tenant = row.tenant_id
    other = seen.setdefault((table, tenant, model.fold(key)), row.id)
    if other == row.id:
        return True
    if table == "system_users":
        shared = N_(
            "{table}: rows {first} and {second} share the username {key} in tenant {tenant} "
            "(the app fails on both); {left} is left out"
        )
    else:
        shared = N_(
            "{table}: rows {first} and {second} share the code {key} in tenant {tenant} (the "
            "app fails on both); {left} is left out"
        )
    problems[tenant].append(
        shared.format(
            table=table, first=other, second=row.id, key=repr(key), tenant=tenant, left=row.id
        )
    )
    return False


def _user(model: TenantModel, row: Any) -> None:
    email = str(row.email or "") or None
    model.users[row.id] = User(
        row.id,
        str(row.username or ""),
        str(row.nickname or ""),
        email,
        row.dept_id or None,
        row.status == ENABLED,
    )


def _role(model: TenantModel, row: Any, problems: list[str]) -> None:
    code = str(row.code or "")
    if row.data_scope not in SCOPE_BY_CODE:
        problems.append(
            N_("system_role: role {role} has an unknown data_scope {scope}").format(
                role=code, scope=repr(row.data_scope)
            )
        )
    if row.status != ENABLED:
        problems.append(
            N_(
                "system_role: role {role} is disabled (status {status}): the app grants nothing "
                "through it, erpsync reads its grants and holders as they are"
            ).format(role=code, status=row.status)
        )
    depts = json_ids(row.data_scope_dept_ids)
    if depts is None:
        problems.append(
            N_(
                "system_role: role {role} has data_scope_dept_ids {ids}, which is no JSON "
                "array of ids; read as none"
            ).format(role=code, ids=repr(row.data_scope_dept_ids))
        )
    model.roles[row.id] = Role(
        row.id,
        code,
        str(row.name or ""),
        str(row.remark) if row.remark else None,
        row.data_scope,
        depts or (),
        row.type == BUILTIN_TYPE,
        row.sort or 0,
    )


def _links(
    conn: Connection,
    schema: Schema,
    ids: Sequence[int],
    models: dict[int, TenantModel],
    problems: dict[int, list[str]],
) -> None:
    ur = schema.tables["system_user_role"]
    query = select(ur.c.user_id, ur.c.role_id, ur.c.tenant_id).where(
        ur.c.deleted == 0, ur.c.tenant_id.in_(sorted(set(ids)))
    )
    for user_id, role_id, tenant_id in conn.execute(query):
        model = models[tenant_id]
        if user_id in model.users and role_id in model.roles:
            model.user_roles.setdefault(user_id, set()).add(role_id)
        else:
            problems[tenant_id].append(
                N_(
                    "system_user_role: row (user_id={user}, role_id={role}) points at a user "
                    "or role not live in tenant {tenant}; skipped"
                ).format(user=user_id, role=role_id, tenant=tenant_id)
            )
    rm = schema.tables["system_role_menu"]
    query = select(rm.c.role_id, rm.c.menu_id, rm.c.tenant_id).where(
        rm.c.deleted == 0, rm.c.tenant_id.in_(sorted(set(ids)))
    )
    for role_id, menu_id, tenant_id in conn.execute(query):
        model = models[tenant_id]
        if role_id in model.roles and menu_id in model.menus:
            model.role_menus.setdefault(role_id, set()).add(menu_id)
        else:
            problems[tenant_id].append(
                N_(
                    "system_role_menu: row (role_id={role}, menu_id={menu}) points at a role "
                    "or menu not live in tenant {tenant}; skipped"
                ).format(role=role_id, menu=menu_id, tenant=tenant_id)
            )


def _check_tree(model: TenantModel, problems: list[str]) -> None:
    for dept in model.depts.values():
        if dept.parent != ROOT and dept.parent not in model.depts:
            problems.append(
                N_(
                    "system_dept: department {department} ({name}) points at a missing parent "
                    "{parent}; read as a top-level department"
                ).format(department=dept.id, name=dept.name, parent=dept.parent)
            )
            dept.parent = ROOT
    for user in model.users.values():
        if user.dept is not None and user.dept not in model.depts:
            problems.append(
                N_(
                    "system_users: user {user} ({login}) points at a missing department "
                    "{department}; read as no department"
                ).format(user=user.id, login=user.login, department=user.dept)
            )
            user.dept = None
    for role in model.roles.values():
        if SCOPE_BY_CODE.get(role.scope) != "custom":
            continue
        gone = [d for d in role.scope_depts if d not in model.depts]
        if gone:
            problems.append(
                N_(
                    "system_role: the custom data scope of role {role} names department(s) "
                    "{departments} not live in tenant {tenant}; left out"
                ).format(
                    role=role.code,
                    departments=", ".join(map(str, gone)),
                    tenant=model.tenant.id,
                )
            )


MenuFacts = tuple[
    dict[str, tuple[str, ...]], dict[str, str], dict[str, str], dict[str, tuple[str, ...]]
]


def menu_facts(model: TenantModel) -> MenuFacts:
    """What the (global) menus say, the same for every tenant: computed once per read."""
    return (*model.catalogue(), model.requires())


def snapshot(
    model: TenantModel,
    problems: Sequence[str],
    facts: SchemaFacts,
    menus: MenuFacts,
    changed: Mapping[tuple[str, str], Attribution] | None = None,
) -> LiveSnapshot:
    catalogue, modules, labels, requires = menus
    keys = model.dept_keys()
    return LiveSnapshot(
        model.state(),
        catalogue,
        tuple(sorted(set(problems))),
        modules,
        dict(changed or {}),
        identities={"department": model.identities()},
        unbound={
            "department": {k: model.natural_key(i) for i, k in keys.items() if i not in model.bound}
        },
        requires=requires,
        private=Private(model, facts),
        permission_names=labels,
    )
