"""The YAML loader treats policy files as untrusted input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Plain scalars whose type YAML 1.1 resolves from their text (and some that stay strings).
TRICKY = [
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "~",
    "null",
    "Null",
    "",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "1e3",
    ".inf",
    "-.inf",
    ".nan",
    "+12",
    "-0",
    "2026-11-28",
    "2026-11-28 10:00:00",
    "12:30",
    "1:2:3",
    "true",
    "False",
    "<<",
    "=",
    "d00-000",
    "read",
    "李娜",
    "-",
    "+",
]
SCALARS = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.dates(),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(TRICKY)), inner, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(document=DOCUMENTS, flow=st.booleans())
def test_loads_reads_what_yaml_safe_load_reads(document: object, flow: bool) -> None:
    """The policy loader builds its own objects; on plain YAML they must equal PyYAML's."""
    text = yaml.safe_dump(document, allow_unicode=True, default_flow_style=flow)
    assert loads(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "same"),
    [
        ("base: &b {x: 1, y: [2, 3]}\nuse: {<<: *b, y: 4}\nagain: *b\n", True),
        ("a: &a [1, 2]\nb: [*a, *a]\n", True),
        ("2: two\n'2': quoted two\ntrue: yes\nnull: ~\n", True),
        ("- !!str 12\n- !!int '7'\n- !!float 1\n- !!bool yes\n", True),
        ("a: &k key\nb: {*k : 1}\n", True),
        ("- ! 12\n- !!map {a: 1}\n- !!seq [1]\n- ''\n- \n", True),
        # PyYAML builds a tuple key; a policy key must be a plain value
        ("? [not, allowed]\n: 1\n", False),
        # 1 == True in Python: PyYAML silently keeps the last; erpsync calls it a duplicate
        ("1: one\ntrue: yes\n", False),
    ],
    ids=[
        "merge",
        "aliases",
        "typed-keys",
        "explicit-tags",
        "alias-key",
        "non-specific-tags",
        "complex-key",
        "one-is-true",
    ],
)
def test_loads_agrees_with_yaml_on_edge_cases(text: str, same: bool) -> None:
    if same:
        assert loads(text) == yaml.safe_load(text)
    else:
        with pytest.raises(YamlLoadError):
            loads(text)


def _node_marks(node: yaml.Node, value: object, path: str = "$") -> None:
    """Every mark erpsync keeps equals where PyYAML's composer says the node starts (in
    a document without aliases: erpsync marks an alias where it is written, the composer
    where its anchor is)."""
    assert getattr(value, "mark", None) == (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        assert isinstance(value, YamlMap)
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            at = key_node.start_mark
            assert value.key_marks[key] == (at.line + 1, at.column + 1), f"{path}.{key}"
            if isinstance(value_node, yaml.CollectionNode):
                _node_marks(value_node, value[key], f"{path}.{key}")
    elif isinstance(node, yaml.SequenceNode):
        assert isinstance(value, YamlList)
        for index, item in enumerate(node.value):
            at = item.start_mark
            assert value.item_marks[index] == (at.line + 1, at.column + 1), f"{path}[{index}]"
            if isinstance(item, yaml.CollectionNode):
                _node_marks(item, value[index], f"{path}[{index}]")


@settings(max_examples=200, deadline=None)
@given(document=DOCUMENTS.filter(lambda d: isinstance(d, dict | list)), flow=st.booleans())
def test_every_key_and_item_is_marked_where_it_is_written(document: object, flow: bool) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, default_flow_style=flow)
    _node_marks(yaml.compose(text, Loader=yaml.CSafeLoader), loads(text))


@pytest.mark.parametrize(
    ("text", "message", "mark"),
    [
        ("a: &x 1\nb: &x 2\n", "anchor 'x' is defined twice (first at line 1, column 4)", (2, 4)),
        ("a: {<<: {x: 1}, <<: {y: 2}}\n", "duplicate key '<<' (first defined at line 1", (1, 17)),
        ("&m <<: {a: 1}\nb: *m\n", "the merge key << cannot carry an anchor", (1, 1)),
        ("x: {<<: [{k: 1}, 2]}\n", "expected a mapping or a list of mappings", (1, 18)),
        ("a: 1\n---\nb: 2\n", "holds one document, this is a second", (2, 1)),
        ("a: *nowhere\n", "found undefined alias 'nowhere'", (1, 4)),
        ("a: &s 1\nb: {<<: *s}\n", "expected a mapping or a list of mappings", (2, 9)),
        ("[" * 1001 + "]" * 1001, "nesting depth", (1, 1001)),
        ("a: &m {x: 1}\n*m : 2\n", "a mapping key must be a plain value", (2, 1)),
    ],
    ids=[
        "anchor-twice",
        "merge-key-twice",
        "anchored-merge-key",
        "merge-list-item",
        "two-documents",
        "undefined-alias",
        "merge-a-scalar",
        "too-deep",
        "alias-as-mapping-key",
    ],
)
def test_malformed_documents_are_positioned_errors(
    text: str, message: str, mark: tuple[int, int]
) -> None:
    with pytest.raises(YamlLoadError) as info:
        loads(text)
    assert message in info.value.message
    assert info.value.mark == mark


def test_each_use_of_an_alias_is_its_own_copy() -> None:
    """Code that rewrites a mapping in place (the configuration's ``${VAR}``) must meet
    each aliased value once."""
    doc = loads("a: &a {x: [1]}\nb: *a\n")
    assert doc["a"] == doc["b"]
    assert doc["a"] is not doc["b"]
    assert doc["a"]["x"] is not doc["b"]["x"]
    assert doc["b"].key_marks == doc["a"].key_marks  # both point where the value is written


def test_the_first_merged_mapping_wins_then_the_keys_written() -> None:
    """The YAML merge key: a key written in the mapping wins, then the first mapping of
    the list that has it. (PyYAML 6.0.2+ lets the last one win for most keys, by
    accident, yaml/pyyaml#953: the expected values are written out, not PyYAML's.)"""
    doc = loads(
        "a: &a {parent: finance, name: A}\n"
        "b: &b {parent: sales, code: B, name: B}\n"
        "x:\n  <<: [*a, *b]\n  name: X\n"
    )
    assert doc["x"] == {"parent": "finance", "name": "X", "code": "B"}
    assert list(doc["x"]) == ["parent", "name", "code"]
    assert doc["x"].key_marks == {"parent": (1, 8), "name": (5, 3), "code": (2, 23)}


def test_an_alias_is_marked_where_it_is_written() -> None:
    doc = loads("r: &r clerk\nusers:\n  ann: {roles: [admin, *r]}\n  *r : {}\n")
    assert doc["users"]["ann"]["roles"].item_marks[1] == (3, 24)
    assert doc["users"].key_marks["clerk"] == (4, 3)


def test_hostile_numbers_and_tags_are_positioned_errors() -> None:
    for text, message in [
        ("a: !!int x\n", "invalid !!int value 'x'"),
        ("a: !!bool maybe\n", "invalid !!bool value 'maybe'"),
        ("a: !!timestamp 1\n", "invalid !!timestamp value '1'"),
        ("a: !!int ''\n", "invalid !!int value ''"),
        ("a: " + "9" * 5000 + "\n", "a number of 5000 characters"),
        ("a: 1" + ":59" * 40_000 + "\n", "a number of 120001 characters"),
    ]:
        with pytest.raises(YamlLoadError) as info:
            loads(text)
        assert message in info.value.message, text[:40]
        assert info.value.mark == (1, 4)


def test_padding_does_not_raise_the_alias_budget() -> None:
    """Blank lines cost a byte each; the budget grows with the nodes written, so a small
    file cannot make its aliases expand into gigabytes."""
    anchor = "a: &a {" + ", ".join(f"k{i}: v" for i in range(1000)) + "}\n"
    text = "\n" * 2_000_000 + anchor + "".join(f"u{i}: *a\n" for i in range(200))
    with pytest.raises(YamlLoadError, match="alias bomb"):
        loads(text)


def test_a_deeply_nested_value_may_be_aliased() -> None:
    text = "a: &a " + "[" * 900 + "]" * 900 + "\nb: *a\n"
    doc = loads(text)
    depth, node = 0, doc["b"]
    while node:
        depth, node = depth + 1, node[0]
    assert depth == 899
    assert doc["b"] == doc["a"]


def test_many_number_keys_are_refused_before_they_collide() -> None:
    """Multiples of 2**61 - 1 all hash alike: 10,000 of them would take seconds to put in
    a dict, and the time grows with the square of their number."""
    keys = "".join(f"{i * (2**61 - 1)}: x\n" for i in range(2000))
    with pytest.raises(YamlLoadError, match="more than 1000 keys that are not text") as info:
        loads(keys)
    assert info.value.mark == (1001, 1)
    few = "\n".join(keys.split("\n")[:1000])
    assert len(loads(few)) == 1000  # that many are left to the schema to report
