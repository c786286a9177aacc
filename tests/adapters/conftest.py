"""Fixtures of real Tryton databases (see :mod:`tests.adapters.tryton_db`).

``tryton_conf``: a Tryton database made once per session on SQLite; ``erp`` a copy of it
per test. ``tryton_pg``: the same on the test PostgreSQL (about a minute to make, copied
per test with ``CREATE DATABASE ... TEMPLATE``; Tryton in channel mode, ``clean_timeout =
0``); ``pg_erp`` a copy per test. Without trytond they skip, and fail under CI.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from erpsync.adapters.tryton import TrytonAdapter
from tests.adapters import tryton_db
from tests.adapters.tryton_db import Erp

PG_TEMPLATE = "erpsync_tryton_template"
_names = itertools.count()


@pytest.fixture(scope="session")
def tryton_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tryton_db.require()
    return tryton_db.create_template(tmp_path_factory.mktemp("tryton"))


@pytest.fixture
def erp(tryton_conf: Path) -> Iterator[Erp]:
    name = f"t{next(_names)}"
    engine = create_engine(tryton_db.copy_database(tryton_conf, name))
    yield Erp(tryton_conf, name, TrytonAdapter(engine))
    engine.dispose()


@pytest.fixture(scope="session")
def tryton_pg(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(trytond.conf, server URL without database) of a Tryton template database."""
    tryton_db.require()
    url = make_url(pg_url)
    server = url.set(drivername="postgresql", database="").render_as_string(hide_password=False)
    conf = tryton_db.write_conf(tmp_path_factory.mktemp("tryton-pg"), server, 0)
    admin = create_engine(pg_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_TEMPLATE}"))
    try:
        tryton_db.create_database(conf, PG_TEMPLATE)
        yield conf, pg_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def pg_erp(tryton_pg: tuple[Path, str]) -> Iterator[Erp]:
    conf, pg_url = tryton_pg
    name = f"erpsync_tryton_{next(_names)}"
    admin = create_engine(pg_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}"))
    engine = create_engine(make_url(pg_url).set(database=name), poolclass=NullPool)
    try:
        # trytond picks its backend once per process (SQLite for the other tests)
        yield Erp(conf, name, TrytonAdapter(engine), isolated=True)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
