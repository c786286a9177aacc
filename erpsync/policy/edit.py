"""Edits of policy files that keep everything else byte for byte: comments, order,
quoting, flow or block style, line endings.

Proposals (``erpsync report dormant --propose``, an access review's decisions) change a
few fields of a few users; a reviewer must see exactly those lines in ``git diff``. So
the files are not loaded and dumped again: each edit is spliced into the text at the
position PyYAML's composer gives the user's mapping, as a person would type it:

- a field already there has its value replaced (and the comment, if any, appended);
- a new field in a block mapping is a new line after the user's last field, indented
  like its first one;
- a new field in a flow mapping (``li.na: {name: 李娜}``) goes before its ``}``;
- an item taken out of a list (:class:`ItemRemoval`: a role revoked) loses its line in a
  block list, or its text and comma in a flow list (``[a, b]``); a list left empty is
  written ``[]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from erpsync.diagnostics import Position, error
from erpsync.errors import PolicyError
from erpsync.i18n import N_


@dataclass(frozen=True)
class FieldEdit:
    """Set ``field`` of the object ``key`` in ``section`` of ``file`` to ``value`` (YAML
    text, e.g. ``2026-12-31`` or ``false``), with ``comment`` after it on its line."""

    file: Path
    section: str
    key: str
    field: str
    value: str
    comment: str | None = None


@dataclass(frozen=True)
class ItemRemoval:
    """Take ``item`` out of the list ``field`` of the object ``key`` in ``section``."""

    file: Path
    section: str
    key: str
    field: str
    item: str


Edit = FieldEdit | ItemRemoval


def apply_edits(edits: Iterable[Edit]) -> dict[Path, str]:
    """file -> its new text with every edit of it made (nothing is written); raises
    PolicyError naming the file and object for an edit that cannot be placed."""
    by_file: dict[Path, list[Edit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    out: dict[Path, str] = {}
    for path, wanted in by_file.items():
        raw = path.read_bytes().decode("utf-8")
        text = edit_text(raw, wanted, str(path))
        if text != raw:
            out[path] = text
    return out


def checked(old: str, new: str, edits: Sequence[Edit], name: str) -> None:
    """Raise PolicyError unless ``new`` parses (as policies are loaded) to ``old``'s data
    with exactly ``edits`` made: an edit written through a YAML alias would change
    another user too, and is refused rather than written."""
    from erpsync.yamlsafe import YamlLoadError, loads

    try:
        before, after = _plain(loads(old)), _plain(loads(new))
        for edit in edits:
            fields = before[edit.section][edit.key]
            if isinstance(edit, ItemRemoval):
                fields[edit.field] = [x for x in fields[edit.field] if x != edit.item]
            else:
                fields[edit.field] = _plain(loads(f"v: {edit.value}"))["v"]
    except (YamlLoadError, KeyError, TypeError) as exc:
        raise _error(
            name, edits[0], N_("cannot edit this file safely ({reason})").format(reason=exc)
        ) from None
    if before != after:
        raise _error(
            name,
            edits[0],
            N_(
                "cannot make the edit without changing other declarations too (written with "
                "YAML anchors, aliases or merges?): make it by hand"
            ),
        )


def _plain(value: Any) -> Any:
    """Parsed YAML as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def write_edits(texts: dict[Path, str]) -> None:
    """Write each file's new text: every file staged first, then all renamed in place."""
    commit_staged(stage_edits(texts))


def stage_edits(texts: dict[Path, str]) -> dict[Path, Path]:
    """Write each new text to a temporary file beside its file (file -> temporary); on a
    failure the ones written are removed and nothing is changed."""
    staged: dict[Path, Path] = {}
    try:
        for path, text in texts.items():
            tmp = path.with_name(f".{path.name}.erpsync-edit")
            tmp.write_bytes(text.encode("utf-8"))
            staged[path] = tmp
    except BaseException:
        discard_staged(staged)
        raise
    return staged


def commit_staged(staged: dict[Path, Path]) -> None:
    """Rename the staged files over their files (each rename is atomic)."""
    for path, tmp in staged.items():
        tmp.replace(path)


def discard_staged(staged: dict[Path, Path]) -> None:
    for tmp in staged.values():
        tmp.unlink(missing_ok=True)


def edit_text(text: str, edits: Sequence[Edit], name: str) -> str:
    """``text`` with ``edits`` made, each placed from a fresh parse (so one edit's shift
    of positions never misplaces the next)."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom) :]
    newline = "\r\n" if "\r\n" in body else "\n"
    for edit in edits:
        try:
            if isinstance(edit, ItemRemoval):
                body = _remove(body, edit, name)
            else:
                body = _one(body, edit, name, newline)
        except yaml.YAMLError as exc:
            raise _error(
                name, edit, N_("cannot edit this file safely: {reason}").format(reason=exc)
            ) from None
    checked(text[len(bom) :], body, edits, name)
    return bom + body


def _remove(text: str, edit: ItemRemoval, name: str) -> str:
    mapping = _object(text, edit, name)
    found = next(
        (
            (k, v)
            for k, v in mapping.value
            if isinstance(k, yaml.ScalarNode) and k.value == edit.field
        ),
        None,
    )
    items = found[1].value if found and isinstance(found[1], yaml.SequenceNode) else []
    index = next(
        (i for i, n in enumerate(items) if isinstance(n, yaml.ScalarNode) and n.value == edit.item),
        None,
    )
    if found is None or index is None:
        raise _error(
            name,
            edit,
            N_("cannot take {item} out of {field}: not listed there").format(
                item=edit.item, field=edit.field
            ),
        )
    key, seq = found
    node = items[index]
    if len(items) == 1:  # the list becomes empty: written "[]"
        colon = text.index(":", key.end_mark.index)
        end = seq.end_mark.index if seq.flow_style else _line_end(text, _end(node))
        return text[:colon] + ": []" + text[end:]
    if seq.flow_style:
        if index + 1 < len(items):
            return text[: node.start_mark.index] + text[items[index + 1].start_mark.index :]
        return text[: _end(items[index - 1])] + text[_end(node) :]
    start = text.rfind("\n", 0, node.start_mark.index) + 1
    stop = text.find("\n", _end(node))
    return text[:start] + text[len(text) if stop == -1 else stop + 1 :]


def _one(text: str, edit: FieldEdit, name: str, newline: str) -> str:
    mapping = _object(text, edit, name)
    line = f"{edit.field}: {edit.value}"
    note = f"  # {edit.comment}" if edit.comment else ""
    for key, value in mapping.value:
        if isinstance(key, yaml.ScalarNode) and key.value == edit.field:
            start, end = value.start_mark.index, value.end_mark.index
            if text[end : _line_end(text, end)].strip():
                note = ""  # a comment there stays; inside a flow mapping, none is added
            written = edit.value if start < end else f" {edit.value}"  # "expires:" (empty)
            return text[:start] + written + note + text[end:]
    if mapping.flow_style:
        if not mapping.value:
            at = mapping.end_mark.index - 1  # the "}" of "{}"
            return text[:at] + line + text[at:]
        at = _end(mapping.value[-1][1])
        return text[:at] + f", {line}" + text[at:]
    first = mapping.value[0][0]
    indent = " " * first.start_mark.column
    at = _line_end(text, _end(mapping.value[-1][1]))
    added = f"{newline}{indent}{line}{note}"
    if at == len(text) and not text.endswith("\n"):
        return text + added
    return text[:at] + added + text[at:]


def _object(text: str, edit: Edit, name: str) -> yaml.MappingNode:
    root = yaml.compose(text, Loader=_LOADER)
    section = _get(root, edit.section)
    found = _get(section, edit.key) if section is not None else None
    if not isinstance(found, yaml.MappingNode) or not found.value:
        raise _error(
            name,
            edit,
            N_("cannot set {field}: no such mapping in this file").format(field=edit.field),
        )
    return found


# libyaml's parser, as the policies are loaded with (it accepts what the pure-Python one
# refuses, such as a tab after a colon); marks are character indexes in both.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _error(name: str, edit: Edit, message: str) -> PolicyError:
    return PolicyError([error("edit", Position(name), f"{edit.section[:-1]} {edit.key}", message)])


def _named(node: yaml.Node, name: str) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == name


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            found: yaml.Node = v
            return found
    return None


def _end(node: yaml.Node) -> int:
    """Where the text of ``node`` ends: for a block collection, the end of its last
    scalar (the collection's own end mark may lie lines further, past comments)."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        if not node.value:
            break
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    end = node.end_mark.index
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        end = max(end - 1, node.start_mark.index)  # a block scalar ends on the next line
    return end


def _line_end(text: str, index: int) -> int:
    """The index of the end of the line holding ``index`` (before its line break)."""
    found = text.find("\n", index)
    if found == -1:
        return len(text)
    return found - 1 if found > 0 and text[found - 1] == "\r" else found
