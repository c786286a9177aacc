"""Safe, fast YAML loading that remembers where every key was written.

Policies come from pull requests, so the loader treats them as untrusted:
plain YAML only (no language-specific tags), no duplicate keys, bounded alias
expansion, a size limit, and strict UTF-8. Parsing runs in libyaml's C parser
(``CSafeLoader``); the objects are built in Python from its events, and that is
where the positions are recorded: every mapping becomes a :class:`YamlMap` and
every sequence a :class:`YamlList`, which carry the 1-based (line, column) of
each key or item so that any later error can point at its source.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from erpsync.i18n import N_

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

Mark = tuple[int, int]  # 1-based line, column

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


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


class _PolicyLoader(yaml.CSafeLoader):
    """libyaml's parser, the safe constructor's scalar builders, and YAML 1.1's rules
    for the type of a plain scalar (:meth:`scalar_tag`). :func:`loads` uses it for its
    events only; PyYAML's composer and constructor never run."""

    # Tags are resolved by the first character of a plain scalar; a scalar whose first
    # character no implicit resolver is registered for can only be a string.
    RESOLVED_BY_FIRST_CHAR = frozenset(
        k for k in yaml.CSafeLoader.yaml_implicit_resolvers if k is not None
    )
    HAS_WILDCARD = None in yaml.CSafeLoader.yaml_implicit_resolvers

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._resolved: dict[tuple[Any, bool], str] = {}

    def scalar_tag(self, value: str, implicit: tuple[bool, bool]) -> str:
        """The tag of an untagged scalar, worked out once per distinct text."""
        memo = (value, implicit[0])  # the answer depends on nothing else
        tag = self._resolved.get(memo)
        if tag is None:
            tag = self._resolved[memo] = self.resolve(ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
        return tag


# Messages are English data made from templates marked N_; a view says them in the run's
# language (erpsync.i18n.said).
_KEY_NOT_PLAIN = N_("a mapping key must be a plain value")
_TOO_DEEP = N_("invalid YAML: nested too deeply")
_INVALID = N_("invalid YAML: {detail}")
# PyYAML's (libyaml's) words for the usual syntax errors, said in the {detail} and {cause}
# of the messages above.
YAML_PROBLEMS = (
    N_("did not find expected key"),
    N_("did not find expected ',' or ']'"),
    N_("did not find expected ',' or '}'"),
    N_("did not find expected '-' indicator"),
    N_("did not find expected node content"),
    N_("did not find expected <document start>"),
    N_("mapping values are not allowed in this context"),
    N_("mapping values are not allowed here"),
    N_("could not find expected ':'"),
    N_("found character that cannot start any token"),
    N_("found unexpected end of stream"),
    N_("found unknown escape character"),
    N_("found undefined tag handle"),
    N_("block sequence entries are not allowed in this context"),
    N_("while parsing a block mapping"),
    N_("while parsing a block collection"),
    N_("while parsing a block node"),
    N_("while parsing a flow mapping"),
    N_("while parsing a flow sequence"),
    N_("while parsing a flow node"),
    N_("while parsing a node"),
    N_("while scanning a simple key"),
    N_("while scanning a quoted scalar"),
    N_("while scanning a block scalar"),
    N_("while scanning a plain scalar"),
    N_("while scanning an anchor"),
    N_("while scanning an alias"),
    N_("while scanning a tag"),
)
# Python's words for a date that does not exist, the {detail} of "invalid date".
DATE_PROBLEMS = (
    N_("month must be in 1..12"),
    N_("day is out of range for month"),
    N_("year {year} is out of range"),
    N_("hour must be in 0..23"),
    N_("minute must be in 0..59"),
    N_("second must be in 0..59"),
)


def _at(event: Any) -> Mark:
    start = event.start_mark
    return (start.line + 1, start.column + 1)


def _timestamp(loader: SafeConstructor, node: ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        start = node.start_mark
        raise YamlLoadError(
            N_("invalid date {value}: {detail}").format(value=repr(node.value), detail=exc),
            (start.line + 1, start.column + 1),
        ) from None


# The scalar tags a policy may use (besides str), and how each is built.
_SCALARS: dict[str, Any] = {
    f"tag:yaml.org,2002:{name}": SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("null", "bool", "int", "float")
}
_SCALARS["tag:yaml.org,2002:timestamp"] = _timestamp


def _refused(tag: str, mark: Mark) -> YamlLoadError:
    return YamlLoadError(
        N_("YAML tag {tag} is not allowed: policies are plain YAML").format(tag=repr(_shown(tag))),
        mark,
    )


def _shown(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


# A number longer than this is refused before it is read: int() of thousands of digits,
# or of a sexagesimal 1:2:3:..., takes time that grows with the square of the length.
_LONGEST_NUMBER = 100


def _typed_scalar(loader: _PolicyLoader, tag: str, event: Any) -> Any:
    """A scalar that is not a string (null, bool, int, float, date), or an error."""
    build = _SCALARS.get(tag)
    if build is None:
        raise _refused(tag, _at(event))
    value = event.value
    if tag in (_INT, _FLOAT) and len(value) > _LONGEST_NUMBER:
        raise YamlLoadError(
            N_("a number of {n} characters (at most {most}): quote it if it is text").format(
                n=len(value), most=_LONGEST_NUMBER
            ),
            _at(event),
        )
    node = ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
    try:
        return build(loader, node)
    except YamlLoadError:
        raise
    except (ValueError, KeyError, AttributeError, IndexError, TypeError, OverflowError):
        # An explicit tag on text it does not fit: !!int x, !!bool maybe, !!timestamp 1
        raise YamlLoadError(
            N_("invalid {tag} value {value}").format(tag=_shown(tag), value=repr(value)), _at(event)
        ) from None


def _copy(value: Any) -> Any:
    """A fresh copy of an anchored value, marks and all, for one use of an alias (code
    that fills in a mapping, like the configuration's ``${VAR}``, must not see it twice).
    Iterative: an aliased collection may be nested as deeply as libyaml allows."""
    if not isinstance(value, YamlMap | YamlList):
        return value
    root = _empty_like(value)
    todo: list[tuple[Any, Any]] = [(value, root)]
    while todo:
        source, target = todo.pop()
        if isinstance(source, YamlMap):
            target.key_marks.update(source.key_marks)
            items: Iterable[tuple[Any, Any]] = source.items()
        else:
            target.item_marks.extend(source.item_marks)
            items = enumerate(source)
        for key, item in items:
            copied = item
            if isinstance(item, YamlMap | YamlList):
                copied = _empty_like(item)
                todo.append((item, copied))
            if isinstance(target, YamlMap):
                target[key] = copied
            else:
                target.append(copied)
    return root


def _empty_like(value: YamlMap | YamlList) -> YamlMap | YamlList:
    return YamlMap(value.mark) if isinstance(value, YamlMap) else YamlList(value.mark)


def _merged(data: YamlMap, value: Any, mark: Mark) -> YamlMap:
    """``data`` with the mapping(s) of its ``<<:`` key merged in, as the YAML merge key
    is specified: a key written in ``data`` wins, then the first merged mapping that has
    it; merged keys come first. (PyYAML 6.0.2+ lets the last mapping win for most keys,
    by accident: yaml/pyyaml#953.)"""
    sources = value if isinstance(value, YamlList) else [value]
    out = YamlMap(data.mark)
    for index, source in enumerate(sources):
        if not isinstance(source, YamlMap):
            where = sources.item_marks[index] if isinstance(sources, YamlList) else mark
            raise YamlLoadError(
                N_("expected a mapping or a list of mappings to merge with <<"), where
            )
        for key, item in source.items():
            if key not in out:
                out[key] = item
                out.key_marks[key] = source.key_marks[key]
    for key, item in data.items():
        out[key] = item
        out.key_marks[key] = data.key_marks[key]
    return out


_NO_KEY: Any = object()  # a mapping waiting for its next key
_MERGE_KEY: Any = object()  # the pending key is ``<<``
# libyaml itself refuses nesting deeper than 1,000 levels; this bound holds with a
# libyaml that does not, before anything that walks the result recursively meets it.
_MAX_DEPTH = 1000


class _Anchors:
    """The document's anchors, and the bound on how far its aliases may expand it: the
    nodes aliases add may not exceed ten times the nodes written so far, plus 10,000 (an
    alias bomb writes few nodes and expands them exponentially)."""

    def __init__(self) -> None:
        self.done: dict[str, tuple[Any, Mark, int]] = {}  # name -> value, mark, node count
        self.open: dict[str, Mark] = {}  # anchors of the collections being built
        self.added = 0  # nodes the aliases added so far

    def check_new(self, name: str, mark: Mark) -> None:
        first = self.done[name][1] if name in self.done else self.open.get(name)
        if first is not None:
            raise YamlLoadError(
                N_(
                    "invalid YAML: anchor {name} is defined twice (first at line {line}, "
                    "column {col})"
                ).format(name=repr(name), line=first[0], col=first[1]),
                mark,
            )

    def use(self, event: Any, nodes: int) -> tuple[Any, int]:
        """A copy of the aliased value, and the node count with it expanded; ``nodes``
        counts every node so far, the aliases' included."""
        name = event.anchor
        if name not in self.done:
            problem = N_("recursive alias: a node contains itself")
            if name not in self.open:
                problem = N_("invalid YAML: found undefined alias {name}").format(name=repr(name))
            raise YamlLoadError(problem, _at(event))
        value, _, size = self.done[name]
        self.added += size
        budget = 10 * (nodes - (self.added - size)) + 10_000
        if self.added > budget:
            raise YamlLoadError(
                N_("aliases expand to more than {n} nodes (an alias bomb?)").format(n=budget),
                _at(event),
            )
        return _copy(value), nodes + size


def _collection(event: Any, in_key: bool, depth: int) -> YamlMap | YamlList:
    """The empty mapping or sequence an event starts, after checking it may start here."""
    mark = _at(event)
    mapping = event.__class__ is MappingStartEvent
    tag = event.tag
    if tag is not None and tag not in ("!", _MAP if mapping else _SEQ):
        raise _refused(tag, mark)
    if in_key:
        raise YamlLoadError(_KEY_NOT_PLAIN, mark)
    if depth >= _MAX_DEPTH:
        raise YamlLoadError(_TOO_DEEP, mark)
    return YamlMap(mark) if mapping else YamlList(mark)


def _build(loader: _PolicyLoader) -> Any:  # noqa: PLR0915
    """The document's value, built from the parser's events in one pass.

    Building from events skips the tree of nodes PyYAML's composer builds first, with
    two position objects per scalar: loading 10,000 users takes 0.05 s less. The loop
    is one function because it runs once per scalar (150,000 times for 10,000 users);
    what happens rarely (collections, anchors, aliases, merges) is in helpers. Aliased
    values are copied at each use, within the bound :class:`_Anchors` keeps.
    """
    get = loader.get_event
    get()  # StreamStartEvent
    if get().__class__ is StreamEndEvent:
        return None  # an empty file
    by_first_char, wildcard = loader.RESOLVED_BY_FIRST_CHAR, loader.HAS_WILDCARD
    scalar_tag = loader.scalar_tag
    anchors = _Anchors()
    stack: list[tuple[Any, bool, Any, Any, int, Any]] = []
    nodes = 0  # built so far, aliases expanded
    root: Any = None
    # The collection being built; its pending key, anchor, first node, and its `<<:`
    # as [where the key is, the value, where the value is].
    cur: Any = None
    is_map = False
    key: Any = _NO_KEY
    anchor: Any = None
    start = 0
    merge: Any = None
    typed_keys = 0  # keys that are not text (numbers, booleans, dates)
    while True:
        event: Any = get()
        cls = event.__class__
        mark: Mark | None = None  # where the value is written, when it is not the event
        if cls is ScalarEvent:
            nodes += 1
            value = event.value
            tag = event.tag
            if tag is None or tag == "!":
                if event.implicit[0] and (not value or value[0] in by_first_char or wildcard):
                    tag = scalar_tag(value, event.implicit)
                    if tag == _MERGE and is_map and key is _NO_KEY:
                        merge = _merge_key(event, merge)
                        key = _MERGE_KEY
                        continue
                    if tag != _STR:
                        value = _typed_scalar(loader, tag, event)
            elif tag != _STR:
                value = _typed_scalar(loader, tag, event)
            if event.anchor is not None:
                here = _at(event)
                anchors.check_new(event.anchor, here)
                anchors.done[event.anchor] = (value, here, 1)
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            new = _collection(event, is_map and key is _NO_KEY, len(stack))
            nodes += 1
            stack.append((cur, is_map, key, anchor, start, merge))
            anchor = event.anchor
            if anchor is not None:
                anchors.check_new(anchor, new.mark)
                anchors.open[anchor] = new.mark
            cur, is_map, key, start, merge = new, cls is MappingStartEvent, _NO_KEY, nodes - 1, None
            continue
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            value = cur if merge is None else _merged(cur, merge[1], merge[2])
            mark = value.mark
            if anchor is not None:
                del anchors.open[anchor]
                anchors.done[anchor] = (value, mark, nodes - start)
            cur, is_map, key, anchor, start, merge = stack.pop()
        elif cls is AliasEvent:  # marked where the alias is written, like a scalar
            value, nodes = anchors.use(event, nodes)
            if is_map and key is _NO_KEY and isinstance(value, YamlMap | YamlList):
                raise YamlLoadError(_KEY_NOT_PLAIN, _at(event))
        elif cls is DocumentEndEvent:
            after = get()
            if after.__class__ is not StreamEndEvent:
                raise YamlLoadError(
                    N_("invalid YAML: a policy file holds one document, this is a second"),
                    _at(after),
                )
            return root
        else:  # pragma: no cover - libyaml sends no other event inside a document
            raise YamlLoadError(
                N_("invalid YAML: unexpected {event}").format(event=cls.__name__), _at(event)
            )
        # Put the finished value where it belongs.
        if not is_map:
            if cur is None:
                root = value
            else:
                if mark is None:
                    at = event.start_mark
                    mark = (at.line + 1, at.column + 1)
                cur.append(value)
                cur.item_marks.append(mark)
        elif key is _NO_KEY:  # the value is a key; keys are marked where they are written
            at = event.start_mark
            mark = (at.line + 1, at.column + 1)
            if value.__class__ is not str:
                typed_keys = _typed_key(typed_keys, mark)
            marks = cur.key_marks
            if value in marks:
                raise _duplicate(value, marks[value], mark)
            marks[value] = mark
            key = value
        elif key is _MERGE_KEY:
            merge[1], merge[2] = value, mark or _at(event)
            key = _NO_KEY
        else:
            cur[key] = value
            key = _NO_KEY


# Keys that are not text are mistakes the policy's schema reports, one by one. Many of
# them are an attack: numbers can be chosen to share one hash, and each insertion into
# a dict of colliding keys then costs as much as all those before it.
_MOST_TYPED_KEYS = 1000


def _typed_key(count: int, mark: Mark) -> int:
    if count >= _MOST_TYPED_KEYS:
        raise YamlLoadError(
            N_(
                "more than {n} keys that are not text (numbers, booleans, dates): quote them"
            ).format(n=_MOST_TYPED_KEYS),
            mark,
        )
    return count + 1


def _merge_key(event: Any, merge: list[Any] | None) -> list[Any]:
    """The ``<<`` key of a mapping, which carries no anchor and is written at most once
    (several mappings merge as one list, ``<<: [*a, *b]``)."""
    here = _at(event)
    if event.anchor is not None:
        raise YamlLoadError(N_("invalid YAML: the merge key << cannot carry an anchor"), here)
    if merge is not None:
        line, col = merge[0]
        raise YamlLoadError(
            N_(
                "duplicate key '<<' (first defined at line {line}, column {col}); merge "
                "several mappings with one key: <<: [*a, *b]"
            ).format(line=line, col=col),
            here,
        )
    return [here, None, None]


def _duplicate(key: Hashable, first: Mark, here: Mark) -> YamlLoadError:
    line, col = first
    return YamlLoadError(
        N_("duplicate key {key} (first defined at line {line}, column {col})").format(
            key=repr(key), line=line, col=col
        ),
        here,
    )


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
            N_("file is not valid UTF-8 (byte {byte} at offset {offset})").format(
                byte=f"0x{data[exc.start]:02x}", offset=exc.start
            ),
            (line, col),
        ) from None


def loads(text: str) -> Any:
    """Parse one YAML document into YamlMap/YamlList/scalars (``None`` when empty)."""
    loader = _PolicyLoader(text)
    try:
        return _build(loader)
    except RecursionError:
        raise YamlLoadError(_TOO_DEEP) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        start = exc.context_mark
        if exc.problem and exc.context and start is not None and start is not mark:
            message = N_(
                "invalid YAML: {detail} ({cause} started at line {line}, column {col})"
            ).format(detail=problem, cause=exc.context, line=start.line + 1, col=start.column + 1)
        else:
            message = _INVALID.format(detail=problem)
        raise YamlLoadError(message, where) from None
    except yaml.YAMLError as exc:
        raise YamlLoadError(_INVALID.format(detail=exc)) from None
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
                N_("file is {size} MiB, over the {limit} MiB limit").format(
                    size=f"{size / 1048576:.1f}", limit=f"{max_bytes / 1048576:.0f}"
                )
            )
        return path.read_bytes()
    except OSError as exc:
        raise YamlLoadError(N_("cannot read file: {reason}").format(reason=exc.strerror)) from None


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
