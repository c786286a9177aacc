"""``erpsync report dormant`` on the demo company in the reference ERP (SQLite and
PostgreSQL): its sign-in records (``erp_user.last_login_at``, loaded from
``data/sample_logins.yaml``) name three dormant users; the report lists them with their
roles and high-risk access in every format; ``--propose`` edits only their lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from erpsync import cli
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.database import init_database
from erpsync.errors import UsageError

REPO = Path(__file__).resolve().parent.parent
DORMANT = ["tian.qing", "lin.zhiqiang", "feng.yang"]  # never first, then longest unseen


def erpsync(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--no-color", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def project(root: Path, url: str) -> None:
    shutil.copytree(REPO / "policies", root / "policies")
    config = (REPO / "erpsync.yaml").read_text("utf-8")
    (root / "erpsync.yaml").write_text(config.replace("sqlite:///demo/erp.db", url), "utf-8")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        found = f"sqlite:///{tmp_path / 'erp.db'}"
    else:
        engine: Engine = request.getfixturevalue("pg_engine")
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        pg = make_url(request.getfixturevalue("pg_url"))
        found = pg.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    init_database(found, sample=True)
    return found


def test_the_sample_companys_dormant_users_in_every_format(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, url)
    monkeypatch.chdir(tmp_path)
    code, out = erpsync(capsys, "report", "dormant", "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    assert [u["login"] for u in doc["users"]] == DORMANT
    users = {u["login"]: u for u in doc["users"]}
    assert users["tian.qing"]["last_login"] is None
    assert users["lin.zhiqiang"]["days_since"] == 204
    contractor = users["feng.yang"]
    assert contractor["days_since"] == 118
    assert contractor["roles_of_note"]["it-support"][0] == "risk: high"
    assert "system.user:update" in contractor["high_risk_permissions"]
    assert doc["summary"] == {
        "checked": 41,
        "dormant": 3,
        "never_signed_in": 1,
        "with_high_risk": 1,
        "builtin_administrators": 0,
    }
    # gao.yuan (33 days) is dormant at 30 days, not at 90
    code, out = erpsync(capsys, "report", "dormant", "--days", "30", "--format", "csv")
    assert code == 0
    rows = out.lstrip("\ufeff").splitlines()
    assert rows[0].startswith("login,name,department,department_name,last_login,days_since")
    assert [r.split(",")[0] for r in rows[1:]] == [*DORMANT, "gao.yuan"]
    code, out = erpsync(capsys, "report", "dormant")
    assert "Dormant accounts: no sign-in for 90 days or more" in out
    assert "never" in out
    assert "冯洋" in out
    code, out = erpsync(capsys, "report", "dormant", "--format", "html", "--out", "d.html")
    assert code == 0
    assert "林志强" in (tmp_path / "d.html").read_text("utf-8")


def test_propose_edits_only_the_dormant_users_lines(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, url)
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_text("utf-8") for p in (tmp_path / "policies").rglob("*.yaml")}
    code, said = erpsync(capsys, "report", "dormant", "--propose", "--deactivate")
    assert code == 0, said
    assert "Proposed active: false for 3 dormant user(s) in 3 file(s)" in said
    added: list[str] = []
    for path, old in before.items():
        new = path.read_text("utf-8")
        old_lines, new_lines = old.splitlines(), new.splitlines()
        assert [line for line in old_lines if line not in new_lines] == []  # nothing lost
        added += [line for line in new_lines if line not in old_lines]
    assert len(added) == 3
    assert all(line.startswith("    active: false  # dormant: ") for line in added)
    code, planned = erpsync(capsys, "plan", "--format", "json")
    assert code == 0, planned
    deactivated = {
        c["key"]
        for c in json.loads(planned)["changes"]
        if c["kind"] == "user" and c["action"] == "deactivate"
    }
    assert set(DORMANT) <= deactivated


def test_a_database_made_before_the_column_says_so_and_refdb_init_adds_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    init_database(url, sample=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE erp_user DROP COLUMN last_login_at")
    adapter = ReferenceAdapter(engine)
    assert len(adapter.read().state.users) == 42  # still read and written as before
    with pytest.raises(UsageError, match=r"made before erp_user\.last_login_at"):
        adapter.read_logins()
    init_database(url, sample=False)
    assert set(adapter.read_logins().last.values()) == {None}
    engine.dispose()


def test_an_erp_without_sign_in_records_says_so() -> None:
    from erpsync.adapters.base import Adapter

    class Bare(ReferenceAdapter):
        name = "bare"
        login_source = None

    with pytest.raises(UsageError, match="the bare adapter has no sign-in records"):
        Bare(create_engine("sqlite://")).read_logins()
    assert Adapter.login_source is None


def test_drift_lists_the_dormant_accounts_without_counting_them(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, url)
    monkeypatch.chdir(tmp_path)
    code, out = erpsync(capsys, "drift", "--format", "json")
    assert code == 2, out  # the sample company drifts anyway
    doc = json.loads(out)
    section = doc["dormant"]
    assert section["days"] == 90
    assert section["unavailable"] is None
    assert [u["login"] for u in section["users"]] == DORMANT
    summary = doc["summary"]
    assert summary["dormant"] == 3
    counted = ("changed", "missing", "extra", "sod_violations", "expired_active")
    assert summary["total"] == sum(summary[k] for k in counted)  # dormant is not drift
    code, out = erpsync(capsys, "drift")
    assert "? user feng.yang (冯洋): last sign-in " in out
    code, out = erpsync(capsys, "drift", "--format", "html", "--out", "drift.html")
    assert "Dormant accounts (no sign-in for 90 days or more)" in (
        tmp_path / "drift.html"
    ).read_text("utf-8")
    config = (tmp_path / "erpsync.yaml").read_text("utf-8")
    (tmp_path / "erpsync.yaml").write_text(
        config.replace("settings:\n", "settings:\n  dormant_days: null\n", 1), "utf-8"
    )
    code, out = erpsync(capsys, "drift", "--format", "json")
    assert json.loads(out)["dormant"] is None


def test_drift_says_when_the_erp_keeps_no_sign_ins() -> None:
    import datetime as dt

    from erpsync.adapters.base import LiveSnapshot
    from erpsync.config import Settings
    from erpsync.drift import dormant_section
    from erpsync.policy.loader import LoadedPolicy
    from erpsync.policy.model import PolicyDocument
    from erpsync.state import State

    section = dormant_section(
        LoadedPolicy(PolicyDocument()),
        LiveSnapshot(State(), {}),
        "the jsherp adapter has no sign-in records to read",
        Settings(),
        ReferenceAdapter,
        dt.datetime(2026, 12, 3, tzinfo=dt.UTC),
    )
    assert section is not None
    assert section.to_dict()["unavailable"] == "the jsherp adapter has no sign-in records to read"
    assert section.users == ()


@pytest.mark.parametrize("hour", [0, 7, 12, 23])
def test_the_samples_sign_ins_count_the_same_days_at_any_hour(hour: int) -> None:
    """A report run just after midnight counts lin.zhiqiang's 204 days, not 205: each
    sample sign-in lies on its calendar day, before the hour it is loaded at or not."""
    import datetime as dt

    from erpsync.adapters.reference.load import sample_logins

    now = dt.datetime(2026, 12, 4, hour, 30)
    logins = sample_logins(["feng.yang", "gao.yuan", "lin.zhiqiang", "tian.qing", "zz"], now)
    days = {k: None if v is None else (now.date() - v.date()).days for k, v in logins.items()}
    assert days == {
        "feng.yang": 118,
        "gao.yuan": 33,
        "lin.zhiqiang": 204,
        "tian.qing": None,
        "zz": 5,
    }
