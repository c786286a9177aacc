"""``erpsync init [--adapter NAME] [--url URL] [--ci github|gitlab] [--force]``: scaffold
a policy repository.

Writes erpsync.yaml, a small example policy, the plan/apply/drift workflows with their
composite action (``--ci gitlab``: one ``.gitlab-ci.yml`` with the same three jobs), a
pre-commit configuration and a README (:mod:`erpsync.scaffold`).
An existing file that differs from its template is skipped unless ``--force``; the
command lists what it created, overwrote, skipped and found already in place.

With ``--adapter`` other than ``reference``, erpsync.yaml has that one target (at
``--url``, its password replaced by an environment variable) and no example policy is
written: it is in the reference ERP's words, and ``erpsync import`` writes the real one.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from erpsync.adapters import ADAPTERS
from erpsync.errors import UsageError
from erpsync.scaffold import CI_SYSTEMS, Written, scaffold
from erpsync.scaffold.target_config import TargetConfig, target_config

NEXT_STEPS = (
    "erpsync validate                       # the example policy is valid",
    "erpsync refdb init sqlite:///erp.db    # a local reference ERP to try plans on",
    "erpsync plan",
)


IMPORT_STEPS = (
    "erpsync import                         # write policies/ from the live ERP",
    "erpsync validate && erpsync plan       # valid, and no changes: the policy is the ERP",
)


def run(
    directory: Path,
    force: bool,
    console: Console,
    adapter: str | None = None,
    url: str | None = None,
    ci: str = "github",
) -> int:
    """Scaffold ``directory`` (created if missing); 0 also when every file was skipped."""
    if ci not in CI_SYSTEMS:
        raise UsageError(f"--ci {ci}: unknown (known: {', '.join(CI_SYSTEMS)})")
    config = None
    if adapter is not None or url is not None:
        name = adapter or "reference"
        if name not in ADAPTERS:
            raise UsageError(f"--adapter {name}: unknown (known: {', '.join(sorted(ADAPTERS))})")
        config = target_config(name, url)
    written = scaffold(directory, force, config, "gitlab" if ci == "gitlab" else "github")
    say = console.print
    for label, paths in (
        ("created", written.created),
        ("overwritten", written.overwritten),
        ("already up to date", written.unchanged),
        ("skipped (exists and differs; --force overwrites)", written.skipped),
    ):
        for path in paths:
            say(f"  {label}: {path}", markup=False, highlight=False)
    say(_summary(written), markup=False, highlight=False)
    if written.created or written.overwritten:
        say("\nNext:", markup=False)
        for step in _next_steps(config):
            say(f"  {step}", markup=False, highlight=False)
        secrets = "CI/CD variables" if ci == "gitlab" else "secrets"
        say(
            f"Then set up the {secrets} and branch protection as README.md describes.",
            markup=False,
        )
    return 0


def _next_steps(config: TargetConfig | None) -> tuple[str, ...]:
    if config is None or (config.samples and config.password_variable is None):
        return NEXT_STEPS
    steps: tuple[str, ...] = IMPORT_STEPS if not config.samples else NEXT_STEPS[:1] + NEXT_STEPS[2:]
    if config.password_variable:
        export = f"export {config.password_variable}=...".ljust(38)
        steps = (f"{export} # the database password; erpsync.yaml reads it from there", *steps)
    return steps


def _summary(written: Written) -> str:
    changed = len(written.created) + len(written.overwritten)
    if not changed:
        skipped, unchanged = len(written.skipped), len(written.unchanged)
        return f"Nothing written: {skipped} skipped, {unchanged} up to date."
    parts = [f"{len(written.created)} created"]
    if written.overwritten:
        parts.append(f"{len(written.overwritten)} overwritten")
    if written.skipped:
        parts.append(f"{len(written.skipped)} skipped")
    return f"Scaffolded an erpsync policy repository: {', '.join(parts)}."
