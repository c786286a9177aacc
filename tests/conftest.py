"""Shared test fixtures.

Database servers are started outside pytest by ``scripts/testdb.sh`` (``make test`` does it)
and handed over in environment variables:

- ``ERPSYNC_TEST_PG_URL``: SQLAlchemy URL of an empty PostgreSQL database.

Without the variable, tests that need the server are skipped locally, but fail under CI
(``CI=true``): a missing server must never pass as a green run there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
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
