"""The behaviour every adapter must show, run against each adapter on each database it supports.

A harness seeds an ERP with a canonical State in the adapter's own way and
hands back a connected adapter, and applies a list of changes to it the way
``erpsync apply`` does (for a database adapter: ``write`` in one transaction).
Adding an adapter means adding a harness here; the behaviours stay the same.

Writing behaviours plan with :func:`erpsync.diff.diff`, apply the plan, read
the ERP back and check that it now holds exactly the desired state, that no
dangling rows were left, and that planning again gives no changes. The memory
fake runs them too (through :func:`~erpsync.adapters.memory.apply_changes`),
which keeps the fake's semantics and the database adapters' in step.

An ERP that cannot store everything (Tryton: no departments, data scopes or
user deletion) runs each behaviour on what it can store: its harness
translates the suite's states (``Harness.translate``), and a behaviour that
exists only for a capability it lacks is marked ``@needs(...)`` and is not
generated for it — which :func:`test_what_each_adapter_is_spared` pins down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, select

from erpsync import livefile
from erpsync.adapters.base import Adapter, Capabilities, LiveSnapshot
from erpsync.adapters.jsherp import JshErpAdapter
from erpsync.adapters.memory import MemoryAdapter
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_state
from erpsync.adapters.reference.schema import METADATA, create_schema
from erpsync.adapters.ruoyi import RuoYiAdapter
from erpsync.adapters.ruoyi_vue_pro import RuoYiVueProAdapter
from erpsync.adapters.tryton import TrytonAdapter
from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.config import ResolvedTarget, Settings
from erpsync.diff import diff
from erpsync.errors import DatabaseError
from erpsync.plan import Action, Change, Kind
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.scope import Scope
from erpsync.state import Desired, RoleRec, State, by_user
from tests.adapters import jsherp_harness, ruoyi_fixture, ruoyi_vue_pro_fixture
from tests.adapters.tryton_harness import TrytonSuite

ACTOR = "test"


def read_state(adapter: Adapter) -> object:
    return adapter.read().state


T = TypeVar("T")


def same(value: T) -> T:
    return value


@dataclass(frozen=True)
class Harness:
    """An ERP of one adapter on one database: ``harness(state)`` seeds it.

    The suite's states and policies are in the reference ERP's terms; ``translate`` and
    ``policy`` say the same in this ERP's (only what it can store, its own module names,
    on top of what a fresh database of it already holds). ``left_alone``: what a plan
    lists as unmanaged besides the suite's protected admin; ``problems``: what reading
    the ERP reports before anything is seeded.
    """

    seed: Callable[[State], Adapter]
    apply: Callable[[Adapter, Sequence[Change]], None]  # all or nothing, as erpsync apply
    contents: Callable[[Adapter], object] = read_state  # everything it holds, to compare
    can: Capabilities = field(default_factory=Capabilities)
    translate: Callable[[State], State] = same
    policy: Callable[[str], str] = same
    left_alone: frozenset[tuple[str, str]] = frozenset()
    problems: tuple[str, ...] = ()
    # An ERP with rules for logins (ruoyi-vue-pro: letters and digits): the suite's login in
    # its words, and the changes made with its words back in the suite's
    login: Callable[[str], str] = same
    suite_changes: Callable[[Sequence[Change]], list[Change]] = list

    def __call__(self, state: State) -> Adapter:
        return self.seed(self.translate(state))

    def state(self, text: str) -> State:
        """The suite's state ``text`` in this ERP's terms."""
        return self.translate(parsed(text))


LIVE = """\
departments:
  hq: {name: 公司总部, manager: wang.jianguo}
  finance: {name: 财务部, parent: hq, manager: chen.jing}
roles:
  admin: {name: 超级管理员, permissions: [system.user:create, finance.payment:approve]}
  ap-clerk:
    name: 应付会计
    description: 录入供应商发票
    data_scope: custom
    data_departments: [finance]
    permissions: [finance.ap_invoice:create, finance.ap_invoice:read, finance.payment:read]
users:
  admin: {name: 系统管理员, roles: [admin]}
  chen.jing: {name: 陈静, email: chen.jing@example.com, department: finance, roles: [ap-clerk]}
  wang.jianguo: {name: 王建国, department: hq, active: false}
"""

POLICY = """\
departments:
  hq: {name: 公司总部, manager: wang.jianguo}
  finance: {name: 财务部, parent: hq, manager: chen.jing}
roles:
  ap-clerk:
    name: 应付会计
    description: 录入供应商发票
    data_scope: custom
    data_departments: [finance]
    permissions: {finance.ap_invoice: [create, read], finance.payment: [read]}
users:
  chen.jing: {name: 陈静, email: chen.jing@example.com, department: finance, roles: [ap-clerk]}
  wang.jianguo: {name: 王建国, department: hq, active: false}
"""


def memory(state: State) -> Adapter:
    return MemoryAdapter(LiveSnapshot(state, dict(REFERENCE_CATALOGUE)))


def memory_apply(adapter: Adapter, changes: Sequence[Change]) -> None:
    assert isinstance(adapter, MemoryAdapter)
    adapter.apply(changes)


def database_apply(adapter: Adapter, changes: Sequence[Change]) -> None:
    with adapter.engine.begin() as conn:
        adapter.write(conn, changes, ACTOR)


def reference_rows(adapter: Adapter) -> object:
    """Every row of every reference table, stamps and password hashes included."""
    with adapter.engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for table in METADATA.sorted_tables
        }


# RuoYi (ruoyi_fixture): our own DDL of each variant, on each database it runs on.
RUOYI = ["ruoyi-vue-postgresql", "ruoyi-vue-mariadb", "ruoyi-shiro-mariadb"]
# Tryton (tryton_db): a database made by trytond-admin, copied per test.
TRYTON = ["tryton-sqlite", "tryton-postgresql"]
# ruoyi-vue-pro (ruoyi_vue_pro_fixture): our own DDL, one system tenant.
RUOYI_VUE_PRO = ["ruoyi_vue_pro-postgresql", "ruoyi_vue_pro-mariadb"]

# Each harness and the adapter whose Capabilities decide which behaviours it shows.
HARNESSES: dict[str, type[Adapter]] = {
    "memory": MemoryAdapter,
    "reference-sqlite": ReferenceAdapter,
    "reference-postgresql": ReferenceAdapter,
    **dict.fromkeys(RUOYI, RuoYiAdapter),
    **dict.fromkeys(TRYTON, TrytonAdapter),
    "jsherp-mariadb": JshErpAdapter,
    **dict.fromkeys(RUOYI_VUE_PRO, RuoYiVueProAdapter),
}

F = TypeVar("F", bound=Callable[..., None])


def needs(*capabilities: str) -> Callable[[F], F]:
    """Generate the behaviour only for harnesses whose adapter has all these capabilities
    (fields of :class:`Capabilities`): it is about them, and means nothing without them."""
    for name in capabilities:
        assert hasattr(Capabilities(), name), name

    def mark(test: F) -> F:
        test.needs = capabilities  # type: ignore[attr-defined]
        return test

    return mark


def shows(test: Callable[..., None], harness: str) -> bool:
    can = HARNESSES[harness].capabilities
    return all(getattr(can, name) for name in getattr(test, "needs", ()))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``harness`` runs on every harness, ``db_harness`` on those backed by a database;
    each only where the adapter has what the behaviour ``needs``."""
    if "harness_name" not in metafunc.fixturenames:
        return
    names = [n for n in HARNESSES if n != "memory" or "db_harness" not in metafunc.fixturenames]
    metafunc.parametrize("harness_name", [n for n in names if shows(metafunc.function, n)])


@pytest.fixture
def harness(harness_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    return make_harness(harness_name, request, tmp_path)


@pytest.fixture
def db_harness(harness_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    """Only the adapters backed by a database, which enforces references."""
    return make_harness(harness_name, request, tmp_path)


def make_harness(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    if name == "memory":
        return Harness(memory, memory_apply)
    if name.startswith("ruoyi-"):
        _, flavour, database = name.split("-")
        fixture = "pg_engine" if database == "postgresql" else "mysql_engine"
        ruoyi_engine = request.getfixturevalue(fixture)
        return Harness(
            ruoyi_fixture.suite_seeder(ruoyi_engine, flavour),
            database_apply,
            lambda _adapter: ruoyi_fixture.everything(ruoyi_engine),
            translate=ruoyi_fixture.suite_translate,
            policy=ruoyi_fixture.suite_policy,
        )
    if name.startswith("ruoyi_vue_pro-"):
        fx = ruoyi_vue_pro_fixture
        on_pg = name.endswith("postgresql")
        yudao = request.getfixturevalue("pg_engine" if on_pg else "mysql_engine")
        return Harness(
            fx.suite_seeder(yudao),
            fx.apply_and_check,  # database_apply, then the app's own rule for every user
            lambda _adapter: fx.everything(yudao),
            RuoYiVueProAdapter.capabilities,
            fx.suite_translate,
            fx.suite_policy,
            login=fx.login,
            suite_changes=fx.suite_changes,
        )
    if name.startswith("tryton-"):
        suite = TrytonSuite(request.getfixturevalue("erp" if name.endswith("sqlite") else "pg_erp"))
        return Harness(
            suite.seed,
            database_apply,
            suite.contents,
            TrytonAdapter.capabilities,
            suite.translate,
            suite.policy,
            suite.left_alone,
            suite.problems,
        )
    if name == "jsherp-mariadb":
        suite = jsherp_harness.JshErpSuite(request.getfixturevalue("mysql_engine"))
        cannot = jsherp_harness.CANNOT.get(request.node.originalname)
        if cannot:  # its exact list of changes is one jshERP cannot make: asserted to differ
            mark = pytest.mark.xfail(raises=AssertionError, strict=True, reason=cannot)
            request.applymarker(mark)
        return Harness(
            suite.seed,
            suite.apply,
            suite.contents,
            JshErpAdapter.capabilities,
            jsherp_harness.translate,
            jsherp_harness.policy,
        )
    if name == "reference-sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    else:
        engine = request.getfixturevalue("pg_engine")

    def seed(state: State) -> Adapter:
        create_schema(engine)
        load_state(engine, state)
        return ReferenceAdapter(engine)

    return Harness(seed, database_apply, reference_rows)


def test_what_each_adapter_is_spared() -> None:
    """The behaviours not generated for a harness: exactly those its adapter's
    Capabilities rule out, and only for Tryton."""
    behaviours = [v for k, v in globals().items() if k.startswith("test_") and callable(v)]
    spared = {(t.__name__, h) for t in behaviours for h in HARNESSES if not shows(t, h)}
    assert spared == {
        (test, harness)
        for test in (
            "test_moves_a_user_and_a_department_under_a_new_parent",
            "test_deletes_removed_users_in_delete_mode",
        )
        for harness in TRYTON
    }


def test_reads_back_what_was_seeded(harness: Harness) -> None:
    state, _ = livefile.parse(LIVE)
    assert harness(state).read().state == harness.translate(state)


def test_catalogue_covers_every_grant(harness: Harness) -> None:
    state, _ = livefile.parse(LIVE)
    snapshot = harness(state).read()
    listed = {f"{m}:{a}" for m, actions in snapshot.catalogue.items() for a in actions}
    assert {perm for _, perm in snapshot.state.grants} <= listed


def test_reading_twice_gives_the_same_digest(harness: Harness) -> None:
    adapter = harness(livefile.parse(LIVE)[0])
    assert adapter.read().state.digest() == adapter.read().state.digest()


def test_live_state_equal_to_the_policy_plans_no_changes(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "policy.yaml").write_text(harness.policy(POLICY), encoding="utf-8")
    adapter = harness(livefile.parse(LIVE)[0])
    settings = Settings(protected_users=["admin"], protected_roles=["admin"])
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    target = ResolvedTarget("t", "reference", "sqlite://")
    plan = make_plan(
        load_policy(tmp_path / "p"),
        adapter.read(),
        settings,
        type(adapter),
        target,
        now.date(),
        now,
    )
    assert plan.changes == ()
    assert {(str(u.kind), u.key) for u in plan.unmanaged} == {
        ("user", "admin"),
        ("role", "admin"),
        *harness.left_alone,
    }


def test_a_different_live_state_is_seen(harness: Harness) -> None:
    desired = Desired(harness.state(LIVE))
    drifted, _ = livefile.parse(LIVE.replace("陈静, email", "陈晶, email"))
    changes = diff(desired, harness(drifted).read().state, Scope()).changes
    assert [(str(c.action), c.key, c.after) for c in changes] == [
        ("update", harness.login("chen.jing"), {"name": "陈静"})
    ]


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

# A three-level department tree, custom data scope, an inactive user, Unicode everywhere.
FULL = """\
departments:
  集团: {name: 集团总部 🏢, manager: wang.jianguo}
  finance: {name: 财务部, parent: 集团, manager: chen.jing}
  treasury: {name: "Trésorerie 资金科", parent: finance}
  sales: {name: 销售部 (Zürich), parent: 集团}
roles:
  ap-clerk:
    name: 应付会计 'AP'
    description: |-
      录入供应商发票。
      Second line with "quotes".
    data_scope: custom
    data_departments: [finance, treasury]
    permissions: [finance.ap_invoice:create, finance.ap_invoice:read, finance.payment:read]
  viewer:
    name: 只读
    data_scope: department_tree
    permissions: [system.user:read, finance.report:read]
  空角色: {name: 空角色}
users:
  wang.jianguo: {name: 王建国, email: wang@example.com, department: 集团, roles: [viewer]}
  chen.jing:
    {name: 陈静, email: chen.jing@example.com, department: finance, roles: [ap-clerk, viewer]}
  zoë.müller: {name: Zoë Müller, email: zoe@example.com, department: treasury, roles: [ap-clerk]}
  no-dept: {name: Nobody, roles: [viewer]}
  li.si: {name: 李四, department: sales, active: false}
"""

# FULL with attributes of every kind changed, set and cleared, and grants moved.
UPDATED = """\
departments:
  集团: {name: 集团总部 (新), manager: chen.jing}
  finance: {name: 财务部, parent: 集团}
  treasury: {name: "Trésorerie 资金科", parent: finance}
  sales: {name: 销售部 (Zürich), parent: 集团}
roles:
  ap-clerk:
    name: 应付会计
    data_scope: custom
    data_departments: [finance]
    permissions: [finance.ap_invoice:create, finance.ap_invoice:read, finance.payment:read]
  viewer:
    name: 只读
    data_scope: custom
    data_departments: [sales]
    permissions: [system.user:read, hr.employee:read]
  空角色: {name: 空角色, description: 现在有描述}
users:
  wang.jianguo: {name: 王建國, department: 集团, roles: [viewer]}
  chen.jing:
    {name: 陈静, email: chen.jing@example.com, department: finance, roles: [viewer, 空角色]}
  zoë.müller: {name: Zoë Müller, email: zoe@example.com, department: treasury, roles: [ap-clerk]}
  no-dept: {name: Nobody, email: nobody@example.com, roles: [viewer]}
  li.si: {name: 李四, department: sales, active: false}
"""

ADMIN = """\
roles:
  admin: {name: 超级管理员, permissions: [system.user:create, system.role:update]}
users:
  admin: {name: 系统管理员, email: root@example.com, roles: [admin, viewer]}
"""


ALL = Scope()


def parsed(text: str) -> State:
    return livefile.parse(text)[0]


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """``text`` with each ``(old, new)`` replaced; every ``old`` must be there."""
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def merged(a: State, b: State) -> State:
    return State(
        {**a.departments, **b.departments},
        {**a.users, **b.users},
        {**a.roles, **b.roles},
        a.grants | b.grants,
        by_user(a.memberships | b.memberships),
    )


def converge(
    harness: Harness,
    live: State,
    want: State,
    scope: Scope = ALL,
    expected: State | None = None,
) -> list[Change]:
    """Plan ``live`` -> ``want``, apply, and check the ERP holds ``expected`` (default
    ``want``), with no dangling rows, and that planning again changes nothing. The states
    are the suite's; the harness translates them into its ERP's terms."""
    adapter = harness(live)
    want = harness.translate(want)
    changes = diff(Desired(want), adapter.read().state, scope).changes
    assert changes, "the behaviour has nothing to write"
    harness.apply(adapter, changes)
    after = adapter.read()
    assert after.state == (want if expected is None else harness.translate(expected))
    assert after.problems == harness.problems
    assert diff(Desired(want), after.state, scope).changes == []
    return harness.suite_changes(changes)


def actions(changes: Sequence[Change]) -> set[tuple[str, str, str]]:
    return {(str(c.action), str(c.kind), c.key) for c in changes}


def test_creates_everything_in_an_empty_erp(harness: Harness) -> None:
    changes = converge(harness, State(), parsed(FULL))
    if harness.can.departments:
        departments = [c.key for c in changes[:4]]
        assert departments == ["集团", "finance", "sales", "treasury"]  # one batch, three levels
    assert {("create", "user", "li.si"), ("grant", "membership", "chen.jing/ap-clerk")} <= (
        actions(changes)
    )


def test_updates_attributes(harness: Harness) -> None:
    changes = converge(harness, parsed(FULL), parsed(UPDATED))
    updated = {(str(c.kind), c.key) for c in changes if c.action is Action.UPDATE}
    can = harness.can
    assert updated == {
        ("user", "wang.jianguo"),
        ("user", "no-dept"),
        *([("department", "集团"), ("department", "finance")] if can.departments else []),
        # ap-clerk: name, description and data departments change
        ("role", "ap-clerk"),
        *([("role", "viewer")] if can.data_scope else []),  # data scope changes
        *([("role", "空角色")] if can.role_descriptions else []),  # a description is set
    }


def test_renames_keys_in_place(harness: Harness, harness_name: str) -> None:
    """A moved: entry renames a key: the same row is updated (department, role and login;
    RuoYi with Shiro salts passwords with the login, so its logins are never renamed)."""
    renames = {"role": {"ap-clerk": "payables"}}
    if harness.can.departments:
        renames["department"] = {"finance": "fin"}  # manager of finance: chen.jing
    if "shiro" not in harness_name:
        renames["user"] = {harness.login("chen.jing"): harness.login("chen.j")}
    adapter = harness(parsed(FULL))
    before = adapter.read().state
    want = before.renamed(renames)
    changes = diff(Desired(want, renames=renames), before, ALL).changes
    assert {(c.action, str(c.kind), c.renamed_from, c.key) for c in changes} == {
        (Action.UPDATE, kind, old, new)
        for kind, keys in renames.items()
        for old, new in keys.items()
    }
    harness.apply(adapter, changes)
    after = adapter.read()
    assert after.state == want
    assert after.problems == harness.problems
    assert diff(Desired(want, renames=renames), after.state, ALL).changes == []


@needs("departments")
def test_moves_a_user_and_a_department_under_a_new_parent(harness: Harness) -> None:
    moved = edit(
        FULL,
        (
            "  集团: {name: 集团总部 🏢,",
            "  控股: {name: 控股公司}\n  集团: {name: 集团总部 🏢, parent: 控股,",
        ),
        (
            '  treasury: {name: "Trésorerie 资金科", parent: finance}',
            "  asia: {name: 亚太区, parent: 集团}\n"
            '  treasury: {name: "Trésorerie 资金科", parent: asia}',
        ),
        (
            "department: finance, roles: [ap-clerk, viewer]",
            "department: sales, roles: [ap-clerk, viewer]",
        ),
    )
    changes = converge(harness, parsed(FULL), parsed(moved))
    assert actions(changes) == {
        ("create", "department", "控股"),
        ("update", "department", "集团"),
        ("create", "department", "asia"),
        ("update", "department", "treasury"),
        ("update", "user", "chen.jing"),
    }


def test_deactivates_and_reactivates_users(harness: Harness) -> None:
    flipped = edit(
        FULL,
        ("department: finance, roles: [ap-clerk, viewer]}", "department: finance, active: false}"),
        ("department: sales, active: false}", "department: sales, roles: [viewer]}"),
    )
    changes = converge(harness, parsed(FULL), parsed(flipped))
    assert actions(changes) == {
        ("deactivate", "user", "chen.jing"),
        ("revoke", "membership", "chen.jing/ap-clerk"),
        ("revoke", "membership", "chen.jing/viewer"),
        ("reactivate", "user", "li.si"),
        ("grant", "membership", "li.si/viewer"),
    }


@needs("delete_users")
def test_deletes_removed_users_in_delete_mode(harness: Harness) -> None:
    fewer = edit(
        FULL,
        ("  sales: {name: 销售部 (Zürich), parent: 集团}\n", ""),
        (
            "  zoë.müller: {name: Zoë Müller, email: zoe@example.com, department: treasury, "
            "roles: [ap-clerk]}\n",
            "",
        ),
        ("  li.si: {name: 李四, department: sales, active: false}\n", ""),
    )
    changes = converge(harness, parsed(FULL), parsed(fewer), Scope(delete_removed_users=True))
    assert {
        ("delete", "user", "zoë.müller"),
        ("delete", "user", "li.si"),
        ("delete", "department", "sales"),
        ("revoke", "membership", "zoë.müller/ap-clerk"),
    } <= actions(changes)


def test_deactivates_removed_users_by_default(harness: Harness) -> None:
    want = parsed(FULL)
    zoe = want.users["zoë.müller"]
    want = replace(
        want,
        users={k: u for k, u in want.users.items() if k != zoe.login},
        user_roles=by_user(m for m in want.memberships if m[0] != zoe.login),
    )
    expected = replace(want, users={**want.users, zoe.login: replace(zoe, active=False)})
    changes = converge(harness, parsed(FULL), want, expected=expected)
    assert actions(changes) == {
        ("deactivate", "user", "zoë.müller"),
        ("revoke", "membership", "zoë.müller/ap-clerk"),
    }


def test_deletes_a_role_with_its_grants_holders_and_data_scope(harness: Harness) -> None:
    want = parsed(FULL)
    want = replace(
        want,
        roles={k: r for k, r in want.roles.items() if k != "ap-clerk"},
        grants=frozenset(g for g in want.grants if g[0] != "ap-clerk"),
        user_roles=by_user(m for m in want.memberships if m[1] != "ap-clerk"),
    )
    changes = converge(harness, parsed(FULL), want)
    assert ("delete", "role", "ap-clerk") in actions(changes)
    assert changes[-1].action is Action.DELETE  # after every revoke of its grants and holders


def test_leaves_protected_users_and_roles_alone(harness: Harness) -> None:
    """The admin user is not declared (delete mode would delete it), the admin role is
    declared differently (it would be updated): both stay exactly as they were."""
    admin = parsed(ADMIN)
    want = parsed(UPDATED)
    want = replace(want, roles={**want.roles, "admin": RoleRec("admin", "不是管理员")})
    scope = Scope(
        protected_users=frozenset({"admin"}),
        protected_roles=frozenset({"admin"}),
        delete_removed_users=True,
    )
    expected = merged(parsed(UPDATED), admin)
    changes = converge(harness, merged(parsed(FULL), admin), want, scope, expected)
    assert not any(c.key == "admin" or c.key.startswith("admin/") for c in changes)


GHOST = Change(Action.GRANT, Kind.MEMBERSHIP, "ghost/viewer", "a login the ERP lacks")
DUPLICATE = Change(
    Action.CREATE,
    Kind.USER,
    "chen.jing",
    "a login the ERP already has",
    None,
    {"name": "陈静", "email": None, "department": None, "active": True},
)


@pytest.mark.parametrize("last", [GHOST, DUPLICATE], ids=["unknown-login", "duplicate-login"])
def test_a_failing_write_changes_nothing(db_harness: Harness, last: Change) -> None:
    harness = db_harness
    adapter = harness(parsed(FULL))
    before = harness.contents(adapter)
    want = Desired(harness.state(UPDATED))
    changes = [*diff(want, adapter.read().state, Scope()).changes, last]
    with pytest.raises(DatabaseError) as raised:
        harness.apply(adapter, changes)
    assert f"{last.action} {last.kind} {last.key}" in str(raised.value)
    assert harness.contents(adapter) == before
