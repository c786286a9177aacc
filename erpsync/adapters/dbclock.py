"""The database's own clock: ERPs such as RuoYi and ruoyi-vue-pro stamp rows with naive
local wall-clock times, so erpsync reads them in the database session's time zone (one
query asks the database for its local time and UTC) and hands them on in UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, literal_column, select


def clock(conn: Connection) -> tuple[dt.datetime, dt.timedelta]:
    """The database's local time now (what RuoYi stamps rows with) and its UTC offset."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        utc: Any = func.timezone("UTC", func.now())
    elif dialect in ("mysql", "mariadb"):
        utc = func.utc_timestamp()
    else:
        utc = func.current_timestamp()
    local, now_utc = conn.execute(select(literal_column("LOCALTIMESTAMP"), utc)).one()
    if isinstance(local, str):  # SQLite returns text
        local, now_utc = dt.datetime.fromisoformat(local), dt.datetime.fromisoformat(now_utc)
    local = local.replace(tzinfo=None, microsecond=0)
    minutes = round((local - now_utc.replace(tzinfo=None)).total_seconds() / 900) * 15
    return local, dt.timedelta(minutes=minutes)


def as_utc(when: object, offset: dt.timedelta = dt.timedelta(0)) -> dt.datetime | None:
    """A naive stamp of the database's local time (``offset`` ahead of UTC; text on
    SQLite) as an aware UTC datetime; None for anything that is not a time."""
    if isinstance(when, str) and when:
        when = dt.datetime.fromisoformat(when)
    if not isinstance(when, dt.datetime):
        return None
    return (when.replace(tzinfo=None) - offset).replace(tzinfo=dt.UTC)
