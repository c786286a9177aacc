"""Writing plans to the reference ERP: batching, stamps, password hashes, errors.

What a plan does to the state is the shared behaviour suite's business
(``test_behaviour.py``); this module checks how the reference adapter writes
it. Every test runs on a SQLite file and on the throwaway PostgreSQL.

Batching is checked by counting the statements the driver is sent (a
``before_cursor_execute`` listener): a plan's statement count must depend on
what kinds of change it holds, never on how many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, select, text, update

from erpsync.adapters.memory import apply_changes
from erpsync.adapters.reference import TAKES_EFFECT, ReferenceAdapter
from erpsync.adapters.reference.load import load_state
from erpsync.adapters.reference.read import read_snapshot
from erpsync.adapters.reference.schema import create_schema, erp_department, erp_role, erp_user
from erpsync.diff import diff
from erpsync.errors import DatabaseError
from erpsync.plan import Action, Change, Kind
from erpsync.scope import Scope
from erpsync.state import DepartmentRec, Desired, RoleRec, State, UserRec, by_user

SEEDER = "seeder"
LONG_AGO = dt.datetime(2020, 1, 1)
ALL = Scope()
HASH = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def make_erp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """Make engines on fresh databases holding the reference schema and catalogue only."""
    made: list[Engine] = []
    pg = request.getfixturevalue("pg_engine_factory") if request.param == "postgresql" else None

    def make() -> Engine:
        engine = pg() if pg else create_engine(f"sqlite:///{tmp_path / f'erp{len(made)}.db'}")
        made.append(engine)
        create_schema(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def erp(make_erp: Callable[[], Engine]) -> Engine:
    return make_erp()


def seed(engine: Engine, state: State) -> ReferenceAdapter:
    load_state(engine, state, actor=SEEDER)
    return ReferenceAdapter(engine)


def write(adapter: ReferenceAdapter, changes: Sequence[Change], actor: str = "alice") -> None:
    with adapter.engine.begin() as conn:
        adapter.write(conn, changes, actor)


def plan(adapter: ReferenceAdapter, want: State, scope: Scope = ALL) -> list[Change]:
    return diff(Desired(want), adapter.read().state, scope).changes


def counted(engine: Engine, run: Callable[[], None]) -> list[str]:
    """The statements ``run`` sends through ``engine``."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


# --------------------------------------------------------------------------------------------
# A synthetic organisation, and a drifted copy of it
# --------------------------------------------------------------------------------------------

ROLES = {f"r{i}": RoleRec(f"r{i}", f"角色{i}", data_scope="self") for i in range(5)}
GRANTS = frozenset((r, p) for r in ROLES for p in ("system.user:read", "hr.employee:read"))
DEPARTMENTS = {"hq": DepartmentRec("hq", "总部"), "d1": DepartmentRec("d1", "一部", "hq")}


def login(n: int) -> str:
    return f"u{n:05d}"


def organisation(users: int, roles_each: int = 2) -> State:
    """``users`` users in two departments, each holding ``roles_each`` of five roles."""
    people = {
        login(n): UserRec(login(n), f"用户{n}", f"u{n}@example.com", ("hq", "d1")[n % 2])
        for n in range(users)
    }
    memberships = frozenset(
        (login(n), f"r{(n + 2 * k) % 5}") for n in range(users) for k in range(roles_each)
    )
    return State(DEPARTMENTS, people, ROLES, GRANTS, by_user(memberships))


def drifted(state: State) -> State:
    """``state`` with every kind of change, in numbers that grow with its size."""
    users = dict(state.users)
    memberships = set(state.memberships)
    for n, key in enumerate(sorted(state.users)):
        user = users[key]
        match n % 10:
            case 1:
                users[key] = replace(user, name=f"{user.name} (改)")
            case 2:
                users[key] = replace(user, department="d2")
            case 3:
                users[key] = replace(user, active=False)
                memberships -= {m for m in state.memberships if m[0] == key}
            case 4:
                del users[key]
                memberships -= {m for m in state.memberships if m[0] == key}
            case 5:
                memberships -= {(key, f"r{n % 5}")}
                memberships |= {(key, f"r{(n + 1) % 5}")}
    base = len(state.users)
    for n in range(base, base + base // 10):
        users[login(n)] = UserRec(login(n), f"新人{n}", None, "d2")
        memberships |= {(login(n), "new-role"), (login(n), "r0")}
    departments = {
        **state.departments,
        "d2": DepartmentRec("d2", "二部", "d1a", "u00000"),
        "d1a": DepartmentRec("d1a", "一部甲", "d1"),
    }
    roles = {**state.roles, "new-role": RoleRec("new-role", "新角色", None, "custom", ("d1", "d2"))}
    grants = state.grants | {("new-role", "finance.report:read")}
    return State(departments, users, roles, grants, by_user(memberships))


# --------------------------------------------------------------------------------------------
# Batching
# --------------------------------------------------------------------------------------------


def creates_statements(engine: Engine, users: int) -> list[str]:
    adapter = seed(engine, replace(organisation(0), users={}, user_roles={}))
    changes = plan(adapter, organisation(users, roles_each=3))
    assert len(changes) == users * 4  # every user created and given three roles
    return counted(engine, lambda: write(adapter, changes))


def test_creating_users_and_memberships_takes_a_few_statements(
    make_erp: Callable[[], Engine],
) -> None:
    many = creates_statements(make_erp(), 500)  # 500 user creates, 1,500 membership grants
    few = creates_statements(make_erp(), 50)

    assert len(many) <= 15
    assert len(many) == len(few)


def drift_statements(engine: Engine, users: int) -> list[str]:
    live = organisation(users)
    adapter = seed(engine, live)
    scope = Scope(delete_removed_users=True)
    changes = plan(adapter, drifted(live), scope)
    statements = counted(engine, lambda: write(adapter, changes))
    assert plan(adapter, drifted(live), scope) == []
    return statements


def test_a_plan_of_every_kind_takes_as_many_statements_at_any_size(
    make_erp: Callable[[], Engine],
) -> None:
    many = drift_statements(make_erp(), 1000)
    few = drift_statements(make_erp(), 100)

    assert len(many) == len(few)
    assert len(many) <= 25


# --------------------------------------------------------------------------------------------
# What is written, and what is not
# --------------------------------------------------------------------------------------------


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


OBJECT_KEYS = (
    (Kind.DEPARTMENT, erp_department.c.code),
    (Kind.USER, erp_user.c.login),
    (Kind.ROLE, erp_role.c.code),
)


def stamps(engine: Engine) -> dict[tuple[Kind, str], tuple[Any, ...]]:
    """(kind, key) -> (created_by, created_at, updated_by, updated_at) of every object row."""
    out: dict[tuple[Kind, str], tuple[Any, ...]] = {}
    with engine.connect() as conn:
        for kind, key in OBJECT_KEYS:
            t = key.table
            columns = (t.c.created_by, t.c.created_at, t.c.updated_by, t.c.updated_at)
            out |= {(kind, row[0]): tuple(row[1:]) for row in conn.execute(select(key, *columns))}
    return out


def test_rows_carry_who_created_and_changed_them(erp: Engine) -> None:
    live = organisation(30)
    adapter = seed(erp, live)
    with erp.begin() as conn:
        for table in (erp_department, erp_user, erp_role):
            conn.execute(update(table).values(created_at=LONG_AGO, updated_at=LONG_AGO))
    want = drifted(live)
    want = replace(want, roles={**want.roles, "r1": replace(ROLES["r1"], data_departments=("hq",))})
    changes = plan(adapter, want, Scope(delete_removed_users=True))
    start = utcnow()
    write(adapter, changes, "alice")
    end = utcnow()

    done = {(c.kind, c.key): c.action for c in changes}
    assert (Kind.ROLE, "r1") in done  # an update of the data scope alone stamps the role too
    for (kind, key), (created_by, created_at, updated_by, updated_at) in stamps(erp).items():
        action = done.get((kind, key))
        if action is None:
            assert (created_by, created_at, updated_by, updated_at) == (
                SEEDER,
                LONG_AGO,
                SEEDER,
                LONG_AGO,
            ), (kind, key)
            continue
        created = action is Action.CREATE
        assert created_by == ("alice" if created else SEEDER), (kind, key)
        assert (start <= created_at <= end) if created else created_at == LONG_AGO, (kind, key)
        assert updated_by == "alice", (kind, key)
        assert start <= updated_at <= end, (kind, key)


def test_password_hashes_are_never_written(erp: Engine) -> None:
    live = organisation(20)
    adapter = seed(erp, live)
    with erp.begin() as conn:
        conn.execute(update(erp_user).values(password_hash=HASH))

    sent = counted(erp, lambda: write(adapter, plan(adapter, drifted(live))))
    sent += counted(erp, lambda: write(adapter, plan(adapter, live)))  # renamed, moved, reactivated

    assert not any("password_hash" in statement for statement in sent)
    with erp.connect() as conn:
        hashes = dict(conn.execute(select(erp_user.c.login, erp_user.c.password_hash)).all())
    assert {hashes[key] for key in live.users} == {HASH}
    assert {hashes[key] for key in hashes.keys() - live.users.keys()} == {None}  # new users


def test_write_leaves_the_transaction_to_the_caller(erp: Engine) -> None:
    """Inside the transaction the ERP holds what memory.apply_changes computes; the caller's
    rollback undoes everything, so write committed nothing."""
    adapter = seed(erp, organisation(20))
    before = adapter.read().state
    changes = plan(adapter, drifted(before), Scope(delete_removed_users=True))

    with erp.connect() as conn:
        transaction = conn.begin()
        adapter.write(conn, changes, "alice")
        assert read_snapshot(conn).state == apply_changes(before, changes)
        transaction.rollback()

    assert adapter.read().state == before


# --------------------------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------------------------


def user_create(key: str) -> Change:
    return Change(Action.CREATE, Kind.USER, key, "test", None, {"name": key})


def failure(adapter: ReferenceAdapter, changes: Sequence[Change]) -> str:
    before = adapter.read().state
    with pytest.raises(DatabaseError) as raised:
        write(adapter, changes)
    assert adapter.read().state == before
    return str(raised.value)


def test_a_database_error_names_the_change(erp: Engine) -> None:
    adapter = seed(erp, organisation(3))

    assert failure(adapter, [user_create("new"), user_create(login(1))]).startswith(
        "2 create user changes (new … u00001) failed: "
    )
    assert failure(adapter, [user_create(login(2))]).startswith("create user u00002 failed: ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            Change(Action.GRANT, Kind.PERMISSION, "r0/finance.nothing:read", "test"),
            "cannot grant permission r0/finance.nothing:read: "
            "the ERP has no permission 'finance.nothing:read'",
        ),
        (
            Change(Action.UPDATE, Kind.USER, "ghost", "test", {"name": "a"}, {"name": "b"}),
            "cannot update user ghost: the ERP has no user 'ghost'",
        ),
        (
            Change(Action.UPDATE, Kind.USER, login(0), "test", {}, {"department": "nowhere"}),
            "cannot update user u00000: the ERP has no department 'nowhere'",
        ),
        (
            Change(Action.UPDATE, Kind.USER, login(0), "test", {}, {"password": "x"}),
            "cannot update user u00000: unknown attribute 'password'",
        ),
        (
            Change(Action.CREATE, Kind.PERMISSION, "r0/system.user:read", "test"),
            "cannot create permission r0/system.user:read: "
            "the reference ERP cannot create permissions",
        ),
    ],
    ids=["unknown-permission", "unknown-user", "unknown-department", "unknown-attribute", "kind"],
)
def test_a_change_the_erp_cannot_hold_is_refused(erp: Engine, change: Change, message: str) -> None:
    adapter = seed(erp, organisation(3))

    assert failure(adapter, [user_create("new"), change]) == message
    refused = ReferenceAdapter.check_plan(adapter.read(), [user_create("new"), change])
    assert [str(r) for r in refused] == [message]


def test_plan_time_check_refuses_what_writing_would_fail_on(erp: Engine) -> None:
    """Departments still pointed at, names longer than the column, keys that exist: refused
    at plan time on both databases (PostgreSQL's constraints would refuse them at apply)."""
    state = organisation(4)
    scoped = RoleRec("scoped", "范围", data_scope="custom", data_departments=("d1",))
    adapter = seed(erp, replace(state, roles={**state.roles, "scoped": scoped}))
    live = adapter.read()
    long_role = Change(Action.CREATE, Kind.ROLE, "long", "t", None, {"name": "长" * 201})
    bad = {
        "users are still in it (u00001, u00003)": Change(Action.DELETE, Kind.DEPARTMENT, "d1", "t"),
        "users are still in it (u00000, u00002)": Change(Action.DELETE, Kind.DEPARTMENT, "hq", "t"),
        "the name is 201 characters; the reference ERP holds 200": long_role,
        "the ERP already has a user 'u00000'": user_create(login(0)),
        "the ERP has no role 'ghost'": Change(Action.GRANT, Kind.MEMBERSHIP, "u00000/ghost", "t"),
    }
    for reason, change in bad.items():
        assert [(r.change, r.reason) for r in ReferenceAdapter.check_plan(live, [change])] == [
            (change, reason)
        ]
    # A change that follows from a refused one is judged on its own, not refused again.
    grant = Change(Action.GRANT, Kind.PERMISSION, "long/system.user:read", "t")
    assert [r.change for r in ReferenceAdapter.check_plan(live, [long_role, grant])] == [long_role]
    # Moving the users out and unscoping the role first makes the deletion possible.
    move = [
        Change(Action.UPDATE, Kind.USER, login(n), "t", {}, {"department": "hq"}) for n in (1, 3)
    ]
    gone = Change(Action.DELETE, Kind.DEPARTMENT, "d1", "t")
    assert [r.reason for r in ReferenceAdapter.check_plan(live, [*move, gone])] == [
        "the data scope of role(s) scoped names it"
    ]
    top = [
        *(
            Change(Action.UPDATE, Kind.USER, login(n), "t", {}, {"department": "d1"})
            for n in (0, 2)
        ),
        Change(Action.DELETE, Kind.DEPARTMENT, "hq", "t"),
    ]
    assert [r.reason for r in ReferenceAdapter.check_plan(live, top)] == [
        "departments are still below it (d1)"
    ]
    unscope = Change(Action.UPDATE, Kind.ROLE, "scoped", "t", {}, {"data_departments": []})
    assert ReferenceAdapter.check_plan(live, [*move, unscope, gone]) == []
    if erp.dialect.name == "postgresql":  # what the check spares the reviewer
        with pytest.raises(DatabaseError):
            write(adapter, [long_role])
        with pytest.raises(DatabaseError):
            write(adapter, [gone])


def test_departments_whose_parents_form_a_cycle_are_refused(erp: Engine) -> None:
    adapter = seed(erp, organisation(0))
    loop = [
        Change(Action.CREATE, Kind.DEPARTMENT, "a", "test", None, {"name": "A", "parent": "b"}),
        Change(Action.CREATE, Kind.DEPARTMENT, "b", "test", None, {"name": "B", "parent": "a"}),
    ]

    assert "parents form a cycle" in failure(adapter, loop)


@pytest.mark.postgres
def test_a_database_error_never_shows_the_password(pg_engine: Engine) -> None:
    """The test server trusts every connection, so a URL with a password works; the
    password is made to appear in the driver's message (as a login in a duplicate key)."""
    create_schema(pg_engine)
    with pg_engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    secret = "s3cret-Pw"
    engine = create_engine(
        pg_engine.url.set(password=secret), connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        adapter = seed(engine, replace(organisation(0), users={secret: UserRec(secret, "x")}))
        message = failure(adapter, [user_create(secret)])
    finally:
        engine.dispose()

    assert secret not in message
    assert message.startswith("create user *** failed: ")


def test_after_commit_says_when_changes_take_effect() -> None:
    adapter = ReferenceAdapter(create_engine("sqlite://"))

    assert adapter.after_commit([user_create("new")]) == [TAKES_EFFECT]
    assert "next request" in TAKES_EFFECT
    assert "\n" not in TAKES_EFFECT
    assert adapter.after_commit([]) == []
