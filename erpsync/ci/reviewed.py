"""Which plan was reviewed before a commit reached the default branch.

After a merge, the apply workflow asks GitHub for the pull requests of the pushed
commit, picks the one merged as that commit (:func:`merged_pull`), and reads its plan
comment (:func:`reviewed_plan`). It refuses unless that comment is erpsync's own, says
the plan was fine (``ok``), and was made for the pull request's last commit: a comment
left from an earlier push, or from a run that failed, does not count as reviewed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erpsync.ci import BOT_LOGIN, GITHUB, Terms
from erpsync.ci.sticky_comment import Comment, Metadata, find_marked
from erpsync.errors import ApplyRefused
from erpsync.i18n import N_


class NotReviewed(ApplyRefused):
    """No reviewed plan can be found for the pushed commit: apply refuses."""


def _said_on(terms: Terms, github: str, gitlab: str) -> str:
    """The template in the platform's words: the refusals are data (English, in the log
    and the audit trail), each template whole, so that a view can say it in the language
    of the run (erpsync.i18n.said) with the platform's words translated too."""
    return gitlab if terms.mark == "!" else github


@dataclass(frozen=True)
class Reviewed:
    """The reviewed plan of a merged pull request."""

    pull: int
    head_sha: str
    run_id: str
    changeset: str
    artifact: str


def merged_pull(
    pulls: Iterable[Mapping[str, Any]], sha: str, terms: Terms = GITHUB
) -> Mapping[str, Any]:
    """The pull request merged as commit ``sha``; raises :class:`NotReviewed` if none was."""
    candidates = [p for p in pulls if p.get("merged_at")]
    for pull in candidates:
        if pull.get("merge_commit_sha") == sha:
            return pull
    numbers = ", ".join(f"{terms.mark}{p.get('number')}" for p in candidates)
    if numbers:
        template = _said_on(
            terms,
            N_(
                "commit {sha} is not the merge of a pull request (it belongs to {numbers}, "
                "merged as other commits): only reviewed pull requests are applied; protect "
                "the default branch against direct pushes"
            ),
            N_(
                "commit {sha} is not the merge of a merge request (it belongs to {numbers}, "
                "merged as other commits): only reviewed merge requests are applied; protect "
                "the default branch against direct pushes"
            ),
        )
    else:
        template = _said_on(
            terms,
            N_(
                "commit {sha} is not the merge of a pull request: only reviewed pull requests "
                "are applied; protect the default branch against direct pushes"
            ),
            N_(
                "commit {sha} is not the merge of a merge request: only reviewed merge "
                "requests are applied; protect the default branch against direct pushes"
            ),
        )
    raise NotReviewed(template.format(sha=sha[:12], numbers=numbers))


def reviewed_plan(
    pull: Mapping[str, Any],
    comments: Sequence[Comment],
    bot: str = BOT_LOGIN,
    terms: Terms = GITHUB,
) -> Reviewed:
    """The plan reviewed on ``pull``, from its erpsync comment; raises :class:`NotReviewed`."""
    number = int(pull.get("number") or 0)
    head = pull.get("head")
    head_sha = str(head.get("sha") or "") if isinstance(head, Mapping) else ""
    comment = find_marked(comments, bot)
    meta = Metadata.parse(comment.body) if comment else None
    if comment is None or meta is None:
        raise NotReviewed(
            _said_on(
                terms,
                N_(
                    "pull request #{number} has no erpsync plan comment by {bot}: its plan was "
                    "never posted, so nothing was reviewed"
                ),
                N_(
                    "merge request !{number} has no erpsync plan note by {bot}: its plan was "
                    "never posted, so nothing was reviewed"
                ),
            ).format(number=number, bot=bot)
        )
    if meta.status != "ok" or not meta.changeset:
        raise NotReviewed(
            _said_on(
                terms,
                N_(
                    "the last plan of pull request #{number} was not applicable (status "
                    "{status}): it was merged without a plan that passed"
                ),
                N_(
                    "the last plan of merge request !{number} was not applicable (status "
                    "{status}): it was merged without a plan that passed"
                ),
            ).format(number=number, status=meta.status)
        )
    if not head_sha or meta.head_sha != head_sha:
        raise NotReviewed(
            _said_on(
                terms,
                N_(
                    "the plan comment of pull request #{number} is for commit {sha}, but its "
                    "last commit is {head}: the plan of the last push was never posted (did "
                    "the plan workflow finish before the merge?)"
                ),
                N_(
                    "the plan note of merge request !{number} is for commit {sha}, but its "
                    "last commit is {head}: the plan of the last push was never posted (did "
                    "the plan job finish before the merge?)"
                ),
            ).format(number=number, sha=meta.head_sha[:12], head=head_sha[:12])
        )
    if not meta.run_id.isdigit():
        raise NotReviewed(
            _said_on(
                terms,
                N_("the plan comment of pull request #{number} names no workflow run"),
                N_("the plan note of merge request !{number} names no job"),
            ).format(number=number)
        )
    return Reviewed(number, head_sha, meta.run_id, meta.changeset, meta.artifact)


def check_run(run: Mapping[str, Any], reviewed: Reviewed, terms: Terms = GITHUB) -> None:
    """The workflow run named by the comment made the plan for the reviewed commit."""
    if run.get("head_sha") != reviewed.head_sha:
        raise NotReviewed(
            _said_on(
                terms,
                N_(
                    "workflow run {run} ran for commit {sha}, not for {head}, the last commit "
                    "of #{number}"
                ),
                N_("job {run} ran for commit {sha}, not for {head}, the last commit of !{number}"),
            ).format(
                run=reviewed.run_id,
                sha=str(run.get("head_sha"))[:12],
                head=reviewed.head_sha[:12],
                number=reviewed.pull,
            )
        )
