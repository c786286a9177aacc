"""Messages that say how to fix: synonyms of fields, display names written for keys,
and one line for every department without users."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from erpsync.errors import PolicyError
from erpsync.policy.loader import load_policy
from erpsync.policy.synonyms import SYNONYMS, synonym_hint
from erpsync.policy.validate import validate


def load_errors(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    return [d.message for d in info.value.diagnostics]


def findings(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    return [d.message for d in validate(load_policy(tmp_path), dt.date(2026, 12, 1))]


def test_status_disabled_points_at_active_false(tmp_path: Path) -> None:
    found = load_errors(tmp_path, "users:\n  li.na: {name: Li Na, status: disabled}\n")
    assert found == [
        "unknown field 'status' (did you mean 'active'? write 'active: false' for a disabled "
        "or locked account ('active: true' is the default))"
    ]


@pytest.mark.parametrize(
    ("section", "written", "meant"),
    [
        ("users", "enabled", "active"),
        ("users", "Disabled", "active"),
        ("users", "dept", "department"),
        ("users", "mail", "email"),
        ("users", "e-mail", "email"),
        ("roles", "perms", "permissions"),
        ("roles", "inherits", "includes"),
        ("departments", "leader", "manager"),
        ("departments", "parent_id", "parent"),
    ],
)
def test_common_synonyms_name_the_field_meant(
    tmp_path: Path, section: str, written: str, meant: str
) -> None:
    found = load_errors(tmp_path, f"{section}:\n  k: {{name: N, {written}: x}}\n")
    assert len(found) == 1
    assert found[0].startswith(f"unknown field '{written}' (did you mean '{meant}'?")


def test_a_synonym_is_offered_only_for_a_field_the_object_has() -> None:
    assert synonym_hint("perms", {"name", "email", "active"}) == ""
    assert synonym_hint("perms", {"permissions"}) == " (did you mean 'permissions'?)"
    assert all(field != written for written, (field, _) in SYNONYMS.items())


def test_without_a_synonym_the_near_miss_is_still_suggested(tmp_path: Path) -> None:
    found = load_errors(tmp_path, "users:\n  li.na: {name: Li Na, emial: a@b.c}\n")
    assert found == ["unknown field 'emial' (did you mean 'email'?)"]


def test_a_department_written_by_display_name_lists_the_keys_with_that_name(
    tmp_path: Path,
) -> None:
    found = findings(
        tmp_path,
        "departments:\n"
        "  shenzhen-marketing: {name: 市场部门}\n"
        "  changsha-marketing: {name: 市场部门}\n"
        "users:\n"
        "  li.na: {name: Li Na, department: 市场部门}\n",
    )
    assert (
        "department: unknown department '市场部门'; departments named 市场部门: "
        "shenzhen-marketing, changsha-marketing (write the key)"
    ) in found


def test_a_role_written_by_display_name_names_its_key(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        "roles:\n  sales-clerk: {name: 销售员}\nusers:\n  li.na: {name: Li Na, roles: [销售员]}\n",
    )
    assert "roles[0]: unknown role '销售员'; roles named 销售员: sales-clerk (write the key)" in (
        found
    )


def test_an_unknown_department_that_is_no_name_keeps_did_you_mean(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        "departments:\n  finance: {name: Finance}\n"
        "users:\n  li.na: {name: L, department: finanse}\n",
    )
    assert "department: unknown department 'finanse' (did you mean 'finance'?)" in found


def test_departments_without_users_are_one_warning(tmp_path: Path) -> None:
    depts = "".join(f"  d{i:02}: {{name: D{i}}}\n" for i in range(14))
    found = findings(tmp_path, f"departments:\n{depts}")
    assert found == [
        "14 departments have no users in them or below them: "
        "d00, d01, d02, d03, d04, d05, d06, d07, d08, d09, … (4 more)"
    ]
