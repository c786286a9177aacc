"""The reference adapter on SQLite and PostgreSQL: schema, bulk load, read, dirty data, init.

Every database test runs twice, on a SQLite file and on the throwaway PostgreSQL (a fresh
schema per engine, from ``pg_engine_factory``).

Dirty rows: SQLite leaves foreign keys unenforced unless ``PRAGMA foreign_keys=ON`` (which is
how dangling rows reach real SQLite ERPs), so they are inserted as they are. PostgreSQL
enforces them, so the dirty-data test first drops the foreign keys of its private schema,
as an ERP created without them (or with them dropped for a data migration) would be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url

from erpsync import livefile
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.database import init_database
from erpsync.adapters.reference.load import load_sample, load_state, sample_state
from erpsync.adapters.reference.read import read_catalogue
from erpsync.adapters.reference.schema import (
    METADATA,
    create_schema,
    erp_department,
    erp_permission,
    erp_role,
    erp_user,
)
from erpsync.catalogue import REFERENCE_CATALOGUE, REFERENCE_MODULES
from erpsync.errors import ConfigError, DatabaseError
from erpsync.policy.loader import load_policy
from erpsync.state import (
    DepartmentRec,
    RoleRec,
    State,
    UserRec,
    by_user,
    desired_state,
    replace_record,
)

REPO = Path(__file__).resolve().parents[2]
PERMISSIONS = sum(len(actions) for actions in REFERENCE_CATALOGUE.values())

SMALL = """\
departments:
  总部: {name: 华东精密机械有限公司 总部, manager: 王建国}
  研发: {name: "R&D 研发中心 (Zürich)", parent: 总部, manager: zoë.müller}
  实验室: {name: 实验室 🧪, parent: 研发}
  空部门: {name: 空部门}
roles:
  审计员:
    name: 内部审计 'audit'
    description: |-
      只读审计。
      Second line with "quotes".
    data_scope: custom
    data_departments: [研发, 实验室]
    permissions: [finance.gl_journal:read, system.user:read]
  工程师:
    name: 工程师
    data_scope: department_tree
    permissions: [production.bom:create, production.bom:read, product.item:read]
  空角色: {name: 空角色}
users:
  王建国: {name: 王建国, email: wang@example.com, department: 总部, roles: [审计员, 工程师]}
  zoë.müller: {name: Zoë Müller, email: zoe@example.com, department: 研发, roles: [工程师]}
  离职者: {name: 李四, department: 实验室, active: false}
  no-dept: {name: Nobody, roles: [审计员]}
"""


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def make_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """Make engines on fresh, empty databases of the parametrised kind."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine_factory")
        return
    made: list[Engine] = []

    def make() -> Engine:
        made.append(create_engine(f"sqlite:///{tmp_path / f'erp{len(made)}.db'}"))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def engine(make_engine: Callable[[], Engine]) -> Engine:
    return make_engine()


@pytest.fixture
def erp(engine: Engine) -> Engine:
    """An engine on a database holding the reference schema and catalogue, nothing else."""
    create_schema(engine)
    return engine


def small_state() -> State:
    return livefile.parse(SMALL)[0]


def company(users: int) -> State:
    """A generated organisation of ``users`` users, five roles and two departments."""
    departments = {
        "hq": DepartmentRec("hq", "总部"),
        "d1": DepartmentRec("d1", "一部", "hq", "u00001"),
    }
    roles = {f"r{i}": RoleRec(f"r{i}", f"角色{i}", data_scope="self") for i in range(5)}
    grants = {(r, p) for r in roles for p in ("system.user:read", "hr.employee:read")}
    people = {
        f"u{n:05d}": UserRec(
            f"u{n:05d}", f"用户{n}", f"u{n}@example.com", f"d{n % 2}" if n % 2 else "hq", n % 7 != 0
        )
        for n in range(users)
    }
    memberships = {(login, f"r{n % 5}") for n, login in enumerate(people)}
    memberships |= {(login, f"r{(n + 2) % 5}") for n, login in enumerate(people)}
    return State(departments, people, roles, frozenset(grants), by_user(memberships))


def statements(engine: Engine) -> list[str]:
    """A list that collects every SQL statement the engine sends from now on."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# --------------------------------------------------------------------------------------------
# Schema and catalogue
# --------------------------------------------------------------------------------------------


def test_create_schema_creates_the_tables_and_the_catalogue(engine: Engine) -> None:
    status = create_schema(engine)

    assert status.created
    assert status.permissions_added == PERMISSIONS
    assert set(METADATA.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        catalogue = read_catalogue(conn)
        names = dict(
            conn.execute(select(erp_permission.c.module, erp_permission.c.module_name)).all()
        )
    assert catalogue == REFERENCE_CATALOGUE
    assert list(catalogue) == list(REFERENCE_CATALOGUE)  # modules in the catalogue's order
    assert names == {module: name for module, (name, _) in REFERENCE_MODULES.items()}
    assert names["finance.gl_journal"] == "总账凭证"


def test_create_schema_twice_keeps_one_catalogue(erp: Engine) -> None:
    status = create_schema(erp)

    assert not status.created
    assert status.permissions_added == 0
    assert count(erp, erp_permission) == PERMISSIONS


def test_create_schema_restores_missing_catalogue_permissions(erp: Engine) -> None:
    with erp.begin() as conn:
        conn.execute(
            erp_permission.delete().where(
                erp_permission.c.module == "finance.payment",
                erp_permission.c.action == "approve",
            )
        )

    status = create_schema(erp)

    assert status.permissions_added == 1
    with erp.connect() as conn:
        assert "approve" in read_catalogue(conn)["finance.payment"]
    assert count(erp, erp_permission) == PERMISSIONS


def test_create_schema_refuses_erp_tables_of_another_shape(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE erp_user (id INTEGER PRIMARY KEY, username VARCHAR(20))"))

    with pytest.raises(DatabaseError) as caught:
        create_schema(engine)

    message = str(caught.value)
    assert "erp_user: missing columns login, name, email, department_id, active" in message
    assert "erp_role: table missing" in message
    assert "erp_role" not in inspect(engine).get_table_names()  # nothing was created


# --------------------------------------------------------------------------------------------
# Bulk load and read
# --------------------------------------------------------------------------------------------


def test_load_then_read_returns_the_same_state(erp: Engine) -> None:
    state = small_state()

    load_state(erp, state)
    snapshot = ReferenceAdapter(erp).read()

    assert snapshot.state == state
    assert snapshot.state.digest() == state.digest()
    assert snapshot.problems == ()
    assert snapshot.catalogue == REFERENCE_CATALOGUE
    assert snapshot.state.roles["审计员"].data_departments == ("实验室", "研发")
    assert snapshot.state.users["离职者"].active is False


def test_load_then_read_a_generated_company(erp: Engine) -> None:
    state = company(500)

    load_state(erp, state)

    assert ReferenceAdapter(erp).read().state == state


def test_load_writes_parents_first_and_stamps_rows(erp: Engine) -> None:
    load_state(erp, small_state(), actor="tester")

    with erp.connect() as conn:
        rows = conn.execute(
            select(erp_department.c.id, erp_department.c.code, erp_department.c.parent_id)
        ).all()
        stamps = {
            (a, b) for a, b in conn.execute(select(erp_user.c.created_by, erp_user.c.updated_by))
        }
        created = conn.execute(select(erp_role.c.created_at)).scalars().all()
    ids = {row.code: row.id for row in rows}
    for row in rows:
        assert row.parent_id is None or row.parent_id < row.id  # the parent came first
    assert ids["总部"] < ids["研发"] < ids["实验室"]
    assert stamps == {("tester", "tester")}
    assert all(isinstance(at, dt.datetime) for at in created)


def test_load_refuses_permissions_outside_the_catalogue(erp: Engine) -> None:
    state = small_state()
    bad = State(
        state.departments,
        state.users,
        state.roles,
        state.grants | {("工程师", "warp.drive:engage"), ("审计员", "finance.payment:fly")},
        state.user_roles,
    )

    with pytest.raises(DatabaseError) as caught:
        load_state(erp, bad)

    message = str(caught.value)
    assert "grants of permissions not in the catalogue" in message
    assert "工程师/warp.drive:engage" in message
    assert "审计员/finance.payment:fly" in message
    assert count(erp, erp_user) == 0  # nothing was written
    assert count(erp, erp_department) == 0


def test_load_refuses_dangling_references(erp: Engine) -> None:
    state = small_state()
    user = replace_record(state.users["zoë.müller"], department="nowhere")
    bad = State(
        state.departments,
        {**state.users, "zoë.müller": user},
        state.roles,
        state.grants | {("ghost-role", "system.user:read")},
        by_user(state.memberships | {("ghost", "工程师")}),
    )

    with pytest.raises(DatabaseError) as caught:
        load_state(erp, bad)

    message = str(caught.value)
    assert "grants to unknown roles: ghost-role/system.user:read" in message
    assert "memberships of unknown users or roles: ghost/工程师" in message
    assert "users in unknown departments: zoë.müller (nowhere)" in message
    assert count(erp, erp_user) == 0


def test_sample_loads_and_reads_back_to_the_file(erp: Engine) -> None:
    loaded = load_sample(erp)
    snapshot = ReferenceAdapter(erp).read()

    path = REPO / "erpsync" / "data" / "sample_live.yaml"
    assert loaded == livefile.load(path)[0]
    assert snapshot.state == loaded
    assert snapshot.problems == ()
    with erp.connect() as conn:
        actors = set(conn.execute(select(erp_role.c.created_by)).scalars())
    assert actors == {"erpsync-sample"}


def test_read_issues_one_select_per_table_whatever_the_size(
    make_engine: Callable[[], Engine],
) -> None:
    counted = []
    for users in (10, 500):
        engine = make_engine()
        create_schema(engine)
        load_state(engine, company(users))
        seen = statements(engine)
        snapshot = ReferenceAdapter(engine).read()
        assert len(snapshot.state.users) == users
        counted.append(seen)

    assert len(counted[0]) == len(counted[1]) == len(METADATA.tables)
    for statement in counted[1]:
        assert statement.lstrip().upper().startswith("SELECT")
        assert "JOIN" not in statement.upper()


def test_password_hash_is_never_selected(erp: Engine) -> None:
    with erp.connect() as conn:
        before = {str(c["name"]) for c in inspect(conn).get_columns("erp_user")}
    assert "password_hash" in before  # the column exists, and holds secrets
    seen = statements(erp)

    load_state(erp, small_state())
    with erp.begin() as conn:
        conn.execute(erp_user.update().values(password_hash="$2a$10$secret-hash"))
    seen.clear()
    ReferenceAdapter(erp).read()

    assert len(seen) == len(METADATA.tables)
    assert not [s for s in seen if "password_hash" in s]


# --------------------------------------------------------------------------------------------
# Dirty data
# --------------------------------------------------------------------------------------------


def allow_dangling_rows(engine: Engine) -> None:
    """Let the database hold rows that point nowhere (see the module docstring)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 0
            return
        inspector = inspect(conn)
        for table in METADATA.tables:
            for fk in inspector.get_foreign_keys(table):
                conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{fk["name"]}"'))


def ids(engine: Engine, column: Any) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(column, column.table.c.id)).all())


def test_dirty_rows_are_reported_and_skipped(erp: Engine) -> None:
    load_state(erp, small_state())
    allow_dangling_rows(erp)
    user = ids(erp, erp_user.c.login)
    role = ids(erp, erp_role.c.code)
    department = ids(erp, erp_department.c.code)
    with erp.connect() as conn:
        read_user = conn.execute(
            select(erp_permission.c.id).where(
                erp_permission.c.module == "system.user", erp_permission.c.action == "read"
            )
        ).scalar_one()
    dirty = [
        f"UPDATE erp_user SET department_id = 4444 WHERE id = {user['zoë.müller']}",
        f"UPDATE erp_department SET parent_id = 3333 WHERE id = {department['实验室']}",
        f"INSERT INTO erp_user_role (user_id, role_id) VALUES ({user['no-dept']}, 99)",
        f"INSERT INTO erp_user_role (user_id, role_id) VALUES (17, {role['工程师']})",
        "INSERT INTO erp_user_role (user_id, role_id) VALUES (18, 98)",
        f"INSERT INTO erp_role_permission (role_id, permission_id) VALUES ({role['空角色']}, 9999)",
        f"INSERT INTO erp_role_permission (role_id, permission_id) VALUES (77, {read_user})",
        f"INSERT INTO erp_role_department (role_id, department_id) VALUES ({role['审计员']}, 5555)",
    ]
    with erp.begin() as conn:
        for statement in dirty:
            conn.execute(text(statement))

    snapshot = ReferenceAdapter(erp).read()

    clean = small_state()
    expected = State(
        {**clean.departments, "实验室": replace_record(clean.departments["实验室"], parent=None)},
        {**clean.users, "zoë.müller": replace_record(clean.users["zoë.müller"], department=None)},
        clean.roles,
        clean.grants,
        clean.user_roles,
    )
    assert snapshot.state == expected
    assert snapshot.problems == tuple(
        sorted(
            [
                f"erp_department: row (id={department['实验室']}, '实验室') points at missing "
                "department 3333; read as no department",
                f"erp_user: row (id={user['zoë.müller']}, 'zoë.müller') points at missing "
                "department 4444; read as no department",
                f"erp_user_role: row (user_id={user['no-dept']}, role_id=99) points at "
                "missing role 99; skipped",
                f"erp_user_role: row (user_id=17, role_id={role['工程师']}) points at "
                "missing user 17; skipped",
                "erp_user_role: row (user_id=18, role_id=98) points at missing user 18 "
                "and missing role 98; skipped",
                f"erp_role_permission: row (role_id={role['空角色']}, permission_id=9999) "
                "points at missing permission 9999; skipped",
                f"erp_role_permission: row (role_id=77, permission_id={read_user}) points at "
                "missing role 77; skipped",
                f"erp_role_department: row (role_id={role['审计员']}, department_id=5555) "
                "points at missing department 5555; skipped",
            ]
        )
    )


# --------------------------------------------------------------------------------------------
# The sample company against the policy
# --------------------------------------------------------------------------------------------


def test_sample_differs_from_the_policy_only_by_its_documented_drift() -> None:
    policy = load_policy(REPO / "policies")
    desired = desired_state(policy, REFERENCE_CATALOGUE, dt.date(2026, 11, 27)).state
    live = sample_state()

    def changed(kind: str) -> dict[str, tuple[Any, Any]]:
        a, b = getattr(live, kind), getattr(desired, kind)
        return {k: (a[k], b[k]) for k in a.keys() & b.keys() if a[k] != b[k]}

    assert live.users.keys() - desired.users.keys() == {"admin", "gao.yuan"}  # (a), built-in
    assert desired.users.keys() - live.users.keys() == {"chen.xi"}  # (c)
    assert {k: v[0].department for k, v in changed("users").items()} == {
        "deng.li": "purchasing",  # (b)
        "jiang.lan": "finance-cost",  # typo
    }
    assert changed("users")["jiang.lan"][0].name == "蒋兰"
    assert {k: v[0].name for k, v in changed("departments").items()} == {"warehouse": "仓储部"}
    assert live.roles.keys() - desired.roles.keys() == {"admin"}
    assert changed("roles") == {}
    assert {g for g in live.grants - desired.grants if g[0] != "admin"} == {
        ("ap-clerk", "finance.payment:approve")  # (e)
    }
    assert desired.grants - live.grants == set()
    every = {f"{m}:{a}" for m, actions in REFERENCE_CATALOGUE.items() for a in actions}
    assert {p for r, p in live.grants if r == "admin"} == every
    assert live.memberships - desired.memberships == {
        ("admin", "admin"),
        ("deng.li", "buyer"),
        ("deng.li", "operations-viewer"),
        ("gao.yuan", "buyer"),
        ("gao.yuan", "employee"),
        ("gao.yuan", "operations-viewer"),
        ("zhang.wei2", "vendor-master"),  # (d)
    }
    assert desired.memberships - live.memberships == {
        ("chen.xi", "employee"),
        ("chen.xi", "operations-viewer"),
        ("chen.xi", "sales-clerk"),
        ("deng.li", "ap-clerk"),
        ("deng.li", "finance-viewer"),
    }
    assert not live.users["huang.mei"].active
    assert live.users["feng.yang"].active
    assert live.users["gao.yuan"].active


def test_sample_holds_a_live_sod_violation() -> None:
    live = sample_state()
    held = {p for r, p in live.grants if (("zhang.wei2", r) in live.memberships)}

    assert {"purchasing.vendor:create", "finance.payment:approve"} <= held  # SOD-P2P-01


def test_sample_file_documents_its_drift() -> None:
    header = (REPO / "erpsync" / "data" / "sample_live.yaml").read_text(encoding="utf-8")
    header = header.split("\ndepartments:")[0]

    for name in ("gao.yuan", "deng.li", "chen.xi", "zhang.wei2", "ap-clerk", "jiang.lan"):
        assert name in header
    for case in ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "admin", "warehouse"):
        assert case in header


# --------------------------------------------------------------------------------------------
# `erpsync refdb init`
# --------------------------------------------------------------------------------------------


def test_init_database_creates_the_directory_and_loads_the_sample(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "erp.db"
    url = f"sqlite:///{path}"

    summary = init_database(url, sample=True)

    assert path.is_file()
    assert f"Created the reference ERP schema (7 erp_ tables) at {url}" in summary
    assert f"21 modules and {PERMISSIONS} permissions" in summary
    sample = sample_state()
    active = sum(u.active for u in sample.users.values())
    assert f"{len(sample.users)} users ({active} active)" in summary
    assert "\n" not in summary
    engine = create_engine(url)
    try:
        assert ReferenceAdapter(engine).read().state == sample
    finally:
        engine.dispose()


def test_init_database_without_sample_leaves_it_empty_and_is_repeatable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"

    first = init_database(url, sample=False)
    second = init_database(url, sample=False)

    assert "No sample data was loaded" in first
    assert "was already present" in second
    assert "added 0 missing catalogue permissions" in second
    engine = create_engine(url)
    try:
        snapshot = ReferenceAdapter(engine).read()
        assert snapshot.state == State()
        assert snapshot.catalogue == REFERENCE_CATALOGUE
    finally:
        engine.dispose()


def test_init_database_refuses_the_sample_over_existing_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, sample=True)

    with pytest.raises(DatabaseError, match=r"already holds data .*--sample needs an empty"):
        init_database(url, sample=True)


def test_init_database_errors_never_show_the_password() -> None:
    url = "postgresql+psycopg://erp:s3cr3t-pw@127.0.0.1:1/erp"

    with pytest.raises(DatabaseError) as caught:
        init_database(url, sample=False)

    message = str(caught.value)
    assert "postgresql+psycopg://erp:***@127.0.0.1:1/erp" in message
    assert "s3cr3t-pw" not in message
    assert caught.value.__cause__ is None  # no chained driver error to leak it either


def test_init_database_rejects_a_bad_url() -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        init_database("not a url at all", sample=False)


@pytest.mark.postgres
def test_init_database_on_postgresql(pg_engine: Engine, pg_url: str) -> None:
    with pg_engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})

    summary = init_database(url.render_as_string(hide_password=False), sample=True)

    assert "Loaded the demo company's live state" in summary
    assert ReferenceAdapter(pg_engine).read().state == sample_state()


def test_load_state_twice_is_a_database_error(erp: Engine) -> None:
    load_state(erp, small_state())

    with pytest.raises(DatabaseError, match=r"could not load the state: .*erp_department"):
        load_state(erp, small_state())

    assert count(erp, erp_department) == len(small_state().departments)


def test_init_database_refuses_foreign_erp_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE erp_role (id INTEGER PRIMARY KEY, role_key VARCHAR(20))"))
    engine.dispose()

    with pytest.raises(DatabaseError) as caught:
        init_database(url, sample=True)

    assert str(caught.value).startswith(f"{url}: the database has erp_ tables that do not match")
    assert "erp_role: missing columns code, name" in str(caught.value)
