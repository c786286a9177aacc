"""erpsync.yaml: discovery, environment interpolation, validation, secret redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpsync.config import find_config, interpolate_string, load_config, load_project
from erpsync.errors import ConfigError, UsageError
from erpsync.secrets import redact_url

CONFIG = """\
policies: policies/
targets:
  prod:
    adapter: ruoyi
    url: ${ERPSYNC_PROD_URL}
  demo:
    adapter: reference
    url: sqlite:///${DEMO_DIR:-demo}/erp.db
default_target: demo
settings:
  removed_users: deactivate
  protected_users: [admin]
  ignore: {users: ["svc-*"]}
  scope: {departments: [finance]}
  max_removals: 20%
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "erpsync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_interpolation_and_defaults(tmp_path: Path) -> None:
    env = {"ERPSYNC_PROD_URL": "mysql+pymysql://erp:s3cret@db/ry"}
    config = load_config(write(tmp_path, CONFIG), env=env)
    assert config.targets["prod"].url == "mysql+pymysql://erp:s3cret@db/ry"
    assert config.targets["demo"].url == "sqlite:///demo/erp.db"
    assert config.settings.ignore.users == ["svc-*"]
    assert config.settings.max_removals == "20%"


def test_missing_variable_names_variable_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, CONFIG), env={})
    message = str(info.value)
    assert "erpsync.yaml:5:5: error: environment variable ERPSYNC_PROD_URL is not set" in message


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("a$$b", {}, "a$b"),
        ("${A}-${B:-2}", {"A": "1"}, "1-2"),
    ],
)
def test_interpolate_string(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate_string(text, env) == expected


def test_unknown_setting_is_reported_with_position(tmp_path: Path) -> None:
    path = write(tmp_path, "settings:\n  removed_user: delete\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert "erpsync.yaml:2:3: error: settings: unknown field 'removed_user'" in str(info.value)
    assert "did you mean 'removed_users'" in str(info.value)


def test_bad_max_removals(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_removals"):
        load_config(write(tmp_path, "settings:\n  max_removals: lots\n"), env={})


def test_found_by_walking_up(tmp_path: Path) -> None:
    write(tmp_path, "policies: p\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / "erpsync.yaml"
    project = load_project(cwd=deep)
    assert project.policy_dir == tmp_path / "p"


def test_without_config_defaults_apply(tmp_path: Path) -> None:
    project = load_project(cwd=tmp_path)
    assert project.path is None
    assert project.policy_dir == tmp_path / "policies"
    assert project.target(db_url="sqlite://").adapter == "reference"
    with pytest.raises(UsageError, match="no target"):
        project.target()


def test_target_selection(tmp_path: Path) -> None:
    env = {"ERPSYNC_PROD_URL": "postgresql://u:pw@h/db"}
    config = load_config(write(tmp_path, CONFIG), env=env)
    from erpsync.config import Project

    project = Project(config, tmp_path, tmp_path / "erpsync.yaml")
    assert project.target().name == "demo"
    prod = project.target("prod")
    assert prod.adapter == "ruoyi"
    assert "pw" not in prod.display_url
    assert project.target("prod", db_url="sqlite://").url == "sqlite://"
    with pytest.raises(UsageError, match="did you mean 'prod'"):
        project.target("prd")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://erpsync:s3cr%40t@db.example:5432/erp",
        "mysql+pymysql://root:s3cr@t@db/ry",
        "postgresql://erp:s3cr/et@db/erp",
        "postgresql://erp:s3cr?e#t@db:5432/erp",
        "not a url with s3cr@t inside",
    ],
)
def test_redaction_never_shows_the_password(url: str) -> None:
    shown = redact_url(url)
    assert "s3cr" not in shown
    assert "et@" not in shown  # nor any part of it


def test_redaction_shows_everything_else_as_written() -> None:
    url = "postgresql+psycopg://erp:pw@db:5432/erp?options=-csearch_path%3Dtest_1"
    assert (
        redact_url(url) == "postgresql+psycopg://erp:***@db:5432/erp?options=-csearch_path%3Dtest_1"
    )
    assert redact_url("sqlite:///demo/erp.db") == "sqlite:///demo/erp.db"
    assert redact_url("postgresql://erp@db/erp") == "postgresql://erp@db/erp"
