"""When RuoYi's users last signed in, from the ERP's own records: ``sys_user.login_date``
(the login service stamps it on every successful sign-in) and the sign-in log
``sys_logininfor`` (status ``'0'``: success; its sign-outs and registrations left out).
The later of the two counts; the log may be purged (系统监控 → 登录日志 → 清空), the column is
not. Both hold the server's local time, read here in UTC
(:mod:`erpsync.adapters.dbclock`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, column, func, inspect, select, table

from erpsync.adapters.base import LoginRecords
from erpsync.adapters.dbclock import as_utc, clock
from erpsync.adapters.ruoyi.schema import RuoYiSchema
from erpsync.i18n import N_

# sys_logininfor's name in RuoYi's menus (a value, never translated)
LOG_LABEL = "登录日志"
SOURCE = N_("sys_user.login_date and the sign-in log sys_logininfor ({label})").format(
    label=LOG_LABEL
)
# Successful rows of the log that are not sign-ins: sign-outs and registrations, in the
# words of RuoYi's messages (zh_CN and en_US resources)
NOT_SIGN_INS = ("退出", "注册", "Logout", "logout", "Register", "register")


def read_logins(conn: Connection, schema: RuoYiSchema) -> LoginRecords:
    _, offset = clock(conn)
    login = schema.login
    user = table("sys_user", column(login), column("login_date"), column("del_flag"))
    last: dict[str, dt.datetime | None] = {}
    for name, when in conn.execute(
        select(user.c[login], user.c.login_date).where(user.c.del_flag == "0")
    ):
        last[name] = as_utc(when, offset)
    notes: list[str] = []
    logged = _log_column(conn)
    if logged is None:
        notes.append(N_("sys_logininfor is missing: only sys_user.login_date is read"))
    else:
        log = table(
            "sys_logininfor", column(logged), column("status"), column("msg"), column("login_time")
        )
        rows = conn.execute(
            select(log.c[logged], func.max(log.c.login_time))
            .where(log.c.status == "0", *(log.c.msg.not_like(f"%{w}%") for w in NOT_SIGN_INS))
            .group_by(log.c[logged])
        )
        for name, when in rows:
            if name in last and (at := as_utc(when, offset)) is not None:
                known = last[name]
                last[name] = at if known is None or at > known else known
    return LoginRecords(SOURCE, last, tuple(notes))


def _log_column(conn: Connection) -> str | None:
    """The sign-in log's login column: user_name (RuoYi-Vue) or login_name (RuoYi)."""
    inspector = inspect(conn)
    if "sys_logininfor" not in inspector.get_table_names():
        return None
    names = {c["name"].lower() for c in inspector.get_columns("sys_logininfor")}
    return next((n for n in ("user_name", "login_name") if n in names), None)
