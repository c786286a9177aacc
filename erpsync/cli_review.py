"""Command-line wiring of access reviews: ``erpsync review start|status|close``
(see :mod:`erpsync.commands.review`). Arguments in, one call, an exit code out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from erpsync.cli import NOTIFY_HELP, Options, _policy_dir, cli, notifier_for, pass_options
from erpsync.i18n import N_

SHEET = click.Path(exists=True, dir_okay=False, path_type=Path)


@cli.group(
    help=N_("Access certification campaigns: reviewers confirm or revoke their people's access.")
)
def review() -> None:
    pass


@review.command("start", help=N_("Open a campaign: one sheet per reviewer, from the live ERP."))
@click.option(
    "--scope",
    "kind",
    type=click.Choice(("department", "role")),
    default="department",
    show_default=True,
    help=N_("department: each person's manager reviews them; role: each role's owner."),
)
@click.option("--due", type=click.DateTime(formats=["%Y-%m-%d"]), help=N_("Due date (YYYY-MM-DD)."))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reviews"),
    show_default=True,
    help=N_("Where the campaign's folder of sheets is written."),
)
@click.option(
    "--format",
    "formats",
    default="xlsx,csv,html",
    show_default=True,
    help=N_("Sheet formats, comma-separated."),
)
@pass_options
def review_start(
    options: Options, kind: str, due: dt.datetime | None, out_dir: Path, formats: str
) -> None:
    from erpsync.commands import review as review_cmd

    project = options.project()
    target = project.target(options.target, options.db)
    raise SystemExit(
        review_cmd.start(
            project,
            target,
            _policy_dir(options, project),
            kind,
            due.date() if due else None,
            out_dir,
            [f.strip() for f in formats.split(",") if f.strip()],
            options.console(),
        )
    )


@review.command(
    "status",
    help=N_("Progress per reviewer, from the returned SHEETS (default: the campaign's folder)."),
)
@click.argument("sheets", nargs=-1, type=SHEET)
@click.option("--campaign", help=N_("The campaign (default: the latest)."))
@click.option("--notify", "notify", multiple=True, metavar="NAME", help=NOTIFY_HELP)
@pass_options
def review_status(
    options: Options, sheets: tuple[Path, ...], campaign: str | None, notify: tuple[str, ...]
) -> None:
    from erpsync.commands import review as review_cmd

    project = options.project()
    notifier = notifier_for(options, project, notify)
    target = project.target(options.target, options.db)
    raise SystemExit(
        review_cmd.status(project, target, campaign, sheets, options.console(), notify=notifier)
    )


@review.command(
    "close",
    help=N_("Record the decisions of the filled SHEETS and write them into the policy files."),
)
@click.argument("sheets", nargs=-1, type=SHEET)
@click.option("--campaign", help=N_("The campaign (default: the latest)."))
@click.option(
    "--pr-body",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Write the pull request's description to FILE (default: print it)."),
)
@pass_options
def review_close(
    options: Options, sheets: tuple[Path, ...], campaign: str | None, pr_body: Path | None
) -> None:
    from erpsync.commands import review as review_cmd

    project = options.project()
    target = project.target(options.target, options.db)
    raise SystemExit(
        review_cmd.close(
            project,
            target,
            _policy_dir(options, project),
            campaign,
            sheets,
            pr_body,
            options.console(),
        )
    )
