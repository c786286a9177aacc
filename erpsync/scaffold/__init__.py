"""The files ``erpsync init`` writes: a policy repository that works from the first commit.

The templates are package data in ``templates/`` (plain files, readable as they will be
written). The only substitutions are ``@@NAME@@`` placeholders (:data:`PLACEHOLDERS`):
workflow files are full of ``${{ … }}``, which a template engine would fight over.

:func:`scaffold` never overwrites a file that differs from its template unless told to
(``force``); a file that already equals its template is left alone either way, so
running ``init`` twice changes nothing.

The workflows use a *copy* of the composite action in ``.github/actions/erpsync`` rather
than ``uses:`` of the one the erpsync repository publishes: the repository then pins the
erpsync version it runs in a file its owners review, needs no third-party action beyond
GitHub's own, and keeps working if the erpsync repository moves.

``ci="gitlab"`` writes one ``.gitlab-ci.yml`` with the same three flows instead of the
workflows and the action, and a README that speaks of merge requests and CI/CD variables;
the policy, erpsync.yaml, pre-commit and .gitignore are the same for both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from erpsync import __version__
from erpsync.errors import ISSUES_URL, UsageError
from erpsync.i18n import N_
from erpsync.scaffold.target_config import TargetConfig

REPOSITORY_URL = ISSUES_URL.removesuffix("/issues")
PLACEHOLDERS = {
    "@@ERPSYNC_VERSION@@": __version__,
    "@@ERPSYNC_REPOSITORY@@": REPOSITORY_URL,
}

CI = Literal["github", "gitlab"]
CI_SYSTEMS: tuple[CI, ...] = ("github", "gitlab")

# (template below templates/, path written below the new repository), in writing order.
FILES: tuple[tuple[str, str], ...] = (
    ("erpsync.yaml", "erpsync.yaml"),
    ("policies/catalog.yaml", "policies/catalog.yaml"),
    ("policies/departments.yaml", "policies/departments.yaml"),
    ("policies/roles.yaml", "policies/roles.yaml"),
    ("policies/users/finance.yaml", "policies/users/finance.yaml"),
    ("policies/users/sales.yaml", "policies/users/sales.yaml"),
    ("policies/sod.yaml", "policies/sod.yaml"),
    ("github/workflows/erpsync-plan.yml", ".github/workflows/erpsync-plan.yml"),
    ("github/workflows/erpsync-apply.yml", ".github/workflows/erpsync-apply.yml"),
    ("github/workflows/erpsync-drift.yml", ".github/workflows/erpsync-drift.yml"),
    ("github/actions/erpsync/action.yml", ".github/actions/erpsync/action.yml"),
    ("pre-commit-config.yaml", ".pre-commit-config.yaml"),
    ("gitignore", ".gitignore"),
    ("README.md", "README.md"),
)
# What `init --ci gitlab` writes: the same without GitHub's files, with .gitlab-ci.yml.
GITLAB_FILES: tuple[tuple[str, str], ...] = (
    *((t, r) for t, r in FILES if not t.startswith("github/") and t != "README.md"),
    ("gitlab/gitlab-ci.yml", ".gitlab-ci.yml"),
    ("gitlab/README.md", "README.md"),
)


def files_for(ci: CI) -> tuple[tuple[str, str], ...]:
    """The (template, written path) pairs of ``ci``: ``github`` or ``gitlab``."""
    if ci not in CI_SYSTEMS:
        raise UsageError(
            N_("--ci {ci}: unknown (known: {known})").format(ci=ci, known=", ".join(CI_SYSTEMS))
        )
    return GITLAB_FILES if ci == "gitlab" else FILES


def render(template: str) -> str:
    """The text of one template with its placeholders filled in."""
    text = resources.files(__package__).joinpath("templates", template).read_text("utf-8")
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text


@dataclass
class Written:
    """What :func:`scaffold` did with each file (paths relative to the directory)."""

    created: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already equal to the template
    skipped: list[str] = field(default_factory=list)  # differs; kept because not forced


SAMPLES = "policies/"  # the sample policy, in the reference ERP's words


def scaffold(
    directory: Path,
    force: bool = False,
    config: TargetConfig | None = None,
    ci: CI = "github",
) -> Written:
    """Write the policy repository into ``directory``; see the module docstring. With
    ``config`` (``init --adapter/--url``), its erpsync.yaml replaces the sample one, and
    the sample policy is left out unless the adapter is the reference ERP's: the policy
    of a real ERP is written by ``erpsync import``, into an empty ``policies/``. ``ci``
    chooses the CI files: GitHub's workflows or GitLab's ``.gitlab-ci.yml``."""
    written = Written()
    planned = [
        (relative, directory / relative, render(template))
        for template, relative in files_for(ci)
        if config is None or config.samples or not relative.startswith(SAMPLES)
    ]
    if config is not None:
        planned = [
            (rel, path, config.text if rel == "erpsync.yaml" else text)
            for rel, path, text in planned
        ]
    for relative, path, _ in planned:  # check everything before writing anything
        if path.is_dir() or any(p.exists() and not p.is_dir() for p in _parents(path, directory)):
            raise UsageError(
                N_("cannot write {path}: a directory or file is in the way").format(path=relative)
            )
    for relative, path, text in planned:
        if path.is_file() or path.is_symlink():
            current = _read(path)
            if current == text:
                written.unchanged.append(relative)
                continue
            if not force:
                written.skipped.append(relative)
                continue
            written.overwritten.append(relative)
        else:
            written.created.append(relative)
        _write(path, text)
    return written


def _parents(path: Path, top: Path) -> list[Path]:
    """The directories between ``top`` (excluded) and ``path`` (excluded)."""
    relative = path.relative_to(top)
    return [top / Path(*relative.parts[:i]) for i in range(1, len(relative.parts))]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a symlink is replaced, not followed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.erpsync-init.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
