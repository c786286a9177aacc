"""Safe, fast YAML loading that remembers where every key was written.

Policies come from pull requests, so the loader treats them as untrusted:
plain YAML only (no language-specific tags), no duplicate keys, bounded alias
expansion, a size limit, and strict UTF-8. Parsing runs in libyaml's C parser
(``CSafeLoader``); only object construction is Python, and that is where the
positions are recorded: every mapping becomes a :class:`YamlMap` and every
sequence a :class:`YamlList`, which carry the 1-based (line, column) of each
key or item so that any later error can point at its source.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

Mark = tuple[int, int]  # 1-based line, column

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = ("null", "bool", "int", "float", "str", "timestamp")


class YamlMap(dict[Any, Any]):
    """A mapping that knows the position of itself and of each of its keys."""

    __slots__ = ("key_marks", "mark")

    def __init__(self, mark: Mark = (0, 0)) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[Any, Mark] = {}


class YamlList(list[Any]):
    """A sequence that knows the position of itself and of each item."""

    __slots__ = ("item_marks", "mark")

    def __init__(self, mark: Mark = (0, 0)) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []


class YamlLoadError(Exception):
    """A file could not be loaded; ``mark`` is where, when known."""

    def __init__(self, message: str, mark: Mark | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def _mark(node: Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _PolicyLoader(yaml.CSafeLoader):
    """CSafeLoader that builds YamlMap/YamlList and rejects duplicate keys and odd tags."""

    def construct_undefined(self, node: Node) -> Any:
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        raise YamlLoadError(
            f"YAML tag {tag!r} is not allowed: policies are plain YAML", _mark(node)
        )

    def construct_policy_timestamp(self, node: ScalarNode) -> Any:
        try:
            return SafeConstructor.construct_yaml_timestamp(self, node)
        except ValueError as exc:
            raise YamlLoadError(f"invalid date {node.value!r}: {exc}", _mark(node)) from None

    def construct_policy_map(self, node: MappingNode) -> Any:
        data = YamlMap(_mark(node))
        yield data
        self._fill_mapping(data, node)

    def construct_policy_seq(self, node: SequenceNode) -> Any:
        data = YamlList(_mark(node))
        yield data
        for child in node.value:
            data.append(self.construct_object(child))
            data.item_marks.append(_mark(child))

    def _key(self, key_node: Node) -> Hashable:
        if key_node.tag == _STR:
            return str(key_node.value)
        key = self.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable) or isinstance(key, YamlMap | YamlList):
            raise YamlLoadError("a mapping key must be a plain value", _mark(key_node))
        return key

    def _fill_mapping(self, data: YamlMap, node: MappingNode) -> None:
        marks = data.key_marks
        if any(k.tag == _MERGE for k, _ in node.value):
            # Duplicates are judged on the keys as written, before `<<:` merges
            # are flattened in: a key may legally override a merged-in one.
            self._reject_duplicates((k for k, _ in node.value if k.tag != _MERGE))
            self.flatten_mapping(node)
            for key_node, value_node in node.value:
                key = self._key(key_node)
                data[key] = self.construct_object(value_node)
                marks[key] = _mark(key_node)
            return
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key in marks:
                line, col = marks[key]
                raise YamlLoadError(
                    f"duplicate key {key!r} (first defined at line {line}, column {col})",
                    _mark(key_node),
                )
            marks[key] = _mark(key_node)
            data[key] = self.construct_object(value_node)

    def _reject_duplicates(self, key_nodes: Iterable[Node]) -> None:
        seen: dict[Hashable, Mark] = {}
        for key_node in key_nodes:
            key = self._key(key_node)
            if key in seen:
                line, col = seen[key]
                raise YamlLoadError(
                    f"duplicate key {key!r} (first defined at line {line}, column {col})",
                    _mark(key_node),
                )
            seen[key] = _mark(key_node)


_PolicyLoader.yaml_multi_constructors = {}
_PolicyLoader.yaml_constructors = {
    f"tag:yaml.org,2002:{name}": SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in _PLAIN_TAGS
}
_PolicyLoader.yaml_constructors["tag:yaml.org,2002:timestamp"] = (
    _PolicyLoader.construct_policy_timestamp
)
_PolicyLoader.yaml_constructors[_MAP] = _PolicyLoader.construct_policy_map
_PolicyLoader.yaml_constructors[_SEQ] = _PolicyLoader.construct_policy_seq
_PolicyLoader.yaml_constructors[None] = _PolicyLoader.construct_undefined


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def check_alias_expansion(root: Node, budget: int) -> None:
    """Refuse a document whose aliases expand to more than ``budget`` nodes.

    The composed graph shares aliased nodes, so it is small even for a
    "billion laughs" document; the danger is in whoever walks it later. The
    expanded size is computed on the shared graph, each node once.
    """
    size: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        ident = id(node)
        if ident in size:
            continue
        if children_done:
            visiting.discard(ident)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > budget:
                raise YamlLoadError(
                    f"aliases expand to more than {budget} nodes (an alias bomb?)", _mark(node)
                )
            size[ident] = total
            continue
        if ident in visiting:
            raise YamlLoadError("recursive alias: a node contains itself", _mark(node))
        visiting.add(ident)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def decode(data: bytes) -> str:
    """Strict UTF-8 (a byte-order mark is allowed); the error says where it broke."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:  # again without the BOM handling, so the offsets count from the file's first byte
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise YamlLoadError(
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            (line, col),
        ) from None


def loads(text: str) -> Any:
    """Parse one YAML document into YamlMap/YamlList/scalars (``None`` when empty)."""
    loader = _PolicyLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if "&" in text:  # an alias needs an anchor; without one there is nothing to expand
            nodes = text.count("\n") + 1
            check_alias_expansion(root, budget=10 * nodes + 10_000)
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        start = exc.context_mark
        if exc.problem and exc.context and start is not None and start is not mark:
            problem += (
                f" ({exc.context} started at line {start.line + 1}, column {start.column + 1})"
            )
        raise YamlLoadError(f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise YamlLoadError(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def load_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Read, check and parse one YAML file; raises :class:`YamlLoadError`."""
    return loads(decode(read_checked(path, max_bytes)))


def read_checked(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes, refusing a file over ``max_bytes`` before reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise YamlLoadError(
                f"file is {size / 1048576:.1f} MiB, over the {max_bytes / 1048576:.0f} MiB limit"
            )
        return path.read_bytes()
    except OSError as exc:
        raise YamlLoadError(f"cannot read file: {exc.strerror}") from None


def locate(root: Any, loc: Iterable[Any]) -> Mark | None:
    """The position of the deepest element of ``loc`` (keys and indexes) found under ``root``."""
    node, found = root, getattr(root, "mark", None)
    for part in loc:
        if isinstance(node, YamlMap) and part in node:
            found, node = node.key_marks.get(part, found), node[part]
        elif isinstance(node, YamlList) and isinstance(part, int) and 0 <= part < len(node):
            found, node = node.item_marks[part], node[part]
        else:
            break
    return found
