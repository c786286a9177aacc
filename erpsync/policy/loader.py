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
from erpsync.i18n import N_
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
            diag.error("schema", Position(name, 1, 1), "", N_("a policy file must be a mapping"))
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
        N_("declared twice: here and at {where}").format(where=where_first),
    )


# --- pydantic errors → diagnostics ----------------------------------------------------------

# Messages are English data made from templates marked N_; a view says them in the run's
# language (erpsync.i18n.said). The phrases for what was written and what was expected
# are catalogued too: they fill the {detail} and {problem} of "expected {detail}, got
# {problem}" and are said with it.
_YAML_TYPE = {
    "int": N_("a number"),
    "float": N_("a number"),
    "bool": N_("true/false"),
    "str": N_("a string"),
    "NoneType": N_("null"),
    "YamlMap": N_("a mapping"),
    "YamlList": N_("a list"),
    "date": N_("a date"),
    "datetime": N_("a date and time"),
}

_EXPECTED = {
    "string_type": N_("a string"),
    "dict_type": N_("a mapping"),
    "model_type": N_("a mapping"),
    "model_attributes_type": N_("a mapping"),
    "list_type": N_("a list"),
    "bool_type": N_("true or false"),
    "date_type": N_("a date (YYYY-MM-DD)"),
    "date_parsing": N_("a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": N_("a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": N_("a date without a time"),
}

# What the permissions discriminator's message (model.Permissions) expects, after its
# "expected ".
PERMISSIONS_EXPECTED = N_("a mapping (module: [actions]) or a list of module:action")

_PATTERN_MEANING = {
    model.KEY_PATTERN: N_("keys are 1-64 characters without whitespace or control characters"),
    model.NAME_KEY_PATTERN: N_(
        "role keys and logins are 1-64 characters without whitespace, '/' or control "
        "characters ('/' separates the parts of a plan's keys: ROLE/MODULE:ACTION, LOGIN/ROLE)"
    ),
    model.NAME_PATTERN: N_(
        "actions are 1-128 characters without whitespace, ':' or control characters"
    ),
    model.MODULE_PATTERN: N_(
        "modules are 1-128 characters without whitespace or control characters; "
        "':' only between two parts (system:user)"
    ),
    model.PERMISSION_PATTERN: N_(
        "write a permission as module:action (the action follows the last ':')"
    ),
    model.EMAIL_PATTERN: N_("not an email address"),
}

# pydantic's own messages for the error types a policy or erpsync.yaml can meet and
# erpsync words no better itself, as pydantic writes them (the English stays pydantic's;
# the template lets a view say it): filled with the error's context.
PYDANTIC = {
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "string_type": N_("Input should be a valid string"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "bool_type": N_("Input should be a valid boolean"),
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, {error}"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime, {error}"),
    "date_from_datetime_inexact": N_(
        "Datetimes provided to dates should have zero time - e.g. be exact dates"
    ),
    "datetime_type": N_("Input should be a valid datetime"),
    "url_parsing": N_("Input should be a valid URL, {error}"),
    "url_scheme": N_("URL scheme should be {expected_schemes}"),
    "value_error": N_("Value error, {error}"),
    "enum": N_("Input should be {expected}"),
    "union_tag_invalid": N_(
        "Input tag {tag} found using {discriminator} does not match any of the expected "
        "tags: {expected_tags}"
    ),
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
            message = diag.at_field(path, message)
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
        return N_("missing required field '{name}'").format(name=loc[-1])
    if kind == "string_pattern_mismatch":
        meaning = _PATTERN_MEANING.get(str(ctx.get("pattern")), N_("has the wrong form"))
        if key_error:
            return N_("invalid key {value}: {detail}").format(value=repr(value), detail=meaning)
        return N_("invalid value {value}: {detail}").format(value=repr(value), detail=meaning)
    if key_error and kind == "string_type":
        return N_("key {value} must be a string: quote it ('{written}')").format(
            value=repr(value), written=value
        )
    if kind in _EXPECTED:
        got = _YAML_TYPE.get(type(value).__name__, type(value).__name__)
        return _expected(_EXPECTED[kind], got)
    if kind == model.PERMISSIONS_FORM_ERROR:
        got = _YAML_TYPE.get(type(value).__name__, type(value).__name__)
        return _expected(str(err["msg"]).removeprefix("expected "), got)
    if kind == "literal_error":
        expected = str(ctx.get("expected"))
        choices, among, last = expected.rpartition(" or ")  # pydantic's "'a', 'b' or 'c'"
        if among:
            return N_("invalid value {value}: expected {choices} or {last}").format(
                value=repr(value), choices=choices, last=last
            )
        return N_("invalid value {value}: expected {expected}").format(
            value=repr(value), expected=expected
        )
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length")
        if least == 1:
            return N_("must not be empty")
        return N_("needs at least {n} items").format(n=least)
    if kind == "string_too_long":
        return N_("longer than {n} characters").format(n=ctx.get("max_length"))
    return pydantic_message(err)


def _expected(expected: str, got: str) -> str:
    """``expected a string, got a number``: both phrases catalogued, said with it."""
    return N_("expected {detail}, got {problem}").format(detail=expected, problem=got)


def pydantic_message(err: Any) -> str:
    """pydantic's own message for ``err``, from its template in :data:`PYDANTIC` when
    that gives pydantic's very words (so a view can say it), else pydantic's text."""
    message = str(err["msg"])
    template = PYDANTIC.get(err["type"])
    if template is not None:
        ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
        try:
            if template.format(**ctx) == message:
                return template.format(**ctx)
        except (KeyError, IndexError):
            pass
    return message


def _unknown_field(loc: tuple[Any, ...], top: type[BaseModel]) -> str:
    name = str(loc[-1])
    if len(loc) == 1:
        hint = did_you_mean(name, top.model_fields)
        if hint:
            return N_("unknown top-level key '{name}'{detail}").format(name=name, detail=hint)
        return N_("unknown top-level key '{name}'").format(name=name)
    owner = _model_at(top, loc[:-1])
    fields = owner.model_fields if owner else {}
    hint = synonym_hint(name, fields) or did_you_mean(name, fields)
    if hint:
        return N_("unknown field '{name}'{detail}").format(name=name, detail=hint)
    return N_("unknown field '{name}'").format(name=name)


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
    return N_(" (did you mean '{name}'?)").format(name=close[0]) if close else ""


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
            return N_(
                ": the ERP writes it '{name}' (permissions are in the ERP's own words)"
            ).format(name=native)
    return hint(module, catalogue)
