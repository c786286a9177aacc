"""A saved plan is applied only if it is exactly what the policy gives.

An attacker who can hand a plan file to apply (a CI artifact, a file in a pull
request) edits its changes and re-seals it: the ``changes_digest`` and summary
recomputed, so only re-deriving the plan from the policy catches the edit. Each
tampering below must be refused with exit 1, naming the difference, with nothing
written to the ERP and no audit record.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from erpsync import cli
from erpsync.audit import summarise
from erpsync.plan import changes_digest
from tests.test_cli_apply import demo_project

Doc = dict[str, Any]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return demo_project(tmp_path, monkeypatch)


def erp(project: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(project / "demo" / "erp.db") as conn:
        return conn.execute(sql).fetchall()


def everything(project: Path) -> list[list[tuple[object, ...]]]:
    """Every row of every ERP table, to compare before and after a refused apply."""
    query = "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 4) = 'erp_'"
    tables = [t for (t,) in erp(project, query)]
    assert len(tables) == 7
    return [erp(project, f"SELECT * FROM {t} ORDER BY 1") for t in sorted(map(str, tables))]


def saved(project: Path) -> Doc:
    assert cli.main(["plan", "--format", "json", "--out", "plan.json"]) == 0
    doc: Doc = json.loads((project / "plan.json").read_text(encoding="utf-8"))
    return doc


def reseal(doc: Doc) -> Doc:
    """What an attacker does after editing the changes: make the file consistent again."""
    doc["changes_digest"] = changes_digest(doc["changes"])
    doc["summary"] = summarise(doc["changes"])
    return doc


def change(action: str, kind: str, key: str, **extra: Any) -> Doc:
    return {"action": action, "kind": kind, "key": key, "before": None, "after": None} | {
        "reason": "",
        **extra,
    }


def _append_sod_grant(doc: Doc) -> None:
    # the critical SoD rule: whoever creates payments must not approve them
    doc["changes"].append(change("grant", "permission", "cashier/finance.payment:approve"))


def _drop_revokes(doc: Doc) -> None:
    doc["changes"] = [c for c in doc["changes"] if c["action"] != "revoke"]


def _edit_email(doc: Doc) -> None:
    for c in doc["changes"]:
        if c["action"] == "create" and c["kind"] == "user":
            c["after"]["email"] = "attacker@example.net"


def _move_department(doc: Doc) -> None:
    for c in doc["changes"]:
        if c["action"] == "create" and c["kind"] == "user":
            c["after"]["department"] = "finance"


def _reactivate(doc: Doc) -> None:
    doc["changes"].append(change("reactivate", "user", "huang.mei"))


def _ignored_backdoor(doc: Doc) -> None:
    # svc-* is ignored by settings: once created, plan and drift would never see it
    after = {"name": "Backup", "email": None, "department": "it", "active": True}
    doc["changes"].insert(0, change("create", "user", "svc-backdoor", after=after))


def _reorder(doc: Doc) -> None:
    doc["changes"].reverse()


def _reason(doc: Doc) -> None:
    doc["changes"][0]["reason"] = "approved by the CFO"


def _left_alone(doc: Doc) -> None:
    doc["unmanaged"] = []


def _claims_revert(doc: Doc) -> None:
    doc["reverts"] = 1


TAMPERINGS: dict[str, tuple[Callable[[Doc], None], str]] = {
    "sod-grant-appended": (
        _append_sod_grant,
        "change 18, grant permission cashier/finance.payment:approve, is not in the plan",
    ),
    "revokes-dropped": (_drop_revokes, "the plan lacks revoke membership"),
    "email-edited": (_edit_email, "create user chen.xi) differs in what it writes"),
    "department-edited": (_move_department, "create user chen.xi) differs in what it writes"),
    "deactivated-user-reactivated": (_reactivate, "reactivate user huang.mei, is not in"),
    "ignored-user-created": (_ignored_backdoor, "create user svc-backdoor, is not in"),
    "reordered": (_reorder, "is out of order"),
    "reason-rewritten": (_reason, "differs in what it writes"),
    "unmanaged-emptied": (_left_alone, "its unmanaged differ"),
}


@pytest.mark.parametrize("name", TAMPERINGS)
def test_a_resealed_tampered_plan_is_refused_and_nothing_is_written(
    project: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    tamper, said = TAMPERINGS[name]
    doc = saved(project)
    tamper(doc)
    (project / "plan.json").write_text(json.dumps(reseal(doc)), encoding="utf-8")
    before = everything(project)
    capsys.readouterr()

    assert cli.main(["apply", "plan.json"]) == 1

    err = capsys.readouterr().err
    assert "the plan is not what the policy gives against the live ERP" in err
    assert said in err
    assert "Traceback" not in err
    assert everything(project) == before
    assert erp(project, "SELECT count(*) FROM erpsync_audit") == [(0,)]


def test_a_plan_claiming_to_revert_is_checked_against_the_record(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = saved(project)
    _claims_revert(doc)
    (project / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["apply", "plan.json"]) == 1
    assert "there is no audit record 1" in capsys.readouterr().err
    assert erp(project, "SELECT count(*) FROM erpsync_audit") == [(0,)]


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda d: d["changes"].pop(), "were edited after the plan was made"),
        (lambda d: d["summary"].update(revoke=0), "summary does not count its changes"),
        (
            lambda d: d["target"].update(url="postgresql://elsewhere/erp"),
            "the plan is for database postgresql://elsewhere/erp",
        ),
    ],
    ids=["changes-not-resealed", "wrong-summary", "other-database"],
)
def test_an_inconsistent_plan_file_is_refused_before_connecting(
    project: Path, capsys: pytest.CaptureFixture[str], edit: Callable[[Doc], None], said: str
) -> None:
    doc = saved(project)
    edit(doc)
    (project / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    before = everything(project)
    capsys.readouterr()
    assert cli.main(["apply", "plan.json"]) == 1
    assert said in capsys.readouterr().err
    assert everything(project) == before


def test_the_untampered_plan_applies_and_is_audited_as_made(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = saved(project)
    assert cli.main(["apply", "plan.json"]) == 0
    recorded = erp(project, "SELECT changes FROM erpsync_audit")
    assert [json.loads(str(text)) for (text,) in recorded] == [doc["changes"]]


def test_a_revert_plan_applies_and_drift_then_names_what_it_reverted(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved(project)
    assert cli.main(["apply", "plan.json"]) == 0
    assert erp(project, "SELECT active FROM erp_user WHERE login = 'gao.yuan'") == [(0,)]
    capsys.readouterr()
    assert cli.main(["audit", "revert", "1", "--format", "json", "--out", "revert.json"]) == 0
    revert = json.loads((project / "revert.json").read_text(encoding="utf-8"))
    assert revert["reverts"] == 1

    assert cli.main(["apply", "revert.json"]) == 0

    assert erp(project, "SELECT active FROM erp_user WHERE login = 'gao.yuan'") == [(1,)]
    assert erp(project, "SELECT count(*) FROM erpsync_audit") == [(2,)]
    capsys.readouterr()
    assert cli.main(["drift"]) == 2  # drift found
    out = capsys.readouterr().out
    assert "audit record #2 reverted audit record #1" in out


def test_a_tampered_revert_plan_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved(project)
    assert cli.main(["apply", "plan.json"]) == 0
    assert cli.main(["audit", "revert", "1", "--format", "json", "--out", "revert.json"]) == 0
    doc = json.loads((project / "revert.json").read_text(encoding="utf-8"))
    doc["changes"].append(change("grant", "permission", "cashier/finance.payment:approve"))
    (project / "revert.json").write_text(json.dumps(reseal(doc)), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["apply", "revert.json"]) == 1
    err = capsys.readouterr().err
    assert "the plan is not what undoing audit record #1 gives" in err
    assert erp(project, "SELECT count(*) FROM erpsync_audit") == [(1,)]
