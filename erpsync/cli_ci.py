"""Command-line wiring of the repository scaffolding and the CI steps: ``erpsync init``,
``erpsync codeowners`` and the ``erpsync ci …`` steps the generated workflows run.

Kept apart from :mod:`erpsync.cli` (which imports this module to register them) so each
file stays readable; the same rule applies: arguments in, one call, an exit code out.
"""

from __future__ import annotations

from pathlib import Path

import click

from erpsync.cli import Options, _policy_dir, cli, pass_options
from erpsync.i18n import N_

FILE = click.Path(dir_okay=False, path_type=Path)
PLATFORM = click.option(
    "--platform",
    type=click.Choice(("github", "gitlab")),
    help=N_("The CI system to talk to (default: gitlab when GITLAB_CI=true, else github)."),
)
BOT = click.option(
    "--bot",
    help=N_(
        "Who erpsync's own comments are by (default: github-actions[bot] on GitHub, "
        "the token's user on GitLab)."
    ),
)


@cli.command(
    "init",
    help=N_("Scaffold a policy repository: erpsync.yaml, policies/, CI pipelines, pre-commit."),
)
@click.argument(
    "directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--force", is_flag=True, help=N_("Overwrite files that differ from erpsync's templates.")
)
@click.option(
    "--adapter",
    help=N_(
        "The ERP to adopt (reference, ruoyi, tryton): its target only, and no example "
        "policy unless reference; `erpsync import` writes the policy."
    ),
)
@click.option(
    "--url", metavar="URL", help=N_("Its database URL; a password in it goes to an env variable.")
)
@click.option(
    "--ci",
    "ci_system",
    type=click.Choice(("github", "gitlab")),
    default="github",
    show_default=True,
    help=N_("The CI to write: GitHub Actions workflows, or one .gitlab-ci.yml."),
)
@pass_options
def init(
    options: Options,
    directory: Path,
    force: bool,
    adapter: str | None,
    url: str | None,
    ci_system: str,
) -> None:
    from erpsync.commands import init_cmd

    raise SystemExit(init_cmd.run(directory, force, options.console(), adapter, url, ci_system))


@cli.command(
    help=N_(
        "Write the CODEOWNERS section: each policy file goes to the owners of what it declares."
    )
)
@click.option(
    "--out",
    type=FILE,
    help=N_("CODEOWNERS to write (default: the one GitHub reads, else .github/CODEOWNERS)."),
)
@click.option("--check", is_flag=True, help=N_("Only check that it is up to date (exit 1 if not)."))
@pass_options
def codeowners(options: Options, out: Path | None, check: bool) -> None:
    from erpsync.commands import codeowners as codeowners_cmd

    project = options.project()
    raise SystemExit(
        codeowners_cmd.run(project, _policy_dir(options, project), out, check, options.console())
    )


@cli.group(
    help=N_("Steps of the GitHub workflows or the .gitlab-ci.yml that `erpsync init` writes.")
)
def ci() -> None:
    pass


@ci.command("guards", help=N_("Check a saved plan against apply's guards (reads the live ERP)."))
@click.argument("plan_file", type=FILE)
@click.option("--report", type=FILE, help=N_("Write the result as JSON, for `ci plan-comment`."))
@click.option("--allow-mass-removal", is_flag=True, help=N_("Do not check settings.max_removals."))
@PLATFORM
@pass_options
def ci_guards(
    options: Options,
    plan_file: Path,
    report: Path | None,
    allow_mass_removal: bool,
    platform: str | None,
) -> None:
    from erpsync.commands import ci_cmd

    project = options.project()
    target = project.target(options.target, options.db)
    where = ci_cmd.platform_of(platform)
    raise SystemExit(
        ci_cmd.guards(
            project, target, plan_file, report, allow_mass_removal, options.console(), where
        )
    )


@ci.command(
    "plan-comment",
    help=N_(
        "Post or update the pull request's plan comment (GitLab: merge request note) and labels."
    ),
)
@click.option("--plan", "plan_file", type=FILE, default=Path("plan.json"), show_default=True)
@click.option(
    "--guards", "guards_report", type=FILE, help=N_("The report of `ci guards --report`.")
)
@click.option(
    "--pr",
    "pull",
    type=int,
    help=N_(
        "Pull request number / merge request IID (default: the event's, CI_MERGE_REQUEST_IID)."
    ),
)
@click.option("--out", type=FILE, help=N_("Also write the comment to FILE."))
@click.option("--dry-run", is_flag=True, help=N_("Do not contact GitHub or GitLab."))
@BOT
@PLATFORM
@pass_options
def ci_plan_comment(
    options: Options,
    plan_file: Path,
    guards_report: Path | None,
    pull: int | None,
    out: Path | None,
    dry_run: bool,
    bot: str | None,
    platform: str | None,
) -> None:
    from erpsync.commands import ci_cmd

    project = options.project()
    raise SystemExit(
        ci_cmd.plan_comment(
            project,
            _policy_dir(options, project),
            plan_file,
            guards_report,
            pull,
            out,
            dry_run,
            options.console(),
            bot,
            platform=ci_cmd.platform_of(platform),
        )
    )


@ci.command(
    "reviewed-plan",
    help=N_("Find the plan reviewed on the pull request merged as the pushed commit."),
)
@click.option("--sha", help=N_("The pushed commit (default: GITHUB_SHA, CI_COMMIT_SHA)."))
@click.option(
    "--plan-out",
    type=FILE,
    default=Path("reviewed/plan.json"),
    show_default=True,
    help=N_("GitLab: where the reviewed plan is downloaded."),
)
@click.option(
    "--dotenv",
    type=FILE,
    default=Path("reviewed.env"),
    show_default=True,
    help=N_("GitLab: the ERPSYNC_REVIEWED_* variables for the job's script."),
)
@BOT
@PLATFORM
@pass_options
def ci_reviewed_plan(
    options: Options,
    sha: str | None,
    plan_out: Path,
    dotenv: Path,
    bot: str | None,
    platform: str | None,
) -> None:
    from erpsync.commands import ci_cmd

    where = ci_cmd.platform_of(platform)
    raise SystemExit(ci_cmd.reviewed(sha, options.console(), bot, None, where, plan_out, dotenv))


@ci.command(
    "audit-anchor", help=N_("GitLab: fetch the audit head kept by the last successful apply job.")
)
@click.option("--out", type=FILE, required=True, help=N_("Where to write the anchor (ID:HASH)."))
@click.option("--ref", help=N_("The branch applies run on (default: CI_DEFAULT_BRANCH)."))
@click.option("--job", "job_name", default="erpsync-apply", show_default=True)
@PLATFORM
@pass_options
def ci_audit_anchor(
    options: Options, out: Path, ref: str | None, job_name: str, platform: str | None
) -> None:
    from erpsync.commands import ci_cmd

    where = ci_cmd.platform_of(platform)
    raise SystemExit(ci_cmd.audit_anchor(out, ref, job_name, options.console(), None, where))


@ci.command("compare-plans", help=N_("Exit 1 unless NEW makes exactly the change set of REVIEWED."))
@click.argument("reviewed", type=FILE)
@click.argument("new", type=FILE)
@click.option("--expect-changeset", metavar="DIGEST", help=N_("The reviewed change set's digest."))
@PLATFORM
@pass_options
def ci_compare_plans(
    options: Options,
    reviewed: Path,
    new: Path,
    expect_changeset: str | None,
    platform: str | None,
) -> None:
    from erpsync.commands import ci_cmd

    where = ci_cmd.platform_of(platform)
    raise SystemExit(
        ci_cmd.compare_plans(reviewed, new, expect_changeset, options.console(), where)
    )


@ci.command(
    "drift-issue",
    help=N_("Open, update or close the drift issue after `erpsync drift --format json`."),
)
@click.argument("report", type=FILE)
@click.option("--markdown", type=FILE, help=N_("Also write the Markdown report."))
@click.option("--html", type=FILE, help=N_("Also write the HTML report."))
@click.option("--dry-run", is_flag=True, help=N_("Do not contact GitHub or GitLab."))
@BOT
@PLATFORM
@pass_options
def ci_drift_issue(
    options: Options,
    report: Path,
    markdown: Path | None,
    html: Path | None,
    dry_run: bool,
    bot: str | None,
    platform: str | None,
) -> None:
    from erpsync.commands import ci_cmd

    where = ci_cmd.platform_of(platform)
    raise SystemExit(
        ci_cmd.drift_issue(report, markdown, html, dry_run, options.console(), bot, platform=where)
    )
