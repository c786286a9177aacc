"""``erpsync doctor`` on the sample reference ERP, on SQLite and PostgreSQL: all ok after an
apply; a tampered audit record, a missing table, a held lock, an unreachable database each
show on their line, with a hint; and doctor itself never writes."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import Engine, inspect, text

from erpsync import cli, lock
from erpsync.apply import LOCK_NAME
from erpsync.commands import doctor as doctor_cmd
from erpsync.doctor import DATABASE_CHECKS, Status, ago
from tests.test_reports import sample_erp

ALL_CHECKS = ("config", "policy", "target", "database", *DATABASE_CHECKS)


def doctor(*, db: str | None = None, target: str | None = None) -> tuple[int, dict[str, str]]:
    """Run doctor in the cwd; the exit code and each check's line by check name."""
    console = Console(file=io.StringIO(), width=400, color_system=None)
    code = doctor_cmd.run(None, target, db, console)
    out: str = console.file.getvalue()  # type: ignore[attr-defined]
    lines = {}
    for line in out.splitlines()[:-1]:
        status, name = line[:4].strip(), line[6:16].strip()
        assert status in {s.value for s in Status}, line
        lines[name] = line
    assert out.splitlines()[-1].startswith("doctor: ")
    return code, lines


def statuses(lines: dict[str, str]) -> dict[str, str]:
    return {name: line[:4].strip() for name, line in lines.items()}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Engine]]:
    """The sample policy repository (the cwd) and an engine on its sample ERP, not applied."""
    with sample_erp(request, tmp_path, monkeypatch) as (root, _url, engine):
        yield root, engine


@pytest.fixture
def applied(erp: tuple[Path, Engine]) -> tuple[Path, Engine]:
    assert cli.main(["apply", "--auto-approve"]) == 0
    return erp


def test_a_healthy_erp_after_an_apply_is_all_ok(applied: tuple[Path, Engine]) -> None:
    code, lines = doctor()
    assert code == 0
    assert tuple(lines) == ALL_CHECKS
    assert set(statuses(lines).values()) == {"ok"}, lines
    assert "hash chain intact" in lines["audit"]
    assert "record #1 by tester" in lines["last apply"]
    assert "reachable in" in lines["database"]


def test_a_tampered_audit_record_fails_naming_it(applied: tuple[Path, Engine]) -> None:
    _, engine = applied
    with engine.begin() as conn:
        conn.execute(text("UPDATE erpsync_audit SET actor = 'mallory' WHERE id = 1"))
    code, lines = doctor()
    assert code == 1
    assert statuses(lines)["audit"] == "fail"
    assert "record 1: edited" in lines["audit"]
    assert "fix: `erpsync audit verify`" in lines["audit"]
    assert statuses(lines)["database"] == "ok"


def test_a_held_lock_is_a_warning_naming_the_holder(applied: tuple[Path, Engine]) -> None:
    _, engine = applied
    with lock.hold(engine, LOCK_NAME, timeout=0, who="someone-else"):
        code, lines = doctor()
    assert code == 0
    assert statuses(lines)["lock"] == "warn"
    assert "someone-else" in lines["lock"]
    assert "force-unlock" in lines["lock"]
    assert doctor()[1]["lock"].startswith("ok")


def test_before_any_apply_doctor_warns_and_writes_nothing(erp: tuple[Path, Engine]) -> None:
    _, engine = erp
    before = sorted(inspect(engine).get_table_names())
    code, lines = doctor()
    assert code == 0
    found = statuses(lines)
    assert found["own tables"] == "warn"
    assert "the first `erpsync apply` creates them" in lines["own tables"]
    assert found["audit"] == "ok"
    assert found["last apply"] == "warn"
    assert sorted(inspect(engine).get_table_names()) == before
    assert not [t for t in before if t.startswith("erpsync_")]


def test_a_schema_that_does_not_match_fails(applied: tuple[Path, Engine]) -> None:
    _, engine = applied
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE erp_role_department"))
    code, lines = doctor()
    assert code == 1
    assert statuses(lines)["schema"] == "fail"
    assert "erp_role_department: table missing" in lines["schema"]
    assert "erpsync refdb init" in lines["schema"]
    assert statuses(lines)["live state"] == "fail"


def test_a_catalog_yaml_out_of_date_is_a_warning(applied: tuple[Path, Engine]) -> None:
    root, _ = applied
    catalog = root / "policies" / "catalog.yaml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace(
            "[read, export, print]", "[read, export, print, archive]"
        ),
        encoding="utf-8",
    )
    code, lines = doctor()
    assert code == 0
    assert statuses(lines)["catalogue"] == "warn"
    assert (
        "catalog.yaml differs from the ERP in 1 place(s): module finance.report: actions "
        "differ: the ERP has no archive"
    ) in lines["catalogue"]
    assert "erpsync catalog" in lines["catalogue"]


@pytest.mark.parametrize("erp", ["sqlite"], indirect=True)  # PostgreSQL's foreign keys hold
def test_dirty_rows_are_counted(applied: tuple[Path, Engine]) -> None:
    _, engine = applied
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO erp_user_role (user_id, role_id) VALUES (9999, 1)"))
    code, lines = doctor()
    assert code == 0
    assert statuses(lines)["live state"] == "warn"
    assert "1 dirty-data problem(s)" in lines["live state"]
    assert "missing user 9999" in lines["live state"]


def test_a_missing_sqlite_file_fails_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sample_project_dir = tmp_path / "policies"
    sample_project_dir.mkdir()
    code, lines = doctor(db="sqlite:///nope/erp.db")
    assert code == 1
    assert statuses(lines)["database"] == "fail"
    assert "does not exist" in lines["database"]
    assert "fix: create the reference ERP with `erpsync refdb init URL`" in lines["database"]
    assert {statuses(lines)[name] for name in DATABASE_CHECKS} == {"skip"}
    assert not (tmp_path / "nope").exists()


def test_an_unreachable_server_fails_without_showing_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "erpsync.yaml").write_text(
        "targets:\n  prod: {adapter: reference, url: '${PROD_URL}'}\ndefault_target: prod\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PROD_URL", "postgresql+psycopg://erpsync:s3cret-pw@127.0.0.1:1/erp")
    code, lines = doctor()
    everything = "\n".join(lines.values())
    assert code == 1
    assert "s3cret-pw" not in everything
    assert "erpsync:***@127.0.0.1:1/erp" in lines["target"]
    assert statuses(lines)["database"] == "fail"
    assert "unreachable" in lines["database"]
    assert "check that the server runs" in lines["database"]
    assert statuses(lines)["policy"] == "fail"  # no policies/ here


def test_without_a_config_or_target_doctor_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, lines = doctor()
    assert code == 1
    found = statuses(lines)
    assert found["config"] == "warn"
    assert found["target"] == "fail"
    assert "--db URL" in lines["target"]
    assert found["database"] == "skip"


def test_an_invalid_config_or_policy_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "erpsync.yaml").write_text("targets: [not, a, mapping]\n", encoding="utf-8")
    code, lines = doctor()
    assert code == 1
    assert statuses(lines)["config"] == "fail"
    (tmp_path / "erpsync.yaml").write_text("policies: p\n", encoding="utf-8")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "users.yaml").write_text(
        "users:\n  li.na: {name: 李娜, roles: [nobody]}\n", encoding="utf-8"
    )
    code, lines = doctor(db="sqlite:///nope.db")
    assert code == 1
    assert statuses(lines)["policy"] == "fail"
    assert "1 error(s)" in lines["policy"]
    assert "erpsync validate" in lines["policy"]


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (5, "just now"),
        (60, "1 minute ago"),
        (7200, "2 hours ago"),
        (86400 * 3 + 5, "3 days ago"),
        (-10, "in the future (check the clocks)"),
    ],
)
def test_time_since_last_apply_reads_naturally(seconds: int, said: str) -> None:
    assert ago(dt.timedelta(seconds=seconds)) == said
