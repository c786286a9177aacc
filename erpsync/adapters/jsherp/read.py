"""Reading jshERP: one ``SELECT`` per table for any number of tenants, split in memory.

:func:`resolve` finds each configured tenant in ``jsh_tenant`` (by ``tenant_id`` or by
the tenant administrator's ``login_name``; with none configured, the only tenant there
is). :func:`load` then reads each table once, only the rows of those tenants
(``tenant_id IN (...)``), into one :class:`~.model.Model` per tenant; ``jsh_function``
and the tenant administrator's platform role (the ceiling) are read-only context.
``jsh_user`` is the exception: the logins of every live user are read, because a login
must be unique across all tenants, and only folded into a set (other tenants' users are
never part of a plan or of drift).

The users' UserDepot and UserCustomer rows are read with their UserRole rows, and the
tenants' warehouses, customers and switches once for all tenants (:mod:`.scopes`).

Dirty data is reported (``problems``), never fixed: a second live UserRole, RoleFunctions,
UserDepot, UserCustomer or rel row of the same user or role (the first by id wins, as in
jshERP), a UserRole value jshERP reads as another role, ``btn_str`` it cannot parse, ids of
functions, warehouses or customers that do not exist, a department whose parent is missing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, func, select

from erpsync import bindings
from erpsync.adapters.base import Attribution, LiveSnapshot
from erpsync.adapters.dbclock import clock
from erpsync.adapters.jsherp.formats import parse_buttons, parse_ids, role_of
from erpsync.adapters.jsherp.keys import (
    DELETED,
    DEPARTMENT_DATA,
    LEADER,
    ORGANISATION_DATA,
    ROLE_FUNCTIONS,
    SCOPE_BY_TYPE,
    SCOPE_TYPES,
    USER_ROLE,
    VIEW,
    fold,
)
from erpsync.adapters.jsherp.model import Dept, Function, Model, Role, Tenant, User
from erpsync.adapters.jsherp.schema import (
    jsh_function,
    jsh_orga_user_rel,
    jsh_organization,
    jsh_role,
    jsh_tenant,
    jsh_user,
    jsh_user_business,
)
from erpsync.adapters.jsherp.scopes import read_scoped, user_scope
from erpsync.errors import ConfigError
from erpsync.i18n import N_


def live(table: Table) -> ColumnElement[bool]:
    """``delete_flag`` is not '1' (NULL counts as present, as jshERP's readers do)."""
    return func.coalesce(table.c.delete_flag, "0") != DELETED


def scope_of(tenant: Tenant) -> str:
    """The bindings' scope of a tenant (erpsync.bindings)."""
    return f"tenant:{tenant.id}"


def tenants(conn: Connection) -> list[Tenant]:
    query = (
        select(jsh_tenant.c.tenant_id, jsh_tenant.c.login_name, jsh_tenant.c.user_num_limit)
        .where(live(jsh_tenant), jsh_tenant.c.tenant_id.is_not(None))
        .order_by(jsh_tenant.c.tenant_id)
    )
    return [Tenant(int(t), login or "", limit) for t, login, limit in conn.execute(query)]


def resolve(known: Sequence[Tenant], wanted: str | None) -> Tenant:
    """The tenant ``wanted`` names (its id, or its administrator's login); None: the only
    tenant there is. Raises :class:`ConfigError` naming the known tenants."""
    listed = ", ".join(f"{t.id} ({t.login})" for t in known)
    if wanted is None:
        if len(known) == 1:
            return known[0]
        if known:
            message = N_(
                "the jsherp target names no tenant and jsh_tenant holds {n}: set "
                "targets.<name>.tenant to one of: {tenants}"
            )
        else:
            message = N_(
                "the jsherp target names no tenant and jsh_tenant holds {n}: set "
                "targets.<name>.tenant to one of: none"
            )
        raise ConfigError(message.format(n=len(known), tenants=listed))
    text = str(wanted).strip()
    for t in known:
        if text == str(t.id) or text == t.login:
            return t
    if known:
        unknown = N_("jsherp tenant {tenant} is not in jsh_tenant (known tenants: {tenants})")
    else:
        unknown = N_("jsherp tenant {tenant} is not in jsh_tenant (known tenants: none)")
    raise ConfigError(unknown.format(tenant=repr(text), tenants=listed))


def _functions(conn: Connection) -> dict[int, Function]:
    f = jsh_function
    query = select(
        f.c.id,
        f.c.number,
        f.c.name,
        f.c.parent_number,
        f.c.url,
        f.c.enabled,
        f.c.push_btn,
        f.c.sort,
    ).where(live(f))
    out = {}
    for row in conn.execute(query):
        codes = tuple(c.strip() for c in (row.push_btn or "").split(",") if c.strip())
        out[row.id] = Function(
            row.id,
            row.number or "",
            row.name or "",
            row.parent_number or "0",
            row.url or f"#{row.id}",
            bool(row.enabled),
            codes,
            row.sort or "",
        )
    return out


def _spelling(conn: Connection) -> str:
    """How this jshERP spells the department scope: whichever the live roles use."""
    used = {t for (t,) in conn.execute(select(jsh_role.c.type).distinct())}
    return (
        ORGANISATION_DATA
        if ORGANISATION_DATA in used and DEPARTMENT_DATA not in used
        else (DEPARTMENT_DATA)
    )


def load(conn: Connection, wanted: Sequence[str | None]) -> list[tuple[Model, list[str]]]:
    """One model (and its problems) per tenant of ``wanted``, each table read once."""
    known = tenants(conn)
    chosen = [resolve(known, w) for w in wanted]
    functions = _functions(conn)
    spelling = _spelling(conn)
    models = {t.id: Model(t, functions, spelling=spelling) for t in chosen}
    problems: dict[int, list[str]] = {t: [] for t in models}
    _users(conn, models)
    _departments(conn, models, problems)
    _memberships(conn, models, problems)
    _roles(conn, models, problems)
    read_scoped(conn, models)
    _business(conn, models, problems)
    _ceilings(conn, models)
    for t, model in models.items():
        _dangling(model, problems[t])
        keyed = bindings.load(conn, scope_of(model.tenant))
        model.bound = {
            kind: {int(i): key for i, key in keyed.of(kind).items() if i.isdigit()}
            for kind in ("department", "role")
        }
    return [(models[t.id], problems[t.id]) for t in chosen]


def _users(conn: Connection, models: dict[int, Model]) -> None:
    """The tenants' live users; how many live users of any tenant have each login (folded:
    compared as utf8_general_ci compares)."""
    counts: Counter[str] = Counter()
    u = jsh_user
    columns = ("id", "login_name", "username", "email", "status", "leader_flag", "isystem")
    query = select(*(u.c[c] for c in columns), u.c.tenant_id).where(live(u)).order_by(u.c.id)
    for row in conn.execute(query):
        counts[fold(row.login_name or "")] += 1
        model = models.get(row.tenant_id) if row.tenant_id is not None else None
        if model is None:
            continue
        fixed = None
        if row.id == row.tenant_id:
            fixed = N_("the tenant administrator (jsh_user.id = tenant_id)")
        elif row.isystem == 1:
            fixed = N_("a user shipped with jshERP (isystem = 1)")
        model.users[row.id] = User(
            row.id,
            row.login_name or "",
            row.username or "",
            row.email or None,
            row.status if row.status is not None else 0,
            leader=row.leader_flag == LEADER,
            fixed=fixed,
        )
    for model in models.values():
        model.logins = counts  # one mapping shared by the tenants read together


def _departments(
    conn: Connection, models: dict[int, Model], problems: dict[int, list[str]]
) -> None:
    o = jsh_organization
    columns = ("id", "org_no", "org_abr", "parent_id", "tenant_id", "create_time", "update_time")
    query = select(*(o.c[c] for c in columns)).where(live(o), o.c.tenant_id.in_(sorted(models)))
    _unused, offset = clock(conn)
    for row in conn.execute(query):
        parent = row.parent_id if row.parent_id not in (None, 0) else None
        model = models[row.tenant_id]
        model.depts[row.id] = Dept(row.id, row.org_abr or "", parent, row.org_no)
        stamp = row.update_time or row.create_time
        if isinstance(stamp, dt.datetime):  # jshERP stamps local time
            model.stamps[row.id] = (stamp - offset).replace(tzinfo=dt.UTC)
    for t, model in models.items():
        for d in model.depts.values():
            if d.parent is not None and d.parent not in model.depts:
                problems[t].append(
                    N_(
                        "department {name} (id {department}) has parent {parent}, which is missing"
                    ).format(name=repr(d.name), department=d.id, parent=d.parent)
                )
                d.parent = None


def _memberships(
    conn: Connection, models: dict[int, Model], problems: dict[int, list[str]]
) -> None:
    r = jsh_orga_user_rel
    query = (
        select(r.c.id, r.c.orga_id, r.c.user_id, r.c.tenant_id)
        .where(live(r), r.c.tenant_id.in_(sorted(models)))
        .order_by(r.c.id)
    )
    for row in conn.execute(query):
        model, found = models[row.tenant_id], problems[row.tenant_id]
        user = model.users.get(row.user_id)
        if user is None:
            continue  # jshERP leaves the rows of deleted users: not erpsync's to read
        if user.rel is not None:
            found.append(
                N_(
                    "user {login} has a second department row (jsh_orga_user_rel {row}): "
                    "jshERP reads the first ({first})"
                ).format(login=repr(user.login), row=row.id, first=user.rel)
            )
            continue
        user.rel = row.id
        if row.orga_id is not None and row.orga_id not in model.depts:
            found.append(
                N_("user {login} is in department {department}, which is missing").format(
                    login=repr(user.login), department=row.orga_id
                )
            )
        user.dept = row.orga_id if row.orga_id in model.depts else None


def _roles(conn: Connection, models: dict[int, Model], problems: dict[int, list[str]]) -> None:
    ro = jsh_role
    query = select(ro.c.id, ro.c.name, ro.c.type, ro.c.description, ro.c.tenant_id).where(
        live(ro), ro.c.tenant_id.in_(sorted(models))
    )
    for row in conn.execute(query):
        models[row.tenant_id].roles[row.id] = Role(
            row.id, row.name or "", row.type, row.description or None
        )
        if row.type is not None and row.type not in SCOPE_BY_TYPE:
            problems[row.tenant_id].append(
                N_("role {role} has data scope {scope}, which jshERP reads as all data").format(
                    role=repr(row.name), scope=repr(row.type)
                )
            )


def _business(conn: Connection, models: dict[int, Model], problems: dict[int, list[str]]) -> None:
    """The UserRole and RoleFunctions rows of the tenants' users and roles. jshERP reads
    the first live row by id for a key whatever its tenant, so rows of other tenants (or
    none) keyed to them are read too: one that comes first is reported, as jshERP obeys it
    and not the tenant's own row, which erpsync reads and writes."""
    owner = {("u", uid): t for t, m in models.items() for uid in m.users}
    owner.update({("r", rid): t for t, m in models.items() for rid in m.roles})
    keys = sorted({str(i) for _unused, i in owner})
    if not keys:
        return
    ub = jsh_user_business
    types = [USER_ROLE, ROLE_FUNCTIONS, *SCOPE_TYPES.values()]
    query = (
        select(ub.c.id, ub.c.type, ub.c.key_id, ub.c.value, ub.c.btn_str, ub.c.tenant_id)
        .where(live(ub), ub.c.type.in_(types), ub.c.key_id.in_(keys))
        .order_by(ub.c.id)
    )
    seen: set[tuple[str, int]] = set()
    for row in conn.execute(query):
        key = int(row.key_id) if (row.key_id or "").strip().isdigit() else None
        kind = "r" if row.type == ROLE_FUNCTIONS else "u"
        tenant = owner.get((kind, key)) if key is not None else None
        if tenant is None or key is None:
            continue
        model, found = models[tenant], problems[tenant]
        if row.tenant_id != tenant:
            if (row.type, key) not in seen:
                if kind == "u":
                    first = N_(
                        "jshERP reads {type} row {row} of tenant {tenant} for user {name} (the "
                        "first live row by id), not this tenant's: delete that row in the ERP, "
                        "or erpsync's changes to it will not take effect"
                    )
                    name = model.users[key].login
                else:
                    first = N_(
                        "jshERP reads {type} row {row} of tenant {tenant} for role {name} (the "
                        "first live row by id), not this tenant's: delete that row in the ERP, "
                        "or erpsync's changes to it will not take effect"
                    )
                    name = model.roles[key].name
                found.append(
                    first.format(type=row.type, row=row.id, tenant=row.tenant_id, name=repr(name))
                )
            seen.add((row.type, key))
            continue
        seen.add((row.type, key))
        if row.type == USER_ROLE:
            _user_role(model.users[key], row.id, row.value, found)
        elif row.type == ROLE_FUNCTIONS:
            _role_functions(model, model.roles[key], row, found)  # type: ignore[arg-type]
        else:
            user_scope(model, model.users[key], row.type, row.id, row.value, found)


def _user_role(user: User, row_id: int, value: str | None, problems: list[str]) -> None:
    if user.role_row is not None:
        problems.append(
            N_(
                "user {login} has a second UserRole row ({row}): jshERP reads the first ({first})"
            ).format(login=repr(user.login), row=row_id, first=user.role_row)
        )
        return
    user.role_row = row_id
    role, problem = role_of(value)
    if problem:
        problems.append(
            N_("the UserRole row of user {login} {problem}").format(
                login=repr(user.login), problem=problem
            )
        )
    user.roles = {role} if role is not None else set()


def _role_functions(model: Model, role: Role, row: Row[Any], problems: list[str]) -> None:
    if role.functions_row is not None:
        problems.append(
            N_(
                "role {role} has a second RoleFunctions row ({row}): jshERP reads the first "
                "({first})"
            ).format(role=repr(role.name), row=row.id, first=role.functions_row)
        )
        return
    value, btn_str = row.value or "", row.btn_str or ""
    role.functions_row = row.id
    role.stored_value, role.stored_buttons = value, btn_str
    leaves = model.leaves()
    ids = parse_ids(value)
    unknown = sorted({i for i in ids if i not in model.functions})
    if unknown:
        problems.append(
            N_("role {role} grants functions that do not exist: {functions}").format(
                role=repr(role.name), functions=unknown
            )
        )
    role.views = {i for i in ids if i in leaves}
    buttons, unread = parse_buttons(btn_str)
    problems.extend(
        N_("role {role}: {problem}").format(role=repr(role.name), problem=p) for p in unread
    )
    for fun_id, codes in buttons.items():
        if fun_id not in model.functions:
            problems.append(
                N_("role {role} has buttons of function {function}, which is gone").format(
                    role=repr(role.name), function=fun_id
                )
            )
            continue
        role.buttons[fun_id] = codes


def _ceilings(conn: Connection, models: dict[int, Model]) -> None:
    """Each tenant's ceiling: the functions of its administrator's role (a platform role,
    ``tenant_id`` NULL, read-only)."""
    role_of_admin = {
        t: next(iter(m.users[t].roles), None) if t in m.users else None for t, m in models.items()
    }
    wanted = sorted({str(r) for r in role_of_admin.values() if r is not None})
    if not wanted:
        return
    ub = jsh_user_business
    query = (
        select(ub.c.key_id, ub.c.value)
        .where(
            live(ub),
            ub.c.type == ROLE_FUNCTIONS,
            ub.c.key_id.in_(wanted),  # the first row by id, whatever its tenant: as jshERP
        )
        .order_by(ub.c.id)
    )
    first: dict[str, str] = {}
    for key, value in conn.execute(query):
        first.setdefault(key, value or "")
    for t, model in models.items():
        role = role_of_admin[t]
        model.ceiling = frozenset(parse_ids(first.get(str(role), ""))) if role else frozenset()


def _dangling(model: Model, problems: list[str]) -> None:
    for user in model.managed_users():
        unknown = [r for r in user.roles if r not in model.roles]
        if unknown:
            problems.append(
                N_("user {login} holds role {role}, which is not a role of this tenant").format(
                    login=repr(user.login), role=unknown[0]
                )
            )
    leaves = model.leaves()
    for role in model.roles.values():
        for fun_id in role.buttons:
            if fun_id not in leaves:
                name = model.functions[fun_id].url
                problems.append(
                    N_("role {role} has buttons on {url}, which is no page").format(
                        role=repr(role.name), url=name
                    )
                )
        for fun_id, codes in role.buttons.items():
            offered = model.functions[fun_id].buttons if fun_id in model.functions else ()
            extra = sorted(codes - set(offered))
            if extra and fun_id in leaves:
                problems.append(
                    N_(
                        "role {role} has button codes {codes} on {url}, which its page does "
                        "not offer"
                    ).format(
                        role=repr(role.name), codes=",".join(extra), url=model.functions[fun_id].url
                    )
                )


def snapshot(model: Model, problems: list[str]) -> LiveSnapshot:
    from erpsync.adapters.jsherp.invariants import Private

    catalogue, names = model.catalogue()
    requires = {
        f"{module}:{action}": (f"{module}:{VIEW}",)
        for module, actions in catalogue.items()
        for action in actions
        if action != VIEW
    }
    keys = model.dept_keys()
    attribution = {("department", keys[i]): Attribution(None, at) for i, at in model.stamps.items()}
    return LiveSnapshot(
        model.state(),
        catalogue,
        tuple(problems),
        names,
        attribution,
        identities={k: model.identities(k) for k in ("department", "role")},
        unbound={k: model.unbound(k) for k in ("department", "role")},
        requires=requires,
        private=Private(model),
    )
