"""Dormant access on RuoYi, from the ERP's own sign-in records (``sys_user.login_date``
and ``sys_logininfor``): on RuoYi-Vue's unchanged upstream seed, adopted with
``init`` + ``import``, a user last seen 200 days ago is listed and one seen yesterday is
not; ``--propose`` writes an ``expires`` for the first and nothing else, and the plan
then deactivates exactly that user."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from tests.adapters.test_ruoyi import (  # noqa: F401  (fixtures)
    Erp,
    upstream_vue,
)
from tests.adapters.test_ruoyi_adoption import adopt, erpsync


def local_days_ago(db: Erp, days: int) -> dt.datetime:
    """``days`` before the database's own local time (RuoYi stamps local time)."""
    now = db.scalar("SELECT LOCALTIMESTAMP")
    return (now - dt.timedelta(days=days)).replace(microsecond=0)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout


@pytest.mark.mysql
def test_a_user_unseen_for_200_days_is_dormant_and_one_seen_yesterday_is_not(
    upstream_vue: Erp,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = upstream_vue
    adopt(tmp_path, db.url, monkeypatch, capsys)
    db.execute(
        "UPDATE sys_user SET login_date = :at WHERE user_name = 'ry'", at=local_days_ago(db, 200)
    )
    db.execute(
        "UPDATE sys_user SET login_date = :at WHERE user_name = 'admin'",
        at=local_days_ago(db, 1),
    )
    code, out = erpsync(capsys, "report", "dormant", "--days", "90", "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    assert [u["login"] for u in doc["users"]] == ["ry"]
    assert doc["users"][0]["days_since"] in (199, 200, 201)  # the server's clock vs ours
    assert doc["source"].startswith("sys_user.login_date")
    assert doc["summary"]["checked"] == 2  # ry, and admin (the built-in administrator)

    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    code, said = erpsync(capsys, "report", "dormant", "--propose", "--expires", "2026-12-31")
    assert code == 0, said
    assert "Proposed expires: 2026-12-31 for 1 dormant user(s) in 1 file(s)" in said
    changed = [
        line
        for line in git(tmp_path, "diff", "-U0").splitlines()
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert len(changed) == 1, changed
    assert changed[0].startswith("+    expires: 2026-12-31  # dormant: no sign-in since ")
    code, validated = erpsync(capsys, "validate")
    assert code == 0, validated
    code, planned = erpsync(capsys, "plan", "--detailed-exitcode", "--format", "json")
    assert code == 0, planned  # 2026-12-31 is ahead: nothing to do yet
    code, said = erpsync(capsys, "report", "dormant", "--propose")  # today: deactivated
    assert code == 0, said
    code, planned = erpsync(capsys, "plan", "--format", "json")
    assert code == 0, planned
    changes = json.loads(planned)["changes"]
    assert [(c["action"], c["key"]) for c in changes if c["kind"] == "user"] == [
        ("deactivate", "ry")
    ]


@pytest.mark.mysql
def test_the_sign_in_log_counts_when_it_is_later_than_login_date(
    upstream_vue: Erp,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = upstream_vue
    adopt(tmp_path, db.url, monkeypatch, capsys)
    db.execute("UPDATE sys_user SET login_date = :at", at=local_days_ago(db, 300))
    db.execute("DELETE FROM sys_logininfor")
    for status, days in (("0", 10), ("1", 2)):  # a success 10 days ago, a failure since
        db.execute(
            "INSERT INTO sys_logininfor (user_name, status, msg, login_time) "
            "VALUES ('ry', :status, 'x', :at)",
            status=status,
            at=local_days_ago(db, days),
        )
    code, out = erpsync(capsys, "report", "dormant", "--format", "json")
    doc = json.loads(out)
    users = {u["login"]: u for u in doc["users"]}
    assert "ry" not in users  # signed in 10 days ago, per the log
    assert users["admin"]["days_since"] in (299, 300, 301)
    assert users["admin"]["builtin_administrator"]  # listed, marked, never proposed
    code, said = erpsync(capsys, "report", "dormant", "--propose")
    assert code == 0, said
    assert "No policy edit to propose." in said
    assert "left admin: built-in administrator" in said
