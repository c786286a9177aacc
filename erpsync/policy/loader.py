"""Read every policy file below a directory into one validated :class:`Policy`.

Each file is parsed by :mod:`erpsync.yamlsafe` (positions kept), checked
against :class:`PolicyDocument`, and merged: the same object key in two
places is an error naming both. All problems of all files are collected
before anything is raised, so one run shows every mistake.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from erpsync import diagnostics as diag
from erpsync.diagnostics import Diagnostic, Position
from erpsync.errors import PolicyError
from erpsync.policy import model
from erpsync.policy.discover import discover
from erpsync.policy.model import KEYED_SECTIONS, NOUN, PolicyDocument
from erpsync.policy.synonyms import synonym_hint
from erpsync.yamlsafe import (
    DEFAULT_MAX_BYTES,
    YamlLoadError,
    YamlMap,
    decode,
    loads,
    locate,
    read_checked,
)

# Sections whose entries are named objects (``user li.na``, ``sod_exception #2``) in messages.
OBJECT_SECTIONS = (*KEYED_SECTIONS, "sod_exceptions", "moved")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object was declared: its file, the file's YAML tree and its path there.

    For the keyed sections one Origin is shared by every object of a section in a file
    (``loc`` is the section and ``keyed`` is true: the object's key follows), so that
    100,000 users cost no 100,000 objects; a SoD exception has its own.
    """

    file: str
    root: Any
    loc: tuple[Any, ...]
    keyed: bool = False

    def path(self, key: Any) -> tuple[Any, ...]:
        """The path of object ``key`` in the file's tree."""
        return (*self.loc, key) if self.keyed else self.loc


@dataclass
class LoadedPolicy:
    """The merged policy plus, for every object, where it was written."""

    policy: PolicyDocument
    files: list[str] = field(default_factory=list)
    sources_digest: str = ""  # sha256 of the files' names and bytes
    origins: dict[tuple[str, Any], Origin] = field(default_factory=dict)

    def position(self, section: str, key: Any, *path: Any) -> Position:
        """Position of an object (``key``) of ``section``, or of a field below it."""
        origin = self.origins.get((section, key))
        if origin is None:
            return Position("<unknown>")
        mark = locate(origin.root, (*origin.path(key), *path)) or (0, 0)
        return Position(origin.file, *mark)


def policy_files(directory: Path) -> list[Path]:
    """Every policy file below ``directory`` (see :mod:`erpsync.policy.discover`), in a
    stable order; raises PolicyError for a link that leads outside it."""
    found, problems = discover(directory)
    if problems:
        raise PolicyError(diag.ordered(problems))
    return [f.path for f in found]


def load_policy(directory: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedPolicy:
    """Load and merge the policy directory; raise :class:`PolicyError` listing every problem."""
    loaded = LoadedPolicy(PolicyDocument())
    sources = hashlib.sha256()  # every file's name and bytes, in load order
    merged: dict[str, Any] = {section: {} for section in KEYED_SECTIONS}
    exceptions: list[model.SodException] = []
    moves: list[model.Moved] = []
    files, problems = discover(directory)  # problems so far: links leading outside
    for file in files:
        name = str(file.path)
        loaded.files.append(name)
        document, root = _load_document(file.real, name, max_bytes, problems, sources)
        if document is None:
            continue
        for section in KEYED_SECTIONS:
            origin = Origin(name, root, (section,), keyed=True)
            objects, origins = merged[section], loaded.origins
            for key, obj in getattr(document, section).items():
                if key in objects:
                    problems.append(_declared_twice(section, key, origin, origins[(section, key)]))
                    continue
                origins[(section, key)] = origin
                objects[key] = obj
        for index, exc in enumerate(document.sod_exceptions):
            loaded.origins[("sod_exceptions", len(exceptions))] = Origin(
                name, root, ("sod_exceptions", index)
            )
            exceptions.append(exc)
        for index, move in enumerate(document.moved):
            loaded.origins[("moved", len(moves))] = Origin(name, root, ("moved", index))
            moves.append(move)
    if diag.has_errors(problems):
        raise PolicyError(diag.ordered(problems))
    loaded.policy = PolicyDocument.model_construct(**merged, sod_exceptions=exceptions, moved=moves)
    loaded.sources_digest = sources.hexdigest()
    return loaded


def _load_document(
    path: Path, name: str, max_bytes: int, problems: list[Diagnostic], sources: Any
) -> tuple[PolicyDocument | None, Any]:
    try:
        data = read_checked(path, max_bytes)
        sources.update(f"{name}\x00{len(data)}\x00".encode() + data)
        root = loads(decode(data))
    except YamlLoadError as exc:
        problems.append(diag.error("yaml", Position(name, *(exc.mark or (0, 0))), "", exc.message))
        return None, None
    if root is None:
        return PolicyDocument(), YamlMap()
    if not isinstance(root, YamlMap):
        problems.append(
            diag.error("schema", Position(name, 1, 1), "", "a policy file must be a mapping")
        )
        return None, None
    try:
        return PolicyDocument.model_validate(root), root
    except ValidationError as exc:
        problems.extend(schema_diagnostics(exc, name, root, PolicyDocument, OBJECT_SECTIONS))
        return None, None


def _declared_twice(section: str, key: Any, here: Origin, first: Origin) -> Diagnostic:
    where_first = Position(first.file, *(locate(first.root, first.path(key)) or (0, 0)))
    where_here = Position(here.file, *(locate(here.root, here.path(key)) or (0, 0)))
    return diag.error(
        "duplicate-key",
        where_here,
        f"{NOUN[section]} {key}",
        f"declared twice: here and at {where_first}",
    )


# --- pydantic errors → diagnostics ----------------------------------------------------------

_YAML_TYPE = {
    "int": "a number",
    "float": "a number",
    "bool": "true/false",
    "str": "a string",
    "NoneType": "null",
    "YamlMap": "a mapping",
    "YamlList": "a list",
    "date": "a date",
    "datetime": "a date and time",
}

_EXPECTED = {
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "bool_type": "true or false",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date without a time",
}

_PATTERN_MEANING = {
    model.KEY_PATTERN: "keys are 1-64 characters without whitespace or control characters",
    model.NAME_KEY_PATTERN: (
        "role keys and logins are 1-64 characters without whitespace, '/' or control "
        "characters ('/' separates the parts of a plan's keys: ROLE/MODULE:ACTION, LOGIN/ROLE)"
    ),
    model.NAME_PATTERN: (
        "actions are 1-128 characters without whitespace, ':' or control characters"
    ),
    model.MODULE_PATTERN: (
        "modules are 1-128 characters without whitespace or control characters; "
        "':' only between two parts (system:user)"
    ),
    model.PERMISSION_PATTERN: (
        "write a permission as module:action (the action follows the last ':')"
    ),
    model.EMAIL_PATTERN: "not an email address",
}


def schema_diagnostics(
    exc: ValidationError,
    file: str,
    root: Any,
    top: type[BaseModel],
    sections: Collection[str],
) -> Iterator[Diagnostic]:
    """Turn pydantic's errors on one YAML document into positioned diagnostics."""
    for err in exc.errors(include_url=False):
        loc = _without_form(tuple(err["loc"]))
        key_error = bool(loc) and loc[-1] == "[key]"
        data_loc = loc[:-1] if key_error else loc
        mark = locate(root, data_loc) or (0, 0)
        names_a_field = err["type"] in ("extra_forbidden", "missing")
        obj, path = _subject(data_loc[:-1] if names_a_field else data_loc, sections, root)
        if key_error and len(data_loc) == 2:  # pydantic's loc shows True as 1: use the key itself
            obj = f"{obj.split(' ')[0]} {err.get('input')!r}"
        message = _message(err, loc, key_error, top)
        if path and not key_error:
            message = f"{path}: {message}"
        yield diag.error("schema", Position(file, *mark), obj, message)


def _without_form(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """``loc`` without the name of the permissions form pydantic puts after ``permissions``."""
    for i in range(1, len(loc)):
        if loc[i] in (model.MAPPING_FORM, model.LIST_FORM) and loc[i - 1] == "permissions":
            return loc[:i] + loc[i + 1 :]
    return loc


def _subject(loc: Sequence[Any], sections: Collection[str], root: Any) -> tuple[str, str]:
    """('user li.na', 'roles[0]') for loc ('users', 'li.na', 'roles', 0)."""
    if len(loc) >= 2 and loc[0] in sections:
        section, key = str(loc[0]), loc[1]
        noun = NOUN.get(section, section.removesuffix("s"))
        if section == "sod_exceptions":
            entries = root.get(section) if isinstance(root, dict) else None
            entry = entries[key] if isinstance(entries, list) and key < len(entries) else None
            return exception_name(entry, key), field_path(loc[2:])
        if section == "moved":
            return f"moved #{key + 1}" if isinstance(key, int) else "moved", field_path(loc[2:])
        ident = key if isinstance(key, str) and key else repr(key)
        return f"{noun} {ident}", field_path(loc[2:])
    return "", field_path(loc)


def exception_name(entry: Any, index: int) -> str:
    """``sod_exception RULE/USER``, or ``sod_exception #N`` (N counted in its file)."""
    if (
        isinstance(entry, dict)
        and isinstance(entry.get("rule"), str)
        and isinstance(entry.get("user"), str)
    ):
        return f"sod_exception {entry['rule']}/{entry['user']}"
    return f"sod_exception #{index + 1}"


def field_path(parts: Sequence[Any]) -> str:
    """``roles[0]``, ``settings.max_removals``, ``permissions[finance.payment][1]``."""
    text = ""
    for part in parts:
        if isinstance(part, str) and part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part}]"
    return text


def _message(
    err: Any,
    loc: tuple[Any, ...],
    key_error: bool,
    top: type[BaseModel],
) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_field(loc, top)
    if kind == "missing":
        return f"missing required field '{loc[-1]}'"
    if kind == "string_pattern_mismatch":
        meaning = _PATTERN_MEANING.get(str(ctx.get("pattern")), "has the wrong form")
        what = "invalid key" if key_error else "invalid value"
        return f"{what} {value!r}: {meaning}"
    if key_error and kind == "string_type":
        return f"key {value!r} must be a string: quote it ('{value}')"
    if kind in _EXPECTED:
        got = _YAML_TYPE.get(type(value).__name__, type(value).__name__)
        return f"expected {_EXPECTED[kind]}, got {got}"
    if kind == model.PERMISSIONS_FORM_ERROR:
        got = _YAML_TYPE.get(type(value).__name__, type(value).__name__)
        return f"{err['msg']}, got {got}"
    if kind == "literal_error":
        return f"invalid value {value!r}: expected {ctx.get('expected')}"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length")
        return "must not be empty" if least == 1 else f"needs at least {least} items"
    if kind == "string_too_long":
        return f"longer than {ctx.get('max_length')} characters"
    return str(err["msg"])


def _unknown_field(loc: tuple[Any, ...], top: type[BaseModel]) -> str:
    name = str(loc[-1])
    if len(loc) == 1:
        return f"unknown top-level key '{name}'" + did_you_mean(name, top.model_fields)
    owner = _model_at(top, loc[:-1])
    fields = owner.model_fields if owner else {}
    hint = synonym_hint(name, fields) or did_you_mean(name, fields)
    return f"unknown field '{name}'" + hint


def _model_at(cls: type[BaseModel], path: Sequence[Any]) -> type[BaseModel] | None:
    """The model that validates the mapping at ``path`` below ``cls``, if one does."""
    current: Any = cls
    for part in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            current = _unwrap(info.annotation) if info else None
        elif get_origin(current) is dict:
            current = _unwrap(get_args(current)[1])  # ``part`` is a key of the dict
        elif get_origin(current) is list:
            current = _unwrap(get_args(current)[0])  # ``part`` is an index
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """``X`` for ``X | None``; anything else unchanged."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return annotation


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a near miss among ``candidates``, else ''."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def native_spelling(
    module: str,
    catalogue: Collection[str],
    hint: Callable[[str, Collection[str]], str] = did_you_mean,
) -> str:
    """The catalogue's own spelling of ``module`` when it differs only in writing ``.``
    for ``:`` or the other way round (``system.user`` for RuoYi's ``system:user``), else a
    "did you mean" hint; the end of an "unknown module" message."""
    for native in (module.replace(".", ":"), module.replace(":", ".")):
        if native != module and native in catalogue:
            return f": the ERP writes it '{native}' (permissions are in the ERP's own words)"
    return hint(module, catalogue)
