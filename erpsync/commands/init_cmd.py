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
from erpsync.i18n import N_, _
from erpsync.scaffold import CI_SYSTEMS, Written, scaffold
from erpsync.scaffold.target_config import TargetConfig, target_config

# (command, why) of the steps after ``erpsync init``; the command column is 38 wide
NEXT_STEPS = (
    ("erpsync validate", N_("the example policy is valid")),
    ("erpsync refdb init sqlite:///erp.db", N_("a local reference ERP to try plans on")),
    ("erpsync plan", None),
)


IMPORT_STEPS = (
    ("erpsync import", N_("write policies/ from the live ERP")),
    ("erpsync validate && erpsync plan", N_("valid, and no changes: the policy is the ERP")),
)

Step = tuple[str, str | None]


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
        known = ", ".join(CI_SYSTEMS)
        raise UsageError(N_("--ci {ci}: unknown (known: {known})").format(ci=ci, known=known))
    config = None
    if adapter is not None or url is not None:
        name = adapter or "reference"
        if name not in ADAPTERS:
            known = ", ".join(sorted(ADAPTERS))
            raise UsageError(
                N_("--adapter {name}: unknown (known: {known})").format(name=name, known=known)
            )
        config = target_config(name, url)
    written = scaffold(directory, force, config, "gitlab" if ci == "gitlab" else "github")
    say = console.print
    for label, paths in (
        (N_("created: {path}"), written.created),
        (N_("overwritten: {path}"), written.overwritten),
        (N_("already up to date: {path}"), written.unchanged),
        (N_("skipped (exists and differs; --force overwrites): {path}"), written.skipped),
    ):
        for path in paths:
            say("  " + _(label).format(path=path), markup=False, highlight=False)
    say(_summary(written), markup=False, highlight=False)
    if written.created or written.overwritten:
        say("\n" + _("Next:"), markup=False)
        for step in _next_steps(config):
            say(f"  {_step_line(step)}", markup=False, highlight=False)
        then = (
            _("Then set up the CI/CD variables and branch protection as README.md describes.")
            if ci == "gitlab"
            else _("Then set up the secrets and branch protection as README.md describes.")
        )
        say(then, markup=False)
    return 0


def _step_line(step: Step) -> str:
    command, why = step
    return command if why is None else f"{command.ljust(38)} # {_(why)}"


def _next_steps(config: TargetConfig | None) -> tuple[Step, ...]:
    if config is None or (config.samples and config.password_variable is None):
        return NEXT_STEPS
    steps: tuple[Step, ...] = (
        IMPORT_STEPS if not config.samples else NEXT_STEPS[:1] + NEXT_STEPS[2:]
    )
    if config.password_variable:
        export = f"export {config.password_variable}=..."
        steps = ((export, N_("the database password; erpsync.yaml reads it from there")), *steps)
    return steps


def _summary(written: Written) -> str:
    changed = len(written.created) + len(written.overwritten)
    if not changed:
        skipped, unchanged = len(written.skipped), len(written.unchanged)
        return _("Nothing written: {skipped} skipped, {unchanged} up to date.").format(
            skipped=skipped, unchanged=unchanged
        )
    summary = {
        (False, False): N_("Scaffolded an erpsync policy repository: {created} created."),
        (True, False): N_(
            "Scaffolded an erpsync policy repository: {created} created, {overwritten} overwritten."
        ),
        (False, True): N_(
            "Scaffolded an erpsync policy repository: {created} created, {skipped} skipped."
        ),
        (True, True): N_(
            "Scaffolded an erpsync policy repository: {created} created, "
            "{overwritten} overwritten, {skipped} skipped."
        ),
    }[(bool(written.overwritten), bool(written.skipped))]
    return _(summary).format(
        created=len(written.created),
        overwritten=len(written.overwritten),
        skipped=len(written.skipped),
    )
