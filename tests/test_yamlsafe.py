"""The YAML loader treats policy files as untrusted input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from erpsync.yamlsafe import YamlList, YamlLoadError, YamlMap, load_file, loads, locate

BOMB = "\n".join(
    [
        'a: &a ["x","x","x","x","x","x","x","x","x"]',
        *(
            f"{n}: &{n} [{','.join(['*' + p] * 9)}]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def test_positions_of_keys_and_items() -> None:
    doc = loads("users:\n  li.na:\n    roles: [a, b]\n    expires: 2027-03-31\n")
    assert isinstance(doc, YamlMap)
    assert doc.key_marks["users"] == (1, 1)
    assert doc["users"].key_marks["li.na"] == (2, 3)
    roles = doc["users"]["li.na"]["roles"]
    assert isinstance(roles, YamlList)
    assert roles.item_marks == [(3, 13), (3, 16)]
    assert doc["users"]["li.na"]["expires"] == dt.date(2027, 3, 31)
    assert locate(doc, ("users", "li.na", "roles", 1)) == (3, 16)
    assert locate(doc, ("users", "li.na", "missing")) == (2, 3)


def test_duplicate_key_names_both_lines() -> None:
    with pytest.raises(YamlLoadError) as info:
        loads("roles:\n  a: {name: x}\n  b: {name: y}\n  a: {name: z}\n")
    assert info.value.mark == (4, 3)
    assert "duplicate key 'a'" in info.value.message
    assert "line 2" in info.value.message


def test_merge_key_may_be_overridden_but_not_repeated() -> None:
    doc = loads("base: &b {name: x, active: true}\nu:\n  <<: *b\n  name: y\n")
    assert doc["u"] == {"name": "y", "active": True}
    with pytest.raises(YamlLoadError, match="duplicate key 'name'"):
        loads("base: &b {name: x}\nu:\n  <<: *b\n  name: y\n  name: z\n")


@pytest.mark.parametrize(
    "text",
    [
        '!!python/object/apply:os.system ["touch /tmp/erpsync-pwned"]',
        "x: !!python/name:os.system",
        "x: !!binary aGVsbG8=",
        "x: !custom 1",
        "x: !!set {a: null}",
    ],
)
def test_language_specific_tags_are_refused(text: str) -> None:
    with pytest.raises(YamlLoadError, match="is not allowed"):
        loads(text)
    assert not Path("/tmp/erpsync-pwned").exists()


def test_alias_bomb_is_an_error_not_an_explosion() -> None:
    with pytest.raises(YamlLoadError, match="alias bomb"):
        loads(BOMB)


def test_recursive_alias_is_an_error() -> None:
    with pytest.raises(YamlLoadError, match="recursive alias"):
        loads("a: &a [1, *a]")


def test_moderate_aliases_are_fine() -> None:
    doc = loads("d: &d {active: true}\nusers:\n" + "".join(f"  u{i}: *d\n" for i in range(500)))
    assert len(doc["users"]) == 500


def test_invalid_utf8_names_the_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes("users:\n  li.na: {name: 李".encode() + b"\xff\xfe}\n")
    with pytest.raises(YamlLoadError) as info:
        load_file(path)
    assert "not valid UTF-8" in info.value.message
    assert info.value.mark == (2, 18)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + "a: 财务部\n".encode())
    assert load_file(path) == {"a": "财务部"}


def test_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:  # sparse: no 51 MiB written to disk
        f.truncate(51 * 1024 * 1024)
    with pytest.raises(YamlLoadError, match="over the 50 MiB limit"):
        load_file(path)


def test_twenty_megabyte_file(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    line = "# " + "x" * 98 + "\n"
    with path.open("w", encoding="utf-8") as f:
        f.write("users:\n  li.na: {name: 李娜}\n")
        for _ in range(20 * 1024 * 1024 // len(line)):
            f.write(line)
    assert path.stat().st_size > 20_000_000
    assert load_file(path) == {"users": {"li.na": {"name": "李娜"}}}
    with pytest.raises(YamlLoadError, match="over the 16 MiB limit"):
        load_file(path, max_bytes=16 * 1024 * 1024)


def test_multiple_documents_are_refused() -> None:
    with pytest.raises(YamlLoadError, match="invalid YAML"):
        loads("a: 1\n---\nb: 2\n")


def test_non_scalar_key_is_refused() -> None:
    with pytest.raises(YamlLoadError, match="plain value"):
        loads("? [a, b]\n: 1\n")


def test_impossible_date_is_a_positioned_error() -> None:
    with pytest.raises(YamlLoadError) as info:
        loads("users:\n  li.na: {name: x, expires: 2026-02-30}\n")
    assert info.value.mark == (2, 29)
    assert "invalid date '2026-02-30'" in info.value.message


def test_invalid_utf8_after_bom_counts_from_the_first_byte(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfusers:\n  li.na: {name: \xff}\n")
    with pytest.raises(YamlLoadError) as info:
        load_file(path)
    assert "byte 0xff at offset 26" in info.value.message
    assert info.value.mark == (2, 17)
