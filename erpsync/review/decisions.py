"""From returned sheets to policy edits and a pull-request description (:func:`decide`).

Decisions never reach the ERP directly: a revoke or an expiry becomes an edit of the
policy file that declares the user (:mod:`erpsync.policy.edit`, comments and layout
kept), reviewed and applied like any other change. What the policy cannot say for one
user — a role that comes with the department (``default_roles``) — is listed for a hand
edit rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erpsync.errors import ReviewSheetError
from erpsync.i18n import N_, _, said
from erpsync.policy.edit import Edit, FieldEdit, ItemRemoval
from erpsync.policy.loader import LoadedPolicy
from erpsync.render import clean
from erpsync.review.model import Answer, Filled, Line, Sheet

COUNTED = ("keep", "revoke", "expire")
REMARK = " — “"  # before a reviewer's comment, at the end of a change or note


@dataclass
class Outcome:
    edits: list[Edit] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # what the edits do, for the PR
    manual: list[str] = field(default_factory=list)  # decisions needing a hand edit
    notes: list[str] = field(default_factory=list)  # decisions the policy already carries
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # reviewer -> decision -> n
    decisions: list[dict[str, Any]] = field(default_factory=list)  # the evidence, per line
    returned: dict[str, str] = field(default_factory=dict)  # reviewer -> file

    def not_returned(self, sheets: Sequence[Sheet]) -> list[Sheet]:
        return [s for s in sheets if s.reviewer not in self.returned]


def decide(sheets: Sequence[Sheet], filled: Sequence[Filled], loaded: LoadedPolicy) -> Outcome:
    """The edits the filled sheets ask for; raises ReviewSheetError for a reviewer's sheet
    returned twice."""
    by_reviewer = {s.reviewer: s for s in sheets}
    out = Outcome()
    for back in filled:
        if back.reviewer in out.returned:
            raise ReviewSheetError(
                N_(
                    "{file}: a second sheet of reviewer {reviewer} (the first was {first}): "
                    "return one sheet per reviewer"
                ).format(
                    file=back.source, reviewer=back.reviewer, first=out.returned[back.reviewer]
                )
            )
        out.returned[back.reviewer] = back.source
        sent = by_reviewer[back.reviewer]
        counts = out.counts.setdefault(back.reviewer, Counter())
        for answer in back.answers:
            line = sent.lines[answer.line - 1]
            counts[answer.decision or "undecided"] += 1
            out.decisions.append(_evidence(sent, line, answer))
            if answer.decision in ("revoke", "expire"):
                _edit(out, loaded, sent, line, answer)
    for sheet in out.not_returned(sheets):
        out.counts[sheet.reviewer] = Counter({"not returned": len(sheet.lines)})
    return out


def _evidence(sheet: Sheet, line: Line, answer: Answer) -> dict[str, Any]:
    return {
        "reviewer": sheet.reviewer,
        "line": line.number,
        "kind": line.kind,
        "login": line.login,
        "role": line.role,
        "decision": answer.decision,
        "expires": answer.expires.isoformat() if answer.expires else None,
        "comment": answer.comment,
    }


def _edit(out: Outcome, loaded: LoadedPolicy, sheet: Sheet, line: Line, answer: Answer) -> None:
    who = f"`{line.login}` ({line.name})" if line.name else f"`{line.login}`"
    by = f"{sheet.reviewer_name} ({sheet.reviewer})" if sheet.reviewer_name else sheet.reviewer
    why = f"{REMARK}{_one_line(answer.comment)}”" if answer.comment else ""
    declared = loaded.policy.users.get(line.login)
    origin = loaded.origins.get(("users", line.login))
    # Each line below is a message that is data (kept in the evidence), made from an N_
    # template, then the reviewer's comment after REMARK: said where people read it.
    if declared is None or origin is None:
        out.notes.append(
            N_(
                "{who}: {decision} by {by}: not declared in the policy, so the next apply "
                "deactivates the account anyway"
            ).format(who=who, decision=answer.decision, by=by)
            + why
        )
        return
    path = Path(origin.file)
    if line.kind == "account" and answer.decision == "revoke":
        if not declared.active:
            out.notes.append(
                N_("{who}: revoke by {by}: already active: false").format(who=who, by=by) + why
            )
            return
        out.edits.append(FieldEdit(path, "users", line.login, "active", "false", _note(sheet)))
        out.changes.append(N_("deactivate {who} (revoked by {by})").format(who=who, by=by) + why)
    elif line.kind == "account":
        on = answer.expires or sheet.started
        if declared.expires is not None and declared.expires <= on:
            out.notes.append(
                N_("{who}: expire {date} by {by}: already expires {expires}").format(
                    who=who, date=on, by=by, expires=declared.expires
                )
            )
            return
        out.edits.append(
            FieldEdit(path, "users", line.login, "expires", on.isoformat(), _note(sheet))
        )
        out.changes.append(
            N_("expire {who} on {date} (by {by})").format(who=who, date=on, by=by) + why
        )
    else:
        role = line.role or ""
        listed = role in declared.roles
        if listed:
            out.edits.append(ItemRemoval(path, "users", line.login, "roles", role))
            out.changes.append(
                N_("revoke role `{role}` ({role_name}) from {who} (by {by})").format(
                    role=role, role_name=line.role_name, who=who, by=by
                )
                + why
            )
        department = _giver(loaded, declared.department, role)
        if department is not None:  # still held through the department after the edit
            out.manual.append(
                N_(
                    "revoke role `{role}` from {who} (by {by}): it comes with department "
                    "`{department}` (default_roles); move the user or change the department"
                ).format(role=role, who=who, by=by, department=department)
                + why
            )
        elif not listed:
            out.notes.append(
                N_(
                    "{who}: revoke role `{role}` by {by}: the policy does not give it, so the "
                    "next apply revokes it"
                ).format(who=who, role=role, by=by)
                + why
            )


def _said(item: str) -> str:
    """A change or note of the evidence in the language of the run; the reviewer's
    comment after it as it was written."""
    text, sep, remark = item.partition(REMARK)
    return said(text) + sep + remark


def _one_line(text: str) -> str:
    """A reviewer's comment as one line of Markdown text: control characters out, line
    breaks folded, Markdown's special characters escaped, so it cannot forge a heading,
    a list item or a link in the pull request's description."""
    folded = clean(" ".join(text.split()))
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", folded)


def _note(sheet: Sheet) -> str:
    return f"access review {sheet.campaign}, {sheet.reviewer}"


def _giver(loaded: LoadedPolicy, department: str | None, role: str) -> str | None:
    """The department (the user's or one above) whose default_roles give ``role``."""
    departments = loaded.policy.departments
    seen: set[str] = set()
    while department is not None and department in departments and department not in seen:
        seen.add(department)
        if role in departments[department].default_roles:
            return department
        department = departments[department].parent
    return None


def pr_description(
    campaign: str,
    sheets: Sequence[Sheet],
    out: Outcome,
    closed_by: str,
    closed_at: dt.datetime,
    due: dt.date | None,
) -> str:
    """The pull request's description: decisions per reviewer, then the changes."""
    closed = (
        _("Closed {when} UTC by {who} (due {due}); {returned} of {sheets} sheet(s) returned.")
        if due
        else _("Closed {when} UTC by {who}; {returned} of {sheets} sheet(s) returned.")
    )
    headers = (
        _("Reviewer"),
        _("Lines"),
        _("Keep"),
        _("Revoke"),
        _("Expire"),
        _("Undecided"),
        _("Sheet"),
    )
    lines = [
        _("## Access review `{campaign}`: decisions").format(campaign=campaign),
        "",
        closed.format(
            when=f"{closed_at:%Y-%m-%d %H:%M}",
            who=closed_by,
            due=due,
            returned=len(out.returned),
            sheets=len(sheets),
        ),
        "",
        "| " + " | ".join(headers) + " |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for sheet in sheets:
        c = out.counts.get(sheet.reviewer, Counter())
        who = (
            f"{sheet.reviewer_name} (`{sheet.reviewer}`)"
            if sheet.reviewer_name
            else (f"`{sheet.reviewer}`")
        )
        source = out.returned.get(sheet.reviewer) or _("not returned")
        undecided = c["undecided"] + c["not returned"]
        lines.append(
            f"| {who} | {len(sheet.lines)} | {c['keep']} | {c['revoke']} | {c['expire']} "
            f"| {undecided} | {source} |"
        )
    for title, items in (
        (_("Changes to the policy (in this pull request)"), out.changes),
        (_("Needs a hand edit"), out.manual),
        (_("Already so in the policy"), out.notes),
    ):
        if items:
            lines += ["", f"### {title}", "", *(f"- {_said(item)}" for item in items)]
    lines += [
        "",
        _(
            "The evidence (who decided what, when) is kept in erpsync_review: "
            "`erpsync report review --campaign {campaign}`. Merge, then `erpsync plan` shows "
            "the revocations and expiries for review before apply."
        ).format(campaign=campaign),
    ]
    return "\n".join(lines) + "\n"


def counts_as_dict(counts: Mapping[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {reviewer: dict(sorted(c.items())) for reviewer, c in sorted(counts.items())}
