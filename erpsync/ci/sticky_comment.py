"""The one pull-request comment that shows the plan, updated in place on every push.

The comment starts with a hidden marker holding its metadata as JSON::

    <!-- erpsync:plan-comment {"version": 1, "status": "ok", "changeset": "sha256:…",
         "head_sha": "…", "run_id": "…", "artifact": "erpsync-plan"} -->

``status`` is ``ok`` (a plan that may be applied after merging), ``guard`` (a guard
refuses the plan), ``invalid`` (the policy does not validate) or ``failed`` (no plan
could be made). Only an ``ok`` comment carries a ``changeset``: after the merge, the
apply workflow reads it (:func:`find_marked`, :meth:`Metadata.parse`) to know which
change set was reviewed, from which commit and which run's artifact.

Only comments written by the workflow's own bot account count: anybody can paste the
marker into a comment of their own.

Everything here is pure: it decides, :mod:`erpsync.commands.ci_cmd` calls GitHub.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from erpsync.ci import BOT_LOGIN, GITHUB, Terms
from erpsync.ci.plan_compare import changeset_digest
from erpsync.i18n import N_, _, ngettext, said
from erpsync.plan import Plan
from erpsync.planfile import MAX_DEPTH, nesting_depth
from erpsync.render.markdown import COMMENT_LIMIT, cell, code, markdown_view

MARKER = "erpsync:plan-comment"
METADATA_VERSION = 1
ARTIFACT = "erpsync-plan"
LABEL_REMOVES = "removes access"
LABEL_NO_CHANGES = "no changes"
LABELS = (LABEL_REMOVES, LABEL_NO_CHANGES)
LABEL_STYLE = {  # name: (colour, description), for creating a missing label
    LABEL_REMOVES: ("d73a4a", "erpsync: the plan removes access"),
    LABEL_NO_CHANGES: ("cfd3d7", "erpsync: the plan changes nothing in the ERP"),
}
SHOWN_PROBLEMS = 50
PROBLEM_CHARS = 500

Status = Literal["ok", "guard", "invalid", "failed"]
_METADATA = re.compile(r"\A<!-- " + re.escape(MARKER) + r" (\{.*?\}) -->", re.DOTALL)


@dataclass(frozen=True)
class Comment:
    """An issue or pull-request comment as far as erpsync cares."""

    id: int
    body: str
    author: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Comment:
        user = data.get("user")
        author = user.get("login") if isinstance(user, Mapping) else None
        return cls(int(data["id"]), str(data.get("body") or ""), str(author or ""))


@dataclass(frozen=True)
class Metadata:
    """What the hidden marker of a plan comment records."""

    status: Status
    head_sha: str = ""
    run_id: str = ""
    changeset: str | None = None
    artifact: str = ARTIFACT

    def marker(self) -> str:
        fields = {
            "version": METADATA_VERSION,
            "status": self.status,
            "changeset": self.changeset,
            "head_sha": self.head_sha,
            "run_id": self.run_id,
            "artifact": self.artifact,
        }
        # "<" and ">" escaped, so no value can end the HTML comment early.
        text = json.dumps(fields, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")
        return f"<!-- {MARKER} {text} -->"

    @classmethod
    def parse(cls, body: str) -> Metadata | None:
        """The metadata at the start of ``body``; None when there is none or it is unreadable."""
        match = _METADATA.match(body)
        if not match or nesting_depth(match.group(1)) > MAX_DEPTH:  # json would recurse
            return None
        try:
            data = json.loads(match.group(1))
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("version") != METADATA_VERSION:
            return None
        status = data.get("status")
        if status not in ("ok", "guard", "invalid", "failed"):
            return None
        changeset = data.get("changeset")
        return cls(
            status=status,
            head_sha=str(data.get("head_sha") or ""),
            run_id=str(data.get("run_id") or ""),
            changeset=changeset if isinstance(changeset, str) else None,
            artifact=str(data.get("artifact") or ARTIFACT),
        )


@dataclass(frozen=True)
class Outcome:
    """What the pull request's checks found: validation errors, the plan, guard refusals."""

    problems: tuple[str, ...] = ()  # validation errors, one line each
    plan: Plan | None = None
    guard_problems: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        if self.problems:
            return "invalid"
        if self.plan is None:
            return "failed"
        return "guard" if self.guard_problems else "ok"


def render_body(
    outcome: Outcome,
    head_sha: str,
    run_id: str,
    run_url: str,
    limit: int = COMMENT_LIMIT,
    terms: Terms = GITHUB,
) -> str:
    """The whole comment, at most ``limit`` characters: marker, verdict, plan, footer;
    in the words of the platform (``terms``)."""
    status = outcome.status
    changeset = changeset_digest(outcome.plan) if status == "ok" and outcome.plan else None
    meta = Metadata(status, head_sha, run_id, changeset)
    head = meta.marker() + "\n" + _verdict(outcome, run_url, terms)
    tail = "\n---\n" + _footer(head_sha, run_url, terms)
    if outcome.plan is None or status == "invalid":
        body = head + tail
    else:
        room = limit - len(head) - len(tail) - 1
        body = head + "\n" + markdown_view(outcome.plan.to_dict(), limit=room) + tail
    if len(body) > limit:  # only a pathological verdict can get here
        raise ValueError(
            N_("the plan comment is longer than {limit} characters").format(limit=f"{limit:,}")
        )
    return body


def _verdict(outcome: Outcome, run_url: str, terms: Terms) -> str:
    """The comment's verdict in the language of the run (the markers and GitHub's alert
    syntax stay as they are)."""
    run = f"[{_(terms.run)}]({run_url})" if run_url else _(terms.run)
    status = outcome.status
    if status == "invalid":
        where = (
            _("Each error is also annotated on the changed files; see the {run}.")
            if terms.annotated
            else _("The log of the {run} shows them too.")
        ).format(run=run)
        heading = _("## ❌ erpsync: the policy is invalid")
        return f"{heading}\n\n{_problems(outcome.problems)}\n{where}\n"
    if status == "failed":
        heading = _("## ❌ erpsync could not make a plan")
        why = _(
            "The plan step failed; its log in the {run} says why (for example a permission "
            "the ERP's catalogue does not know, the database secret not set, or the ERP "
            "unreachable)."
        ).format(run=run)
        return f"{heading}\n\n{why}\n"
    if status == "guard":
        refuses = _("**A guard refuses this plan**; apply would refuse it too.")
        return f"> [!CAUTION]\n> {refuses}\n\n{_problems(outcome.guard_problems)}"
    if outcome.plan is None or not outcome.plan.changes:
        nothing = _("Merging this {request} changes nothing in the ERP.").format(
            request=_(terms.request)
        )
        return f"> [!NOTE]\n> {nothing}\n"
    exactly = _(
        "Merging applies exactly the change set below. After the merge erpsync plans again "
        "and refuses to apply if the change set is different."
    )
    return f"> [!IMPORTANT]\n> {exactly}\n"


def _problems(lines: Sequence[str]) -> str:
    """Validation errors or guard refusals (English data), each said in the language of
    the run."""
    shown = [f"- {cell(said(line)[:PROBLEM_CHARS])}" for line in lines[:SHOWN_PROBLEMS]]
    if len(lines) > SHOWN_PROBLEMS:
        more = len(lines) - SHOWN_PROBLEMS
        shown.append(
            "- " + ngettext("… and {n} more", "… and {n} more", more).format(n=f"{more:,}")
        )
    return "\n".join(shown) + "\n"


def _footer(head_sha: str, run_url: str, terms: Terms) -> str:
    parts = []
    if head_sha:
        parts.append(_("for commit {sha}").format(sha=code(head_sha[:12])))
    if run_url:
        parts.append(
            _("{run}, artifact {artifact}").format(
                run=f"[{_(terms.run)}]({run_url})", artifact=code(terms.artifact)
            )
        )
    parts.append(
        _("this {comment} is updated in place on every push").format(comment=_(terms.comment))
    )
    # "erpsync plan" alone, not a template "erpsync plan {parts}", which would match any
    # message starting with those words when erpsync.i18n.said looks for one
    return "<sub>" + _("erpsync plan") + " " + " · ".join(parts) + "</sub>\n"


# -- deciding ------------------------------------------------------------------------------


def find_marked(comments: Iterable[Comment], bot: str = BOT_LOGIN) -> Comment | None:
    """The oldest comment by ``bot`` that starts with the plan marker."""
    for comment in comments:
        if comment.author == bot and comment.body.startswith(f"<!-- {MARKER} "):
            return comment
    return None


@dataclass(frozen=True)
class CommentAction:
    kind: Literal["create", "update", "keep"]
    comment_id: int | None = None


def decide_comment(comments: Sequence[Comment], body: str, bot: str = BOT_LOGIN) -> CommentAction:
    """Create the comment, update the existing one, or keep it when nothing changed."""
    existing = find_marked(comments, bot)
    if existing is None:
        return CommentAction("create")
    if existing.body.strip() == body.strip():
        return CommentAction("keep", existing.id)
    return CommentAction("update", existing.id)


@dataclass(frozen=True)
class LabelChange:
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


def wanted_labels(plan: Plan | None) -> set[str]:
    """``removes access`` when the plan removes anything, ``no changes`` when it is empty."""
    if plan is None:
        return set()
    if not plan.changes:
        return {LABEL_NO_CHANGES}
    if any(change.action.removes for change in plan.changes):
        return {LABEL_REMOVES}
    return set()


def decide_labels(current: Iterable[str], plan: Plan | None) -> LabelChange:
    """Labels to add and to remove (of erpsync's own only; names compare case-insensitively)."""
    have = {name.casefold(): name for name in current}
    wanted = wanted_labels(plan)
    add = tuple(sorted(name for name in wanted if name.casefold() not in have))
    remove = tuple(
        sorted(
            have[name.casefold()]
            for name in LABELS
            if name not in wanted and name.casefold() in have
        )
    )
    return LabelChange(add, remove)
