"""Policy edits keep every other byte: only the edited line changes (erpsync.policy.edit)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from erpsync.errors import PolicyError
from erpsync.policy.edit import FieldEdit, ItemRemoval, apply_edits, edit_text

POLICY = """\
# Sales team — reviewed by 王建国
users:
  li.na:
    name: 李娜   # team lead
    department: sales
    roles:
      - clerk
      # the auditor role is temporary
      - auditor

  # new hire
  zhao.lei: {name: 赵磊, department: sales}
  wu.tao:
    name: 吴涛
    expires: 2027-01-31  # contract end
  qian.yu:
    name: 钱雨
    active: true
"""


def edit(text: str, *edits: tuple[str, str, str, str | None]) -> str:
    made = [FieldEdit(Path("p.yaml"), "users", k, f, v, c) for k, f, v, c in edits]
    return edit_text(text, made, "p.yaml")


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_a_new_field_of_a_block_mapping_is_one_new_line_after_its_last_field() -> None:
    after = edit(POLICY, ("li.na", "expires", "2026-12-03", "dormant since 2026-05-13"))
    assert changed_lines(POLICY, after) == ["+    expires: 2026-12-03  # dormant since 2026-05-13"]
    assert after.index("expires: 2026-12-03") > after.index("- auditor")
    assert after.index("expires: 2026-12-03") < after.index("# new hire")


def test_a_flow_mapping_gets_the_field_before_its_brace() -> None:
    after = edit(POLICY, ("zhao.lei", "active", "false", "never signed in"))
    assert changed_lines(POLICY, after) == [
        "-  zhao.lei: {name: 赵磊, department: sales}",
        "+  zhao.lei: {name: 赵磊, department: sales, active: false}",
    ]


def test_a_field_already_there_has_its_value_replaced_and_its_comment_kept() -> None:
    after = edit(
        POLICY,
        ("wu.tao", "expires", "2026-12-03", "dormant"),
        ("qian.yu", "active", "false", "dormant"),
    )
    assert changed_lines(POLICY, after) == [
        "-    expires: 2027-01-31  # contract end",
        "+    expires: 2026-12-03  # contract end",
        "-    active: true",
        "+    active: false  # dormant",
    ]


def test_the_last_object_of_a_file_without_a_final_newline_and_crlf_files() -> None:
    text = POLICY.rstrip("\n").replace("\n", "\r\n")
    after = edit(text, ("qian.yu", "expires", "2026-12-31", None))
    assert after == text + "\r\n    expires: 2026-12-31"


def test_an_object_the_file_does_not_hold_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY, encoding="utf-8")
    with pytest.raises(PolicyError) as found:
        apply_edits([FieldEdit(path, "users", "nobody", "expires", "2026-12-03")])
    assert "user nobody: cannot set expires" in str(found.value.diagnostics[0])
    assert path.read_text(encoding="utf-8") == POLICY  # nothing written


def remove(text: str, login: str, role: str) -> str:
    return edit_text(text, [ItemRemoval(Path("p.yaml"), "users", login, "roles", role)], "p")


def test_a_revoked_role_loses_its_line_in_a_block_list() -> None:
    after = remove(POLICY, "li.na", "auditor")
    assert changed_lines(POLICY, after) == ["-      - auditor"]
    after = remove(POLICY, "li.na", "clerk")
    assert changed_lines(POLICY, after) == ["-      - clerk"]
    assert "# the auditor role is temporary" in after


def test_a_revoked_role_leaves_a_flow_list_well_formed() -> None:
    text = "users:\n  a: {name: A, roles: [x, y, z]}  # three\n  b:\n    roles: [x]\n"
    assert "roles: [y, z]}  # three" in remove(text, "a", "x")
    assert "roles: [x, z]}" in remove(text, "a", "y")
    assert "roles: [x, y]}" in remove(text, "a", "z")
    assert "    roles: []\n" in remove(text, "b", "x")


def test_the_last_role_of_a_block_list_leaves_an_empty_list() -> None:
    text = "users:\n  a:\n    name: A\n    roles:\n      - x\n    active: true\n"
    assert remove(text, "a", "x") == "users:\n  a:\n    name: A\n    roles: []\n    active: true\n"


def test_a_role_the_user_does_not_list_is_an_error() -> None:
    with pytest.raises(PolicyError) as found:
        remove(POLICY, "li.na", "manager")
    assert "user li.na: cannot take manager out of roles" in str(found.value.diagnostics[0])


def test_an_edit_through_a_yaml_alias_is_refused_not_written_to_both() -> None:
    text = "users:\n  a: &base {name: A, roles: [r1, r2]}\n  b: *base\n"
    with pytest.raises(PolicyError) as found:
        edit(text, ("b", "active", "false", None))
    assert "YAML anchors, aliases or merges" in str(found.value.diagnostics[0])
    with pytest.raises(PolicyError):
        remove(
            "users:\n  a: {name: A, roles: &ops [r1, r2]}\n  b: {name: B, roles: *ops}\n", "b", "r1"
        )


def test_an_empty_value_and_a_tab_after_a_colon() -> None:
    text = "users:\n  a:\n    name:\tLi\n    expires:\n    roles: []\n"
    after = edit(text, ("a", "expires", "2026-12-31", "dormant"))
    assert "    expires: 2026-12-31  # dormant\n" in after
    assert "name:\tLi" in after
