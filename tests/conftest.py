"""Shared test fixtures.

Database servers are started outside pytest by ``scripts/testdb.sh`` (``make test`` does it)
and handed over in environment variables:

- ``ERPSYNC_TEST_PG_URL``: SQLAlchemy URL of an empty PostgreSQL database.
- ``ERPSYNC_TEST_MYSQL_URL``: SQLAlchemy URL (``mysql+pymysql://...?charset=utf8mb4``) of an
  empty MariaDB database, as a user that may create and drop databases.

Without the variable, tests that need the server are skipped locally, but fail under CI
(``CI=true``): a missing server must never pass as a green run there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the throwaway PostgreSQL test database (skip, or fail under CI, if absent)."""
    url = os.environ.get("ERPSYNC_TEST_PG_URL")
    if not url:
        reason = "ERPSYNC_TEST_PG_URL is not set; run `make test` or `scripts/testdb.sh start`"
        if _in_ci():
            pytest.fail(f"PostgreSQL test server missing: {reason}", pytrace=False)
        pytest.skip(f"PostgreSQL test server missing: {reason}")
    return url


@pytest.fixture
def pg_engine_factory(pg_url: str) -> Iterator[Callable[[], Engine]]:
    """Make engines, each confined to a fresh schema of its own (via ``search_path``).

    Every schema is dropped, with everything in it, when the test ends.
    """
    admin = create_engine(pg_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    made: list[tuple[str, Engine]] = []

    def make() -> Engine:
        schema = f"test_{uuid.uuid4().hex}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
        made.append((schema, engine))
        return engine

    yield make
    try:
        for schema, engine in made:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def pg_engine(pg_engine_factory: Callable[[], Engine]) -> Engine:
    """An engine whose connections see only a fresh, empty schema private to this test."""
    return pg_engine_factory()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mysql: needs the throwaway MariaDB server started by make test"
    )


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """URL of the throwaway MariaDB test database (skip, or fail under CI, if absent)."""
    url = os.environ.get("ERPSYNC_TEST_MYSQL_URL")
    if not url:
        reason = "ERPSYNC_TEST_MYSQL_URL is not set; run `make test` or `scripts/testdb.sh start`"
        if _in_ci():
            pytest.fail(f"MariaDB test server missing: {reason}", pytrace=False)
        pytest.skip(f"MariaDB test server missing: {reason}")
    return url


def _mysql_database_url(mysql_url: str, database: str) -> URL:
    url = make_url(mysql_url).set(database=database)
    if "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


@pytest.fixture
def mysql_engine_factory(mysql_url: str) -> Iterator[Callable[[], Engine]]:
    """Make engines, each bound to a fresh database of its own (``test_<uuid>``).

    The databases are utf8mb4 / utf8mb4_general_ci (case-insensitive, as ERPs such as RuoYi
    create theirs) and are dropped, with everything in them, when the test ends.
    """
    admin = create_engine(mysql_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    made: list[tuple[str, Engine]] = []

    def make() -> Engine:
        database = f"test_{uuid.uuid4().hex}"
        with admin.connect() as conn:
            conn.execute(
                text(
                    f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
                )
            )
        engine = create_engine(_mysql_database_url(mysql_url, database))
        made.append((database, engine))
        return engine

    yield make
    try:
        for database, engine in made:
            engine.dispose()
            with admin.connect() as conn:
                # A connection the test left open with a transaction on one of its tables would
                # make DROP wait for its metadata lock: fail after a while rather than hang.
                conn.execute(text("SET SESSION lock_wait_timeout = 30"))
                conn.execute(text(f"DROP DATABASE IF EXISTS `{database}`"))
    finally:
        admin.dispose()


@pytest.fixture
def mysql_engine(mysql_engine_factory: Callable[[], Engine]) -> Engine:
    """An engine bound to a fresh, empty MariaDB database private to this test."""
    return mysql_engine_factory()
