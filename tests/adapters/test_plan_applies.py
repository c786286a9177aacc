"""The promise of a plan on the real ERPs: whenever ``plan`` succeeds, applying exactly that
plan succeeds and the next plan is empty.

The same generated policies and live states as :mod:`tests.pipeline.test_plan_applies`
(reference on SQLite, and memory), here on the reference ERP on PostgreSQL, RuoYi (both
variants, MariaDB and PostgreSQL) and Tryton (SQLite), seeded and spoken to in each ERP's
own terms the way the behaviour suite does (:mod:`tests.adapters.ruoyi_fixture`,
:mod:`tests.adapters.tryton_harness`). Every example
gets a database of its own. A plan may be refused — at its declaration, before review —
but never accepted and then refused by apply.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine

from erpsync.access import split_permission
from erpsync.adapters.base import Adapter
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_state
from erpsync.adapters.reference.schema import create_schema
from erpsync.adapters.tryton import TrytonAdapter
from erpsync.apply import execute
from erpsync.config import ResolvedTarget
from erpsync.policy.loader import load_policy
from erpsync.state import State
from tests.adapters import ruoyi_fixture as fx
from tests.adapters import tryton_db
from tests.adapters.tryton_db import Erp
from tests.adapters.tryton_harness import MODELS, TrytonSuite
from tests.pipeline.strategies import states
from tests.pipeline.test_plan_applies import (
    OPTIONS,
    plan_or_none,
    policy_text,
    settings_for,
    wanted,
)

EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_names = itertools.count()


def holds(adapter: Adapter, name: str, policy: str, delete: bool, url: str | None = None) -> None:
    """Plan ``policy`` against ``adapter``; if the plan is made, it applies and then nothing
    is left to plan."""
    url = url or adapter.engine.url.render_as_string(hide_password=False)
    target = ResolvedTarget("prop", name, url)
    config = settings_for(delete)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "p.yaml").write_text(policy, encoding="utf-8")
        made = plan_or_none(directory, adapter, target, config)
        if made is None:
            return
        execute(adapter, target, load_policy(directory), config, OPTIONS, made)
        again = plan_or_none(directory, adapter, target, config)
        assert again is not None
        assert again.changes == ()


@pytest.fixture(
    params=[
        pytest.param(("vue", "postgresql"), id="vue-postgresql", marks=pytest.mark.postgres),
        pytest.param(("vue", "mariadb"), id="vue-mariadb", marks=pytest.mark.mysql),
        pytest.param(("shiro", "mariadb"), id="shiro-mariadb", marks=pytest.mark.mysql),
    ]
)
def ruoyi_databases(request: pytest.FixtureRequest) -> tuple[fx.Flavour, Callable[[], Engine]]:
    """A RuoYi variant and a maker of fresh, empty databases on one server."""
    flavour, database = request.param
    factory = "pg_engine_factory" if database == "postgresql" else "mysql_engine_factory"
    make: Callable[[], Engine] = request.getfixturevalue(factory)
    return flavour, make


@EXAMPLES
@given(wanted(), states(consistent_memberships=False), st.booleans())
def test_a_plan_that_passes_applies_on_ruoyi(
    ruoyi_databases: tuple[fx.Flavour, Callable[[], Engine]],
    want: State,
    live: State,
    delete: bool,
) -> None:
    flavour, make = ruoyi_databases
    engine = make()
    try:
        adapter = fx.suite_seeder(engine, flavour)(fx.suite_translate(live))
        holds(adapter, "ruoyi", fx.suite_policy(policy_text(want)), delete)
    finally:
        engine.dispose()


def storable_in_tryton(live: State) -> State:
    """``live`` as a Tryton database can hold it: group names unique (``res_group.name``),
    grants only on the suite's modules that map to Tryton models."""
    roles = {k: replace(r, name=f"{r.name} ({k})") for k, r in live.roles.items()}
    grants = frozenset((r, p) for r, p in live.grants if split_permission(p)[0] in MODELS)
    return replace(live, roles=roles, grants=grants)


@EXAMPLES
@given(wanted(), states(consistent_memberships=False), st.booleans())
def test_a_plan_that_passes_applies_on_tryton(
    tryton_conf: Path, want: State, live: State, delete: bool
) -> None:
    name = f"prop{next(_names)}"
    url = tryton_db.copy_database(tryton_conf, name)
    engine = create_engine(url)
    try:
        suite = TrytonSuite(Erp(tryton_conf, name, TrytonAdapter(engine)))
        adapter = suite.seed(suite.translate(storable_in_tryton(live)))
        holds(adapter, "tryton", suite.policy(policy_text(want)), delete, url)
    finally:
        engine.dispose()
        (tryton_conf.parent / f"{name}.sqlite").unlink(missing_ok=True)


@pytest.mark.postgres
@EXAMPLES
@given(wanted(), states(consistent_memberships=False), st.booleans())
def test_a_plan_that_passes_applies_on_the_reference_erp_on_postgresql(
    pg_engine_factory: Callable[[], Engine], want: State, live: State, delete: bool
) -> None:
    """PostgreSQL enforces the reference schema's constraints that SQLite (in
    tests.pipeline) does not check the same way: lengths, uniqueness, foreign keys."""
    engine = pg_engine_factory()
    try:
        create_schema(engine)
        load_state(engine, live, actor="seed")
        holds(ReferenceAdapter(engine), "reference", policy_text(want), delete)
    finally:
        engine.dispose()
