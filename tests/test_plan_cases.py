"""Golden plan cases: ``tests/cases/plan/<name>/``.

Each case holds ``policy/`` (the desired state), ``live.yaml`` (the live ERP in
:mod:`erpsync.livefile` form; without a ``catalogue`` key the reference
catalogue applies) and optionally ``settings.yaml`` (the ``settings:`` of
erpsync.yaml). The plan is made on the in-memory adapter with a fixed clock
and compared with ``plan.json``, ``plan.txt`` and ``plan.md``
(``ERPSYNC_REGENERATE=1`` rewrites them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from erpsync.adapters.base import LiveSnapshot
from erpsync.adapters.memory import MemoryAdapter, apply_changes
from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import UsageError
from erpsync.livefile import load as load_live
from erpsync.plan import Plan
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.render.markdown import markdown_view
from erpsync.render.text import text_view
from erpsync.yamlsafe import load_file
from tests.casefiles import case_dirs, check_golden

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
TARGET = ResolvedTarget("golden", "memory", "sqlite:///golden.db")


def snapshot_of(case: Path) -> LiveSnapshot:
    state, catalogue = load_live(case / "live.yaml")
    return LiveSnapshot(state, catalogue or dict(REFERENCE_CATALOGUE))


def settings_of(case: Path) -> Settings:
    path = case / "settings.yaml"
    return Settings.model_validate(load_file(path)) if path.exists() else Settings()


def plan_case(case: Path, snapshot: LiveSnapshot) -> Plan:
    cwd = Path.cwd()
    os.chdir(case)  # reasons then read "policy/users.yaml:3"
    try:
        loaded = load_policy(Path("policy"))
    finally:
        os.chdir(cwd)
    return make_plan(loaded, snapshot, settings_of(case), MemoryAdapter, TARGET, NOW.date(), NOW)


@pytest.mark.parametrize("case", case_dirs("plan"), ids=lambda p: p.name)
def test_plan_case(case: Path) -> None:
    plan = plan_case(case, snapshot_of(case)).to_dict()
    check_golden(case / "plan.json", json.dumps(plan, ensure_ascii=False, indent=2) + "\n")
    check_golden(case / "plan.txt", text_view(plan).plain + "\n")
    check_golden(case / "plan.md", markdown_view(plan))


@pytest.mark.parametrize("case", case_dirs("plan"), ids=lambda p: p.name)
def test_applying_the_plan_leaves_nothing_to_do(case: Path) -> None:
    snapshot = snapshot_of(case)
    plan = plan_case(case, snapshot)
    after = LiveSnapshot(apply_changes(snapshot.state, plan.changes), snapshot.catalogue)
    assert plan_case(case, after).changes == ()


def test_a_department_under_an_absent_out_of_scope_parent_cannot_be_planned(
    tmp_path: Path,
) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.yaml").write_text(
        "departments:\n  hq: {name: 总部}\n  finance: {name: 财务部, parent: hq}\n",
        encoding="utf-8",
    )
    (tmp_path / "live.yaml").write_text("{}\n", encoding="utf-8")
    (tmp_path / "settings.yaml").write_text("scope: {departments: [finance]}\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"parent hq is outside settings\.scope"):
        plan_case(tmp_path, snapshot_of(tmp_path))
