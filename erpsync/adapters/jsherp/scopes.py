"""jshERP's per-user data scopes: the warehouses and customers a user may pick and see.

A policy user's ``warehouses`` and ``customers`` are the user's ``jsh_user_business``
rows of type ``UserDepot`` and ``UserCustomer``: ``key_id`` the user's id, ``value`` the
``[id][id]`` list of ``jsh_depot`` / ``jsh_supplier`` (type 客户) ids. jshERP reads the
first live row of a (type, key_id), whatever its tenant, and uses it only while the
tenant's ``jsh_system_config.depot_flag`` / ``customer_flag`` is ``'1'`` (系统配置 →
仓库权限 / 客户权限).

Identity: a warehouse by ``jsh_depot.name``, a customer by ``jsh_supplier.supplier``, both
live (``delete_flag``) rows of the tenant. Reading is tolerant: ids naming no live
warehouse or customer of the tenant (old data is full of them) are reported and left out
of the names. Writing names what the policy declares: a name the tenant lacks, one that
two live rows share (erpsync never guesses which), or a disabled one newly given (jshERP's
pickers skip disabled warehouses and customers) is refused at its list item.

SQLAlchemy is imported only by :func:`read_scoped`: the rest runs in the planner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from erpsync.adapters.jsherp.formats import parse_ids
from erpsync.adapters.jsherp.keys import (
    CUSTOMER,
    SCOPE_FLAGS,
    SCOPE_TYPES,
    USER_CUSTOMER,
    USER_DEPOT,
)
from erpsync.adapters.jsherp.model import Model, Scoped, User
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind

if TYPE_CHECKING:
    from sqlalchemy import Connection

# The messages about one scope's rows, a template per scope (the English names the object
# as SCOPE_OBJECTS does; a translation names it once, in its own words).
UNKNOWN_IDS = {
    USER_DEPOT: N_(
        "the UserDepot row of user {login} names 仓库 (warehouse) ids {ids}, which are no live "
        "ones of this tenant: jshERP ignores them (left out)"
    ),
    USER_CUSTOMER: N_(
        "the UserCustomer row of user {login} names 客户 (customer) ids {ids}, which are no "
        "live ones of this tenant: jshERP ignores them (left out)"
    ),
}
NO_SUCH = {
    USER_DEPOT: N_("the tenant has no live 仓库 (warehouse) named {name}"),
    USER_CUSTOMER: N_("the tenant has no live 客户 (customer) named {name}"),
}
SHARED_NAME = {
    USER_DEPOT: N_(
        "{n} live 仓库 (warehouse) rows of the tenant are named {name} (ids {ids}): rename one "
        "in jshERP; erpsync does not guess"
    ),
    USER_CUSTOMER: N_(
        "{n} live 客户 (customer) rows of the tenant are named {name} (ids {ids}): rename one "
        "in jshERP; erpsync does not guess"
    ),
}
DISABLED = {
    USER_DEPOT: N_(
        "仓库 (warehouse) {name} is disabled (启用 off): jshERP's pickers do not offer it; "
        "enable it in jshERP first"
    ),
    USER_CUSTOMER: N_(
        "客户 (customer) {name} is disabled (启用 off): jshERP's pickers do not offer it; "
        "enable it in jshERP first"
    ),
}


def read_scoped(conn: Connection, models: dict[int, Model]) -> None:
    """Each tenant's live warehouses and customers, and its two switches: one query per
    table for every tenant of ``models``, split by ``tenant_id``. ``enabled`` is BIT(1):
    compared with ``= 1`` in SQL."""
    from sqlalchemy import select

    from erpsync.adapters.jsherp.read import live
    from erpsync.adapters.jsherp.schema import jsh_depot, jsh_supplier, jsh_system_config

    tenants = sorted(models)
    for model in models.values():
        model.scoped = {USER_DEPOT: {}, USER_CUSTOMER: {}}
        model.scope_flags = {USER_DEPOT: False, USER_CUSTOMER: False}
    d = jsh_depot
    query = select(d.c.id, d.c.name, (d.c.enabled == 1).label("on"), d.c.tenant_id).where(
        live(d), d.c.tenant_id.in_(tenants)
    )
    for row in conn.execute(query):
        models[row.tenant_id].scoped[USER_DEPOT][row.id] = Scoped(
            row.id, row.name or "", bool(row.on)
        )
    s = jsh_supplier
    query = select(s.c.id, s.c.supplier, (s.c.enabled == 1).label("on"), s.c.tenant_id).where(
        live(s), s.c.type == CUSTOMER, s.c.tenant_id.in_(tenants)
    )
    for found in conn.execute(query):
        models[found.tenant_id].scoped[USER_CUSTOMER][found.id] = Scoped(
            found.id, found.supplier or "", bool(found.on)
        )
    c = jsh_system_config
    query = (
        select(c.c.depot_flag, c.c.customer_flag, c.c.tenant_id)
        .where(live(c), c.c.tenant_id.in_(tenants))
        .order_by(c.c.id)
    )
    configured: set[int] = set()
    for config in conn.execute(query):
        if config.tenant_id in configured:
            continue  # the tenant's first row is its configuration
        configured.add(config.tenant_id)
        models[config.tenant_id].scope_flags = {
            USER_DEPOT: config.depot_flag == "1",
            USER_CUSTOMER: config.customer_flag == "1",
        }


def user_scope(
    model: Model, user: User, kind: str, row_id: int, value: str | None, problems: list[str]
) -> None:
    """Take ``user``'s first live ``kind`` row (UserDepot, UserCustomer); report a second
    one, and ids in it that name no live warehouse or customer of the tenant."""
    if kind in user.scope_rows:
        problems.append(
            N_(
                "user {login} has a second {type} row ({row}): jshERP reads the first ({first})"
            ).format(login=repr(user.login), type=kind, row=row_id, first=user.scope_rows[kind])
        )
        return
    ids = parse_ids(value)
    user.scope_rows[kind] = row_id
    user.scopes[kind] = ids
    known = model.scoped.get(kind, {})
    unknown = sorted({i for i in ids if i not in known})
    if unknown and user.fixed is None:
        problems.append(UNKNOWN_IDS[kind].format(login=repr(user.login), ids=unknown))


def resolve(model: Model, kind: str, names: Iterable[str], held: Sequence[int]) -> list[int]:
    """The ids of the warehouses or customers ``names`` name, ascending; raises
    :class:`NotScoped` for the first name the tenant lacks, two rows share (unless the user
    already ``held`` one of them: that one is kept), or that is disabled and not held."""
    rows = model.by_name(kind)
    ids: set[int] = set()
    for name in names:
        found = rows.get(name, [])
        if not found:
            raise NotScoped(name, NO_SUCH[kind].format(name=repr(name)))
        kept = [r.id for r in found if r.id in held]
        if len(found) > 1 and kept:  # the user's own of those rows stays as it is
            ids.update(kept)
            continue
        if len(found) > 1:
            listed = ", ".join(str(r.id) for r in found)
            raise NotScoped(
                name, SHARED_NAME[kind].format(n=len(found), name=repr(name), ids=listed)
            )
        row = found[0]
        if not row.enabled and row.id not in held:
            raise NotScoped(name, DISABLED[kind].format(name=repr(name)))
        ids.add(row.id)
    return sorted(ids)


class NotScoped(Exception):
    """A declared warehouse or customer name that cannot be written, and why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(reason)
        self.name = name
        self.reason = reason


def writes(changes: Sequence[Change]) -> set[str]:
    """The scope types (UserDepot, UserCustomer) ``changes`` write (a new user declaring
    none gets no row, so writes none)."""
    found: set[str] = set()
    for c in changes:
        if c.kind is Kind.USER and c.action in (Action.CREATE, Action.UPDATE):
            after = c.after or {}
            found |= {
                kind
                for attr, kind in SCOPE_TYPES.items()
                if attr in after and (after[attr] or c.action is Action.UPDATE)
            }
    return found


def flag_warnings(model: Model, changes: Sequence[Change]) -> list[str]:
    """For each scope a plan writes while the tenant's switch is off: that it has no
    effect until an administrator switches it on."""
    out = []
    for attr, kind in SCOPE_TYPES.items():
        if kind in writes(changes) and not model.scope_flags.get(kind, False):
            flag, label = SCOPE_FLAGS[kind]
            out.append(
                N_(
                    "jshERP ignores users' {attr} ({type}) while jsh_system_config.{flag} is "
                    "not '1': this plan writes them, but they take effect only once an "
                    "administrator switches on 系统配置 → {label}"
                ).format(attr=attr, type=kind, flag=flag, label=label)
            )
    return out
