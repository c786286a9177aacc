"""`erpsync init` then `erpsync import`: init's untouched sample policy is replaced without
--force; a sample someone edited is not, and import says so."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from erpsync import cli
from erpsync.adapters.reference.database import init_database
from erpsync.commands import init_cmd


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository `erpsync init` wrote, beside the demo company's ERP."""
    for name in ("ERPSYNC_REFERENCE_URL", "ERPSYNC_RUOYI_URL", "ERPSYNC_TRYTON_URL"):
        monkeypatch.delenv(name, raising=False)
    assert init_cmd.run(tmp_path, False, Console(file=io.StringIO())) == 0
    init_database(f"sqlite:///{tmp_path / 'erp.db'}", True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_import_replaces_the_untouched_samples(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (repo / "policies" / "users" / "finance.yaml").exists()
    assert cli.main(["import"]) == 0
    texts = {
        p.relative_to(repo / "policies").as_posix(): p.read_text("utf-8")
        for p in (repo / "policies").rglob("*.yaml")
    }
    assert texts
    assert all(t.startswith("# Imported from the live ERP") for t in texts.values()), texts
    capsys.readouterr()
    assert cli.main(["validate"]) == 0
    assert cli.main(["plan", "--detailed-exitcode"]) == 0
    assert "No changes" in capsys.readouterr().out


def test_an_edited_sample_is_content_import_keeps(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sod = repo / "policies" / "sod.yaml"
    sod.write_text(sod.read_text("utf-8") + "# ours\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in (repo / "policies").rglob("*.yaml")}
    capsys.readouterr()
    assert cli.main(["import"]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (repo / "policies").rglob("*.yaml")} == before


def test_init_for_the_reference_erp_at_a_url_keeps_the_samples_and_hides_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare_at = "postgresql+psycopg://erp:pa$$w@rd@db.internal/erp"
    assert cli.main(["init", str(tmp_path), "--adapter", "reference", "--url", bare_at]) == 1
    said = capsys.readouterr().err
    assert "the password holds an '@' that is not percent-encoded" in said
    assert "pa$$w" not in said
    assert not (tmp_path / "erpsync.yaml").exists()
    url = "postgresql+psycopg://erp:pa$$w%40rd@db.internal/erp"
    assert cli.main(["init", str(tmp_path), "--adapter", "reference", "--url", url]) == 0
    said = capsys.readouterr().out
    config = (tmp_path / "erpsync.yaml").read_text("utf-8")
    assert "url: postgresql+psycopg://erp:${ERPSYNC_REFERENCE_PASSWORD}@db.internal/erp" in config
    assert "pa$$w" not in config + said
    assert "export ERPSYNC_REFERENCE_PASSWORD=..." in said
    assert (tmp_path / "policies" / "users" / "finance.yaml").exists()
