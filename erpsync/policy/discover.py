"""Which files below the policy directory are the policy.

Every ``*.yaml`` / ``*.yml`` file below the directory, hidden entries (a name
starting with ``.``) skipped, in a stable order. Policy directories come from
pull requests, so a symbolic link is followed only when it resolves inside the
policy directory: a linked file or directory that resolves anywhere else (or
nowhere) is an error at the link, and nothing behind it is read. Symbolic links
to directories and to files are treated alike; a link back up the tree is not
walked again. A link that stays inside is read like the file or directory it
leads to (so a file reached twice declares its objects twice).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from erpsync import diagnostics as diag
from erpsync.diagnostics import Diagnostic, Position
from erpsync.i18n import N_

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """A policy file: ``path`` as found below the directory (what messages show) and
    ``real``, the file it resolves to, which is what is read."""

    path: Path
    real: Path


def discover(directory: Path) -> tuple[list[PolicyFile], list[Diagnostic]]:
    """The policy files below ``directory``, and an error for each link leading out."""
    if not directory.is_dir():
        missing = diag.error(
            "no-policies", Position(str(directory)), "", N_("policy directory not found")
        )
        return [], [missing]
    root = directory.resolve()
    found: list[PolicyFile] = []
    problems: list[Diagnostic] = []
    _walk(directory, root, root, frozenset({root}), found, problems)
    found.sort(key=lambda f: f.path.relative_to(directory).as_posix())
    return found, problems


def _walk(
    shown_dir: Path,
    real_dir: Path,
    root: Path,
    above: frozenset[Path],
    found: list[PolicyFile],
    problems: list[Diagnostic],
) -> None:
    """Collect the policy files of ``real_dir`` (shown as ``shown_dir``); ``above`` holds
    the real directories on the way down, so that a link back up is not walked again."""
    try:
        entries = sorted(os.scandir(real_dir), key=lambda e: e.name)
    except OSError as exc:
        where = Position(str(shown_dir))
        problems.append(
            diag.error(
                "unreadable", where, "", N_("cannot list: {reason}").format(reason=exc.strerror)
            )
        )
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        shown, real = shown_dir / entry.name, Path(entry.path)
        if entry.is_symlink():
            target = _inside(real, root)
            if target is None:
                if entry.name.endswith(SUFFIXES) or entry.is_dir():
                    problems.append(_outside(shown))
                continue
            real = target
        if real.is_dir():
            if real not in above:  # else a loop of links: its files are found already
                _walk(shown, real, root, above | {real}, found, problems)
        elif entry.name.endswith(SUFFIXES) and real.is_file():
            found.append(PolicyFile(shown, real))


def _inside(link: Path, root: Path) -> Path | None:
    """Where ``link`` resolves, when that exists inside ``root``; else None."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling, or a loop of links
        return None
    return target if target.is_relative_to(root) else None


def _outside(shown: Path) -> Diagnostic:
    return diag.error(
        "symlink",
        Position(str(shown)),
        "",
        N_(
            "a symbolic link that resolves outside the policy directory (or to nothing): "
            "erpsync reads only files inside it; copy the file in, or remove the link"
        ),
    )
