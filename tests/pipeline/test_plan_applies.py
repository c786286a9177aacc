"""The promise of a plan, as a property: whenever ``plan`` succeeds, applying exactly that
plan succeeds and the next plan is empty. Policies and live states are generated; the
reference adapter runs on SQLite (its ``check_plan`` must refuse at plan time whatever its
writer or the database would refuse at apply), and the memory adapter in process."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from erpsync.access import split_permission
from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.adapters.memory import MemoryAdapter
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_state
from erpsync.adapters.reference.schema import create_schema
from erpsync.apply import ApplyOptions, execute
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import PolicyError, UsageError
from erpsync.plan import Plan
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.state import RoleRec, State
from tests.pipeline.strategies import states

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
OPTIONS = ApplyOptions(lock_timeout=5.0, allow_mass_removal=True, actor="property")
LONG = "长" * 201  # longer than the reference ERP's name columns


@st.composite
def wanted(draw: st.DrawFn) -> State:
    """A desired state, sometimes with a role name the reference ERP cannot hold."""
    state = draw(states(consistent_memberships=True))
    if state.roles and draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(sorted(state.roles)))
        roles = {**state.roles, key: replace(state.roles[key], name=LONG)}
        state = replace(state, roles=roles)
    return state


def policy_text(state: State) -> str:
    """``state`` written as a policy (users hold their roles explicitly)."""
    permissions: dict[str, dict[str, list[str]]] = {}
    for role, perm in sorted(state.grants):
        module, action = split_permission(perm)
        permissions.setdefault(role, {}).setdefault(module, []).append(action)
    doc: dict[str, Any] = {
        "departments": {
            d.key: {
                "name": d.name,
                "parent": d.parent,
                "manager": d.manager if d.manager in state.users else None,
            }
            for d in state.departments.values()
        },
        "roles": {r.key: _role(r, permissions.get(r.key, {})) for r in state.roles.values()},
        "users": {
            u.login: {
                "name": u.name,
                "email": u.email,
                "department": u.department,
                "active": u.active,
                "roles": sorted(state.user_roles.get(u.login, ())),
            }
            for u in state.users.values()
        },
    }
    return yaml.safe_dump(doc, allow_unicode=True)


def _role(role: RoleRec, permissions: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": role.name, "permissions": permissions}
    if role.description is not None:
        out["description"] = role.description
    if role.data_scope is not None:
        out["data_scope"] = role.data_scope
    return out


def plan_or_none(
    directory: Path, adapter: Adapter, target: ResolvedTarget, config: Settings
) -> Plan | None:
    try:
        made = make_plan(
            load_policy(directory), adapter.read(), config, type(adapter), target, NOW.date(), NOW
        )
    except PolicyError as exc:
        codes = sorted({d.code for d in exc.diagnostics if d.is_error})
        event(f"plan refused: {', '.join(codes)}")
        return None
    except UsageError:  # the diff cannot be made as declared (a rename onto a taken key…)
        event("plan refused: cannot plan")
        return None
    event("plan made")
    return made


def settings_for(delete: bool) -> Settings:
    return Settings(removed_users="delete" if delete else "deactivate", max_removals="100%")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wanted(), states(consistent_memberships=False), st.booleans())
def test_a_plan_that_passes_applies_on_the_reference_erp(
    want: State, live: State, delete: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "policies").mkdir()
        (root / "policies" / "p.yaml").write_text(policy_text(want), encoding="utf-8")
        url = f"sqlite:///{root / 'erp.db'}"
        engine = create_engine(url)
        try:
            create_schema(engine)
            load_state(engine, live, actor="seed")
            adapter = ReferenceAdapter(engine)
            target = ResolvedTarget("prop", "reference", url)
            config = settings_for(delete)
            made = plan_or_none(root / "policies", adapter, target, config)
            if made is None:
                return
            loaded = load_policy(root / "policies")
            execute(adapter, target, loaded, config, OPTIONS, made)
            again = plan_or_none(root / "policies", adapter, target, config)
            assert again is not None
            assert again.changes == ()
        finally:
            engine.dispose()


@settings(max_examples=150, deadline=None)
@given(wanted(), states(consistent_memberships=False), st.booleans())
def test_a_plan_that_passes_applies_in_memory(want: State, live: State, delete: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "p.yaml").write_text(policy_text(want), encoding="utf-8")
        adapter = MemoryAdapter(LiveSnapshot(live, {}))
        target = ResolvedTarget("prop", "memory", "sqlite://")
        config = settings_for(delete)
        made = plan_or_none(directory, adapter, target, config)
        if made is None:
            return
        adapter.apply(made.changes)
        again = plan_or_none(directory, adapter, target, config)
        assert again is not None
        assert again.changes == ()
