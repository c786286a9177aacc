"""What every multi-tenant adapter relies on, tested without one: ``tenant:`` in
erpsync.yaml, plans that name their tenant, bindings kept apart per tenant (and the
migration of a bindings table made before tenants), the audit trail read per tenant, and
the shared read of several tenants (its default, on the reference ERP)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from erpsync import audit, bindings, removals
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_state
from erpsync.adapters.reference.schema import create_schema
from erpsync.apply import check_origin
from erpsync.config import ResolvedTarget, load_config
from erpsync.errors import ConfigError, UsageError
from erpsync.owntables import binding_has_scope, ensure_tables, erpsync_audit
from erpsync.plan import Plan, Target
from erpsync.state import DepartmentRec, State, UserRec


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "erpsync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_tenant_on_an_adapter_without_tenants_is_an_error_at_its_line(
    tmp_path: Path,
) -> None:
    config = write(
        tmp_path,
        "targets:\n  a:\n    adapter: reference\n    url: sqlite:///a.db\n    tenant: 121\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert f"{config}:5:" in message
    assert "the reference adapter has no tenants" in message


def test_the_plan_names_its_tenant_and_apply_refuses_another() -> None:
    now = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    digest = "sha256:" + "0" * 64
    plan = Plan(Target("shop", "reference", "sqlite:///x.db", "121"), now, digest, digest)
    data = plan.to_dict()
    assert data["target"]["tenant"] == "121"
    assert Plan.from_dict(json.loads(json.dumps(data))).target.tenant == "121"
    same = ResolvedTarget("shop", "reference", "sqlite:///x.db", tenant="121")
    check_origin(plan, same)
    other = ResolvedTarget("shop", "reference", "sqlite:///x.db", tenant="122")
    with pytest.raises(UsageError, match="plan is for tenant 121, but target shop is tenant 122"):
        check_origin(plan, other)
    with pytest.raises(UsageError, match="tenant 121, but target shop is tenant \\(default\\)"):
        check_origin(plan, ResolvedTarget("shop", "reference", "sqlite:///x.db"))


def _sqlite(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'erp.db'}")


def test_bindings_of_two_tenants_do_not_touch_each_other(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path)
    with engine.begin() as conn:
        bindings.replace(conn, "department", {"10": ("sales", "A/Sales")}, "tenant:1")
        bindings.replace(conn, "department", {"20": ("sales", "B/Sales")}, "tenant:2")
        bindings.replace(conn, "department", {"30": ("hq", "HQ")})
    with engine.begin() as conn:
        # tenant 1 now binds another row: tenant 2's and the unscoped bindings stay
        bindings.replace(conn, "department", {"11": ("ops", "A/Ops")}, "tenant:1")
    with engine.connect() as conn:
        assert bindings.load(conn, "tenant:1").of("department") == {"11": "ops"}
        assert bindings.load(conn, "tenant:2").of("department") == {"20": "sales"}
        assert bindings.load(conn).of("department") == {"30": "hq"}


OLD_BINDING_TABLE = """
CREATE TABLE erpsync_binding (
    kind VARCHAR(16) NOT NULL,
    policy_key VARCHAR(255) NOT NULL,
    row_id VARCHAR(64) NOT NULL,
    natural_key VARCHAR(1000) NOT NULL,
    bound_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (kind, policy_key)
)
"""


def _migrates(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(OLD_BINDING_TABLE))
        conn.execute(
            text(
                "INSERT INTO erpsync_binding VALUES "
                "('department', 'sales', '7', 'HQ/Sales', '2026-11-01T10:00:00.000000Z')"
            )
        )
    with engine.connect() as conn:  # read before any apply migrated it: scope "" only
        assert not binding_has_scope(conn)
        assert bindings.load(conn).of("department") == {"7": "sales"}
        assert bindings.load(conn, "tenant:1").of("department") == {}
    with engine.begin() as conn:
        ensure_tables(conn)
    with engine.begin() as conn:
        assert binding_has_scope(conn)
        assert bindings.load(conn).of("department") == {"7": "sales"}
        bindings.replace(conn, "department", {"8": ("sales", "X/Sales")}, "tenant:1")
    with engine.connect() as conn:
        assert bindings.load(conn).of("department") == {"7": "sales"}
        assert bindings.load(conn, "tenant:1").of("department") == {"8": "sales"}
        count = conn.execute(text("SELECT COUNT(*) FROM erpsync_binding")).scalar_one()
        assert count == 2


def test_a_bindings_table_from_before_tenants_is_migrated_keeping_its_rows_sqlite(
    tmp_path: Path,
) -> None:
    _migrates(_sqlite(tmp_path))


def test_a_bindings_table_from_before_tenants_is_migrated_keeping_its_rows_postgres(
    pg_engine: Engine,
) -> None:
    _migrates(pg_engine)


def test_a_bindings_table_from_before_tenants_is_migrated_keeping_its_rows_mariadb(
    mysql_engine: Engine,
) -> None:
    _migrates(mysql_engine)


def _record(conn: object, record_id: int, target: str, when: dt.datetime) -> None:
    changes = [{"action": "delete", "kind": "role", "key": f"r{record_id}"}]
    conn.execute(  # type: ignore[attr-defined]
        erpsync_audit.insert().values(
            id=record_id,
            applied_at=when,
            actor="t",
            target=target,
            adapter="x",
            erpsync_version="0",
            policy_digest="d",
            live_digest="d",
            summary="{}",
            changes=json.dumps(changes),
            prev_hash="0",
            hash=str(record_id),
        )
    )


def test_a_tenant_counts_and_reports_its_own_applies_only(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path)
    now = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
    with engine.begin() as conn:
        ensure_tables(conn)
        _record(conn, 1, "tenant-a", now - dt.timedelta(hours=1))
        _record(conn, 2, "tenant-b", now - dt.timedelta(hours=1))
    with engine.connect() as conn:
        assert removals.recent(conn, "24h", now).records == (1, 2)
        assert removals.recent(conn, "24h", now, "tenant-a").records == (1,)
        last_a = audit.last(conn, "tenant-a")
        assert last_a is not None
        assert last_a.id == 1
        newest = audit.last(conn)
        assert newest is not None
        assert newest.id == 2
    # which records count is the adapter's business: one database, one ERP, unless tenants
    reference = ResolvedTarget("a", "reference", "sqlite:///x.db")
    assert removals.trail_target(reference, ReferenceAdapter) is None


def test_the_default_shared_read_gives_what_one_read_gives(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path)
    create_schema(engine)
    state = State(
        departments={"hq": DepartmentRec("hq", "HQ")},
        users={"ann": UserRec("ann", "Ann", department="hq")},
    )
    load_state(engine, state)
    adapter = ReferenceAdapter(engine)
    alone = adapter.read()
    shared = adapter.read_tenants([None, None])
    assert [s.state for s in shared] == [alone.state, alone.state]
    assert shared[0].administrators == alone.administrators
