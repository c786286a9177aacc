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


class NotReviewed(ApplyRefused):
    """No reviewed plan can be found for the pushed commit: apply refuses."""


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
    seen = f" (it belongs to {numbers}, merged as other commits)" if numbers else ""
    raise NotReviewed(
        f"commit {sha[:12]} is not the merge of a {terms.request}{seen}: only reviewed "
        f"{terms.request}s are applied; protect the default branch against direct pushes"
    )


def reviewed_plan(
    pull: Mapping[str, Any],
    comments: Sequence[Comment],
    bot: str = BOT_LOGIN,
    terms: Terms = GITHUB,
) -> Reviewed:
    """The plan reviewed on ``pull``, from its erpsync comment; raises :class:`NotReviewed`."""
    number = int(pull.get("number") or 0)
    named = f"{terms.request} {terms.mark}{number}"
    head = pull.get("head")
    head_sha = str(head.get("sha") or "") if isinstance(head, Mapping) else ""
    comment = find_marked(comments, bot)
    meta = Metadata.parse(comment.body) if comment else None
    if comment is None or meta is None:
        raise NotReviewed(
            f"{named} has no erpsync plan {terms.comment} by {bot}: "
            "its plan was never posted, so nothing was reviewed"
        )
    if meta.status != "ok" or not meta.changeset:
        raise NotReviewed(
            f"the last plan of {named} was not applicable "
            f"(status {meta.status}): it was merged without a plan that passed"
        )
    if not head_sha or meta.head_sha != head_sha:
        raise NotReviewed(
            f"the plan {terms.comment} of {named} is for commit {meta.head_sha[:12]}, "
            f"but its last commit is {head_sha[:12]}: the plan of the last push was never "
            f"posted (did the plan {terms.run.split()[0]} finish before the merge?)"
        )
    if not meta.run_id.isdigit():
        raise NotReviewed(f"the plan {terms.comment} of {named} names no {terms.run}")
    return Reviewed(number, head_sha, meta.run_id, meta.changeset, meta.artifact)


def check_run(run: Mapping[str, Any], reviewed: Reviewed, terms: Terms = GITHUB) -> None:
    """The workflow run named by the comment made the plan for the reviewed commit."""
    if run.get("head_sha") != reviewed.head_sha:
        raise NotReviewed(
            f"{terms.run} {reviewed.run_id} ran for commit {str(run.get('head_sha'))[:12]}, "
            f"not for {reviewed.head_sha[:12]}, the last commit of {terms.mark}{reviewed.pull}"
        )
