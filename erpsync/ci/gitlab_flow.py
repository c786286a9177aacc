"""The GitLab side of erpsync's three CI flows: what the ``erpsync ci …`` steps do when
they run in GitLab CI rather than GitHub Actions.

The decisions are the platform-independent ones of :mod:`erpsync.ci.sticky_comment`,
:mod:`erpsync.ci.drift_issue` and :mod:`erpsync.ci.reviewed` (the same markers, bodies
and refusals); here GitLab's objects are read into their shapes and the calls made:

- the plan: ONE merge-request note, created then updated in place, and the
  ``removes access`` / ``no changes`` labels of the merge request;
- the apply: the merge request merged as the pushed commit, its erpsync note, the plan
  job the note names (for the merge request's last commit, successful), and that job's
  ``plan.json``, whose change set must be the one the note shows;
- the drift: ONE issue labelled ``erpsync drift`` per target, closed with a note;
- the audit anchor: ``audit/audit-anchor.txt`` of the newest successful apply job of a
  *push* pipeline on the default branch (a merge request's pipeline could forge one).

Only notes and issues written by the token's own user count, as on GitHub.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from erpsync.ci import GITLAB
from erpsync.ci import drift_issue as issue_logic
from erpsync.ci import sticky_comment as comment_logic
from erpsync.ci.gitlab import TOKEN_VARIABLE, GitLab, GitLabError
from erpsync.ci.plan_compare import changeset_digest
from erpsync.ci.reviewed import NotReviewed, Reviewed, check_run, merged_pull, reviewed_plan
from erpsync.errors import UsageError
from erpsync.i18n import N_

PLAN_FILE = "plan.json"  # the plan job's artifact the apply job downloads
APPLY_JOB = "erpsync-apply"
ANCHOR_FILE = "audit/audit-anchor.txt"
ANCHOR_PIPELINES = 20  # how many recent successful push pipelines are searched
_SAFE_VALUE = re.compile(r"\A[A-Za-z0-9:._-]*\Z")


def bot_of(client: GitLab, bot: str | None) -> str:
    """``bot`` as given, else the username of the token's user (GitLab names project
    access tokens' bot users ``project_<id>_bot_<hash>``: nothing to hard-code)."""
    if bot:
        return bot
    if client.header == "JOB-TOKEN":
        raise UsageError(
            N_(
                "CI_JOB_TOKEN may not write notes or issues: set the CI/CD variable {variable} "
                "to a project access token (role Reporter, scope api)"
            ).format(variable=TOKEN_VARIABLE)
        )
    name = client.current_user().get("username")
    if not isinstance(name, str) or not name:
        raise GitLabError(N_("GitLab API GET /user: no username in the answer"))
    return name


def _author(data: Mapping[str, Any]) -> str:
    author = data.get("author")
    name = author.get("username") if isinstance(author, Mapping) else None
    return str(name or "")


def comments_of(notes: Iterable[Mapping[str, Any]]) -> list[comment_logic.Comment]:
    """Merge-request notes as comments; GitLab's system notes ("added 1 commit") left out."""
    return [
        comment_logic.Comment(int(n["id"]), str(n.get("body") or ""), _author(n))
        for n in notes
        if not n.get("system")
    ]


def issues_of(found: Iterable[Mapping[str, Any]]) -> list[issue_logic.Issue]:
    """GitLab issues (numbered by ``iid``, text in ``description``) as drift issues."""
    return [
        issue_logic.Issue(
            int(i["iid"]), str(i.get("title") or ""), str(i.get("description") or ""), _author(i)
        )
        for i in found
    ]


def as_pull(request: Mapping[str, Any]) -> dict[str, Any]:
    """A merge request in the shape :mod:`erpsync.ci.reviewed` reads.

    The commit a merge puts on the target branch is its merge commit; without one (a
    fast-forward merge) the squash commit, else the merge request's own last commit.
    """
    merged = request.get("state") == "merged"
    landed = (
        request.get("merge_commit_sha") or request.get("squash_commit_sha") or request.get("sha")
    )
    return {
        "number": request.get("iid"),
        "merged_at": (request.get("merged_at") or "merged") if merged else None,
        "merge_commit_sha": landed if merged else None,
        "head": {"sha": request.get("sha") or ""},
    }


# -- the plan ------------------------------------------------------------------------------


def publish_plan(
    client: GitLab, iid: int, body: str, plan_labels: set[str], bot: str | None
) -> tuple[str, comment_logic.LabelChange]:
    """Create, update or keep the merge request's plan note and set erpsync's labels;
    ``(create|update|keep, the label change)``."""
    author = bot_of(client, bot)
    notes = comments_of(client.merge_request_notes(iid))
    action = comment_logic.decide_comment(notes, body, author)
    if action.kind == "create":
        client.create_merge_request_note(iid, body)
    elif action.kind == "update" and action.comment_id is not None:
        client.update_merge_request_note(iid, action.comment_id, body)
    current = client.merge_request(iid).get("labels") or []
    change = _label_change([str(name) for name in current], plan_labels)
    for name in change.add:
        client.ensure_label(name, *comment_logic.LABEL_STYLE[name])
    if change.add or change.remove:
        client.edit_merge_request_labels(iid, list(change.add), list(change.remove))
    return action.kind, change


def _label_change(current: list[str], wanted: set[str]) -> comment_logic.LabelChange:
    have = {name.casefold(): name for name in current}
    add = tuple(sorted(n for n in wanted if n.casefold() not in have))
    remove = tuple(
        sorted(
            have[n.casefold()]
            for n in comment_logic.LABELS
            if n not in wanted and n.casefold() in have
        )
    )
    return comment_logic.LabelChange(add, remove)


# -- the apply -----------------------------------------------------------------------------


def find_reviewed(client: GitLab, sha: str, bot: str | None, plan_out: Path) -> Reviewed:
    """The plan reviewed on the merge request merged as ``sha``, its ``plan.json`` written
    to ``plan_out``; raises :class:`NotReviewed` (apply refuses) when there is none."""
    author = bot_of(client, bot)
    pulls = [as_pull(r) for r in client.commit_merge_requests(sha)]
    pull = merged_pull(pulls, sha, GITLAB)
    iid = int(pull["number"])
    found = reviewed_plan(pull, comments_of(client.merge_request_notes(iid)), author, GITLAB)
    job = client.job(int(found.run_id))
    commit = job.get("commit")
    head = commit.get("id") if isinstance(commit, Mapping) else None
    check_run({"head_sha": head}, found, GITLAB)
    if job.get("status") != "success":
        raise NotReviewed(
            N_(
                "plan job {job} of merge request !{iid} did not succeed (status {status}): its "
                "plan is not a reviewed one"
            ).format(job=found.run_id, iid=iid, status=job.get("status"))
        )
    try:
        data = client.job_artifact(int(found.run_id), PLAN_FILE)
    except GitLabError as exc:
        if exc.status != 404:
            raise
        raise NotReviewed(
            N_(
                "plan job {job} of merge request !{iid} kept no {file} (expired? keep the plan "
                "artifact longer than a merge request stays open)"
            ).format(job=found.run_id, iid=iid, file=PLAN_FILE)
        ) from None
    plan_out.parent.mkdir(parents=True, exist_ok=True)
    plan_out.write_bytes(data)
    from erpsync.planfile import read_plan

    digest = changeset_digest(read_plan(plan_out))
    if digest != found.changeset:
        raise NotReviewed(
            N_(
                "the {file} of plan job {job} has change set {digest}, but the note on merge "
                "request !{iid} shows {changeset}: refusing to apply"
            ).format(
                file=PLAN_FILE, job=found.run_id, digest=digest, iid=iid, changeset=found.changeset
            )
        )
    return found


def write_dotenv(path: Path, values: Mapping[str, str]) -> None:
    """``NAME=value`` lines a job script can source (GitLab's dotenv report format); only
    values that are safe unquoted in a shell are written."""
    for name, value in values.items():
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name) or not _SAFE_VALUE.match(value):
            raise ValueError(f"unsafe dotenv entry {name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")


def last_anchor(client: GitLab, ref: str, job_name: str = APPLY_JOB) -> tuple[str, str] | None:
    """``(anchor, job id)``: the audit head kept by the newest successful ``job_name`` of
    a push pipeline on ``ref``; None when no such job kept one (first run, or expired)."""
    if not ref:
        raise UsageError(N_("no branch: give --ref or run inside GitLab CI (CI_DEFAULT_BRANCH)"))
    for pipeline in client.pipelines(ref, "push", "success", ANCHOR_PIPELINES):
        for job in client.pipeline_jobs(int(pipeline["id"]), "success"):
            if job.get("name") != job_name:
                continue
            try:
                text = client.job_artifact(int(job["id"]), ANCHOR_FILE).decode("utf-8")
            except GitLabError as exc:
                if exc.status == 404:
                    return None  # the newest apply's artifacts expired: older ones too
                raise
            except UnicodeDecodeError:
                raise GitLabError(
                    N_("job {job}: {file} is not text").format(job=job["id"], file=ANCHOR_FILE)
                ) from None
            anchor = text.strip()
            if not _SAFE_VALUE.match(anchor) or not anchor:
                raise GitLabError(
                    N_("job {job}: {file} is not an audit head").format(
                        job=job["id"], file=ANCHOR_FILE
                    )
                )
            return anchor, str(job["id"])
    return None


# -- the drift -----------------------------------------------------------------------------


def publish_drift(
    client: GitLab, report: Mapping[str, Any], run_url: str, bot: str | None
) -> tuple[issue_logic.IssueAction, int | None]:
    """Open, update or close the target's drift issue; ``(action, issue iid)``."""
    author = bot_of(client, bot)
    issues = issues_of(client.issues(issue_logic.LABEL))
    action = issue_logic.decide_issue(issues, report, run_url, author, GITLAB)
    if action.kind == "create":
        client.ensure_label(issue_logic.LABEL, *issue_logic.LABEL_STYLE)
        created = client.create_issue(action.title, action.body, [issue_logic.LABEL])
        return action, int(created["iid"]) if "iid" in created else None
    if action.kind == "update" and action.number is not None:
        client.update_issue(action.number, title=action.title, description=action.body)
    elif action.kind == "close" and action.number is not None:
        client.create_issue_note(action.number, action.body)
        client.update_issue(action.number, state_event="close")
    return action, action.number
