"""The hash-chained audit trail (erpsync.audit), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from erpsync import __version__, audit
from erpsync.errors import AuditError
from erpsync.owntables import ensure_tables
from erpsync.plan import Action, Change, Kind, Plan, Target

BEIJING = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    sqlite = create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    yield sqlite
    sqlite.dispose()


def entry(n: int, actor: str = "os:李娜") -> audit.AuditEntry:
    return audit.AuditEntry(
        applied_at=dt.datetime(2026, 11, 27, 18, 0, n, 123456, tzinfo=BEIJING),
        actor=actor,
        git_commit=f"{n:040x}",
        git_branch="main" if n % 2 else None,
        target="prod",
        adapter="reference",
        erpsync_version=__version__,
        policy_digest=f"sha256:{'p' * 63}{n}",
        live_digest=f"sha256:{'l' * 63}{n}",
        changes=[
            {
                "action": "update",
                "kind": "user",
                "key": f"zhao.lei{n}",
                "before": {"name": "赵雷", "department": "sales"},
                "after": {"name": "赵磊", "department": "finance"},
                "reason": "declared in policies/users/sales.yaml:14",
            },
            {
                "action": "grant",
                "kind": "membership",
                "key": f"zhao.lei{n}/ap-clerk",
                "before": None,
                "after": None,
                "reason": "default role of department finance",
            },
        ],
    )


def append_three(engine: Engine) -> list[audit.AuditRecord]:
    made = []
    for n in (1, 2, 3):
        with engine.begin() as conn:
            made.append(audit.append(conn, entry(n, actor=f"ci:github:octo{n}")))
    return made


def problems(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return audit.verify(conn)


def run_sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


# --- appending and reading ---------------------------------------------------------------------


def test_three_appends_chain_and_verify_clean(engine: Engine) -> None:
    made = append_three(engine)
    assert [r.id for r in made] == [1, 2, 3]
    assert made[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in made[1:]] == [r.hash for r in made[:-1]]
    assert len({r.hash for r in made}) == 3
    assert problems(engine) == []


def test_every_field_round_trips(engine: Engine) -> None:
    made = append_three(engine)
    with engine.begin() as conn:
        unicode_one = audit.append(conn, entry(4, actor="os:王建国 🚀"))
    with engine.connect() as conn:
        stored = audit.records(conn)
        assert audit.get(conn, 2) == made[1]
        assert audit.last(conn) == unicode_one
    assert stored == [*made, unicode_one]
    assert stored[3].entry.actor == "os:王建国 🚀"
    stored_at = stored[1].entry.applied_at
    assert stored_at == dt.datetime(2026, 11, 27, 10, 0, 2, 123456, tzinfo=dt.UTC)
    assert stored_at.utcoffset() == dt.timedelta(0)
    assert stored[1].entry.changes[0]["before"] == {"name": "赵雷", "department": "sales"}
    assert stored[1].entry.git_branch is None


def test_records_read_back_from_the_database_not_from_memory(engine: Engine) -> None:
    append_three(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT actor, applied_at FROM erpsync_audit WHERE id = 3")).one()
        changes_json = conn.execute(text("SELECT changes FROM erpsync_audit WHERE id = 3")).one()
    assert tuple(row) == ("ci:github:octo3", "2026-11-27T10:00:03.123456Z")
    assert "赵磊" in changes_json[0]  # stored as readable UTF-8, not \\u escapes


def test_empty_trail_verifies_clean_and_has_no_records(engine: Engine) -> None:
    with engine.connect() as conn:
        assert audit.verify(conn) == []  # not even the table yet
        assert audit.records(conn) == []
        assert audit.last(conn) is None
    with engine.begin() as conn:
        ensure_tables(conn)
    with engine.connect() as conn:
        assert audit.verify(conn) == []
        with pytest.raises(AuditError, match=r"no audit record 1 \(the trail is empty\)"):
            audit.get(conn, 1)


def test_get_of_a_missing_id_names_the_range(engine: Engine) -> None:
    append_three(engine)
    with engine.connect() as conn, pytest.raises(AuditError, match="records 1 to 3"):
        audit.get(conn, 7)


def test_a_rolled_back_apply_leaves_no_gap(engine: Engine) -> None:
    with engine.begin() as conn:
        audit.append(conn, entry(1))
    with engine.connect() as conn:
        audit.append(conn, entry(2))
        conn.rollback()
    with engine.begin() as conn:
        again = audit.append(conn, entry(3))
    assert again.id == 2
    assert problems(engine) == []


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        audit.AuditEntry(dt.datetime(2026, 1, 1), "a", None, None, "t", "r", "0", "d", "d", [])


def test_summary_counts_actions_in_plan_order() -> None:
    assert entry(1).summary == {
        "create": 0,
        "update": 1,
        "delete": 0,
        "deactivate": 0,
        "reactivate": 0,
        "grant": 1,
        "revoke": 0,
    }


# --- tampering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "'os:mallory'"),
        ("changes", "'[]'"),
        ("summary", "'{\"grant\": 9}'"),
        ("applied_at", "'2026-11-27T10:00:02.123457Z'"),
        ("git_commit", "NULL"),
        ("live_digest", "'sha256:forged'"),
    ],
)
def test_an_edited_record_is_named(engine: Engine, column: str, value: str) -> None:
    append_three(engine)
    run_sql(engine, f"UPDATE erpsync_audit SET {column} = {value} WHERE id = 2")
    found = problems(engine)
    assert len(found) == 1, found
    assert found[0].startswith("record 2: edited")


def test_unreadable_content_is_reported_not_raised(engine: Engine) -> None:
    append_three(engine)
    run_sql(engine, "UPDATE erpsync_audit SET changes = 'not json', applied_at = 'x' WHERE id = 3")
    found = problems(engine)
    assert len(found) == 1
    assert found[0].startswith("record 3: edited")
    with engine.connect() as conn, pytest.raises(AuditError, match="record 3 is unreadable"):
        audit.records(conn)


def test_a_rehashed_edit_breaks_the_link_of_the_next_record(engine: Engine) -> None:
    """Recomputing the edited record's own hash is not enough to hide the edit."""
    made = append_three(engine)
    forged = audit.AuditRecord(2, entry(2, actor="os:mallory"), made[0].hash, "")
    content = audit._content(2, forged.entry, forged.entry.summary)
    forged_hash = audit._chain_hash(made[0].hash, content)
    run_sql(
        engine,
        f"UPDATE erpsync_audit SET actor = 'os:mallory', hash = '{forged_hash}' WHERE id = 2",
    )
    assert problems(engine) == [
        "record 3: its previous hash does not match record 2: "
        "a record between them was deleted or replaced"
    ]
    # Relinking record 3 to the forgery changes record 3's hashed content in turn.
    run_sql(engine, f"UPDATE erpsync_audit SET prev_hash = '{forged_hash}' WHERE id = 3")
    assert problems(engine) == [
        "record 3: edited: its content no longer matches its hash "
        "(changed in place, or moved from another id)"
    ]


def test_a_deleted_middle_record_is_reported(engine: Engine) -> None:
    append_three(engine)
    run_sql(engine, "DELETE FROM erpsync_audit WHERE id = 2")
    assert problems(engine) == ["record 2 missing before record 3: deleted"]


def test_deleted_first_records_are_reported(engine: Engine) -> None:
    append_three(engine)
    run_sql(engine, "DELETE FROM erpsync_audit WHERE id < 3")
    assert problems(engine) == ["records 1 to 2 missing before record 3: deleted"]


def test_records_with_swapped_ids_are_reordered(engine: Engine) -> None:
    append_three(engine)
    run_sql(
        engine,
        "UPDATE erpsync_audit SET id = 100 WHERE id = 2",
        "UPDATE erpsync_audit SET id = 2 WHERE id = 3",
        "UPDATE erpsync_audit SET id = 3 WHERE id = 100",
    )
    found = problems(engine)
    assert "record 2: reordered: it is chained after record 3, not after record 1" in found
    assert "record 3: reordered: it is chained after record 1, not after record 2" in found
    assert [p for p in found if "edited" in p] == [
        "record 2: edited: its content no longer matches its hash "
        "(changed in place, or moved from another id)",
        "record 3: edited: its content no longer matches its hash "
        "(changed in place, or moved from another id)",
    ]


def test_records_with_swapped_content_are_reordered(engine: Engine) -> None:
    append_three(engine)
    columns = "actor, changes, summary, live_digest, prev_hash, hash"
    run_sql(
        engine,
        "CREATE TABLE swap AS SELECT id, " + columns + " FROM erpsync_audit WHERE id IN (2, 3)",
        *(
            f"UPDATE erpsync_audit SET {c} = (SELECT {c} FROM swap WHERE swap.id = 5 - "
            "erpsync_audit.id) WHERE id IN (2, 3)"
            for c in columns.split(", ")
        ),
    )
    found = problems(engine)
    assert any(p.startswith("record 2: reordered") for p in found), found
    assert any(p.startswith("record 3: reordered") for p in found), found


# --- building an entry -------------------------------------------------------------------------


def test_entry_from_plan_takes_target_digests_and_every_change() -> None:
    change = Change(Action.CREATE, Kind.USER, "zhao.lei", "declared", None, {"name": "赵磊"})
    plan = Plan(
        Target("prod", "reference", "sqlite:///erp.db"),
        dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
        "sha256:policy",
        "sha256:live",
        (change,),
    )
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    made = audit.entry_from_plan(plan.to_dict(), "os:alice", ("abc123", "main"), now)
    assert made == audit.AuditEntry(
        now,
        "os:alice",
        "abc123",
        "main",
        "prod",
        "reference",
        __version__,
        "sha256:policy",
        "sha256:live",
        [change.to_dict()],
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"ERPSYNC_ACTOR": "release-bot", "GITHUB_ACTOR": "octocat"}, "release-bot"),
        ({"GITHUB_ACTOR": "octocat", "GITLAB_USER_LOGIN": "x"}, "ci:github:octocat"),
        ({"GITLAB_USER_LOGIN": "li.na"}, "ci:gitlab:li.na"),
        ({"BUILDKITE_BUILD_CREATOR": "Wang Wei"}, "ci:buildkite:Wang Wei"),
        ({"ERPSYNC_ACTOR": "  ", "GITHUB_ACTOR": ""}, "os:alice"),
    ],
)
def test_actor(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: str) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    assert audit.actor(environ) == expected


def test_actor_without_a_user_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("no username")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert audit.actor({}).startswith("os:uid-")


# --- git ---------------------------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@needs_git
def test_git_info_of_a_branch_and_a_detached_head(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet", "--initial-branch=policy-main")
    assert audit.git_info(tmp_path) == (None, "policy-main")  # no commit yet
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "a.yaml").write_text("users: {}\n", encoding="utf-8")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "first")
    head = git(tmp_path, "rev-parse", "HEAD")
    assert audit.git_info(tmp_path / "policies") == (head, "policy-main")
    git(tmp_path, "checkout", "--quiet", "--detach")
    assert audit.git_info(tmp_path) == (head, None)


def test_git_info_outside_a_repository_or_without_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert audit.git_info(tmp_path) == (None, None)
    assert audit.git_info(tmp_path / "does-not-exist") == (None, None)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert audit.git_info(tmp_path) == (None, None)
