"""A catalogue's ``requires``: granting an action that brings other permissions with it in
the ERP (a RuoYi button brings its page) without declaring them is refused offline, at the
permission, naming what to add."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from erpsync import cli
from erpsync.policy.loader import load_policy
from erpsync.policy.validate import validate

TODAY = dt.date(2026, 11, 28)

CATALOG = """\
modules:
  system.user:
    actions: [list, query, add]
    requires:
      query: [system.user:list]
      add: [system.user:list]
"""

ROLES = """\
roles:
  viewer:
    name: viewer
    permissions:
      system.user: [query, add]
  page-too:
    name: page-too
    permissions:
      system.user: [list, query]
  everything:
    name: everything
    permissions:
      system.user: ['*']
  via-include:
    name: via-include
    includes: [page-only]
    permissions:
      system.user: [query]
  page-only:
    name: page-only
    permissions:
      system.user: [list]
users:
  li.na: {name: 李娜, roles: [viewer, page-too, everything, via-include]}
"""


def write(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    (policies / "roles.yaml").write_text(ROLES, encoding="utf-8")
    return policies


def test_a_button_without_its_page_is_refused_offline_at_the_permission(tmp_path: Path) -> None:
    policies = write(tmp_path)
    errors = [str(d) for d in validate(load_policy(policies), TODAY) if d.is_error]
    where = policies / "roles.yaml"
    assert errors == [
        f"{where}:5:21: error: role viewer: permissions[system.user][0]: in the ERP, granting "
        "system.user:query also grants system.user:list (the page above it): declare it for "
        "the role too",
        f"{where}:5:28: error: role viewer: permissions[system.user][1]: in the ERP, granting "
        "system.user:add also grants system.user:list (the page above it): declare it for "
        "the role too",
    ]


def test_validate_exits_1_naming_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--no-color", "validate", "policies"]) == 1
    out = capsys.readouterr().out
    assert "roles.yaml:5:21: error: role viewer" in out
    assert "declare it for the role too" in out
