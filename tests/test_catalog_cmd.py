"""`erpsync catalog` never destroys hand-written content, and doctor compares the
catalogue as meaning, not text; on the reference ERP (SQLite)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from erpsync import cli
from erpsync.adapters.reference.database import init_database
from erpsync.commands import catalog as catalog_cmd
from erpsync.config import ResolvedTarget
from erpsync.policy.loader import load_policy

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def target(tmp_path: Path) -> ResolvedTarget:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, False)
    return ResolvedTarget("erp", "reference", url)


def catalog(target: ResolvedTarget, out: Path) -> str:
    said = io.StringIO()
    assert catalog_cmd.run(target, out, Console(file=said, width=300, no_color=True)) == 0
    return said.getvalue()


def test_a_catalogue_it_wrote_is_refreshed(target: ResolvedTarget, tmp_path: Path) -> None:
    out = tmp_path / "policies" / "catalog.yaml"
    assert "Wrote 21 modules to" in catalog(target, out)
    first = out.read_text("utf-8")
    assert catalog_cmd.untouched(first)
    out.write_text(first.replace("    - export\n", "", 1), encoding="utf-8")
    assert not catalog_cmd.untouched(out.read_text("utf-8"))
    out.write_text(first, encoding="utf-8")
    assert "Wrote 21 modules to" in catalog(target, out)
    assert not (tmp_path / "policies" / "catalog.yaml.generated").exists()


def test_a_hand_written_catalogue_that_agrees_is_left_alone(
    target: ResolvedTarget, tmp_path: Path
) -> None:
    out = tmp_path / "policies" / "catalog.yaml"
    out.parent.mkdir()
    shutil.copy(REPO / "policies" / "catalog.yaml", out)  # comments, its own names
    before = out.read_bytes()
    said = catalog(target, out)
    assert "already says what the ERP's catalogue says (21 modules); left as it is" in said
    assert out.read_bytes() == before
    assert not (tmp_path / "policies" / "catalog.yaml.generated").exists()


def test_a_hand_edited_catalogue_is_kept_and_the_live_one_written_beside_it(
    target: ResolvedTarget, tmp_path: Path
) -> None:
    out = tmp_path / "policies" / "catalog.yaml"
    out.parent.mkdir()
    text = (REPO / "policies" / "catalog.yaml").read_text("utf-8")
    text = "# 我们自己的注释: keep me\n" + text.replace(
        "[read, export, print]", "[read, export, print, archive]"
    )
    out.write_text(text, encoding="utf-8")
    said = catalog(target, out)
    assert out.read_text("utf-8") == text
    beside = tmp_path / "policies" / "catalog.yaml.generated"
    assert catalog_cmd.untouched(beside.read_text("utf-8"))
    assert "was written or edited by hand, so it is kept as it is" in said
    assert "  - module finance.report: actions differ: the ERP has no archive" in said
    # the loader does not read the generated file: no module is declared twice
    assert "finance.report" in load_policy(out.parent).policy.modules


def test_a_generated_catalogue_edited_by_hand_is_not_overwritten(
    target: ResolvedTarget, tmp_path: Path
) -> None:
    out = tmp_path / "catalog.yaml"
    catalog(target, out)
    edited = out.read_text("utf-8").replace("  system.user:\n", "  system.user:  # 谁批准\n", 1)
    edited = edited.replace("\n  system.role:\n    name: 角色管理\n", "\n  system.role:\n")
    out.write_text(edited, encoding="utf-8")
    said = catalog(target, out)  # names are not compared: it still agrees
    assert "left as it is" in said
    assert out.read_text("utf-8") == edited


def test_doctor_says_what_differs_not_just_that_it_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copy(REPO / "erpsync.yaml", tmp_path / "erpsync.yaml")
    monkeypatch.chdir(tmp_path)
    init_database("sqlite:///demo/erp.db", True)
    catalog_file = tmp_path / "policies" / "catalog.yaml"
    catalog_file.write_text(
        catalog_file.read_text("utf-8").replace(
            "  finance.payment:\n",
            "  finance.payment:\n    requires: {approve: [finance.payment:read]}\n",
        ),
        encoding="utf-8",
    )
    capsys.readouterr()
    cli.main(["--no-color", "doctor"])
    shown = capsys.readouterr().out
    assert (
        "permission finance.payment:approve: requires finance.payment:read in catalog.yaml, "
        "nothing in the ERP"
    ) in shown
