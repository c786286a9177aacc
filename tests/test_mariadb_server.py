"""The throwaway MariaDB server and the per-test database fixtures in conftest.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.mysql

# Department and company names as a Chinese ERP (RuoYi) stores them, plus a character outside
# the BMP, which needs 4-byte utf8mb4 (MySQL's 3-byte "utf8" would reject or mangle it).
NAMES = ["财务部", "深圳总公司", "销售部 / Sales", "𠮷野家"]

# Databases the tests of this module were given, to check that the fixture drops them.
SEEN_DATABASES: list[str] = []


def _database_names(mysql_url: str) -> set[str]:
    engine = create_engine(mysql_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SHOW DATABASES")).scalars())
    finally:
        engine.dispose()


def test_unicode_round_trip(mysql_engine: Engine) -> None:
    with mysql_engine.begin() as conn:
        assert conn.execute(text("SELECT @@character_set_connection")).scalar_one() == "utf8mb4"
        conn.execute(
            text(
                "CREATE TABLE sys_dept (dept_id bigint AUTO_INCREMENT PRIMARY KEY,"
                " dept_name varchar(50) NOT NULL)"
            )
        )
        conn.execute(
            text("INSERT INTO sys_dept (dept_name) VALUES (:name)"), [{"name": n} for n in NAMES]
        )
    with mysql_engine.connect() as conn:
        rows = conn.execute(text("SELECT dept_name FROM sys_dept ORDER BY dept_id")).scalars()
        assert list(rows) == NAMES
        lengths = conn.execute(text("SELECT char_length(dept_name) FROM sys_dept ORDER BY dept_id"))
        assert list(lengths.scalars()) == [len(n) for n in NAMES]
        found = conn.execute(
            text("SELECT dept_id FROM sys_dept WHERE dept_name = :name"), {"name": "深圳总公司"}
        ).scalar_one()
        assert found == 2
        charset = conn.execute(
            text(
                "SELECT character_set_name FROM information_schema.columns"
                " WHERE table_schema = DATABASE() AND table_name = 'sys_dept'"
                " AND column_name = 'dept_name'"
            )
        ).scalar_one()
        assert charset == "utf8mb4"


def test_collation_is_case_insensitive(mysql_engine: Engine) -> None:
    with mysql_engine.begin() as conn:
        assert conn.execute(text("SELECT 'Admin' = 'admin'")).scalar_one() == 1
        assert conn.execute(text("SELECT @@collation_database")).scalar_one() == (
            "utf8mb4_general_ci"
        )
        # A unique login column, as in RuoYi's sys_user, treats the two spellings as one.
        conn.execute(text("CREATE TABLE sys_user (user_name varchar(30) NOT NULL UNIQUE)"))
        conn.execute(text("INSERT INTO sys_user VALUES ('admin')"))
        count = text("SELECT count(*) FROM sys_user WHERE user_name = 'ADMIN'")
        assert conn.execute(count).scalar_one() == 1
    with pytest.raises(IntegrityError), mysql_engine.begin() as conn:
        conn.execute(text("INSERT INTO sys_user VALUES ('Admin')"))


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_a_fresh_database(mysql_engine: Engine, mysql_url: str, run: int) -> None:
    with mysql_engine.begin() as conn:
        database = conn.execute(text("SELECT DATABASE()")).scalar_one()
        assert database.startswith("test_")
        assert database != make_url(mysql_url).database
        assert conn.execute(text("SHOW TABLES")).all() == []
        # Would fail in the second run if the first one's database were handed out again.
        conn.execute(text("CREATE TABLE marker (run int)"))
        conn.execute(text("INSERT INTO marker VALUES (:run)"), {"run": run})
    # The databases of earlier tests in this module have been dropped.
    assert not set(SEEN_DATABASES) & _database_names(mysql_url)
    SEEN_DATABASES.append(database)


def test_two_engines_are_isolated(
    mysql_engine_factory: Callable[[], Engine], mysql_url: str
) -> None:
    first, second = mysql_engine_factory(), mysql_engine_factory()
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE users (login varchar(30) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO users VALUES ('li.na')"))
        first_db = conn.execute(text("SELECT DATABASE()")).scalar_one()
    with second.begin() as conn:
        second_db = conn.execute(text("SELECT DATABASE()")).scalar_one()
        assert conn.execute(text("SHOW TABLES LIKE 'users'")).all() == []
        conn.execute(text("CREATE TABLE users (login varchar(30) PRIMARY KEY)"))
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
    with first.connect() as conn:
        assert conn.execute(text("SELECT login FROM users")).scalars().all() == ["li.na"]
    assert first_db != second_db
    assert {first_db, second_db} <= _database_names(mysql_url)
    SEEN_DATABASES.extend([first_db, second_db])
