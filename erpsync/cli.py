"""The command line: arguments in, one call, an exit code out. No logic lives here.

Exit codes (spec section 4): 0 success / no changes; 1 an expected error,
nothing changed; 2 changes exist (plan --detailed-exitcode, drift); 3 a bug;
130 interrupted. Expected errors print one clear message, no traceback
(``-v`` shows it).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import gc
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
from rich.console import Console

from erpsync import __version__, diagnostics, secrets
from erpsync.cli_help import (
    Group,
    early_language,
    route_click,
    settings_language,
    show_click_error,
)
from erpsync.commands import catalog as catalog_cmd
from erpsync.commands import plan as plan_cmd
from erpsync.commands import validate as validate_cmd
from erpsync.config import Project, ResolvedTarget, load_project
from erpsync.errors import ISSUES_URL, ConfigError, ErpsyncError, PolicyError, UsageError
from erpsync.i18n import N_, _, said

if TYPE_CHECKING:
    from erpsync.notify import Notifier

EXIT_INTERRUPTED = 130


@dataclass
class Options:
    """Global options, filled by the group callback and read by every command."""

    config: Path | None = None
    target: str | None = None
    db: str | None = None
    no_color: bool = False
    verbose: int = 0
    lang: str | None = None

    def project(self) -> Project:
        project = load_project(self.config)
        if self.lang is None and project.config.settings.language is not None:
            from erpsync import i18n

            i18n.configure(None, project.config.settings.language)
        return project

    def console(self, stderr: bool = False) -> Console:
        no_color = self.no_color or bool(os.environ.get("NO_COLOR"))
        return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True)


pass_options = click.make_pass_decorator(Options)
route_click()  # click's own words ("Usage:", its errors) in the run's language


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=N_("Permissions-as-code for ERP systems: validate, plan, apply and drift."),
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("erpsync.yaml to use (default: found by walking up from the cwd)."),
)
@click.option("--target", help=N_("Target from erpsync.yaml (default: default_target)."))
@click.option("--db", metavar="URL", help=N_("Database URL; overrides the target's url."))
@click.option("--no-color", is_flag=True, help=N_("No colour (also NO_COLOR)."))
@click.option("-v", "--verbose", count=True, help=N_("More detail; tracebacks on errors."))
@click.option("-q", "--quiet", count=True, help=N_("Less output."))
@click.option(
    "--lang",
    type=click.Choice(("en", "zh-CN")),
    help=N_(
        "Language of the output for people (default: settings.language, else the locale: "
        "LANG=zh_CN.UTF-8 gives Chinese). JSON never changes."
    ),
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: _show_version(ctx, value),
    help=N_("Show the version and exit."),
)
@click.pass_context
def cli(
    ctx: click.Context,
    config: Path | None,
    target: str | None,
    db: str | None,
    no_color: bool,
    verbose: int,
    quiet: int,
    lang: str | None,
) -> None:
    from erpsync import i18n

    options = ctx.ensure_object(Options)
    options.config, options.target, options.db = config, target, db
    options.no_color, options.verbose = no_color, verbose - quiet
    options.lang = lang
    i18n.configure(lang, None if lang else settings_language(config))


def _show_version(ctx: click.Context, wanted: bool) -> None:
    """``--version``: the version, in the run's language, then exit."""
    if wanted and not ctx.resilient_parsing:
        click.echo(_("%(prog)s, version %(version)s") % {"prog": "erpsync", "version": __version__})
        ctx.exit()


@cli.command(
    help=N_(
        "Check the policy (no database needed). DIRECTORY defaults to the target's policies/.\n"
        "\n"
        "With an erpsync.yaml, also checks that the target's adapter can store what the policy\n"
        "uses (departments, data scopes ...), as plan does. Without --target, when targets have\n"
        "policy directories of their own, checks each directory once for the adapters using it."
    )
)
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(validate_cmd.FORMATS), default="text", show_default=True
)
@click.option("--target", "target_name", help=N_("Target from erpsync.yaml whose adapter to suit."))
@pass_options
def validate(options: Options, directory: Path | None, fmt: str, target_name: str | None) -> None:
    project = options.project()
    name = target_name or options.target
    if directory is None and name is None and project.has_target_policies():
        groups = [(_relative(d), a) for d, a in validate_cmd.directories(project)]
    else:
        path = directory or _relative(project.policy_dir_for(name))
        groups = [(path, validate_cmd.target_adapters(project, name, options.db))]
    code = validate_cmd.run_many(
        groups,
        fmt,
        options.console(),
        dt.date.today(),
        project.config.settings.max_file_mib * 1024 * 1024,
        project.config.settings,
    )
    raise SystemExit(code)


ALL_TARGETS_HELP = N_("Every target of erpsync.yaml, concurrently, as one result.")
NOTIFY_HELP = N_(
    "Post a short summary to NAME from settings.notify.destinations (a DingTalk, WeCom "
    "or Feishu group robot, or a webhook); repeatable."
)
JOBS_HELP = N_("With --all-targets: targets run at once (default: the CPUs, at most 4).")


def _all_targets_only(
    options: Options, target_name: str | None, jobs: int | None, all_targets: bool
) -> None:
    """Refuse options that contradict --all-targets (or need it)."""
    if all_targets and (target_name or options.target or options.db):
        raise UsageError(N_("--all-targets runs every target: leave out --target and --db"))
    if jobs is not None and not all_targets:
        raise UsageError(N_("--jobs goes with --all-targets"))


@cli.command(
    help=N_(
        "Show what apply would change in the live ERP (in every ERP: --all-targets).\n"
        "\n"
        "With --all-targets the exit code is 1 when any target failed, else 2 when any has\n"
        "changes and --detailed-exitcode is given, else 0."
    )
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help=N_(
        "Save the plan (JSON) for `erpsync apply FILE`; with --all-targets, a directory "
        "that gets DIR/<target>.json."
    ),
)
@click.option(
    "--format", "fmt", type=click.Choice(plan_cmd.FORMATS), default="text", show_default=True
)
@click.option("--detailed-exitcode", is_flag=True, help=N_("Exit 2 when there are changes."))
@click.option("--target", "target_name", help=N_("Target from erpsync.yaml."))
@click.option("--all-targets", is_flag=True, help=ALL_TARGETS_HELP)
@click.option("--jobs", type=click.IntRange(min=1), help=JOBS_HELP)
@pass_options
def plan(
    options: Options,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    target_name: str | None,
    all_targets: bool,
    jobs: int | None,
) -> None:
    _all_targets_only(options, target_name, jobs, all_targets)
    project = options.project()
    if all_targets:
        from erpsync.all_targets import default_jobs
        from erpsync.commands import all_targets as all_cmd

        console = options.console()
        jobs = jobs or default_jobs()
        raise SystemExit(
            all_cmd.plan(project, fmt, out, detailed_exitcode, jobs, console, _dirs(project))
        )
    if out is not None and out.is_dir():
        raise UsageError(
            N_("--out {out} is a directory; name the plan file to write").format(out=out)
        )
    target = project.target(target_name or options.target, options.db)
    code = plan_cmd.run(
        project,
        target,
        _relative(project.policy_dir_for(target)),
        fmt,
        out,
        detailed_exitcode,
        options.console(),
    )
    raise SystemExit(code)


@cli.command(help=N_("Write the live ERP's module/action catalogue."))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Where to write (default: catalog.yaml in the policy directory)."),
)
@pass_options
def catalog(options: Options, out: Path | None) -> None:
    project = options.project()
    target = project.target(options.target, options.db)
    path = out or _relative(project.policy_dir_for(target)) / "catalog.yaml"
    raise SystemExit(catalog_cmd.run(target, path, options.console()))


@cli.command(help=N_("Make the live ERP match the policy (or apply exactly the saved PLAN_FILE)."))
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help=N_("Do not ask for confirmation (CI)."))
@click.option("--allow-mass-removal", is_flag=True, help=N_("Override settings.max_removals."))
@click.option(
    "--lock-timeout",
    type=float,
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help=N_(
        "How long to wait for another apply to finish, and for each row another session holds."
    ),
)
@click.option("--target", "target_name", help=N_("Target from erpsync.yaml."))
@pass_options
def apply(
    options: Options,
    plan_file: Path | None,
    auto_approve: bool,
    allow_mass_removal: bool,
    lock_timeout: float,
    target_name: str | None,
) -> None:
    from erpsync.apply import ApplyOptions
    from erpsync.commands import apply as apply_cmd

    project = options.project()
    target = project.target(target_name or options.target, options.db)
    apply_options = ApplyOptions(lock_timeout=lock_timeout, allow_mass_removal=allow_mass_removal)
    code = apply_cmd.run(
        project,
        target,
        _relative(project.policy_dir_for(target)),
        plan_file,
        auto_approve,
        apply_options,
        options.console(),
    )
    raise SystemExit(code)


@cli.command("force-unlock", help=N_("Remove a stale apply lock left by a crashed erpsync."))
@click.option("--yes", is_flag=True, help=N_("Do not ask for confirmation."))
@pass_options
def force_unlock(options: Options, yes: bool) -> None:
    from erpsync.commands import audit as audit_cmd

    project = options.project()
    target = project.target(options.target, options.db)
    raise SystemExit(audit_cmd.force_unlock(target, yes, options.console()))


@cli.group("audit", help=N_("The hash-chained record of every apply."))
def audit_group() -> None:
    pass


@audit_group.command("log", help=N_("List the applies recorded for the target."))
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json", "csv")), default="text", show_default=True
)
@click.option(
    "--since", metavar="WHEN", help=N_("Only applies at or after a date or ISO time (UTC).")
)
@click.option("--until", metavar="WHEN", help=N_("Only applies before; a date includes its day."))
@click.option("--actor", help=N_("Only applies by this actor."))
@click.option(
    "--object",
    "obj",
    metavar="[KIND:]KEY",
    help=N_("Only changes to this object, e.g. li.na, user:li.na, role:ap-clerk."),
)
@pass_options
def audit_log(
    options: Options,
    fmt: str,
    since: str | None,
    until: str | None,
    actor: str | None,
    obj: str | None,
) -> None:
    from erpsync import audit_view
    from erpsync.commands import audit as audit_cmd

    filters = audit_view.Filters.parse(since, until, actor, obj)
    target = options.project().target(options.target, options.db)
    raise SystemExit(audit_cmd.log(target, options.console(), fmt, filters))


@audit_group.command(
    "show", help=N_("Show one apply: who, when, which commit, every change with before and after.")
)
@click.argument("record_id", type=int)
@pass_options
def audit_show(options: Options, record_id: int) -> None:
    from erpsync.commands import audit as audit_cmd

    target = options.project().target(options.target, options.db)
    raise SystemExit(audit_cmd.show(target, record_id, options.console()))


@audit_group.command(
    "verify",
    help=N_("Check the hash chain (edited, deleted, reordered records) and print the head."),
)
@click.option(
    "--expect-head",
    metavar="ID:HASH",
    help=N_("An anchor kept from apply or `audit head`: also detect truncation and rewrites."),
)
@click.option(
    "--against",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("An `audit export` file: every record in it must be live and identical."),
)
@pass_options
def audit_verify(options: Options, expect_head: str | None, against: Path | None) -> None:
    from erpsync.commands import audit as audit_cmd

    target = options.project().target(options.target, options.db)
    raise SystemExit(audit_cmd.verify(target, options.console(), expect_head, against))


@audit_group.command(
    "head", help=N_("Print the anchor (ID:HASH of the newest record) of a trail that verifies.")
)
@pass_options
def audit_head(options: Options) -> None:
    from erpsync.commands import audit as audit_cmd

    target = options.project().target(options.target, options.db)
    raise SystemExit(audit_cmd.head(target, options.console()))


@audit_group.command(
    "export", help=N_("Write every record as JSON Lines, to keep in git or write-once storage.")
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Write to FILE (default: standard output)."),
)
@pass_options
def audit_export(options: Options, output: Path | None) -> None:
    from erpsync.commands import audit as audit_cmd

    target = options.project().target(options.target, options.db)
    raise SystemExit(audit_cmd.export(target, output, options.console()))


@audit_group.command(
    "revert", help=N_("Plan the inverse of an applied change set against today's live ERP.")
)
@click.argument("record_id", type=int)
@click.option(
    "--format", "fmt", type=click.Choice(plan_cmd.FORMATS), default="text", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help=N_("Save the plan."))
@pass_options
def audit_revert(options: Options, record_id: int, fmt: str, out: Path | None) -> None:
    from erpsync.commands import audit as audit_cmd

    project = options.project()
    target = project.target(options.target, options.db)
    raise SystemExit(audit_cmd.revert(project, target, record_id, fmt, out, options.console()))


@cli.command(
    "import", help=N_("Write policies from the live ERP (the first step of adopting erpsync).")
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=N_("Directory to write (default: the configured policy directory)."),
)
@click.option(
    "--force", is_flag=True, help=N_("Overwrite policy files written by an earlier import.")
)
@pass_options
def import_(options: Options, out: Path | None, force: bool) -> None:
    from erpsync.commands import import_cmd

    project = options.project()
    target = project.target(options.target, options.db)
    path = out or _relative(project.policy_dir_for(target))
    raise SystemExit(import_cmd.run(project, target, path, force, options.console()))


@cli.command(
    help=N_(
        "Report out-of-band changes, SoD violations and expired access (exit 2 on drift).\n"
        "\n"
        "With --all-targets the exit code is 1 when any target failed, else 2 when any has\n"
        "drift, else 0. With --notify, a failed post exits 1 after the report is written."
    )
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "markdown", "html")),
    default="text",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help=N_("Write to FILE; with --all-targets, a directory that gets DIR/<target>.<ext>."),
)
@click.option("--all-targets", is_flag=True, help=ALL_TARGETS_HELP)
@click.option("--jobs", type=click.IntRange(min=1), help=JOBS_HELP)
@click.option("--notify", "notify", multiple=True, metavar="NAME", help=NOTIFY_HELP)
@pass_options
def drift(
    options: Options,
    fmt: str,
    out: Path | None,
    all_targets: bool,
    jobs: int | None,
    notify: tuple[str, ...],
) -> None:
    from erpsync.commands import drift as drift_cmd

    _all_targets_only(options, None, jobs, all_targets)
    project = options.project()
    notifier = notifier_for(options, project, notify)
    if all_targets:
        from erpsync.all_targets import default_jobs
        from erpsync.commands import all_targets as all_cmd

        jobs = jobs or default_jobs()
        console = options.console()
        code = all_cmd.drift(project, fmt, out, jobs, console, _dirs(project), notifier)
        raise SystemExit(code)
    if out is not None and out.is_dir():
        raise UsageError(
            N_("--out {out} is a directory; name the report file to write").format(out=out)
        )
    target = project.target(options.target, options.db)
    policy_dir = _relative(project.policy_dir_for(target))
    raise SystemExit(
        drift_cmd.run(project, target, policy_dir, fmt, out, options.console(), notifier)
    )


DESIRED_HELP = N_("The policy's view instead of the live ERP's (no database needed).")


@cli.group(help=N_("Effective access of one user or role, with where each permission comes from."))
def show() -> None:
    pass


@show.command("user", help=N_("Effective access of the user LOGIN."))
@click.argument("login")
@click.option("--desired", is_flag=True, help=DESIRED_HELP)
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
@pass_options
def show_user(options: Options, login: str, desired: bool, fmt: str) -> None:
    from erpsync.commands import show as show_cmd

    project, target = _project_and_target(options, desired)
    raise SystemExit(
        show_cmd.user(
            project, target, _policy_dir(options, project), login, desired, fmt, options.console()
        )
    )


@show.command("role", help=N_("Permissions of the role KEY (own and included) and who holds it."))
@click.argument("key")
@click.option("--desired", is_flag=True, help=DESIRED_HELP)
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
@pass_options
def show_role(options: Options, key: str, desired: bool, fmt: str) -> None:
    from erpsync.commands import show as show_cmd

    project, target = _project_and_target(options, desired)
    raise SystemExit(
        show_cmd.role(
            project, target, _policy_dir(options, project), key, desired, fmt, options.console()
        )
    )


@cli.command(
    "who-can",
    help=N_(
        "Every user holding MODULE:ACTION, and through which path.\n"
        "\n"
        "The permission is in the ERP's own words; the action follows the last ':'\n"
        "(RuoYi's system:user:add is module system:user, action add)."
    ),
)
@click.argument("permission", metavar="MODULE:ACTION")
@click.option("--desired", is_flag=True, help=DESIRED_HELP)
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
@pass_options
def who_can(options: Options, permission: str, desired: bool, fmt: str) -> None:
    from erpsync.commands import show as show_cmd

    project, target = _project_and_target(options, desired)
    raise SystemExit(
        show_cmd.who_can(
            project,
            target,
            _policy_dir(options, project),
            permission,
            desired,
            fmt,
            options.console(),
        )
    )


@cli.command(
    help=N_(
        "Reports auditors ask for: access (user x permission), sod, expiring, dormant,\n"
        "review (an access review's evidence)."
    )
)
@click.argument("kind", type=click.Choice(("access", "sod", "expiring", "dormant", "review")))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "csv", "json", "html")),
    default="text",
    show_default=True,
)
@click.option(
    "--days",
    type=int,
    help=N_(
        "expiring: how far ahead to look (default 30); dormant: days without a sign-in "
        "(default 90)."
    ),
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help=N_("Write to FILE."))
@click.option("--desired", is_flag=True, help=DESIRED_HELP)
@click.option(
    "--propose",
    is_flag=True,
    help=N_(
        "dormant: write expires: (today, or --expires) for each dormant user into the "
        "policy files, comments and layout kept, for review."
    ),
)
@click.option(
    "--expires",
    "expires_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help=N_("With --propose: the expiry date written (YYYY-MM-DD)."),
)
@click.option("--deactivate", is_flag=True, help=N_("With --propose: write active: false instead."))
@click.option("--campaign", help=N_("review: the campaign (default: the latest)."))
@pass_options
def report(
    options: Options,
    kind: str,
    fmt: str,
    days: int | None,
    out: Path | None,
    desired: bool,
    propose: bool,
    expires_on: dt.datetime | None,
    deactivate: bool,
    campaign: str | None,
) -> None:
    from erpsync.commands import report as report_cmd

    if (expires_on or deactivate) and not propose:
        raise UsageError(N_("--expires and --deactivate go with --propose"))
    if expires_on and deactivate:
        raise UsageError(N_("give --expires or --deactivate, not both"))
    wanted = (
        report_cmd.Propose(expires_on.date() if expires_on else None, deactivate)
        if propose
        else None
    )
    project, target = _project_and_target(options, desired)
    raise SystemExit(
        report_cmd.run(
            project,
            target,
            _policy_dir(options, project),
            kind,
            fmt,
            days,
            out,
            desired,
            options.console(),
            propose=wanted,
            campaign=campaign,
        )
    )


@cli.command(
    help=N_("Check connectivity, schema, erpsync's tables, lock, audit chain and last apply.")
)
@pass_options
def doctor(options: Options) -> None:
    from erpsync.commands import doctor as doctor_cmd

    raise SystemExit(doctor_cmd.run(options.config, options.target, options.db, options.console()))


def _project_and_target(options: Options, desired: bool) -> tuple[Project, ResolvedTarget | None]:
    project = options.project()
    if desired and not options.db and not options.target:
        return project, None
    return project, project.target(options.target, options.db)


@cli.group(help=N_("The reference ERP: erpsync's own schema for in-house ERPs and the demo."))
def refdb() -> None:
    pass


@refdb.command("init", help=N_("Create the reference ERP schema and its catalogue at URL."))
@click.argument("url")
@click.option("--sample", is_flag=True, help=N_("Load the demo company's as-is live state."))
@pass_options
def refdb_init(options: Options, url: str, sample: bool) -> None:
    from erpsync.adapters.reference.database import init_database

    options.console().print(said(init_database(url, sample)), markup=False)


@cli.command(help=N_("Create a sample ERP on SQLite and show the plan that brings it in line."))
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
    help=N_("Where to create the demo ERP."),
)
@pass_options
def demo(options: Options, directory: Path) -> None:
    from erpsync.commands import demo as demo_cmd

    project = options.project()
    policies = _relative(project.policy_dir_for(options.target))
    raise SystemExit(demo_cmd.run(project, policies, directory, options.console()))


def notifier_for(options: Options, project: Project, names: tuple[str, ...]) -> Notifier | None:
    """The destinations ``--notify`` names (checked now, before any work), or None."""
    if not names:
        return None
    from erpsync.notify import Notifier

    return Notifier(project.config.settings.notify, names, options.console(stderr=True))


def _policy_dir(options: Options, project: Project) -> Path:
    """The policy directory of the target the global options name (or the default one)."""
    return _relative(project.policy_dir_for(options.target))


def _dirs(project: Project) -> Callable[[ResolvedTarget], Path]:
    """A target's policy directory as the single-target commands name it."""
    return lambda target: _relative(project.policy_dir_for(target))


def _relative(path: Path) -> Path:
    """``path`` relative to the cwd when it lies below it, for shorter messages."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


# Commands defined in their own modules register themselves on `cli` when imported.
from erpsync import cli_ci, cli_review  # noqa: E402, F401


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``erpsync`` command; returns the exit code."""
    options = Options()
    secrets.forget()
    # A command is one short-lived pass over up to millions of small objects that form no
    # reference cycles; the cyclic collector would only rescan them (2.5-3.6x slower plans,
    # docs/benchmarks.md). Reference counting still frees everything.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(argv, options)
    finally:
        if collecting:
            gc.enable()


def script() -> NoReturn:
    """The ``erpsync`` executable and ``python -m erpsync``: :func:`main`, then end the
    process at once, as mypy does. Its output is flushed, its files and database
    connections are closed, and the ``atexit`` handlers (coverage, logging) run; what is
    skipped is tearing down the interpreter, which frees every module and object one by
    one (0.05 s of planning 10,000 users) just before the kernel drops the memory."""
    code = main()
    try:
        if sys.stdout is not None:  # None when the command ran with stdout closed
            sys.stdout.flush()
    except OSError as exc:  # a full disk, or a reader that went away: output is missing
        if not isinstance(exc, BrokenPipeError):  # (`| head`: no one to tell)
            with contextlib.suppress(OSError, AttributeError):
                message = _("error: cannot write the output: {cause}").format(
                    cause=exc.strerror or exc
                )
                sys.stderr.write(message + "\n")
        code = output_failed(code)
    with contextlib.suppress(OSError, AttributeError):
        sys.stderr.flush()
    atexit._run_exitfuncs()  # what interpreter shutdown would have run first
    os._exit(code)


def output_failed(code: int) -> int:
    """The exit code when the output could not be written: a failure (1), unless the
    command had already failed otherwise; "no changes" (0) and "changes" (2) both
    promised an output the reader did not get."""
    return 1 if code in (0, 2) else code


def _run(argv: list[str] | None, options: Options) -> int:
    early_language(sys.argv[1:] if argv is None else argv)  # --help is shown while parsing
    try:
        cli.main(args=argv, prog_name="erpsync", standalone_mode=False, obj=options)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except click.exceptions.Abort:
        _err(options, _("interrupted"))
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        show_click_error(exc)
        return 1
    except KeyboardInterrupt:
        _err(options, _("interrupted"))
        return EXIT_INTERRUPTED
    except PolicyError as exc:
        _err(options, diagnostics.to_text(exc.diagnostics).rstrip())
        _err(options, _("error: {message}; nothing was changed").format(message=said(str(exc))))
        return exc.exit_code
    except ErpsyncError as exc:
        if options.verbose > 0:
            traceback.print_exc()
        if isinstance(exc, ConfigError) and exc.diagnostics:  # each problem said on its own
            shown = diagnostics.to_text(exc.diagnostics).rstrip()
            _err(options, _("error: invalid configuration:") + "\n" + shown)
            return exc.exit_code
        _err(options, _("error: {message}").format(message=said(str(exc))))
        return exc.exit_code
    except BrokenPipeError:  # the reader stopped reading (`| head`): nothing to tell it
        return output_failed(0)
    except OSError as exc:  # the machine's, not erpsync's: a full disk, a closed terminal
        message = _("error: {message}").format(message=exc.strerror or exc)
        _err(options, message + (f": {exc.filename}" if exc.filename else ""))
        return 1
    except Exception as exc:
        if options.verbose > 0:
            traceback.print_exc()
        failed = _database_failure(exc)
        if failed is not None:
            _err(
                options,
                _("error: the database failed: {cause}; nothing was changed").format(
                    cause=said(failed)
                ),
            )
            return 1
        where = traceback.extract_tb(sys.exc_info()[2])[-1]
        internal = _(
            "internal error in erpsync {version} ({where}): {exception}\n"
            "This is a bug; please report it at {url} (run with -v for details)."
        )
        at = f"{Path(where.filename).name}:{where.lineno}"
        shown = repr(sys.exc_info()[1])
        _err(
            options, internal.format(version=__version__, where=at, exception=shown, url=ISSUES_URL)
        )
        return 3
    return 0


def _database_failure(exc: BaseException) -> str | None:
    """:func:`erpsync.connect.database_failure`, without loading SQLAlchemy for a command
    that never used it."""
    if "sqlalchemy.exc" not in sys.modules:
        return None
    from erpsync.connect import database_failure

    return database_failure(exc)


def _err(options: Options, message: str) -> None:
    """Print an error; a secret a message quotes by mistake is hidden (the last line of
    defence: messages are written without secrets)."""
    shown = secrets.redact(message, secrets.remembered())
    options.console(stderr=True).print(shown, markup=False, style="red")
