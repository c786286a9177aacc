"""A plan for RuoYi says, before review, that new users will have no password."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from erpsync.adapters.base import LiveSnapshot
from erpsync.adapters.ruoyi import RuoYiAdapter
from erpsync.config import ResolvedTarget, Settings
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.state import State

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


def test_plan_notes_new_users_have_no_password(tmp_path: Path) -> None:
    (tmp_path / "users.yaml").write_text(
        "users:\n  li.na: {name: 李娜}\n  wang.fang: {name: 王芳}\n", encoding="utf-8"
    )
    target = ResolvedTarget("ry", "ruoyi", "mysql+pymysql://u@h/ry")
    plan = make_plan(
        load_policy(tmp_path),
        LiveSnapshot(State(), {}),
        Settings(),
        RuoYiAdapter,
        target,
        NOW.date(),
        NOW,
    )
    assert len(plan.notes) == 1
    assert "no password (li.na, wang.fang)" in plan.notes[0]
    assert plan.to_dict()["notes"] == list(plan.notes)
