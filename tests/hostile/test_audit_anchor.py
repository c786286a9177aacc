"""The audit trail attacked by someone with write access to the database, on SQLite and on
the real PostgreSQL server, through the command line.

Three real applies make a trail of three records; the anchor printed by the last apply and
an ``audit export`` are kept. Then the trail is tampered with. Without an anchor the hash
chain catches an edited record, a record removed from the middle and a dropped table (the
other erpsync tables show it existed), but not the newest records removed, every record
removed, nor a consistent rewrite with recomputed hashes; with the anchor or the export,
every one of them is caught, and legitimate applies since still pass.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from erpsync import audit, bindings, cli
from tests.test_reports import sample_erp

HEAD = re.compile(r"Audit record #(\d+) · head (\d+:[0-9a-f]{64})\n")

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the erpsync command line; its exit code, stdout and stderr."""

    def call(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in err, err
        assert "internal error" not in err, err
        return code, out, err

    return call


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Engine]]:
    """The sample policy repository (the cwd) and an engine on its sample ERP, not applied."""
    with sample_erp(request, tmp_path, monkeypatch, "ci:github:octocat") as (root, _, engine):
        yield root, engine


NAMES = ["陈静", "陈晶", "陈菁", "陈靖", "陈婧"]


def apply_next(root: Path, run: Run) -> str:
    """Change one user's name in the policy (after the first), apply, return the printed
    anchor."""
    path = root / "policies" / "users" / "finance.yaml"
    policy = path.read_text(encoding="utf-8")
    for old, new in itertools.pairwise(NAMES):
        if f"name: {old}\n" in policy and (root / "applied-once").exists():
            path.write_text(policy.replace(f"name: {old}\n", f"name: {new}\n"), encoding="utf-8")
            break
    (root / "applied-once").touch()
    code, out, err = run("apply", "--auto-approve")
    assert code == 0, err
    found = HEAD.search(out)
    assert found is not None, out
    return found.group(2)


@pytest.fixture
def trail(erp: tuple[Path, Engine], run: Run) -> tuple[Path, Engine, str]:
    """Three applies; the anchor the last one printed, and an export kept in export.jsonl."""
    root, engine = erp
    anchors = [apply_next(root, run) for _ in range(3)]
    assert [a.split(":")[0] for a in anchors] == ["1", "2", "3"]
    assert run("audit", "export", "--output", "export.jsonl")[0] == 0
    return root, engine, anchors[-1]


def sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def rewrite_all(engine: Engine) -> None:
    """What someone with write access and erpsync's code can do: every record replaced by
    a plausible one (another actor), every hash recomputed: a chain that verifies."""
    with engine.begin() as conn:
        old = audit.records(conn)
        conn.execute(text("DELETE FROM erpsync_audit"))
        for record in old:
            forged = audit.AuditEntry(**{**vars(record.entry), "actor": "ci:github:mallory"})
            audit.append(conn, forged)


def replace_newest(engine: Engine) -> None:
    """The newest record removed and another appended in its place (a forked trail)."""
    with engine.begin() as conn:
        newest = audit.records(conn)[-1]
        conn.execute(text(f"DELETE FROM erpsync_audit WHERE id = {newest.id}"))
        audit.append(conn, audit.AuditEntry(**{**vars(newest.entry), "changes": []}))


ATTACKS: dict[str, Callable[[Engine], None]] = {
    "edit one record": lambda e: sql(e, "UPDATE erpsync_audit SET actor = 'x' WHERE id = 2"),
    "delete a middle record": lambda e: sql(e, "DELETE FROM erpsync_audit WHERE id = 2"),
    "delete the newest record": lambda e: sql(e, "DELETE FROM erpsync_audit WHERE id = 3"),
    "delete all records": lambda e: sql(e, "DELETE FROM erpsync_audit"),
    "drop the table": lambda e: sql(e, "DROP TABLE erpsync_audit"),
    "rewrite all records": rewrite_all,
    "replace the newest record": replace_newest,
}

# What the chain alone catches; the anchor and the export catch everything.
CAUGHT_WITHOUT_ANCHOR = {"edit one record", "delete a middle record", "drop the table"}

# What --expect-head and --against say, for each attack.
ANCHOR_SAYS = {
    "edit one record": "record 2: edited",
    "delete a middle record": "record 2 missing before record 3: deleted",
    "delete the newest record": "record 3 named by the anchor is gone: the trail now ends at "
    "record 2 (the newest records were deleted)",
    "delete all records": "the anchor names record 3, but the trail is empty",
    "drop the table": "the anchor names record 3, but the audit table is missing",
    "rewrite all records": "record 3 has hash",
    "replace the newest record": "record 3 has hash",
}
EXPORT_SAYS = {
    "edit one record": "record 2 (export.jsonl:2) differs from the export in actor",
    "delete a middle record": "record 2 (export.jsonl:2) is not in the live trail: it was deleted",
    "delete the newest record": "record 3 (export.jsonl:3) is not in the live trail: the trail "
    "now ends at record 2",
    "delete all records": "record 1 (export.jsonl:1) is not in the live trail: the live trail "
    "is empty or its table is missing",
    "drop the table": "record 1 (export.jsonl:1) is not in the live trail",
    "rewrite all records": "record 1 (export.jsonl:1) differs from the export in actor, hash",
    "replace the newest record": "record 3 (export.jsonl:3) differs from the export in summary, "
    "changes, hash",
}


def test_an_untouched_trail_passes_all_three_checks(
    trail: tuple[Path, Engine, str], run: Run
) -> None:
    _, _, anchor = trail
    code, out, _ = run("audit", "verify")
    assert code == 0
    assert "Audit trail verified: 3 record(s), hash chain intact." in out
    assert out.rstrip().endswith(f"Head: {anchor}")
    code, out, _ = run("audit", "verify", "--expect-head", anchor)
    assert code == 0
    assert "Anchor record #3 is intact; 0 record(s) appended since, chained from it." in out
    code, out, _ = run("audit", "verify", "--against", "export.jsonl")
    assert code == 0
    assert "all 3 record(s) present and identical; 0 appended since" in out


@pytest.mark.parametrize("attack", ATTACKS)
def test_what_the_chain_alone_catches_and_what_needs_the_anchor(
    trail: tuple[Path, Engine, str], run: Run, attack: str
) -> None:
    _, engine, anchor = trail
    ATTACKS[attack](engine)

    code, out, err = run("audit", "verify")
    assert code == (1 if attack in CAUGHT_WITHOUT_ANCHOR else 0), out + err
    if code == 0:  # undetected: the shorter or rewritten trail looks fine on its own
        assert "hash chain intact" in out or "No audit records yet" in out

    code, out, err = run("audit", "verify", "--expect-head", anchor)
    assert code == 1, out
    assert "error: the audit trail does not verify" in err
    assert ANCHOR_SAYS[attack] in err
    assert "Head:" not in out  # no new anchor is offered for a trail that failed

    code, out, err = run("audit", "verify", "--against", "export.jsonl")
    assert code == 1, out
    assert EXPORT_SAYS[attack] in err


def test_applies_after_the_anchor_and_the_export_pass_and_are_counted(
    trail: tuple[Path, Engine, str], run: Run
) -> None:
    root, _, anchor = trail
    kept = (root / "export.jsonl").read_text(encoding="utf-8")
    newest = apply_next(root, run)
    assert newest.startswith("4:")
    code, out, _ = run("audit", "verify", "--expect-head", anchor, "--against", "export.jsonl")
    assert code == 0
    assert "Anchor record #3 is intact; 1 record(s) appended since, chained from it." in out
    assert "all 3 record(s) present and identical; 1 appended since" in out
    assert out.rstrip().endswith(f"Head: {newest}")
    # A new export keeps the old lines as they were and adds one: a kept copy only grows.
    assert run("audit", "export", "--output", "export.jsonl")[0] == 0
    again = (root / "export.jsonl").read_text(encoding="utf-8")
    assert again.startswith(kept)
    assert again.count("\n") == 4


def test_an_anchor_from_before_a_truncate_and_reapply_is_caught(
    trail: tuple[Path, Engine, str], run: Run
) -> None:
    """Deleting the newest record and letting the next apply take its id is no escape."""
    root, engine, anchor = trail
    sql(engine, "DELETE FROM erpsync_audit WHERE id = 3")
    assert run("audit", "verify")[0] == 0
    assert run("audit", "verify", "--expect-head", anchor)[0] == 1
    apply_next(root, run)  # the next apply is record 3 again, with another hash
    code, _, err = run("audit", "verify", "--expect-head", anchor)
    assert code == 1
    assert "record 3 has hash" in err
    assert "was rewritten" in err


# --- apply, audit head and audit export, from the command line --------------------------------


def test_apply_prints_the_head_that_is_stored_and_that_audit_head_prints(
    erp: tuple[Path, Engine], run: Run
) -> None:
    root, engine = erp
    anchor = apply_next(root, run)
    with engine.connect() as conn:
        stored = audit.last(conn)
    assert stored is not None
    assert anchor == f"1:{stored.hash}"
    code, out, _ = run("audit", "head")
    assert (code, out) == (0, anchor + "\n")
    assert run("apply", "--auto-approve")[1].startswith("No changes")  # nothing new: no head


def test_audit_head_of_an_empty_trail_is_the_genesis_and_any_trail_passes_it(
    erp: tuple[Path, Engine], run: Run
) -> None:
    root, _ = erp
    code, out, _ = run("audit", "head")
    assert (code, out) == (0, f"0:{audit.GENESIS}\n")
    apply_next(root, run)
    assert run("audit", "verify", "--expect-head", f"0:{audit.GENESIS}")[0] == 0


def test_the_export_is_canonical_json_lines_with_the_stored_hashes(
    trail: tuple[Path, Engine, str], run: Run
) -> None:
    root, engine, _ = trail
    code, out, _ = run("audit", "export")
    assert code == 0
    assert out == (root / "export.jsonl").read_text(encoding="utf-8")
    with engine.connect() as conn:
        stored = audit.records(conn)
    lines = out.splitlines()
    assert len(lines) == 3
    for line, record in zip(lines, stored, strict=True):
        obj = json.loads(line)
        assert tuple(obj) == tuple(sorted(audit.OBJECT_KEYS))
        assert audit.canonical_json(obj) == line
        assert (obj["id"], obj["prev_hash"], obj["hash"]) == (
            record.id,
            record.prev_hash,
            record.hash,
        )
        assert audit.object_hash(obj) == record.hash
        assert obj["actor"] == "ci:github:octocat"
    assert "陈晶" in out  # UTF-8 text, not \\u escapes


def test_a_tampered_trail_is_neither_exported_nor_given_a_head(
    trail: tuple[Path, Engine, str], run: Run
) -> None:
    root, engine, _ = trail
    sql(engine, "UPDATE erpsync_audit SET actor = 'x' WHERE id = 1")
    (root / "export.jsonl").unlink()
    code, out, err = run("audit", "export", "--output", "export.jsonl")
    assert code == 1
    assert "cannot serve as a reference" in err
    assert "record 1: edited" in err
    assert not (root / "export.jsonl").exists()
    code, out, err = run("audit", "head")
    assert (code, out) == (1, "")
    assert "record 1: edited" in err


@pytest.mark.parametrize(
    ("anchor", "says"),
    [
        ("nonsense", "'nonsense' is not an audit anchor: expected ID:HASH"),
        ("3:" + "a" * 63, "is not an audit anchor"),
        ("a" * 64, "is not an audit anchor"),
        ("0:" + "a" * 64, "anchor 0 (an empty trail) must carry the genesis hash"),
    ],
)
def test_a_malformed_anchor_is_a_clear_error(
    trail: tuple[Path, Engine, str], run: Run, anchor: str, says: str
) -> None:
    code, out, err = run("audit", "verify", "--expect-head", anchor)
    assert code == 1
    assert says in err
    assert out == ""


def test_an_anchor_with_upper_case_hex_and_spaces_is_accepted(
    trail: tuple[Path, Engine, str], run: Run
) -> None:
    _, _, anchor = trail
    assert run("audit", "verify", "--expect-head", f" {anchor.upper()}\n")[0] == 0


def _edit_line(path: Path, number: int, edit: Callable[[dict[str, object]], object]) -> None:
    """Replace line ``number`` by ``edit(its object)``, or by the object as ``edit`` changed it
    in place (when it returns None)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    obj = json.loads(lines[number - 1])
    replaced = edit(obj)
    lines[number - 1] = json.dumps(obj if replaced is None else replaced) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (
            lambda p: p.write_text("{not json\n"),
            "export.jsonl:1: not an audit record (invalid JSON",
        ),
        (
            lambda p: _edit_line(p, 2, lambda o: [o]),
            "export.jsonl:2: not an audit record (a JSON object per line is expected)",
        ),
        (
            lambda p: _edit_line(p, 3, lambda o: {k: v for k, v in o.items() if k != "hash"}),
            "export.jsonl:3: not an audit record (missing hash)",
        ),
        (
            lambda p: _edit_line(p, 1, lambda o: o.update(extra=1)),
            "export.jsonl:1: not an audit record (unknown extra)",
        ),
        (
            lambda p: _edit_line(p, 2, lambda o: o.update(id=7)),
            "export.jsonl:2: record id 7, expected 2",
        ),
        (
            lambda p: _edit_line(p, 2, lambda o: o.update(actor="x")),
            "export.jsonl:2: record 2's content does not match its hash: the export file was "
            "edited",
        ),
        (
            lambda p: p.write_text(p.read_text().splitlines(keepends=True)[1]),
            "export.jsonl:1: record id 2, expected 1",
        ),
        (lambda p: p.write_bytes(b"\xff\xfe"), "export.jsonl: not an audit export (not UTF-8"),
        (lambda p: p.unlink(), "cannot read the export export.jsonl"),
        (lambda p: p.write_text("[" * 100_000 + "\n"), "export.jsonl:1: not an audit record"),
    ],
)
def test_a_malformed_export_is_a_clear_error_naming_the_line(
    trail: tuple[Path, Engine, str], run: Run, edit: Callable[[Path], object], says: str
) -> None:
    root, _, _ = trail
    edit(root / "export.jsonl")
    code, out, err = run("audit", "verify", "--against", "export.jsonl")
    assert code == 1
    assert says in err, err
    assert out == ""


def test_an_export_with_windows_line_ends_and_a_blank_last_line_is_read(
    trail: tuple[Path, Engine, str], run: Run
) -> None:
    root, _, _ = trail
    path = root / "export.jsonl"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n") + b"\r\n\n")
    code, out, _ = run("audit", "verify", "--against", "export.jsonl")
    assert code == 0
    assert "all 3 record(s) present and identical" in out
    path.write_bytes(b"\n" + path.read_bytes())  # a blank line elsewhere is not a record
    code, _, err = run("audit", "verify", "--against", "export.jsonl")
    assert code == 1
    assert "export.jsonl:1: not an audit record (invalid JSON" in err


def test_an_export_from_another_target_is_caught(
    trail: tuple[Path, Engine, str], run: Run, tmp_path: Path
) -> None:
    """A well-formed export whose records are not this trail's: the first one differs."""
    root, engine, _ = trail
    rewrite_all(engine)
    assert run("audit", "export", "--output", str(tmp_path / "other.jsonl"))[0] == 0
    (root / "export.jsonl").write_text((tmp_path / "other.jsonl").read_text(encoding="utf-8"))
    sql(engine, "DELETE FROM erpsync_audit")
    apply_next(root, run)
    code, _, err = run("audit", "verify", "--against", "export.jsonl")
    assert code == 1
    assert "record 1 (export.jsonl:1) differs from the export in" in err


# --- doctor ------------------------------------------------------------------------------------


def doctor_line(run: Run, name: str) -> str:
    _, out, _ = run("--no-color", "doctor")
    lines = [line for line in out.splitlines() if line[6:16].strip() == name]
    assert len(lines) == 1, out
    return lines[0]


def test_doctor_reports_the_head_and_a_dropped_or_emptied_trail(
    trail: tuple[Path, Engine, str], run: Run
) -> None:
    _, engine, anchor = trail
    line = doctor_line(run, "audit")
    assert line.startswith("ok")
    assert f"3 record(s), hash chain intact, head {anchor}" in line

    sql(engine, "DELETE FROM erpsync_audit")
    # The reference ERP binds nothing, so an empty trail alone is no evidence ...
    assert doctor_line(run, "audit").startswith("ok    audit       no audit trail yet")
    # ... but bindings (what RuoYi's and Tryton's applies record) are.
    with engine.begin() as conn:
        bindings.replace(conn, "department", {"7": ("finance", "财务部")})
    line = doctor_line(run, "audit")
    assert line.startswith("warn")
    assert "the audit trail is empty but erpsync_binding holds 1 binding(s)" in line
    assert "--expect-head" in line
    code, out, _ = run("audit", "verify")
    assert code == 0
    assert "warning: the audit trail is empty but erpsync_binding holds 1" in out

    sql(engine, "DROP TABLE erpsync_audit")
    line = doctor_line(run, "audit")
    assert line.startswith("fail")
    assert "erpsync_audit is missing but erpsync_lock and erpsync_binding exist" in line


# --- the scaffolded apply workflow keeps the anchor outside the database -----------------------


def test_the_apply_workflow_verifies_against_the_last_anchor_and_keeps_the_new_one(
    tmp_path: Path,
) -> None:
    from tests.test_ci import load_yaml, scaffold_workflows, steps

    (path,) = [p for p in scaffold_workflows(tmp_path) if p.name == "erpsync-apply.yml"]
    named = {step.get("name"): step for _, step in steps(load_yaml(path))}
    order = list(named)
    fetch = named["Fetch the audit anchor of the last successful apply"]
    verify = named["Verify the audit trail"]
    record = named["Record the audit head"]
    keep = named["Keep the audit anchor and export"]
    assert order.index(fetch["name"]) < order.index(verify["name"]) < order.index("Plan again")
    assert order.index("Apply") < order.index(record["name"]) < order.index(keep["name"])
    # Only this workflow's own pushed, successful runs provide the anchor (not a PR's).
    assert "--workflow erpsync-apply.yml" in fetch["run"]
    assert "--event push" in fetch["run"]
    assert "--status success" in fetch["run"]
    assert "--name erpsync-audit" in fetch["run"]
    assert 'audit verify --expect-head "$anchor"' in verify["run"]
    # The head is recorded only after a successful verify and apply (no `if:`), never for a
    # trail that failed: the next run would then accept the tampering.
    assert "if" not in record
    assert "if" not in keep
    assert "audit head > audit/audit-anchor.txt" in record["run"]
    assert "audit export --output audit/audit.jsonl" in record["run"]
    assert '>> "$GITHUB_STEP_SUMMARY"' in record["run"]
    assert keep["uses"].startswith("actions/upload-artifact@")
    assert keep["with"]["name"] == "erpsync-audit"
    assert keep["with"]["path"] == "audit/"


@pytest.mark.parametrize("erp", ["sqlite"], indirect=True)
def test_the_apply_workflow_s_scripts_record_and_check_the_anchor(
    trail: tuple[Path, Engine, str], tmp_path: Path
) -> None:
    """The workflow's own shell scripts, run by bash with the installed erpsync: the head
    goes to the job summary and the artifact's files; the next run's verify passes on the
    untouched trail, fails on a truncated one, and without an anchor checks the chain only."""
    from tests.test_ci import load_yaml, scaffold_workflows, steps

    root, engine, anchor = trail
    (path,) = [p for p in scaffold_workflows(tmp_path) if p.name == "erpsync-apply.yml"]
    named = {step.get("name"): step for _, step in steps(load_yaml(path))}
    summary = root / "summary.md"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "ERPSYNC_DB_URL": engine.url.render_as_string(hide_password=False),
        "GITHUB_STEP_SUMMARY": str(summary),
    }

    def script(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-e", "-c", named[name]["run"]],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = script("Record the audit head")
    assert done.returncode == 0, done.stderr
    assert (root / "audit" / "audit-anchor.txt").read_text() == anchor + "\n"
    exported = (root / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert exported == (root / "export.jsonl").read_text(encoding="utf-8")
    assert f"Head of the audit trail after this run: `{anchor}`" in summary.read_text()

    shutil.copytree(root / "audit", root / "previous-audit")  # what the next run downloads
    done = script("Verify the audit trail")
    assert done.returncode == 0, done.stderr
    assert "Anchor record #3 is intact" in done.stdout

    sql(engine, "DELETE FROM erpsync_audit WHERE id = 3")
    done = script("Verify the audit trail")
    assert done.returncode == 1
    assert "record 3 named by the anchor is gone" in done.stderr

    shutil.rmtree(root / "previous-audit")  # no anchor: the chain alone, which passes
    done = script("Verify the audit trail")
    assert done.returncode == 0, done.stderr
