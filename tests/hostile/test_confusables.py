"""Keys that pass for other keys: mixed Latin/Cyrillic/Greek, or a look-alike of another key
or of a protected login/role, are warned about at their declaration, naming both keys and the
characters; Chinese keys, alone or with Latin letters and digits, are not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from erpsync import cli
from erpsync.policy import confusables
from erpsync.policy.loader import load_policy

REPO = Path(__file__).resolve().parents[2]
CYRILLIC_A = "\u0430"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    (tmp_path / "erpsync.yaml").write_text(
        "policies: policies/\n"
        "targets:\n  erp: {adapter: reference, url: 'sqlite:///demo/erp.db'}\n"
        "settings: {protected_users: [admin], protected_roles: [sysadmin]}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def add(project: Path, name: str, text: str) -> Path:
    path = project / "policies" / name
    path.write_text(text, encoding="utf-8")
    return path


def warnings(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert cli.main(["validate", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)["diagnostics"]
    return [d for d in found if d["code"] == "confusable-key"]


def test_a_cyrillic_admin_is_warned_about_naming_the_protected_login(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(project, "users/odd.yaml", f"users:\n  {CYRILLIC_A}dmin:\n    name: Admin\n")
    [found] = warnings(capsys)
    assert found["severity"] == "warning"
    assert found["position"] == {"file": "policies/users/odd.yaml", "line": 2, "col": 3}
    assert found["object"] == f"user {CYRILLIC_A}dmin"
    message = str(found["message"])
    assert "mixes the Cyrillic and Latin scripts ('а' U+0430 CYRILLIC SMALL LETTER A)" in message
    assert (
        "looks like protected user 'admin' "
        "('а' U+0430 CYRILLIC SMALL LETTER A for 'a' U+0061 LATIN SMALL LETTER A)"
    ) in message


def test_a_look_alike_of_another_declared_key_names_where_that_one_is(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a Greek omicron for the Latin o
    add(
        project, "roles/odd.yaml", "roles:\n  buyer-\u03bf:\n    name: x\n  buyer-o:\n    name: y\n"
    )
    [found] = warnings(capsys)
    assert found["object"] == "role buyer-\u03bf"
    message = str(found["message"])
    assert "looks like role 'buyer-o' at policies/roles/odd.yaml:4:3" in message
    assert "U+03BF GREEK SMALL LETTER OMICRON for 'o' U+006F LATIN SMALL LETTER O" in message


def test_a_look_alike_of_a_protected_role_and_a_fullwidth_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(project, "roles/odd.yaml", "roles:\n  ｓｙｓａｄｍｉｎ:\n    name: x\n")
    [found] = warnings(capsys)
    assert "looks like protected role 'sysadmin'" in str(found["message"])
    assert "mixes" not in str(found["message"])  # fullwidth Latin is Latin


def test_a_department_mixing_scripts_without_a_twin(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(project, "odd.yaml", "departments:\n  s\u0430les-east:\n    name: x\n")
    [found] = warnings(capsys)
    assert found["object"] == "department s\u0430les-east"
    assert "mixes the Cyrillic and Latin scripts" in str(found["message"])
    assert "looks like" not in str(found["message"])


def test_chinese_keys_alone_or_with_latin_and_digits_are_fine(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(
        project,
        "odd.yaml",
        "departments:\n  市场部门:\n    name: 市场部\n  市场部-01:\n    name: 一\n"
        "  sales-华东2:\n    name: 二\n  営業-カタカナ:\n    name: 三\n",
    )
    assert warnings(capsys) == []


def test_ascii_keys_cost_nothing_and_are_never_compared(project: Path) -> None:
    loaded = load_policy(project / "policies")
    assert confusables.confusable_keys(loaded, ["admin", "adm1n"], ["sysadmin"]) == []


def test_plan_shows_the_warning(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add(project, "users/odd.yaml", f"users:\n  li.n{CYRILLIC_A}:\n    name: Li\n")
    assert cli.main(["refdb", "init", "sqlite:///demo/erp.db", "--sample"]) == 0
    capsys.readouterr()
    assert cli.main(["plan", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    [warned] = [w for w in plan["warnings"] if "confusable" in w or "looks like" in w]
    assert f"user li.n{CYRILLIC_A}: mixes the Cyrillic and Latin scripts" in warned
    assert "looks like user 'li.na' at policies/users/" in warned


@pytest.mark.parametrize(
    ("key", "mixed"),
    [
        ("admin", set()),
        (f"{CYRILLIC_A}dmin", {"CYRILLIC", "LATIN"}),
        ("Δelta", {"GREEK", "LATIN"}),
        ("市场部门", set()),
        ("市场-sales-01", set()),
        ("ひらがな漢字abc", set()),
        ("한국어漢字abc", set()),
        ("한국어ひらがな", {"HANGUL", "HIRAGANA"}),
    ],
)
def test_mixed_scripts(key: str, mixed: set[str]) -> None:
    assert set(confusables.mixed_scripts(key)) == mixed


def test_skeletons_match_look_alikes_only() -> None:
    assert confusables.skeleton(f"{CYRILLIC_A}dmin") == confusables.skeleton("admin")
    assert confusables.skeleton("ａｄｍｉｎ") == confusables.skeleton("admin")
    assert confusables.skeleton("admin") != confusables.skeleton("admln2")
