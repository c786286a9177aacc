"""When the reference ERP's users last signed in: ``erp_user.last_login_at`` (UTC), which
its login service stamps. A database made before the column has no sign-in records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, inspect, select

from erpsync.adapters.base import LoginRecords
from erpsync.adapters.reference.schema import erp_user
from erpsync.errors import UsageError
from erpsync.i18n import N_

SOURCE = "erp_user.last_login_at"


def read_logins(conn: Connection) -> LoginRecords:
    if "last_login_at" not in {c["name"] for c in inspect(conn).get_columns("erp_user")}:
        raise UsageError(
            N_(
                "this reference ERP database was made before erp_user.last_login_at and has no "
                "sign-in records: run erpsync refdb init --url URL on it to add the column"
            )
        )
    t = erp_user
    last: dict[str, dt.datetime | None] = {}
    for login, when in conn.execute(select(t.c.login, t.c.last_login_at)):
        last[login] = None if when is None else when.replace(tzinfo=dt.UTC)
    return LoginRecords(SOURCE, last)
