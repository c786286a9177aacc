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
    """libyaml's composer, with the per-node hooks it calls into Python made cheap.

    Objects are not built by PyYAML's generic constructor but by :func:`_construct`,
    which walks the composed nodes once: that, and answering :meth:`resolve` for
    most scalars from their first character, makes loading a policy faster than
    ``yaml.load`` itself, which matters for 100,000-user organisations.
    """

    # Tags are resolved by the first character of a plain scalar; a scalar whose first
    # character no implicit resolver is registered for can only be a string.
    _RESOLVED_BY_FIRST_CHAR = frozenset(
        k for k in yaml.CSafeLoader.yaml_implicit_resolvers if k is not None
    )
    _HAS_WILDCARD = None in yaml.CSafeLoader.yaml_implicit_resolvers

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.merges = "<<" in stream  # without it, no mapping can hold a merge key
        self._resolved: dict[tuple[Any, bool], str] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            if value and value[0] not in self._RESOLVED_BY_FIRST_CHAR and not self._HAS_WILDCARD:
                return _STR
            memo = (value, implicit[0])  # the answer depends on nothing else
            tag = self._resolved.get(memo)
            if tag is None:
                tag = self._resolved[memo] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            return tag
        return _MAP if kind is MappingNode else _SEQ

    # The composer calls these two for every node; they matter only for path
    # resolvers, which a policy loader never registers.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def _timestamp(loader: SafeConstructor, node: ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise YamlLoadError(f"invalid date {node.value!r}: {exc}", _mark(node)) from None


# The scalar tags a policy may use (besides str), and how each is built.
_SCALARS: dict[str, Any] = {
    f"tag:yaml.org,2002:{name}": SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("null", "bool", "int", "float")
}
_SCALARS["tag:yaml.org,2002:timestamp"] = _timestamp


def _refused(node: Node) -> YamlLoadError:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    return YamlLoadError(f"YAML tag {tag!r} is not allowed: policies are plain YAML", _mark(node))


def _construct(loader: _PolicyLoader, node: Node) -> Any:
    """The value of ``node``: YamlMap, YamlList or a plain scalar. Aliased nodes are
    built once per use; :func:`check_alias_expansion` has bounded how often."""
    cls, tag = node.__class__, node.tag
    if cls is ScalarNode:
        if tag == _STR:
            return node.value
        build = _SCALARS.get(tag)
        if build is None:
            raise _refused(node)
        return build(loader, node)
    start = node.start_mark
    if isinstance(node, MappingNode) and tag == _MAP:
        return _construct_map(loader, node, YamlMap((start.line + 1, start.column + 1)))
    if isinstance(node, SequenceNode) and tag == _SEQ:
        seq = YamlList((start.line + 1, start.column + 1))
        marks = seq.item_marks
        for child in node.value:
            at = child.start_mark
            marks.append((at.line + 1, at.column + 1))
            # A string is the usual item (a role, an action): inlined, no call.
            if child.tag == _STR and child.__class__ is ScalarNode:
                seq.append(child.value)
            else:
                seq.append(_construct(loader, child))
        return seq
    raise _refused(node)


def _construct_map(loader: _PolicyLoader, node: MappingNode, data: YamlMap) -> YamlMap:
    marks = data.key_marks
    if loader.merges and any(k.tag == _MERGE for k, _ in node.value):
        # Duplicates are judged on the keys as written, before `<<:` merges
        # are flattened in: a key may legally override a merged-in one.
        seen = YamlMap()
        for key_node, _ in node.value:
            if key_node.tag != _MERGE:
                _add_key(loader, seen, key_node)
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = _key(loader, key_node)
            data[key] = _construct(loader, value_node)
            marks[key] = _mark(key_node)
        return data
    for key_node, value_node in node.value:
        if key_node.tag == _STR and key_node.__class__ is ScalarNode:
            key = key_node.value  # the usual case, inlined: this loop runs once per key
            if key in marks:
                raise _duplicate(key, marks[key], key_node)
            at = key_node.start_mark
            marks[key] = (at.line + 1, at.column + 1)
        else:
            key = _add_key(loader, data, key_node)
        if value_node.tag == _STR and value_node.__class__ is ScalarNode:
            data[key] = value_node.value  # as for keys: most values are strings
        else:
            data[key] = _construct(loader, value_node)
    return data


def _duplicate(key: Hashable, first: Mark, key_node: Node) -> YamlLoadError:
    line, col = first
    return YamlLoadError(
        f"duplicate key {key!r} (first defined at line {line}, column {col})", _mark(key_node)
    )


def _add_key(loader: _PolicyLoader, data: YamlMap, key_node: Node) -> Hashable:
    """Record ``key_node``'s position in ``data``; refuses a key written twice."""
    key = _key(loader, key_node)
    marks = data.key_marks
    if key in marks:
        raise _duplicate(key, marks[key], key_node)
    at = key_node.start_mark
    marks[key] = (at.line + 1, at.column + 1)
    return key


def _key(loader: _PolicyLoader, key_node: Node) -> Hashable:
    if key_node.tag == _STR and key_node.__class__ is ScalarNode:
        return str(key_node.value)
    key = _construct(loader, key_node)
    if not isinstance(key, Hashable) or isinstance(key, YamlMap | YamlList):
        raise YamlLoadError("a mapping key must be a plain value", _mark(key_node))
    return key


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
        return _construct(loader, root)
    except RecursionError:
        raise YamlLoadError("invalid YAML: nested too deeply") from None
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
