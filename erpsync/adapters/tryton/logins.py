"""When Tryton's users last signed in, as far as Tryton keeps it: a sign-in opens an
``ir_session`` row (``create_uid`` the user, ``create_date``; ``write_date`` follows the
session's use), and signing out deletes it. Tryton keeps no last-login column, and
``res_user_login_attempt`` holds failed attempts only. So a user is seen from their open
sessions: one who signed out, or whose sessions were removed, has no record — the
report says so rather than guess."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, column, func, select, table

from erpsync.adapters.base import LoginRecords
from erpsync.adapters.dbclock import as_utc
from erpsync.i18n import N_

SOURCE = N_("ir_session (Tryton's open sessions; it keeps no last-login date)")
NOTE = N_(
    "Tryton deletes a session when its user signs out and keeps no last-login date: a user "
    "without an open session shows no sign-in; check the server's log before revoking"
)


def read_logins(conn: Connection) -> LoginRecords:
    user = table("res_user", column("id"), column("login"))
    session = table("ir_session", column("create_uid"), column("create_date"), column("write_date"))
    used = func.max(func.coalesce(session.c.write_date, session.c.create_date))
    rows = conn.execute(select(session.c.create_uid, used).group_by(session.c.create_uid))
    seen: dict[int, object] = {}
    for uid, when in rows:
        seen[uid] = when
    last: dict[str, dt.datetime | None] = {}
    for uid, login in conn.execute(select(user.c.id, user.c.login)):
        last[login] = as_utc(seen.get(uid))
    return LoginRecords(SOURCE, last, (NOTE,))
