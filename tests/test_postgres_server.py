"""The throwaway PostgreSQL server and the per-test schema fixtures in conftest.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.postgres

# CJK department names as an ERP stores them, plus a character outside the BMP.
NAMES = ["财务部", "销售部 / Sales", "𠮷野家"]


def test_unicode_round_trip(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        assert conn.execute(text("SHOW server_encoding")).scalar_one() == "UTF8"
        conn.execute(text("CREATE TABLE dept (id serial PRIMARY KEY, name text NOT NULL)"))
        conn.execute(text("INSERT INTO dept (name) VALUES (:name)"), [{"name": n} for n in NAMES])
    with pg_engine.connect() as conn:
        rows = conn.execute(text("SELECT name FROM dept ORDER BY id")).scalars().all()
        lengths = conn.execute(text("SELECT char_length(name) FROM dept ORDER BY id")).scalars()
        assert list(lengths) == [len(n) for n in NAMES]
    assert rows == NAMES


def test_engine_sees_only_its_own_schema(pg_engine: Engine, pg_url: str) -> None:
    with pg_engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        assert schema.startswith("test_")
        conn.execute(text("CREATE TABLE marker (x int)"))
        table_schema = conn.execute(
            text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'marker'")
        ).scalar_one()
        assert table_schema == schema
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        assert database == make_url(pg_url).database

    # A plain connection to the same database (default search_path) does not see the table.
    plain = create_engine(pg_url)
    try:
        with plain.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('marker')")).scalar_one() is None
            qualified = conn.execute(text(f"SELECT to_regclass('{schema}.marker')")).scalar_one()
            assert qualified is not None
    finally:
        plain.dispose()


def test_two_engines_are_isolated(pg_engine_factory: Callable[[], Engine]) -> None:
    first, second = pg_engine_factory(), pg_engine_factory()
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE users (login text PRIMARY KEY)"))
        conn.execute(text("INSERT INTO users VALUES ('li.na')"))
    with second.begin() as conn:
        assert conn.execute(text("SELECT to_regclass('users')")).scalar_one() is None
        conn.execute(text("CREATE TABLE users (login text PRIMARY KEY)"))
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
    with first.connect() as conn:
        assert conn.execute(text("SELECT login FROM users")).scalars().all() == ["li.na"]
