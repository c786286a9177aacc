"""``erpsync validate`` with an erpsync.yaml also checks what the target's adapter can store,
with the diagnostics plan gives, and never connects to the database for it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from erpsync import cli
from erpsync.adapters.base import LiveSnapshot
from erpsync.adapters.tryton import TrytonAdapter
from erpsync.config import ResolvedTarget, Settings
from erpsync.errors import PolicyError
from erpsync.planner import make_plan
from erpsync.policy.loader import load_policy
from erpsync.state import State

# Everything here is valid policy; a Tryton target cannot store the role's name other
# than its key, its description and its data scope (errors), and keeps the department
# in the policy only (a warning).
POLICY = """\
departments:
  sales: {name: 销售部, default_roles: [clerks]}
roles:
  clerks:
    name: Sale Clerks
    description: Enter orders
    data_scope: department
    permissions: {sale.sale: [read, create, update]}
users:
  li.na: {name: 李娜, email: li.na@example.com, department: sales}
"""

# Nothing Tryton cannot store.
PLAIN = """\
roles:
  clerks: {name: clerks, permissions: {sale.sale: [read, create, update]}}
users:
  li.na: {name: 李娜, email: li.na@example.com, roles: [clerks]}
"""

# A database no test server listens on: validate must not need it.
NOWHERE = "postgresql+psycopg://erpsync@127.0.0.1:1/nowhere"


def project(tmp_path: Path, policy: str, targets: str, default: str | None = "prod") -> Path:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "sales.yaml").write_text(policy, encoding="utf-8")
    config = f"policies: policies\ntargets:\n{targets}"
    if default:
        config += f"default_target: {default}\n"
    path = tmp_path / "erpsync.yaml"
    path.write_text(config, encoding="utf-8")
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["--no-color", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out + captured.err


def test_a_tryton_target_refuses_what_it_cannot_store_with_positions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, POLICY, f"  prod: {{adapter: tryton, url: '{NOWHERE}'}}\n")
    monkeypatch.chdir(tmp_path)  # erpsync.yaml is found from the working directory
    code, out = run(["validate"], capsys)
    assert code == 1
    where = "policies/sales.yaml"
    expected = [
        f"{where}:2:3: warning: department sales: the tryton adapter stores no departments: "
        "the policy's 1 department(s) give their members default roles and appear in "
        "reports, but are not written to the ERP",
        f"{where}:6:5: error: role clerks: description: the tryton adapter cannot store role "
        "descriptions",
        f"{where}:7:5: error: role clerks: data_scope: the tryton adapter cannot store data scopes",
    ]
    for line in expected:
        assert line in out
    assert "user li.na: department" not in out  # policy-only: nothing to say per user
    assert "role clerks: name" not in out  # a Tryton group's name is an ordinary attribute
    assert "invalid (2 error(s), 1 warning(s)); checked for the tryton adapter" in out


def test_the_same_diagnostics_as_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, POLICY, f"  prod: {{adapter: tryton, url: '{NOWHERE}'}}\n")
    monkeypatch.chdir(tmp_path)
    code, out = run(["validate"], capsys)
    validated = {line for line in out.splitlines() if ": error: " in line}
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    with pytest.raises(PolicyError) as planned:
        make_plan(
            load_policy(Path("policies")),
            LiveSnapshot(State(), {}),
            Settings(),
            TrytonAdapter,
            ResolvedTarget("prod", "tryton", NOWHERE),
            now.date(),
            now,
        )
    assert code == 1
    assert validated == {str(d) for d in planned.value.diagnostics if d.is_error}
    assert len(validated) == 2


def test_github_format_annotates_each_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, POLICY, f"  prod: {{adapter: tryton, url: '{NOWHERE}'}}\n")
    code, out = run(["--config", str(config), "validate", "--format", "github"], capsys)
    assert code == 1
    assert "::error file=" in out
    assert "line=7" in out


def test_what_tryton_stores_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path, PLAIN, f"  prod: {{adapter: tryton, url: '{NOWHERE}'}}\n")
    code, out = run(["--config", str(config), "validate"], capsys)
    assert code == 0, out
    assert "valid (0 error(s)" in out


def test_without_a_config_only_the_policy_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "sales.yaml").write_text(POLICY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out = run(["validate", "p"], capsys)
    assert code == 0, out
    assert "adapter" not in out


def test_target_option_picks_the_adapter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = (
        f"  prod: {{adapter: tryton, url: '{NOWHERE}'}}\n"
        "  demo: {adapter: reference, url: 'sqlite:///missing.db'}\n"
    )
    config = project(tmp_path, POLICY, targets, default="demo")
    code, out = run(["--config", str(config), "validate"], capsys)
    assert code == 0, out  # the default target's adapter stores all of it
    code, out = run(["--config", str(config), "validate", "--target", "prod"], capsys)
    assert code == 1
    assert "the tryton adapter cannot store data scopes" in out
    code, out = run(["--config", str(config), "--target", "prod", "validate"], capsys)
    assert code == 1


def test_without_a_default_every_target_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = (
        f"  prod: {{adapter: tryton, url: '{NOWHERE}'}}\n"
        "  demo: {adapter: reference, url: 'sqlite:///missing.db'}\n"
    )
    config = project(tmp_path, POLICY, targets, default=None)
    code, out = run(["--config", str(config), "validate"], capsys)
    assert code == 1
    assert "; checked for the reference, tryton adapter" in out


@pytest.mark.parametrize(
    ("targets", "args", "message"),
    [
        ("  prod: {adapter: odoo, url: 'sqlite://'}\n", [], "unknown adapter 'odoo'"),
        ("  prod: {adapter: tryton, url: 'sqlite://'}\n", ["--target", "prd"], "unknown target"),
    ],
    ids=["unknown-adapter", "unknown-target"],
)
def test_bad_targets_are_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    targets: str,
    args: list[str],
    message: str,
) -> None:
    config = project(tmp_path, PLAIN, targets)
    code, out = run(["--config", str(config), "validate", *args], capsys)
    assert code == 1
    assert message in out


ASSIGNED = """\
users:
  li.na:
    name: 李娜
    posts: [se]
    warehouses: [一号仓]
"""


def test_assignments_the_erp_does_not_hold_are_refused_at_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, ASSIGNED, f"  prod: {{adapter: tryton, url: '{NOWHERE}'}}\n")
    monkeypatch.chdir(tmp_path)
    code, out = run(["validate"], capsys)
    assert code == 1
    where = "policies/sales.yaml"
    posts = "user li.na: posts: the tryton adapter cannot store a user's posts"
    assert f"{where}:4:5: error: {posts}" in out
    assert f"{where}:5:5: error: user li.na: warehouses: the tryton adapter cannot store" in out
