"""The one issue that is open while the ERP drifts from the policy.

Per target there is at most one: it is opened when a drift check finds drift, updated
(title and body) by every later check that still finds some, and closed with a comment
by the first check that finds none. It is recognised by its label and by a hidden
marker at the start of its body, written by the workflow's bot account::

    <!-- erpsync:drift-issue {"target": "prod"} -->

Everything here is pure: it decides, :mod:`erpsync.commands.ci_cmd` calls GitHub.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from erpsync.ci import BOT_LOGIN, GITHUB, Terms
from erpsync.i18n import _
from erpsync.render import clean
from erpsync.render.drift_markdown import ISSUE_LIMIT, markdown_view
from erpsync.render.drift_text import summary_sentence

MARKER = "erpsync:drift-issue"
LABEL = "erpsync drift"
LABEL_STYLE = ("fbca04", "erpsync: the ERP differs from the policy")
TITLE_CHARS = 200  # GitHub allows 256


@dataclass(frozen=True)
class Issue:
    """An open issue as far as erpsync cares."""

    number: int
    title: str
    body: str
    author: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Issue:
        user = data.get("user")
        author = user.get("login") if isinstance(user, Mapping) else None
        return cls(
            int(data["number"]),
            str(data.get("title") or ""),
            str(data.get("body") or ""),
            str(author or ""),
        )


def target_name(report: Mapping[str, Any]) -> str:
    target = report.get("target")
    name = target.get("name") if isinstance(target, Mapping) else None
    return str(name or "")


def has_drift(report: Mapping[str, Any]) -> bool:
    summary = report.get("summary")
    return bool(isinstance(summary, Mapping) and summary.get("drift"))


def marker(target: str) -> str:
    text = json.dumps({"target": target}, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<!-- {MARKER} {text} -->"


def issue_title(report: Mapping[str, Any]) -> str:
    """``ERP drift on prod: 1 changed, 2 extra; 1 out of band.``"""
    drift_prefix = _("Drift: {parts}{tail}.").split("{parts}", 1)[0]  # "Drift: " in English
    sentence = summary_sentence(report).removeprefix(drift_prefix)
    title = clean(
        _("ERP drift on {target}: {summary}").format(target=target_name(report), summary=sentence)
    )
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def render_body(
    report: Mapping[str, Any], run_url: str, limit: int = ISSUE_LIMIT, terms: Terms = GITHUB
) -> str:
    """Marker, the Markdown drift report and a footer, at most ``limit`` characters."""
    head = marker(target_name(report)) + "\n"
    if run_url:
        said = _(
            "Opened and updated by the [scheduled drift check]({url}) of erpsync; closed by "
            "the first check that finds no drift. Fix the drift in the ERP, or change the "
            "policy in a {request}, or accept it in .erpsyncignore."
        ).format(url=run_url, request=_(terms.request))
    else:
        said = _(
            "Opened and updated by the scheduled drift check of erpsync; closed by the first "
            "check that finds no drift. Fix the drift in the ERP, or change the policy in a "
            "{request}, or accept it in .erpsyncignore."
        ).format(request=_(terms.request))
    tail = f"\n<sub>{said}</sub>\n"
    return head + markdown_view(report, limit=limit - len(head) - len(tail)) + tail


def find_open(issues: Iterable[Issue], target: str, bot: str = BOT_LOGIN) -> Issue | None:
    """The oldest open drift issue of ``target`` written by ``bot``."""
    wanted = marker(target)
    for issue in issues:
        if issue.author == bot and issue.body.startswith(wanted):
            return issue
    return None


@dataclass(frozen=True)
class IssueAction:
    """``create``, ``update`` or ``close`` one issue, or do nothing (``keep``, ``none``)."""

    kind: Literal["create", "update", "keep", "close", "none"]
    number: int | None = None
    title: str = ""
    body: str = ""


def decide_issue(
    issues: Iterable[Issue],
    report: Mapping[str, Any],
    run_url: str,
    bot: str = BOT_LOGIN,
    terms: Terms = GITHUB,
) -> IssueAction:
    """Open, update or close the target's drift issue, after this drift report."""
    existing = find_open(issues, target_name(report), bot)
    if not has_drift(report):
        if existing is None:
            return IssueAction("none")
        return IssueAction("close", existing.number, body=closing_comment(report, run_url))
    title, body = issue_title(report), render_body(report, run_url, terms=terms)
    if existing is None:
        return IssueAction("create", None, title, body)
    if existing.title == title and existing.body.strip() == body.strip():
        return IssueAction("keep", existing.number, title, body)
    return IssueAction("update", existing.number, title, body)


def closing_comment(report: Mapping[str, Any], run_url: str) -> str:
    when = clean(report.get("created_at") or _("now"))
    run = _(" ([drift check]({url}))").format(url=run_url) if run_url else ""
    return _(
        "No drift on target `{target}` at {when}{run}: the ERP matches the policy again. Closing."
    ).format(target=clean(target_name(report)), when=when, run=run)
