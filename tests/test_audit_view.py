"""`erpsync audit show` in words and `audit log` filtered, as text, JSON and CSV, on the
demo company's ERP after two applies by two actors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from erpsync import cli
from erpsync.audit_view import Filters, describe, subjects
from erpsync.errors import UsageError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Record 1 by tester (the demo's 17 changes); record 2 by auditor-test (li.na's
    email), both today."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copy(REPO / "erpsync.yaml", tmp_path / "erpsync.yaml")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["refdb", "init", "sqlite:///demo/erp.db", "--sample"]) == 0
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    assert cli.main(["apply", "--auto-approve"]) == 0
    with sqlite3.connect(tmp_path / "demo" / "erp.db") as conn:
        conn.execute("UPDATE erp_user SET email = 'old@example.com' WHERE login = 'li.na'")
    monkeypatch.setenv("ERPSYNC_ACTOR", "auditor-test")
    assert cli.main(["apply", "--auto-approve"]) == 0
    return tmp_path


def output(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert cli.main(["--no-color", *args]) == 0
    return capsys.readouterr().out


def test_show_says_what_every_change_did(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shown = output(capsys, "audit", "show", "1")
    assert "{}" not in shown
    for expected in (
        "revoke membership deng.li/buyer  (not among the roles the policy gives deng.li)",
        "        user deng.li no longer holds role buyer",
        "        user chen.xi now holds role sales-clerk",
        "        role ap-clerk no longer holds permission finance.payment:approve",
        "    deactivate user gao.yuan  (not declared: removed by policy)\n"
        "        active: true → false",
        "        name: 仓储部 → 仓储物流部",
        "        email: (none) → chen.xi@hdjm.example.com",
    ):
        assert expected in shown


def test_log_filters_by_actor_object_and_time(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def ids(*args: str) -> list[int]:
        doc = json.loads(output(capsys, "audit", "log", "--format", "json", *args))
        return [r["id"] for r in doc["records"]]

    assert ids() == [1, 2]
    assert ids("--actor", "auditor-test") == [2]
    assert ids("--actor", "nobody") == []
    assert ids("--object", "li.na") == [2]
    assert ids("--object", "user:gao.yuan") == [1]
    assert ids("--object", "role:gao.yuan") == []
    today = dt.datetime.now(dt.UTC).date()
    assert ids("--since", today.isoformat()) == [1, 2]
    assert ids("--until", today.isoformat()) == [1, 2]  # a date includes its whole day
    assert ids("--until", (today - dt.timedelta(days=1)).isoformat()) == []
    assert ids("--since", (today + dt.timedelta(days=1)).isoformat()) == []
    doc = json.loads(output(capsys, "audit", "log", "--format", "json", "--object", "deng.li"))
    keys = [c["key"] for c in doc["records"][0]["changes"]]
    assert keys == [
        "deng.li",
        "deng.li/ap-clerk",
        "deng.li/finance-viewer",
        "deng.li/buyer",
        "deng.li/operations-viewer",
    ]
    assert doc["records"][0]["changes"][0]["described"] == ["department: purchasing → finance-arap"]


def test_log_as_csv_is_one_row_per_change(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = output(capsys, "audit", "log", "--format", "csv", "--object", "role:ap-clerk")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert {(r["record"], r["actor"], r["action"], r["key"]) for r in rows} == {
        ("1", "tester", "grant", "deng.li/ap-clerk"),
        ("1", "tester", "revoke", "ap-clerk/finance.payment:approve"),
    }
    revoke = next(r for r in rows if r["action"] == "revoke")
    assert revoke["change"] == "role ap-clerk no longer holds permission finance.payment:approve"
    assert revoke["reason"] == "not declared: removed by policy"


def test_log_text_counts_only_the_changes_kept(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = output(capsys, "audit", "log", "--object", "li.na")
    assert "auditor-test" in shown
    assert "1 update" in shown
    assert "tester " not in shown
    shown = output(capsys, "audit", "log", "--actor", "nobody")
    assert "No applies match the filters for target" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last week"], "--since 'last week': expected a date"),
        (["--until", "2026-13-01"], "--until '2026-13-01': expected a date"),
        (["--object", "user:"], "a key is missing after 'user:'"),
    ],
)
def test_bad_filters_are_a_clear_error(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    assert cli.main(["audit", "log", *args]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_filters_by_time_read_offsets_and_dates() -> None:
    at = Filters.parse(since="2026-12-01T09:30+08:00", until="2026-12-02")
    assert at.since == dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC)
    assert at.until == dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    assert Filters.parse(obj="finance.payment:approve").object == (None, "finance.payment:approve")
    with pytest.raises(UsageError):
        Filters.parse(since="soon")


def test_describe_and_subjects_of_each_kind() -> None:
    grant = {"action": "grant", "kind": "permission", "key": "r/system:user:add"}
    assert describe(grant) == ["role r now holds permission system:user:add"]
    assert subjects(grant) == {
        ("permission", "r/system:user:add"),
        ("role", "r"),
        ("permission", "system:user:add"),
    }
    delete = {"action": "delete", "kind": "role", "key": "old", "before": {"name": "Old"}}
    assert describe(delete) == ["name: Old → (none)", "role old deleted"]
    reactivate = {"action": "reactivate", "kind": "user", "key": "u"}
    assert describe(reactivate) == ["active: false → true"]
