"""The command line's help, and click's own words, in the language of the run.

Click takes a command's help when the command is defined, at import, before the run's
language is known. The English texts stay the source (marked ``N_`` where they are
written) and are said in the run's language when click formats the help: the classes here
translate a command's help, its short help and its options' help at that moment.

Click's own words ("Usage:", "Options", "Show this message and exit.", its usage errors)
come from ``gettext.gettext``, which click's modules import by name; :func:`route_click`
points those names at :mod:`erpsync.i18n`, so they come from erpsync's catalogue
(:data:`CLICK_MESSAGES`). English is unchanged: its catalogue translates nothing.

The language of a run is known early enough for ``--help``: :func:`early_language` reads
``--lang``, ``settings.language`` of the erpsync.yaml the run would use, and the locale
before click parses anything (``--help`` is handled while parsing).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from rich.cells import cell_len

from erpsync import i18n
from erpsync.i18n import N_, _

# Click's messages a user of erpsync can meet, in click's words (its gettext msgids), so
# that `make i18n` extracts them into erpsync's catalogue.
CLICK_MESSAGES: tuple[str, ...] = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Positional arguments"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("%(prog)s, version %(version)s"),
    N_("Aborted!"),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Missing command."),
    N_("No such command {name!r}."),
    N_("No such option {name!r}."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("Option {name!r} does not take a value."),
    N_("Argument {name!r} takes {nargs} values."),
    N_("Invalid start character for option ({option})"),
    N_("env var: {var}"),
    N_("default: {default}"),
    N_("required"),
    N_("(dynamic)"),
    N_("deprecated"),
    N_("Choose from:\n\t{choices}"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("{name} {filename!r} is not executable."),
    N_("Could not open file {filename!r}: {message}"),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("unknown error"),
    N_("Error: invalid input"),
    N_("Do you want to continue?"),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
)

# The names of click's number types, which it puts into "{value!r} is not a valid
# {number_type}." as they are (see _ClickTypeMessage).
CLICK_NUMBER_TYPES: tuple[str, ...] = (
    N_("integer"),
    N_("integer range"),
    N_("float"),
    N_("float range"),
)


def _click_plurals() -> None:  # pragma: no cover - never called: marks click's plurals
    i18n.ngettext(
        "Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 1
    )
    i18n.ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1)
    i18n.ngettext(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", 1
    )
    i18n.ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1)
    i18n.ngettext(
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
        1,
    )
    i18n.ngettext(
        "Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given.", 1
    )


_CLICK_MODULES = (
    "core",
    "decorators",
    "exceptions",
    "formatting",
    "parser",
    "types",
    "termui",
    "utils",
    "shell_completion",
)


class _ClickTypeMessage(str):
    """A message of click's, said in the run's language, that also says the name of the
    type click fills in (``number_type``: "integer range" -> 整数范围)."""

    __slots__ = ()

    def format(self, *args: object, **kwargs: object) -> str:
        kwargs = {
            key: _(value) if key == "number_type" and isinstance(value, str) else value
            for key, value in kwargs.items()
        }
        return str.format(self, *args, **kwargs)


def _click_types_message(message: str) -> str:
    return _ClickTypeMessage(_(message))


def show_click_error(error: click.ClickException) -> None:
    """Show ``error`` as click does, in the run's language; a missing parameter's message
    ends in the language's full stop (click writes an ASCII "." after the name itself)."""
    if isinstance(error, click.MissingParameter):
        told = error.format_message()
        stop = i18n.pgettext("end of a sentence", ".")
        if stop != ".":
            told = told.replace(". ", stop, 1)  # "Missing argument 'X'. Choose from: ..."
            told = told[:-1] + stop if told.endswith(".") else told
        error.format_message = lambda: told  # type: ignore[method-assign]
    error.show()


def route_click() -> None:
    """Make click's own words come from erpsync's catalogue, in the run's language."""
    for name in _CLICK_MODULES:
        module = sys.modules.get(f"click.{name}")
        if module is None:
            continue
        if hasattr(module, "_"):
            said = _click_types_message if name == "types" else i18n._
            module._ = said  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = i18n.ngettext  # type: ignore[attr-defined]


# -- the language, before click parses -------------------------------------------------------


def early_language(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """Speak the language the run asks for before click parses ``argv``: ``--lang``, else
    ``settings.language`` of the erpsync.yaml the run would use (``--config``, else found
    from the cwd), else the locale. Only reads; a broken erpsync.yaml is the command's to
    report, so it counts as saying nothing here."""
    lang = _global_option(argv, "--lang")
    config = _global_option(argv, "--config")
    settings = None if lang else settings_language(Path(config) if config else None)
    return i18n.configure(lang, settings, os.environ if environ is None else environ)


def _global_option(argv: Sequence[str], name: str) -> str | None:
    """The value given to the option ``name`` in ``argv`` (up to a ``--``); a command's
    own options are never called ``--lang`` or ``--config``, so where it stands does
    not matter."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--":
            return None
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.partition("=")[2]
    return None


def settings_language(config: Path | None) -> str | None:
    """``settings.language`` of ``config``, else of the erpsync.yaml found from the cwd;
    None when it is not set, or erpsync.yaml cannot be read (the command reports that)."""
    from erpsync.config import find_config
    from erpsync.yamlsafe import load_file

    try:
        path = config or find_config(Path.cwd())
        if path is None:
            return None
        raw = load_file(path)
        language = raw["settings"]["language"]
    except Exception:
        return None
    return language if isinstance(language, str) else None


# -- help in the run's language -------------------------------------------------------------


@contextlib.contextmanager
def _translated(things: Sequence[Any]) -> Iterator[None]:
    """Each of ``things`` (commands, options) with its ``help`` in the run's language for
    the time of the block."""
    saved = [(thing, thing.help) for thing in things]
    try:
        for thing, text in saved:
            if text:
                thing.help = _(text)
        yield
    finally:
        for thing, text in saved:
            thing.help = text


class HelpFormatter(click.HelpFormatter):
    """Click's formatter, measuring Chinese by its display width (two columns a
    character) and ending headings with the language's colon."""

    def write_heading(self, heading: str) -> None:
        if i18n.language() == i18n.ENGLISH:
            super().write_heading(heading)
            return
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None and i18n.language() != i18n.ENGLISH:
            prefix = _("Usage:")  # ends with the full-width colon, a space of its own
        super().write_usage(prog, args, prefix)

    def write_text(self, text: str) -> None:
        if i18n.language() == i18n.ENGLISH:
            super().write_text(text)
            return
        indent = " " * self.current_indent
        width = max(self.width - self.current_indent, 11)
        for i, paragraph in enumerate(_paragraphs(text)):
            if i:
                self.write("\n")
            for line in wrap_cells(paragraph, width):
                self.write(f"{indent}{line}\n")

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        if i18n.language() == i18n.ENGLISH:
            super().write_dl(rows, col_max, col_spacing)
            return
        rows = list(rows)
        first = min(max((cell_len(term) for term, _text in rows), default=0), col_max)
        first += col_spacing
        width = max(self.width - first - 2, 10)
        for term, text in rows:
            self.write(f"{'':>{self.current_indent}}{term}")
            if not text:
                self.write("\n")
                continue
            if cell_len(term) <= first - col_spacing:
                self.write(" " * (first - cell_len(term)))
            else:
                self.write("\n" + " " * (first + self.current_indent))
            lines = wrap_cells(" ".join(text.split()), width)
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first + self.current_indent}}{line}\n")


def _paragraphs(text: str) -> list[str]:
    """The paragraphs of a help text, each on one line (click's ``\\b`` kept as lines)."""
    out: list[str] = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if lines and lines[0].strip() == "\b":
            out.extend(line.rstrip() for line in lines[1:])
        else:
            out.append(" ".join(block.split()))
    return [p for p in out if p]


def wrap_cells(text: str, width: int) -> list[str]:
    """``text`` in lines at most ``width`` terminal columns wide: breaks at spaces, and
    between two Chinese characters (never before Chinese punctuation)."""
    lines: list[str] = []
    line = ""
    for unit in _units(text):
        if line and cell_len(line.rstrip() + unit.rstrip()) > width:
            lines.append(line.rstrip())
            line = unit.lstrip()
        else:
            line += unit
    lines.append(line.rstrip())
    return lines


_NO_BREAK_BEFORE = "，。；：、）》」』！？…%"
_NO_BREAK_AFTER = "（《「『"


def _units(text: str) -> Iterator[str]:
    """The pieces a line may break between: a word with its following space, or one
    Chinese character with the punctuation after it (an opening bracket with what follows)."""
    unit = ""
    for char in text:
        wide = cell_len(char) == 2
        if unit and (char in _NO_BREAK_BEFORE or unit[-1] in _NO_BREAK_AFTER):
            unit += char
            continue
        if wide or (unit and cell_len(unit[-1]) == 2) or (unit.endswith(" ") and char != " "):
            if unit:
                yield unit
            unit = char
        else:
            unit += char
    if unit:
        yield unit


class Context(click.Context):
    formatter_class = HelpFormatter


class Command(click.Command):
    """A command whose help is said in the run's language when it is shown."""

    context_class = Context

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _english_help(self.get_help_option(ctx))
        with _translated([self, *self.get_params(ctx)]):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        if i18n.language() == i18n.ENGLISH or self.short_help or not self.help:
            return super().get_short_help_str(limit)
        return short_help(_(self.help), limit)


class Group(click.Group):
    """A group of :class:`Command` (and of groups like itself), said like one."""

    context_class = Context
    command_class = Command
    group_class = type

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _english_help(self.get_help_option(ctx))
        with _translated([self, *self.get_params(ctx)]):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        if i18n.language() == i18n.ENGLISH or self.short_help or not self.help:
            return super().get_short_help_str(limit)
        return short_help(_(self.help), limit)


def _english_help(option: click.Option | None) -> click.Option | None:
    """Click's ``--help`` option, with its help in English, the source translated when
    shown (click makes it once per command, in the language of that moment)."""
    if option is not None:
        option.help = N_("Show this message and exit.")
    return option


def short_help(text: str, limit: int) -> str:
    """The first sentence of a translated help text, cut to ``limit`` display columns."""
    first = " ".join(text.partition("\n\n")[0].split())
    sentence = first.split("。", 1)[0].rstrip("：:")
    if cell_len(sentence) <= limit:
        return sentence
    cut = ""
    for char in sentence:
        if cell_len(cut + char) > limit - 1:
            break
        cut += char
    clause = max(cut.rfind(mark) for mark in "，、；（")  # end at a clause where one is
    if clause > len(cut) // 2:
        cut = cut[:clause]
    return cut + "…"
