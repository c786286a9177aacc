"""``erpsync codeowners``: write the CODEOWNERS section that routes each policy file's
review to the owners of the departments and roles it declares (:mod:`erpsync.codeowners`).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from erpsync import codeowners
from erpsync.config import Project
from erpsync.errors import PolicyError
from erpsync.i18n import _, ngettext, number, said
from erpsync.policy.loader import load_policy


def run(project: Project, policy_dir: Path, out: Path | None, check: bool, console: Console) -> int:
    """Write (or with ``check``, only compare) the section in ``out``.

    ``out`` defaults to the CODEOWNERS GitHub reads in the project's directory
    (``.github/CODEOWNERS`` when there is none yet). With ``check``: 0 when the file is
    up to date, 1 when it is not; nothing is written.
    """
    path = out or codeowners.default_path(project.root)
    loaded = load_policy(policy_dir, project.config.settings.max_file_mib * 1024 * 1024)
    section = codeowners.build(loaded, codeowners.repository_root(path))
    if section.problems:
        raise PolicyError(section.problems)
    for warning in section.warnings:
        console.print(
            _("warning: {message}").format(message=said(warning)),
            markup=False,
            style="yellow",
            soft_wrap=True,
        )
    existing = path.read_text(encoding="utf-8") if path.is_file() else None
    if existing is None and not section.rules:
        console.print(_("No department or role declares owners; no CODEOWNERS to write."))
        return 0
    text = codeowners.merge(existing, codeowners.render(section.rules))
    if check:
        if text == existing:
            console.print(
                ngettext(
                    "{path} is up to date ({n} policy file).",
                    "{path} is up to date ({n} policy files).",
                    len(section.rules),
                ).format(path=path, n=number(len(section.rules))),
                markup=False,
            )
            return 0
        console.print(
            _("{path} is out of date: run `erpsync codeowners` and commit it.").format(path=path),
            markup=False,
            style="red",
        )
        return 1
    if text == existing:
        console.print(
            ngettext(
                "{path} is already up to date ({n} policy file).",
                "{path} is already up to date ({n} policy files).",
                len(section.rules),
            ).format(path=path, n=number(len(section.rules))),
            markup=False,
        )
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    console.print(
        ngettext(
            "Wrote the erpsync section of {path}: {n} policy file with owners.",
            "Wrote the erpsync section of {path}: {n} policy files with owners.",
            len(section.rules),
        ).format(path=path, n=number(len(section.rules))),
        markup=False,
    )
    return 0
