"""When a jshERP tenant's users last signed in: jshERP keeps no last-login column, but
logs every successful sign-in in ``jsh_log`` (operation 用户, content ``登录<login_name>``,
``status`` 0, ``user_id`` the user), shown in 系统管理 → 日志管理. The latest such row of
each user of the tenant counts; a log the tenant cleared leaves no record, and the
report then shows "never"."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, column, func, select, table

from erpsync.adapters.base import LoginRecords
from erpsync.adapters.dbclock import as_utc, clock
from erpsync.adapters.jsherp.model import Model
from erpsync.i18n import N_

SOURCE = N_("the sign-in rows of jsh_log (日志管理: 用户, 登录<login_name>)")
NOTE = N_("jshERP keeps sign-ins only in its operation log: a cleared log shows as never signed in")


def read_logins(conn: Connection, model: Model) -> LoginRecords:
    _, offset = clock(conn)
    log = table(
        "jsh_log",
        column("user_id"),
        column("content"),
        column("status"),
        column("create_time"),
        column("tenant_id"),
    )
    query = (
        select(log.c.user_id, func.max(log.c.create_time))
        .where(
            log.c.content.like("登录%"),
            log.c.status == 0,
            log.c.user_id.in_(sorted(model.users)),
        )
        .group_by(log.c.user_id)
    )
    seen = {uid: as_utc(at, offset) for uid, at in conn.execute(query)}
    last: dict[str, dt.datetime | None] = {
        user.login: seen.get(uid) for uid, user in model.users.items()
    }
    return LoginRecords(SOURCE, last, (NOTE,))
