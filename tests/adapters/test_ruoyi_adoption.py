"""Adopting erpsync on a RuoYi database in two commands: ``erpsync init --adapter ruoyi
--url URL`` then ``erpsync import`` give a repository that validates and plans clean,
with no hand edits; on RuoYi's own unchanged seed and on the repository's fixture
(RuoYi-Vue and RuoYi on MariaDB; the fixture on PostgreSQL too), from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url

from erpsync import cli
from tests.adapters.test_ruoyi import (  # noqa: F401  (fixtures)
    Erp,
    empty,
    erp,
    upstream,
)


def erpsync(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--no-color", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def adopt(
    root: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """init + import in ``root``; what validate said."""
    monkeypatch.chdir(root)
    password = make_url(url).password
    code, said = erpsync(capsys, "init", "--adapter", "ruoyi", "--url", url)
    assert code == 0, said
    assert not (root / "policies").exists()  # no reference-vocabulary samples
    config = (root / "erpsync.yaml").read_text("utf-8")
    if password:  # MariaDB's test server has one; PostgreSQL's trusts
        assert "${ERPSYNC_RUOYI_PASSWORD}" in config
        assert password not in config
        assert password not in said
        assert "export ERPSYNC_RUOYI_PASSWORD=..." in said
        monkeypatch.setenv("ERPSYNC_RUOYI_PASSWORD", password)
    code, said = erpsync(capsys, "import")
    assert code == 0, said
    code, validated = erpsync(capsys, "validate")
    assert code == 0, validated
    assert "0 error(s)" in validated
    code, planned = erpsync(capsys, "plan", "--detailed-exitcode")
    assert code == 0, planned
    assert "No changes" in planned
    return validated


@pytest.mark.mysql
def test_init_and_import_on_the_upstream_seed_need_no_hand_edits(
    upstream: Erp,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    validated = adopt(tmp_path, upstream.url, monkeypatch, capsys)
    # the seed's departments without users are one line, not one line each
    empty_lines = [line for line in validated.splitlines() if "have no users" in line]
    assert len(empty_lines) == 1, validated
    assert "no user in this department" not in validated


def test_init_and_import_on_the_fixture_company_need_no_hand_edits(
    erp: Erp,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    adopt(tmp_path, erp.url, monkeypatch, capsys)


def test_init_with_an_adapter_writes_its_target_and_no_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said = erpsync(
        capsys, "init", str(tmp_path), "--adapter", "tryton", "--url", "sqlite:///tryton.db"
    )
    assert code == 0, said
    config = (tmp_path / "erpsync.yaml").read_text("utf-8")
    assert "  tryton:\n    adapter: tryton\n    url: sqlite:///tryton.db\n" in config
    assert "default_target: tryton" in config
    assert "max_removals" in config
    assert not (tmp_path / "policies").exists()
    assert "export" not in said  # no password, nothing to export
    assert "erpsync import" in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--adapter", "sap"],
            "--adapter sap: unknown (known: jsherp, reference, ruoyi, ruoyi-vue-pro, tryton)",
        ),
        (["--adapter", "ruoyi", "--url", "not a url"], "not a database URL"),
        (
            ["--adapter", "ruoyi", "--url", "mysql+pymysql://u@h/ry?password=s3cret-pw"],
            "a secret in the query would be written to erpsync.yaml",
        ),
    ],
)
def test_bad_init_arguments_are_clear_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, said = erpsync(capsys, "init", str(tmp_path / "repo"), *args)
    assert code == 1
    assert message in said
    assert "s3cret-pw" not in said
    assert not (tmp_path / "repo").exists()
