"""``max_removals`` cannot be side-stepped: every kind of removal counts, removals
split over several applies count together, plan shows the verdict, and apply
checks it before it asks anyone to confirm."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from erpsync import cli
from tests.test_cli_apply import demo_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo company, with the sample plan already applied (so every later plan
    holds only what a test changes)."""
    root = demo_project(tmp_path, monkeypatch)
    assert cli.main(["apply", "--auto-approve"]) == 0
    return root


def erp(project: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(project / "demo" / "erp.db") as conn:
        return conn.execute(sql).fetchall()


def settings(project: Path, **values: Any) -> None:
    path = project / "erpsync.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["settings"].update(values)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def edit(path: Path, section: str, change: Any) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in doc[section].items():
        change(key, value)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def deactivate(project: Path, logins: list[str]) -> None:
    for path in sorted((project / "policies" / "users").glob("*.yaml")):
        edit(path, "users", lambda k, v: v.update(active=False) if k in logins else None)


def active_users(project: Path) -> list[str]:
    return [str(login) for (login,) in erp(project, "SELECT login FROM erp_user WHERE active")]


LEAVERS = ["li.na", "liu.yang", "yang.fan", "zhang.wei", "chen.xi", "lin.zhiqiang", "zhao.lei"]
MORE_LEAVERS = ["xu.gang", "zhu.hong", "ma.lin", "hu.jie", "guo.qiang", "luo.bin", "liang.chao"]


def plan_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert cli.main(["plan", "--format", "json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def verdict(plan: dict[str, Any], guard: str = "max_removals") -> dict[str, Any]:
    (found,) = [v for v in plan["guards"] if v["guard"] == guard]
    return found


def test_emptying_every_roles_permissions_is_a_mass_removal(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in sorted((project / "policies" / "roles").glob("*.yaml")):
        edit(path, "roles", lambda _k, role: role.pop("permissions", None))
    grants = erp(project, "SELECT count(*) FROM erp_role_permission")

    plan = plan_json(capsys)
    assert plan["summary"]["revoke"] > 200
    refused = verdict(plan)
    assert refused["passed"] is False
    assert "managed permissions" in refused["detail"]
    assert refused["override"] == "--allow-mass-removal"

    assert cli.main(["plan"]) == 0
    text = capsys.readouterr().out
    assert "REFUSED max_removals: the plan removes" in text
    assert "apply needs --allow-mass-removal" in text
    assert cli.main(["plan", "--format", "markdown"]) == 0
    assert "⛔ **refused**: max\\_removals: the plan removes" in capsys.readouterr().out

    assert cli.main(["apply", "--auto-approve"]) == 1
    assert "guard max_removals" in capsys.readouterr().err
    assert erp(project, "SELECT count(*) FROM erp_role_permission") == grants

    assert cli.main(["apply", "--auto-approve", "--allow-mass-removal"]) == 0
    assert erp(project, "SELECT count(*) FROM erp_role_permission")[0][0] < grants[0][0]


def test_a_removal_split_over_two_applies_meets_the_limit_of_one(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings(project, max_removals={"percent": 25, "at_least": 0})
    deactivate(project, LEAVERS)
    first = verdict(plan_json(capsys))
    assert first["passed"] is True, first["detail"]
    assert cli.main(["apply", "--auto-approve"]) == 0
    assert not set(LEAVERS) & set(active_users(project))

    deactivate(project, MORE_LEAVERS)
    second = verdict(plan_json(capsys))
    assert second["passed"] is False
    assert "7 of 42 managed users (+8 removed in the last 24h: 15), limit 10" in second["detail"]
    assert "audit record(s) #1, #2" in second["detail"]
    before = active_users(project)
    assert cli.main(["apply", "--auto-approve"]) == 1
    assert "guard max_removals" in capsys.readouterr().err
    assert active_users(project) == before

    settings(project, max_removals={"percent": 25, "at_least": 0}, max_removals_window="0h")
    assert verdict(plan_json(capsys))["passed"] is True


def test_apply_checks_the_guards_before_it_asks(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings(project, max_removals=2)
    deactivate(project, LEAVERS[:3])
    capsys.readouterr()
    assert cli.main(["apply"]) == 1  # no --auto-approve: it would ask, if the guards passed
    err = capsys.readouterr().err
    assert "guard max_removals: the plan removes 3 of 42 managed users" in err
    assert "confirmation" not in err


def test_one_leaver_in_a_small_organisation_passes_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "erpsync.yaml").write_text(
        "targets:\n  shop: {url: 'sqlite:///shop.db'}\n", encoding="utf-8"
    )
    (tmp_path / "policies").mkdir()
    people = "".join(
        f"  {login}: {{name: {login}, department: shop, roles: [clerk]}}\n"
        for login in ("ann", "bo", "cy")
    )
    (tmp_path / "policies" / "p.yaml").write_text(
        "departments:\n  shop: {name: Shop}\nroles:\n  clerk:\n    name: Clerk\n"
        "    permissions: {sales.order: [read]}\nusers:\n" + people,
        encoding="utf-8",
    )
    assert cli.main(["refdb", "init", "sqlite:///shop.db"]) == 0
    assert cli.main(["apply", "--auto-approve"]) == 0
    text = (tmp_path / "policies" / "p.yaml").read_text(encoding="utf-8")
    (tmp_path / "policies" / "p.yaml").write_text(
        text.replace("{name: cy, department: shop, roles: [clerk]}", "{name: cy, active: false}"),
        encoding="utf-8",
    )
    plan = plan_json(capsys)
    assert plan["summary"]["deactivate"] == 1
    assert verdict(plan)["passed"] is True
    assert "1 of 3 managed users, limit 3" in verdict(plan)["detail"]
    assert cli.main(["apply", "--auto-approve"]) == 0
