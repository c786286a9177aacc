"""Who last changed a ruoyi-vue-pro row, and when (drift's who-and-when).

Two sources, the later wins: each row's own stamp (``updater``/``update_time``, else
``creator``/``create_time``; the app writes the acting admin's user id) and the
operation log, ``system_operate_log`` (written by the app for user and role edits:
``type`` ``SYSTEM 用户`` / ``SYSTEM 角色``, ``biz_id`` the row, ``user_id`` the actor),
read once for all tenants, the most recent :data:`LIMIT` successful entries; and for a
user, the stamps of its live ``system_user_post`` rows (a post given in the app). An actor
that is a user of the tenant is named by their username, else ``user <id>``. Role
grants and user-role assignment are not in the operation log (only in the app's API
access log, which erpsync does not read). The app stamps naive local times: they are
read in the database session's time zone (:mod:`erpsync.adapters.dbclock`) and handed
on in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select

from erpsync.adapters.base import Attribution
from erpsync.adapters.ruoyi_vue_pro.model import TenantModel
from erpsync.i18n import N_

LIMIT = 20_000
KINDS = {"SYSTEM 用户": "user", "SYSTEM 角色": "role"}
Stamp = tuple[str | None, dt.datetime | None]
# tenant -> (kind, row id) -> (who, when) as stored
Stamps = dict[int, dict[tuple[str, int], Stamp]]


def stamp(stamps: Stamps, kind: str, row: Any) -> None:
    """Keep ``row``'s own stamp (``updater``/``update_time``, else the creator's)."""
    by, at = row.updater or None, row.update_time
    if by is None and at is None:
        by, at = row.creator or None, row.create_time
    stamps.setdefault(row.tenant_id, {})[(kind, row.id)] = (by, at)


def later(stamps: Stamps, tenant: int, kind: str, row_id: int, by: Any, at: Any) -> None:
    """Keep (``by``, ``at``) for the row where it is later than what ``stamps`` holds."""
    rows = stamps.setdefault(tenant, {})
    old = rows.get((kind, row_id))
    if old is None or old[1] is None or (at is not None and at > old[1]):
        rows[(kind, row_id)] = (None if by is None else str(by), at)


def operations(conn: Connection, log: Table | None, tenants: Sequence[int], stamps: Stamps) -> None:
    """The operation log's user and role edits of ``tenants`` (one ``SELECT``), kept in
    ``stamps`` where later than the row's own stamp."""
    if log is None or not tenants:
        return
    succeeded = log.c.success.is_(True) if conn.dialect.name == "postgresql" else log.c.success == 1
    query = (
        select(log.c.tenant_id, log.c.type, log.c.biz_id, log.c.user_id, log.c.create_time)
        .where(
            log.c.deleted == 0,
            succeeded,
            log.c.tenant_id.in_(sorted(set(tenants))),
            log.c.type.in_(sorted(KINDS)),
        )
        .order_by(log.c.id.desc())
        .limit(LIMIT)
    )
    for tenant, kind, row_id, actor, at in conn.execute(query):
        later(stamps, tenant, KINDS[kind], row_id, actor, at)


def attribution(
    model: TenantModel, stamps: Stamps, offset: dt.timedelta
) -> Mapping[tuple[str, str], Attribution]:
    """("user" | "role" | "department", key) -> who changed it last and when (UTC)."""
    zone = dt.timezone(offset)
    keys: dict[str, Mapping[int, str]] = {
        "user": {u.id: u.login for u in model.users.values()},
        "role": {r.id: r.code for r in model.roles.values()},
        "department": model.dept_keys(),
    }
    found: dict[tuple[str, str], Attribution] = {}
    for (kind, row_id), (by, at) in stamps.get(model.tenant.id, {}).items():
        key = keys[kind].get(row_id)
        if key is None:
            continue
        who = by
        if by is not None and by.isdigit():
            who = keys["user"].get(int(by), N_("user {id}").format(id=by))
        when = at.replace(tzinfo=zone).astimezone(dt.UTC) if isinstance(at, dt.datetime) else None
        found[(kind, key)] = Attribution(who, when)
    return found
