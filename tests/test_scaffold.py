"""``erpsync init``: what it writes, that the example works, and that it never clobbers."""

from __future__ import annotations

import io
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from erpsync import __version__, cli
from erpsync.adapters.reference.database import init_database
from erpsync.commands import init_cmd
from erpsync.commands import plan as plan_cmd
from erpsync.config import load_project
from erpsync.errors import UsageError
from erpsync.scaffold import FILES, GITLAB_FILES, REPOSITORY_URL, render, scaffold

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_erp_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ERPSYNC_REFERENCE_URL", "ERPSYNC_RUOYI_URL", "ERPSYNC_TRYTON_URL"):
        monkeypatch.delenv(name, raising=False)


def init(directory: Path, force: bool = False) -> str:
    out = io.StringIO()
    assert init_cmd.run(directory, force, Console(file=out, width=200, no_color=True)) == 0
    return out.getvalue()


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(directory).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_init_writes_a_whole_policy_repository(tmp_path: Path) -> None:
    said = init(tmp_path)
    written = sorted(snapshot(tmp_path))
    assert written == sorted(target for _, target in FILES)
    for expected in (
        "erpsync.yaml",
        "policies/catalog.yaml",
        ".github/workflows/erpsync-plan.yml",
        ".github/workflows/erpsync-apply.yml",
        ".github/workflows/erpsync-drift.yml",
        ".github/actions/erpsync/action.yml",
        ".pre-commit-config.yaml",
        "README.md",
    ):
        assert expected in written
        assert f"created: {expected}" in said
    assert f"{len(FILES)} created" in said


def test_the_example_validates_without_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(tmp_path)
    code = cli.main(["--no-color", "--config", str(tmp_path / "erpsync.yaml"), "validate"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "3 departments, 4 roles, 3 users, 1 SoD rules: valid (0 error(s), 0 warning(s))" in out


def test_the_example_plans_and_applies_on_a_fresh_reference_erp(tmp_path: Path) -> None:
    init(tmp_path)
    project = load_project(tmp_path / "erpsync.yaml")
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, False)
    target = project.target(None, url)
    assert (target.name, target.adapter) == ("reference", "reference")
    plan = plan_cmd.compute(project, target, project.policy_dir)
    assert plan.summary["create"] == 10
    assert plan.summary["grant"] == 21
    from erpsync.apply import ApplyOptions
    from erpsync.commands import apply as apply_cmd

    console = Console(file=io.StringIO())
    policies = project.policy_dir
    assert apply_cmd.run(project, target, policies, None, True, ApplyOptions(), console) == 0
    assert not plan_cmd.compute(project, target, policies).has_changes


def test_init_twice_changes_nothing(tmp_path: Path) -> None:
    init(tmp_path)
    before = snapshot(tmp_path)
    said = init(tmp_path)
    assert snapshot(tmp_path) == before  # same bytes, not even rewritten
    assert f"Nothing written: 0 skipped, {len(FILES)} up to date." in said
    assert "created" not in said


def test_existing_files_are_skipped_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Our own readme\n")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "erpsync-plan.yml").write_text("name: ours\n")
    (workflows / "other.yml").write_text("name: unrelated\n")
    said = init(tmp_path)
    assert "skipped (exists and differs; --force overwrites): README.md" in said
    assert (
        "skipped (exists and differs; --force overwrites): .github/workflows/erpsync-plan.yml"
        in said
    )
    assert f"{len(FILES) - 2} created, 2 skipped" in said
    assert (tmp_path / "README.md").read_text() == "# Our own readme\n"
    assert (workflows / "erpsync-plan.yml").read_text() == "name: ours\n"

    said = init(tmp_path, force=True)
    assert "overwritten: README.md" in said
    assert "overwritten: .github/workflows/erpsync-plan.yml" in said
    assert (tmp_path / "README.md").read_text() == render("README.md")
    assert (workflows / "other.yml").read_text() == "name: unrelated\n"  # not ours: untouched


def test_something_in_the_way_stops_init_before_it_writes(tmp_path: Path) -> None:
    (tmp_path / ".github").write_text("not a directory")
    with pytest.raises(UsageError, match="in the way"):
        scaffold(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".github"]


def test_a_symlink_is_replaced_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").symlink_to(outside)
    scaffold(repo, force=True)
    assert outside.read_text() == "keep me"
    assert not (repo / "README.md").is_symlink()


def test_every_template_is_written_and_every_placeholder_filled() -> None:
    root = resources.files("erpsync.scaffold").joinpath("templates")
    on_disk = sorted(
        p.relative_to(Path(str(root))).as_posix() for p in Path(str(root)).rglob("*") if p.is_file()
    )
    every = {template for template, _ in (*FILES, *GITLAB_FILES)}
    assert on_disk == sorted(every)
    for template in every:
        text = render(template)
        assert not re.search(r"@@[A-Z_]+@@", text), template


def test_the_configuration_offers_every_adapter_with_urls_from_the_environment() -> None:
    text = render("erpsync.yaml")
    for adapter, variable in (
        ("reference", "ERPSYNC_REFERENCE_URL"),
        ("ruoyi", "ERPSYNC_RUOYI_URL"),
        ("tryton", "ERPSYNC_TRYTON_URL"),
    ):
        assert f"adapter: {adapter}" in text
        assert f"${{{variable}:-" in text
    config = yaml.safe_load(text)
    assert config["default_target"] == "reference"
    assert "PASSWORD" not in text
    assert "password" not in text.lower().replace("passwords", "")


def test_the_action_and_the_pre_commit_hook_pin_this_version() -> None:
    action = yaml.safe_load(render("github/actions/erpsync/action.yml"))
    assert action["runs"]["using"] == "composite"
    assert action["inputs"]["package"]["default"] == f"erpsync[postgres,mysql]=={__version__}"
    config = yaml.safe_load(render("pre-commit-config.yaml"))
    (repo,) = config["repos"]
    assert repo["repo"] == REPOSITORY_URL
    assert repo["rev"] == f"v{__version__}"
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in repo["hooks"]] == [h["id"] for h in hooks] == ["erpsync-validate"]
    (hook,) = hooks
    assert hook["entry"] == "erpsync validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert re.search(hook["files"], "policies/users/sales.yaml")
    assert not re.search(hook["files"], "README.md")
