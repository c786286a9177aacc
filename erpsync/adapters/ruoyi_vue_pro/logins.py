"""When a ruoyi-vue-pro tenant's users last signed in, from the app's own records:
``system_users.login_date`` (stamped on every successful sign-in) and the sign-in log
``system_login_log`` (``result = 0``: success; ``log_type`` below 200: a sign-in, 200
and up: a sign-out; ``user_type = 2``: a back-office user, not a member of the mall).
The later counts; the log is kept only as long as the tenant keeps it. Both hold the
server's local time, read here in UTC. Read for dormant access only: plan and apply
never read these columns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, column, func, inspect, select, table

from erpsync.adapters.base import LoginRecords
from erpsync.adapters.dbclock import as_utc, clock
from erpsync.i18n import N_

SOURCE = N_("system_users.login_date and the sign-in log system_login_log (登录日志)")
SIGN_OUT = 200  # log_type 200 and above: sign-outs (LoginLogTypeEnum)
ADMIN = 2  # user_type of back-office users (UserTypeEnum; 1: members of the mall)


def read_logins(conn: Connection, tenant: int) -> LoginRecords:
    _unused, offset = clock(conn)
    users = table(
        "system_users",
        column("id"),
        column("username"),
        column("login_date"),
        column("deleted"),
        column("tenant_id"),
    )
    rows = conn.execute(
        select(users.c.id, users.c.username, users.c.login_date).where(
            users.c.deleted == 0, users.c.tenant_id == tenant
        )
    ).all()
    login_of = {uid: name for uid, name, _ in rows}
    last: dict[str, dt.datetime | None] = {name: as_utc(at, offset) for _, name, at in rows}
    notes: list[str] = []
    if "system_login_log" not in inspect(conn).get_table_names():
        notes.append(N_("system_login_log is missing: only system_users.login_date is read"))
        return LoginRecords(SOURCE, last, tuple(notes))
    log = table(
        "system_login_log",
        column("user_id"),
        column("user_type"),
        column("log_type"),
        column("result"),
        column("create_time"),
        column("deleted"),
        column("tenant_id"),
    )
    query = (
        select(log.c.user_id, func.max(log.c.create_time))
        .where(
            log.c.result == 0,
            log.c.log_type < SIGN_OUT,
            log.c.user_type == ADMIN,  # the mall's members sign in here too, own ids
            log.c.deleted == 0,
            log.c.tenant_id == tenant,
        )
        .group_by(log.c.user_id)
    )
    for uid, at in conn.execute(query):
        name = login_of.get(uid)
        when = as_utc(at, offset)
        if name is not None and when is not None:
            known = last.get(name)
            last[name] = when if known is None or when > known else known
    return LoginRecords(SOURCE, last, tuple(notes))
