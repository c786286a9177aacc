"""``erpsync ci …``: the steps erpsync's CI runs (see ``erpsync init --ci github|gitlab``).

- ``ci guards PLAN``: check a saved plan against apply's guards, reading the live ERP.
- ``ci plan-comment``: post or update the pull request's one plan comment and its labels.
- ``ci reviewed-plan``: after a merge, find the plan reviewed on the merged pull request.
- ``ci compare-plans REVIEWED NEW``: refuse when the change sets differ.
- ``ci drift-issue REPORT``: open, update or close the one drift issue.
- ``ci audit-anchor``: (GitLab) fetch the audit head the last successful apply kept.

Each step runs for GitHub Actions or GitLab CI (``platform``; by default GitLab when
``GITLAB_CI=true``, else GitHub): what is decided and written is the same, only the
calls differ (:mod:`erpsync.ci.gitlab_flow` holds GitLab's). Each ``run``-style function
returns the exit code; expected failures raise :class:`~erpsync.errors.ErpsyncError`
(exit 1). GitHub is reached with the token in ``GITHUB_TOKEN``, GitLab with
``ERPSYNC_GITLAB_TOKEN`` (else ``CI_JOB_TOKEN``); neither is ever printed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from erpsync import diagnostics as diag
from erpsync import planfile
from erpsync.ci import BOT_LOGIN, GITHUB, GITLAB, plan_compare
from erpsync.ci import drift_issue as issue_logic
from erpsync.ci import sticky_comment as comment_logic
from erpsync.ci.github import GitHub, RunContext, write_outputs
from erpsync.ci.gitlab import GitLab, JobContext
from erpsync.ci.reviewed import check_run, merged_pull, reviewed_plan
from erpsync.commands.apply import read_plan_file
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import GuardError, UsageError
from erpsync.i18n import N_, _, ngettext, number, said

Platform = Literal["github", "gitlab"]
PLATFORMS: tuple[Platform, ...] = ("github", "gitlab")


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def platform_of(explicit: str | None, env: Mapping[str, str] | None = None) -> Platform:
    """``explicit`` when given, else GitLab inside GitLab CI (``GITLAB_CI=true``), else GitHub."""
    if explicit is not None:
        if explicit not in PLATFORMS:
            raise UsageError(
                N_("unknown CI platform {platform} (known: github, gitlab)").format(
                    platform=repr(explicit)
                )
            )
        return "gitlab" if explicit == "gitlab" else "github"
    return "gitlab" if _env(env).get("GITLAB_CI", "").lower() == "true" else "github"


def _error(console: Console, title: str, text: str, platform: Platform) -> None:
    """An error line: a workflow command GitHub annotates, plain text in GitLab's job log;
    ``text`` (English data) said in the language of the run."""
    text = said(text)
    if platform == "github":
        _say(console, f"::error title={title}::{_annotation(text)}")
    else:
        _say(console, f"ERROR {title}: {text}")


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


# -- ci guards -----------------------------------------------------------------------------


def guards(
    project: Project,
    target: ResolvedTarget,
    plan_file: Path,
    report: Path | None,
    allow_mass_removal: bool,
    console: Console,
    platform: Platform = "github",
) -> int:
    """Check ``plan_file`` against the guards apply will check; 1 when one refuses it.

    ``report`` receives ``{"passed": bool, "problems": [...], "live_changed": bool}``
    for ``ci plan-comment``. Guards need the live state (how many users are managed),
    so this reads the ERP, with the same read-only access as ``plan``.
    """
    from erpsync import removals
    from erpsync.adapters import connected
    from erpsync.guards import enforce, verdicts
    from erpsync.scope import Scope

    plan = read_plan_file(plan_file)
    if (plan.target.name, plan.target.adapter) != (target.name, target.adapter):
        raise UsageError(
            N_(
                "{file} is a plan for target {target} ({adapter}), not {wanted} ({wanted_adapter})"
            ).format(
                file=plan_file,
                target=plan.target.name,
                adapter=plan.target.adapter,
                wanted=target.name,
                wanted_adapter=target.adapter,
            )
        )
    settings = project.config.settings
    now = dt.datetime.now(dt.UTC)
    with connected(target) as adapter:
        snapshot = adapter.read()
        scope = Scope.for_adapter(settings, adapter)
        recent = removals.read_recent(adapter, settings.max_removals_window, now, target)
    found = verdicts(plan.changes, plan.unmanaged, snapshot.state, scope, settings, recent)
    problems: list[str] = []
    for verdict in found:
        try:
            enforce([verdict], allow_mass_removal)
        except GuardError as exc:
            problems.append(str(exc))
    live_changed = snapshot.state.digest() != plan.live_digest
    if report is not None:
        result = {"passed": not problems, "problems": problems, "live_changed": live_changed}
        _write(report, json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    for problem in problems:
        _error(console, "erpsync guard", problem, platform)
    if live_changed:
        _say(
            console,
            _("note: the ERP changed since the plan was made; checked against it as now"),
        )
    if problems:
        refused = ngettext(
            "erpsync: {n} guard(s) refuse this plan; apply would too.",
            "erpsync: {n} guard(s) refuse this plan; apply would too.",
            len(problems),
        )
        _say(console, refused.format(n=number(len(problems))))
        return 1
    passed = ngettext(
        "erpsync: the guards pass for the plan's {n} changes.",
        "erpsync: the guards pass for the plan's {n} changes.",
        len(plan.changes),
    )
    _say(console, passed.format(n=f"{len(plan.changes):,}"))
    return 0


def _annotation(text: str) -> str:
    """A workflow-command message: ``%``, CR and LF escaped as GitHub expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


# -- ci plan-comment -----------------------------------------------------------------------


def plan_comment(
    project: Project,
    policy_dir: Path,
    plan_file: Path,
    guards_report: Path | None,
    pull: int | None,
    out: Path | None,
    dry_run: bool,
    console: Console,
    bot: str | None = None,
    env: Mapping[str, str] | None = None,
    today: dt.date | None = None,
    platform: Platform | None = None,
) -> int:
    """Post or update the pull request's plan comment and set its labels (on GitLab: the
    merge request's plan note).

    The verdict is rebuilt from what the earlier steps left: the policy is validated
    again (offline, cheap), ``plan_file`` exists only when the plan step succeeded and
    ``guards_report`` only when the guards ran. ``out`` receives the comment body;
    ``dry_run`` contacts nobody. The pull request is ``pull``, else the event's (on
    GitLab ``CI_MERGE_REQUEST_IID``).
    """
    from erpsync.commands.validate import check

    environ = _env(env)
    where = platform_of(platform, environ)
    if where == "gitlab":
        job = JobContext.from_env(environ)
        number = pull if pull is not None else job.merge_request_iid
        head_sha, run_id, run_url = job.head_sha, job.job_id, job.job_url
        missing = N_("no merge request: give --pr IID or run in a merge request pipeline")
    else:
        context = RunContext.from_env(environ)
        event_pull = context.pull_request()
        number = pull if pull is not None else (event_pull[0] if event_pull else None)
        head_sha = event_pull[1] if event_pull else context.sha
        run_id, run_url = context.run_id, context.run_url
        missing = N_("no pull request: give --pr NUMBER or run on a pull_request event")
    if number is None and not dry_run:
        raise UsageError(missing)
    max_bytes = project.config.settings.max_file_mib * 1024 * 1024
    found, _unused = check(policy_dir, today or dt.date.today(), max_bytes)
    problems = tuple(_problem_line(d) for d in found if d.is_error)
    plan = read_plan_file(plan_file) if plan_file.is_file() and not problems else None
    outcome = comment_logic.Outcome(problems, plan, _guard_problems(guards_report))
    terms = GITLAB if where == "gitlab" else GITHUB
    body = comment_logic.render_body(outcome, head_sha, run_id, run_url, terms=terms)
    labels = comment_logic.wanted_labels(plan)
    if out is not None:
        _write(out, body)
    if dry_run or number is None:
        _said_dry_run(console, outcome.status, body, labels, where)
        return 0
    if where == "gitlab":
        from erpsync.ci import gitlab_flow

        lab = GitLab.from_env(environ, JobContext.from_env(environ))
        kind, change = gitlab_flow.publish_plan(lab, number, body, labels, bot)
        where_said = _("merge request !{iid}").format(iid=number)
        _said_comment(console, kind, where_said, outcome.status, change)
        return 0
    client = GitHub.from_env(environ, RunContext.from_env(environ))
    comments = [comment_logic.Comment.from_api(c) for c in client.issue_comments(number)]
    action = comment_logic.decide_comment(comments, body, bot or BOT_LOGIN)
    if action.kind == "create":
        client.create_comment(number, body)
    elif action.kind == "update" and action.comment_id is not None:
        client.update_comment(action.comment_id, body)
    change = comment_logic.decide_labels(client.issue_labels(number), plan)
    if change.add:
        for name in change.add:
            client.ensure_label(name, *comment_logic.LABEL_STYLE[name])
        client.add_labels(number, list(change.add))
    for name in change.remove:
        client.remove_label(number, name)
    _said_comment(console, action.kind, f"#{number}", outcome.status, change)
    return 0


_NAMES = {"github": "GitHub", "gitlab": "GitLab"}


def _said_dry_run(
    console: Console, status: str, body: str, labels: set[str], where: Platform
) -> None:
    shown = ", ".join(sorted(labels)) or _("none")
    _say(
        console,
        _("Plan comment ({status}, {n} characters, labels: {labels})").format(
            status=status, n=f"{len(body):,}", labels=shown
        ),
    )
    _say(console, _("dry run: {platform} was not contacted.").format(platform=_NAMES[where]))


def _said_comment(
    console: Console, kind: str, where: str, status: str, change: comment_logic.LabelChange
) -> None:
    done = {
        "create": _("Posted the plan comment on {where} (status {status}); labels: {labels}."),
        "update": _("Updated the plan comment on {where} (status {status}); labels: {labels}."),
        "keep": _(
            "Kept (unchanged) the plan comment on {where} (status {status}); labels: {labels}."
        ),
    }[kind]
    edits = [f"+{n}" for n in change.add] + [f"-{n}" for n in change.remove]
    _say(
        console, done.format(where=where, status=status, labels=", ".join(edits) or _("unchanged"))
    )


def _problem_line(d: diag.Diagnostic) -> str:
    """One validation error of the comment (a view), its message in the run's language."""
    message = said(d.message)
    return f"{d.position}: {d.object}: {message}" if d.object else f"{d.position}: {message}"


def _guard_problems(path: Path | None) -> tuple[str, ...]:
    if path is None or not path.is_file():
        return ()
    data = _read_json(path, "guards report")
    problems = data.get("problems") if isinstance(data, dict) else None
    if not isinstance(problems, list):
        raise UsageError(
            N_("{file} is not a guards report of `erpsync ci guards`").format(file=path)
        )
    return tuple(str(p) for p in problems)


# -- ci reviewed-plan ----------------------------------------------------------------------


def reviewed(
    sha: str | None,
    console: Console,
    bot: str | None = None,
    env: Mapping[str, str] | None = None,
    platform: Platform | None = None,
    plan_out: Path = Path("reviewed/plan.json"),
    dotenv: Path = Path("reviewed.env"),
) -> int:
    """Find the plan reviewed on the pull request merged as ``sha`` (default: GITHUB_SHA).

    Sets the step outputs ``pr``, ``head-sha``, ``run-id``, ``artifact`` and
    ``changeset``; raises (exit 1) when no reviewed, applicable plan exists.

    On GitLab (default sha: CI_COMMIT_SHA) it also downloads the reviewed ``plan.json``
    of the plan job the note names to ``plan_out`` (GitLab CI has no download action),
    checks its change set is the note's, and writes ``ERPSYNC_REVIEWED_*`` to the dotenv
    file ``dotenv`` for the job's script.
    """
    environ = _env(env)
    if platform_of(platform, environ) == "gitlab":
        return _reviewed_gitlab(sha, console, bot, environ, plan_out, dotenv)
    bot = bot or BOT_LOGIN
    context = RunContext.from_env(environ)
    commit = sha or context.sha
    if not commit:
        raise UsageError(N_("no commit: give --sha or run inside GitHub Actions (GITHUB_SHA)"))
    client = GitHub.from_env(environ, context)
    pull = merged_pull(client.commit_pulls(commit), commit)
    comments = [comment_logic.Comment.from_api(c) for c in client.issue_comments(pull["number"])]
    found = reviewed_plan(pull, comments, bot)
    check_run(client.workflow_run(int(found.run_id)), found)
    outputs = {
        "pr": str(found.pull),
        "head-sha": found.head_sha,
        "run-id": found.run_id,
        "artifact": found.artifact,
        "changeset": found.changeset,
    }
    if context.output_file is not None:
        write_outputs(context.output_file, outputs)
    _say(
        console,
        _(
            "Reviewed: pull request #{pull}, commit {sha}, plan of workflow run {run}, "
            "change set {changeset}."
        ).format(
            pull=found.pull, sha=found.head_sha[:12], run=found.run_id, changeset=found.changeset
        ),
    )
    return 0


def _reviewed_gitlab(
    sha: str | None,
    console: Console,
    bot: str | None,
    environ: Mapping[str, str],
    plan_out: Path,
    dotenv: Path,
) -> int:
    from erpsync.ci import gitlab_flow

    job = JobContext.from_env(environ)
    commit = sha or job.sha
    if not commit:
        raise UsageError(N_("no commit: give --sha or run inside GitLab CI (CI_COMMIT_SHA)"))
    client = GitLab.from_env(environ, job)
    found = gitlab_flow.find_reviewed(client, commit, bot, plan_out)
    gitlab_flow.write_dotenv(
        dotenv,
        {
            "ERPSYNC_REVIEWED_MR": str(found.pull),
            "ERPSYNC_REVIEWED_HEAD_SHA": found.head_sha,
            "ERPSYNC_REVIEWED_JOB": found.run_id,
            "ERPSYNC_REVIEWED_CHANGESET": found.changeset,
        },
    )
    _say(
        console,
        _(
            "Reviewed: merge request !{pull}, commit {sha}, plan of job {job} (saved as "
            "{file}), change set {changeset}."
        ).format(
            pull=found.pull,
            sha=found.head_sha[:12],
            job=found.run_id,
            file=plan_out,
            changeset=found.changeset,
        ),
    )
    return 0


# -- ci audit-anchor -----------------------------------------------------------------------


def audit_anchor(
    out: Path,
    ref: str | None,
    job_name: str,
    console: Console,
    env: Mapping[str, str] | None = None,
    platform: Platform | None = None,
) -> int:
    """Write the audit head the last successful apply job kept to ``out`` (GitLab only).

    Only a job of a *push* pipeline on the default branch (``ref``, default
    CI_DEFAULT_BRANCH) counts. Without one (the first apply, or its artifacts expired)
    nothing is written and a warning says so: the job then verifies the hash chain only.
    """
    from erpsync.ci import gitlab_flow

    environ = _env(env)
    if platform_of(platform, environ) != "gitlab":
        raise UsageError(
            N_(
                "ci audit-anchor is for GitLab CI; the GitHub apply workflow downloads the "
                "erpsync-audit artifact of its last successful run"
            )
        )
    job = JobContext.from_env(environ)
    client = GitLab.from_env(environ, job)
    found = gitlab_flow.last_anchor(client, ref or job.default_branch, job_name)
    if found is None:
        _say(
            console,
            _(
                "WARNING erpsync: no audit anchor from an earlier successful apply (first "
                "run, or its artifacts expired): verifying the hash chain only"
            ),
        )
        return 0
    anchor, job_id = found
    _write(out, anchor + "\n")
    _say(console, _("audit anchor of job {job}: {anchor}").format(job=job_id, anchor=anchor))
    return 0


# -- ci compare-plans ----------------------------------------------------------------------


def compare_plans(
    reviewed_file: Path,
    new_file: Path,
    expect_changeset: str | None,
    console: Console,
    platform: Platform = "github",
) -> int:
    """0 when ``new_file`` makes exactly the change set of ``reviewed_file``, else 1.

    ``expect_changeset`` (from the pull request's comment) must be the reviewed file's
    digest: it proves the file is the plan the reviewers saw.
    """
    old, new = read_plan_file(reviewed_file), read_plan_file(new_file)
    digest = plan_compare.changeset_digest(old)
    if expect_changeset and digest != expect_changeset:
        _error(
            console,
            "erpsync",
            N_(
                "{file} has change set {digest}, but the pull request's comment shows "
                "{expected}; refusing to apply."
            ).format(file=reviewed_file, digest=digest, expected=expect_changeset),
            platform,
        )
        return 1
    result = plan_compare.compare(old, new)
    if result.same:
        _say(
            console,
            _("The new plan makes exactly the reviewed change set ({n} changes, {digest}).").format(
                n=f"{len(new.changes):,}", digest=digest
            ),
        )
        return 0
    _error(
        console,
        "erpsync",
        N_(
            "the new plan differs from the reviewed one in {n} changes; nothing was applied. "
            "Review the change in a new pull request."
        ).format(n=f"{result.count:,}"),
        platform,
    )
    for line in plan_compare.describe(result):
        _say(console, f"  {line}")
    return 1


# -- ci drift-issue ------------------------------------------------------------------------


def drift_issue(
    report_file: Path,
    markdown_out: Path | None,
    html_out: Path | None,
    dry_run: bool,
    console: Console,
    bot: str | None = None,
    env: Mapping[str, str] | None = None,
    platform: Platform | None = None,
) -> int:
    """Open, update or close the drift issue after ``erpsync drift --format json``.

    Also renders the report's Markdown and HTML views from the same JSON (one read of
    the ERP for all three). 0 whether or not there is drift: the issue is the signal.
    """
    report = _read_json(report_file, "drift report")
    if not isinstance(report, dict) or report.get("report") != "drift":
        raise UsageError(
            N_("{file} is not a report of `erpsync drift --format json`").format(file=report_file)
        )
    if markdown_out is not None:
        from erpsync.render.drift_markdown import markdown_view

        _write(markdown_out, markdown_view(report))
    if html_out is not None:
        from erpsync.render.drift_html import html_view

        _write(html_out, html_view(report))
    environ = _env(env)
    where = platform_of(platform, environ)
    drifting = issue_logic.has_drift(report)
    if dry_run:
        dry = (
            _("Drift; dry run: {platform} was not contacted.")
            if drifting
            else _("No drift; dry run: {platform} was not contacted.")
        )
        _say(console, dry.format(platform=_NAMES[where]))
        return 0
    if where == "gitlab":
        return _drift_issue_gitlab(report, console, bot, environ)
    context = RunContext.from_env(environ)
    client = GitHub.from_env(environ, context)
    issues = [issue_logic.Issue.from_api(i) for i in client.issues(issue_logic.LABEL)]
    action = issue_logic.decide_issue(issues, report, context.run_url, bot or BOT_LOGIN)
    if action.kind == "create":
        client.ensure_label(issue_logic.LABEL, *issue_logic.LABEL_STYLE)
        created = client.create_issue(action.title, action.body, [issue_logic.LABEL])
        _say(console, _issue_said("create", created.get("number")))
    elif action.kind == "update" and action.number is not None:
        client.update_issue(action.number, title=action.title, body=action.body)
        _say(console, _issue_said("update", action.number))
    elif action.kind == "close" and action.number is not None:
        client.create_comment(action.number, action.body)
        client.update_issue(action.number, state="closed", state_reason="completed")
        _say(console, _issue_said("close", action.number))
    elif action.kind == "keep":
        _say(console, _issue_said("keep", action.number))
    else:
        _say(console, _issue_said("none", None))
    return 0


def _issue_said(kind: str, number: object) -> str:
    """What ``ci drift-issue`` did to the issue, in the language of the run."""
    said_as = {
        "create": _("Drift: opened issue #{number}."),
        "update": _("Drift: updated issue #{number}."),
        "close": _("No drift: closed issue #{number}."),
        "keep": _("Drift unchanged: issue #{number} is up to date."),
        "none": _("No drift, and no drift issue is open."),
    }
    return said_as[kind].format(number=number)


def _drift_issue_gitlab(
    report: Mapping[str, Any], console: Console, bot: str | None, environ: Mapping[str, str]
) -> int:
    from erpsync.ci import gitlab_flow

    job = JobContext.from_env(environ)
    client = GitLab.from_env(environ, job)
    action, iid = gitlab_flow.publish_drift(client, report, job.job_url, bot)
    _say(console, _issue_said(action.kind, iid))
    return 0


# -- files ---------------------------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    return planfile.read_json(path, what)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
