"""Database engines for a target: the URL checked, the connect timeout given to the
driver, and every failure to connect turned into a :class:`ConnectError` that says
what happened and what to check, without a secret or SQLAlchemy's internals.

- The timeout (``settings.connect_timeout``, or the target's own ``connect_timeout``;
  10 s by default) bounds how long a command waits for a server to accept a connection
  and complete its handshake: psycopg, psycopg2 and PyMySQL get it as
  ``connect_timeout`` (PyMySQL also as the read timeout of the handshake only), unless
  the URL's query sets it. libpq waits at least 2 s whatever it is given. A SQLite
  file has nothing to wait for.
- A failure while connecting is raised, in place of the driver's error, from
  SQLAlchemy's ``do_connect`` hook (erpsync connects there itself), so every command
  (and the reading child of ``plan`` and ``drift``) reports it alike, and nothing
  chains the driver's exception to it.

SQLAlchemy is imported here, by the code that connects (see :mod:`erpsync.adapters`).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from erpsync.config import ResolvedTarget
from erpsync.errors import ConfigError, ConnectError, DatabaseError
from erpsync.i18n import N_

# Messages are English data made from templates marked N_; a view says them in the run's
# language (erpsync.i18n.said). The driver's own words stay as the driver wrote them.
_CANNOT_CONNECT = N_("target {name}: cannot connect to {url}")
# How a ConnectError raised here reads (ConnectError.__str__ with ``where`` from
# _CANNOT_CONNECT), catalogued whole: said() takes the template with the most literal
# text, which would otherwise be _CANNOT_CONNECT alone, swallowing the reason and hint.
CONNECT_ERROR = N_("target {name}: cannot connect to {url}: {reason}\n  hint: {detail}")

# dialect+driver -> what to install; the default driver of a bare dialect is SQLAlchemy's.
DRIVERS = {
    "postgresql+psycopg": "pip install 'erpsync[postgres]'",
    "postgresql+psycopg2": N_(
        "pip install psycopg2-binary (or use postgresql+psycopg:// with "
        "pip install 'erpsync[postgres]')"
    ),
    "mysql+pymysql": "pip install 'erpsync[mysql]'",
    "mariadb+pymysql": "pip install 'erpsync[mysql]'",
    "mysql+mysqldb": N_(
        "pip install mysqlclient (or use mysql+pymysql:// with pip install 'erpsync[mysql]')"
    ),
    "mariadb+mysqldb": N_(
        "pip install mysqlclient (or use mariadb+pymysql:// with pip install 'erpsync[mysql]')"
    ),
}
_DEFAULT_DRIVER = {"postgresql": "psycopg2", "mysql": "mysqldb", "mariadb": "mysqldb"}
# drivers -> the connect argument that bounds connecting, in seconds
_TIMEOUT_ARGUMENT = {"psycopg": "connect_timeout", "psycopg2": "connect_timeout"}
_TIMEOUT_ARGUMENT |= {"pymysql": "connect_timeout", "mysqldb": "connect_timeout"}


def parse(target: ResolvedTarget) -> URL:
    """The target's URL as SQLAlchemy reads it; a :class:`ConfigError` naming what is
    wrong (the URL shown without secrets) when it cannot be used."""
    shown = target.display_url
    try:
        url = make_url(target.url)
    except ArgumentError:
        raise ConfigError(
            N_("target {name}: not a database URL: {url}").format(name=target.name, url=shown)
        ) from None
    except ValueError:  # SQLAlchemy's int(port)
        raise ConfigError(
            N_("target {name}: the port in the url is not a number: {url}").format(
                name=target.name, url=shown
            )
        ) from None
    if url.host and "@" in url.host:
        raise ConfigError(
            N_(
                "target {name}: the url's password holds an '@' that is not percent-encoded, "
                "so the host would be read from the password: {url}; write it as %40, or "
                "take the password from the environment with {variable}"
            ).format(name=target.name, url=shown, variable="${VAR}")
        )
    return url


def engine_for(target: ResolvedTarget, new_file: bool = False) -> Engine:
    """An engine for ``target`` (no connection yet). A missing SQLite file is an error,
    not a new database (unless ``new_file``); so is a missing driver, naming what to
    install."""
    url = parse(target)
    database = url.database
    is_file = url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    exists = not database or database.startswith("file:") or Path(database).exists()
    if is_file and not new_file and not exists:
        raise DatabaseError(
            N_(
                "target {name}: database file {file} does not exist (create a reference ERP "
                "with `erpsync refdb init {url}`)"
            ).format(name=target.name, file=database, url=target.display_url)
        )
    try:
        engine = create_engine(url, connect_args=_connect_args(url, target.connect_timeout))
    except (NoSuchModuleError, ImportError):
        where = _CANNOT_CONNECT.format(name=target.name, url=target.display_url)
        reason = N_("no database driver for {driver} is installed").format(driver=_driver(url))
        raise ConnectError(where, reason, install_hint(url)) from None
    _bound_handshake(engine, url)
    event.listen(engine, "do_connect", lambda *args: _connect(target, *args))
    return engine


def install_hint(url: URL) -> str:
    driver = _driver(url)
    known = DRIVERS.get(driver)
    if known:
        return known
    return N_(
        "install the Python package of the {driver} driver; the supported ones are "
        "postgresql+psycopg:// (pip install 'erpsync[postgres]') and mysql+pymysql:// "
        "(pip install 'erpsync[mysql]')"
    ).format(driver=driver)


def _driver(url: URL) -> str:
    """``dialect+driver``; a bare dialect's driver is SQLAlchemy's default for it."""
    backend = url.get_backend_name()
    driver = url.get_driver_name() if "+" in url.drivername else None
    if driver is None:
        try:
            driver = url.get_dialect().driver  # the dialect's module, not its driver
        except (NoSuchModuleError, ImportError):
            driver = _DEFAULT_DRIVER.get(backend)
    return f"{backend}+{driver}" if driver else backend


def _connect_args(url: URL, timeout: float) -> dict[str, Any]:
    argument = _TIMEOUT_ARGUMENT.get(_driver(url).partition("+")[2])
    if argument is None or argument in url.query:
        return {}
    if url.get_driver_name() in ("psycopg", "psycopg2"):
        return {argument: max(1, math.ceil(timeout))}  # libpq takes whole seconds
    if url.get_driver_name() == "pymysql":
        return {argument: timeout, "read_timeout": timeout}
    return {argument: timeout}


def _bound_handshake(engine: Engine, url: URL) -> None:
    """PyMySQL's connect_timeout covers only the TCP connect; its read timeout, set above,
    also bounds the server's greeting and the login. Once connected, reads wait as long
    as a statement runs, as without erpsync."""
    if url.get_driver_name() != "pymysql" or "read_timeout" in url.query:
        return

    @event.listens_for(engine, "connect")
    def _unbounded_reads(dbapi_connection: Any, _record: Any) -> None:
        if hasattr(dbapi_connection, "_read_timeout"):
            dbapi_connection._read_timeout = None


def _connect(
    target: ResolvedTarget, dialect: Dialect, _record: Any, cargs: Any, cparams: Any
) -> Any:
    """Connect as SQLAlchemy would; a failure becomes a :class:`ConnectError`, which
    SQLAlchemy passes on as it is (it is not the driver's)."""
    where = _CANNOT_CONNECT.format(name=target.name, url=target.display_url)
    try:
        return dialect.connect(*cargs, **cparams)
    except dialect.loaded_dbapi.Error as exc:
        reason = driver_message(exc)
    except TypeError as exc:  # PyMySQL: a query parameter it has no argument for
        unknown = _UNKNOWN_ARGUMENT.search(str(exc))
        if unknown is None:
            raise
        reason = N_("the {driver} driver has no connect argument {argument}").format(
            driver=dialect.driver, argument=unknown.group(1)
        )
        hint = N_("remove it from the url's query (?name=value), or correct its name")
        raise ConnectError(where, target.redact(reason), hint) from None
    raise ConnectError(where, target.redact(reason), connect_hint(reason, target))


def driver_message(exc: BaseException) -> str:
    """The driver's own words on one line: PyMySQL's ``(code, "text")`` as the text."""
    args = exc.args
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = args[1]
    else:
        text = str(exc)
    lines = (line.strip() for line in text.splitlines())
    return " ".join(line for line in lines if line) or type(exc).__name__


_UNKNOWN_ARGUMENT = re.compile(r"unexpected keyword argument '(\w+)'")
_AUTH = (
    "password authentication failed",
    "access denied for user",
    "authentication failed",
    "no password supplied",
    "password is required",
)
_NO_DATABASE = ("does not exist", "unknown database")
_TIMED_OUT = ("timeout expired", "timed out", "timeout")
_NO_HOST = (
    "could not translate host name",
    "name or service not known",
    "failed to resolve host",
    "temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
    "unknown mysql server host",
)
_REFUSED = ("connection refused", "can't connect", "no route to host", "network is unreachable")


def connect_hint(reason: str, target: ResolvedTarget) -> str:
    """What to check, judged by the driver's words."""
    said = reason.lower()
    if 'role "' in said and "does not exist" in said:
        return N_("the server does not know that user: check the url's user")
    if any(s in said for s in _AUTH):
        return N_(
            "the server refused the user or the password: check the url's user, and the "
            "password (kept out of git: url: ...://user:${PASSWORD}@host/db in erpsync.yaml)"
        )
    if any(s in said for s in _NO_DATABASE):
        return N_("the server has no such database: check the database name at the end of the url")
    if any(s in said for s in _TIMED_OUT):
        return N_(
            "no answer within {seconds} s: check the url's host and port, that the server "
            "runs, and that no firewall drops the connection; on a slow network raise "
            "settings.connect_timeout (or the target's connect_timeout)"
        ).format(seconds=f"{target.connect_timeout:g}")
    if any(s in said for s in _NO_HOST):
        return N_("the host name does not resolve: check the url's host")
    if "unable to open database file" in said:
        return N_("SQLite cannot open the file: check the path in the url and its permissions")
    if any(s in said for s in _REFUSED):
        return N_(
            "nothing accepts connections there: check that the server runs, and the url's "
            "host and port"
        )
    return N_(
        "check that the server runs and accepts connections from here, and the url's host, "
        "port, database and user"
    )


def database_failure(exc: BaseException) -> str | None:
    """The driver's words when ``exc`` is the database failing (a lost connection, a
    server that refused a statement for want of a privilege or room), not erpsync; None
    otherwise. Connecting is reported by :mod:`erpsync.connect`; this is the backstop for
    what fails later."""
    found = sys.modules.get("sqlalchemy.exc")  # loaded whenever a database was used
    if found is None:
        return None
    failures = (found.OperationalError, found.InterfaceError, found.DisconnectionError)
    if isinstance(exc, found.TimeoutError):
        return N_("no connection became free in time")
    if not isinstance(exc, failures):
        return None
    reason = driver_message(getattr(exc, "orig", None) or exc)
    return None if "syntax error" in reason.lower() else reason
