"""``erpsync import``: write policies from the live ERP, where adopting erpsync starts.

It reads the ERP once, turns what it finds into policy files
(:mod:`erpsync.importer`), writes them as YAML (:mod:`erpsync.policy.dump`)
and says what it inferred and what it could not write exactly. It never
overwrites a non-empty directory unless told to (``force``); then it
replaces the files an earlier import wrote and keeps every other file. The sample
policy ``erpsync init`` writes does not count: while untouched it is replaced
without ``--force``, so ``init`` then ``import`` needs no hand work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from rich.console import Console

from erpsync.adapters import connected
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import DatabaseError, UsageError
from erpsync.i18n import N_, _, said
from erpsync.importer import Imported, Note, import_policy
from erpsync.policy.dump import Source, dump_document, import_header
from erpsync.scaffold import FILES
from erpsync.scaffold import render as render_template
from erpsync.scope import Scope

SAMPLE_TEMPLATES = frozenset(t for t, _ in FILES if t.startswith("policies/"))

HEADER_START = "# Imported from the live ERP"  # how a file written by an import begins
MAX_LISTED = 10
_SECTIONS = ("departments", "users", "roles", "modules")  # counted in the summary

_Say = Callable[[str], None]


def run(
    project: Project,
    target: ResolvedTarget,
    out: Path,
    force: bool,
    console: Console,
    today: dt.date | None = None,
) -> int:
    """Import the ERP of ``target`` into ``out``; 0 on success (errors raise)."""
    check_output(out, force)
    with connected(target) as adapter:
        snapshot = adapter.read()
        scope = Scope.for_adapter(project.config.settings, adapter)
        imported = import_policy(snapshot, scope, adapter.capabilities)
        source = Source(target.name, target.adapter, target.display_url, today or dt.date.today())
        texts = render(imported, source)
        kept = write_files(texts, out)
        unbound = None
        try:
            adapter.bind(snapshot)
        except DatabaseError as exc:
            unbound = str(exc)
    show_summary(imported, texts, kept, project, target, out, console)
    if unbound is not None:
        warning = _(
            "warning: {problem}; the keys were written, but until the first apply binds "
            "them, renaming an object in the ERP or in the policy re-creates it"
        )
        console.print(warning.format(problem=said(unbound)), markup=False, highlight=False)
    return 0


def check_output(out: Path, force: bool) -> None:
    """Refuse a file, and a directory holding more than init's untouched samples unless
    ``force``."""
    if out.exists() and not out.is_dir():
        raise UsageError(N_("{out} exists and is not a directory").format(out=out))
    if out.is_dir() and _holds_more_than_samples(out) and not force:
        raise UsageError(
            N_(
                "{out} is not empty: erpsync import writes a new policy directory; choose an "
                "empty one with --out, or overwrite with --force (files an earlier import "
                "wrote are replaced, other files are kept)"
            ).format(out=out)
        )


def render(imported: Imported, source: Source) -> dict[str, str]:
    """Relative path -> the file's text, header first."""
    header = import_header(source)
    return {path: dump_document(doc, header) for path, doc in imported.files.items()}


def write_files(texts: Mapping[str, str], out: Path) -> list[str]:
    """Write every file (each through a temporary file and a rename); remove the files an
    earlier import wrote that this one does not; return the other policy files found."""
    out.mkdir(parents=True, exist_ok=True)
    kept = []
    for path in _policy_files(out):
        rel = path.relative_to(out).as_posix()
        if rel in texts:
            continue
        if _written_by_import(path) or _init_sample(path, out):
            path.unlink()
            _remove_if_empty(path.parent, out)
        else:
            kept.append(rel)
    for rel, text in texts.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(path)
    return kept


def _policy_files(directory: Path) -> list[Path]:
    """The *.yaml / *.yml files erpsync would read below ``directory`` (no hidden ones)."""
    return sorted(
        p
        for p in directory.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def _holds_more_than_samples(directory: Path) -> bool:
    return any(
        not (p.is_file() and _init_sample(p, directory))
        for p in directory.rglob("*")
        if not p.is_dir() or not any(p.iterdir())
    )


def _init_sample(path: Path, out: Path) -> bool:
    """Whether ``path`` is a sample policy file of ``erpsync init``, as init wrote it."""
    template = "policies/" + path.relative_to(out).as_posix()
    if template not in SAMPLE_TEMPLATES or path.is_symlink():
        return False
    try:
        return path.read_text(encoding="utf-8") == render_template(template)
    except (OSError, UnicodeDecodeError):
        return False


def _remove_if_empty(directory: Path, top: Path) -> None:
    while directory != top and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _written_by_import(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(HEADER_START)) == HEADER_START.encode()


# -- the summary --------------------------------------------------------------------------------


def show_summary(
    imported: Imported,
    texts: Mapping[str, str],
    kept: list[str],
    project: Project,
    target: ResolvedTarget,
    out: Path,
    console: Console,
) -> None:
    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    say(
        _("Imported target {name} ({adapter}, {url}) into {out}:").format(
            name=target.name, adapter=target.adapter, url=target.display_url, out=out
        )
    )
    counts = _(
        "{departments} departments, {users} users, {roles} roles, {modules} modules in {n} files"
    )
    say("  " + counts.format(n=len(texts), **{s: imported.count(s) for s in _SECTIONS}))
    if imported.defaults:
        say(_("Department default roles inferred (not repeated on each member):"))
        defaults = [f"{dept}: {', '.join(roles)}" for dept, roles in imported.defaults.items()]
        _show_list(say, defaults)
    _show_notes(say, _("Left out (erpsync leaves them alone):"), imported.left_out)
    _show_notes(say, _("Written only because managed objects refer to them:"), imported.context)
    warnings = [
        *imported.warnings,
        *(
            N_("{file} was not written by erpsync import and is read with it").format(file=rel)
            for rel in kept
        ),
    ]
    if warnings:
        say(_("Warnings ({n}):").format(n=len(warnings)))
        _show_list(say, [said(w) for w in warnings])
    say("")
    say(_next_step(project, target, out, exact=not warnings))


def _show_notes(say: _Say, title: str, notes: Iterable[Note]) -> None:
    line = _("{kind} {key}: {why}")
    lines = [line.format(kind=_(kind), key=key, why=said(why)) for kind, key, why in notes]
    if lines:
        say(title)
        _show_list(say, lines)


def _show_list(say: _Say, lines: list[str]) -> None:
    for line in lines[:MAX_LISTED]:
        say(f"  - {line}")
    if len(lines) > MAX_LISTED:
        say("  " + _("... and {n} more").format(n=len(lines) - MAX_LISTED))


def _next_step(project: Project, target: ResolvedTarget, out: Path, exact: bool) -> str:
    same = out.resolve() == project.policy_dir_for(target).resolve()
    where = "" if same else _(" (after pointing `policies:` in erpsync.yaml at {out})")
    if exact:
        done = _(
            "Next: review and commit the files; `erpsync plan`{where} should now show no changes."
        )
    else:
        done = _(
            "Next: review and commit the files; `erpsync plan`{where} should now show no "
            "changes except for the warnings above."
        )
    return done.format(where=where.format(out=out))
