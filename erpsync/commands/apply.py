"""``erpsync apply [PLANFILE]``: make the live ERP match, exactly as reviewed."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, TaskID

from erpsync import audit, audit_anchor, planfile
from erpsync.adapters import connected
from erpsync.apply import ApplyOptions, ApplyResult, check_origin, execute
from erpsync.commands import plan as plan_cmd
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import UsageError
from erpsync.i18n import N_, _, said
from erpsync.plan import Plan
from erpsync.policy.loader import load_policy


def read_plan_file(path: Path) -> Plan:
    """The saved plan in ``path``, read within the limits of :mod:`erpsync.planfile`."""
    return planfile.read_plan(path)


def confirm(plan: Plan, target: ResolvedTarget, console: Console) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            N_(
                "refusing to ask for confirmation: standard input is not a terminal; "
                "use --auto-approve (CI) or apply a reviewed plan file"
            )
        )
    question = _("Apply these {n} changes to target {target} ({url})? Only 'yes' is accepted.")
    console.print(
        "\n" + question.format(n=len(plan.changes), target=target.name, url=target.display_url)
    )
    answer: str = click.prompt(_("Enter a value"), default="", show_default=False)
    return answer.strip() == "yes"


class ProgressBar:
    """A bar for long applies, on a terminal only; fed batch by batch by the adapter."""

    MIN_CHANGES = 200

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def start(self, total: int) -> None:
        if self.console.is_terminal and total >= self.MIN_CHANGES and self.bar is None:
            self.bar = Progress(console=self.console, transient=True)
            self.task = self.bar.add_task(_("Applying (one transaction)"), total=total)
            self.bar.start()

    def __call__(self, done: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task, done)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run(
    project: Project,
    target: ResolvedTarget,
    policy_dir: Path,
    plan_file: Path | None,
    auto_approve: bool,
    options: ApplyOptions,
    console: Console,
) -> int:
    settings = project.config.settings
    loaded = load_policy(policy_dir, settings.max_file_mib * 1024 * 1024)
    plan = None
    if plan_file is not None:
        plan = read_plan_file(plan_file)
        check_origin(plan, target)

    bar = ProgressBar(console)

    def review(made: Plan) -> bool:
        plan_cmd.show(made.to_dict(), "text", console)
        approved = auto_approve or confirm(made, target, console)
        if approved:
            bar.start(len(made.changes))
        return approved

    git_commit, git_branch = audit.git_info(policy_dir)
    options = ApplyOptions(
        options.lock_timeout, options.allow_mass_removal, audit.actor(), git_commit, git_branch
    )
    if plan is not None:
        bar.start(len(plan.changes))
    try:
        with connected(target) as adapter:
            result = execute(adapter, target, loaded, settings, options, plan, review, bar)
    finally:
        bar.stop()
    if result.cancelled:
        console.print(_("Apply cancelled; nothing was changed."))
        return 1
    if not result.applied:
        console.print(_("No changes. The ERP already matches the policy; nothing was applied."))
        return 0
    report(result, console)
    return 0


def report(result: ApplyResult, console: Console) -> None:
    record = result.record
    ref = _(" (audit record #{id})").format(id=record.id) if record else ""
    done = _("Apply complete: {n} changes committed in one transaction{ref}.")
    console.print(done.format(n=result.applied, ref=ref), markup=False)
    if record is not None:
        anchor = audit_anchor.of(record)
        kept = _(
            "Audit record #{id} · head {anchor}\n  Keep this anchor outside the database: "
            "`erpsync audit verify --expect-head {anchor}` then detects deleted or rewritten "
            "records."
        )
        console.print(kept.format(id=record.id, anchor=anchor), markup=False)
    for note in result.notes:
        console.print(f"  {said(note)}")
