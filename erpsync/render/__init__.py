"""Human views of a plan: text for the terminal, Markdown for a pull-request comment.

Every view is rendered from the plan's JSON form (:meth:`erpsync.plan.Plan.to_dict`),
never from ``Plan`` objects or the database, so a saved plan file renders exactly
like a fresh one. :mod:`erpsync.render.text` builds a Terraform-like ``rich`` text;
:mod:`erpsync.render.markdown` prepares table rows in Python and lays them out
with the Jinja2 templates in ``templates/``. This module holds the few helpers
both views share.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from rich.text import Text

from erpsync.i18n import N_, _, number, said

# The order of the summary and of the final "Plan:" sentence (spec section 5).
ACTIONS = ("create", "update", "delete", "deactivate", "reactivate", "grant", "revoke")
REMOVALS = frozenset({"delete", "deactivate", "revoke"})
NO_CHANGES = N_("No changes. The ERP matches the policy.")


def summary_counts(plan: Mapping[str, Any]) -> dict[str, int]:
    """The plan's count per action, in :data:`ACTIONS` order (missing actions count 0)."""
    summary = plan.get("summary") or {}
    return {action: int(summary.get(action, 0)) for action in ACTIONS}


def summary_sentence(plan: Mapping[str, Any], thousands: bool = False) -> str:
    """``Plan: 3 to create, 4 to revoke.``: only the non-zero counts, or :data:`NO_CHANGES`.

    ``thousands`` groups digits (``3,000``); the terminal view, like Terraform's, does not.
    """
    spec = "," if thousands else ""
    parts = [f"{n:{spec}} to {action}" for action, n in summary_counts(plan).items() if n]
    return f"Plan: {', '.join(parts)}." if parts else NO_CHANGES


# Each action's part of the summary sentence, and the sentence, for the translated views.
ACTION_COUNTS = {
    "create": N_("{n} to create"),
    "update": N_("{n} to update"),
    "delete": N_("{n} to delete"),
    "deactivate": N_("{n} to deactivate"),
    "reactivate": N_("{n} to reactivate"),
    "grant": N_("{n} to grant"),
    "revoke": N_("{n} to revoke"),
}
ACTION_NAMES = {
    "create": N_("create"),
    "update": N_("update"),
    "delete": N_("delete"),
    "deactivate": N_("deactivate"),
    "reactivate": N_("reactivate"),
    "grant": N_("grant"),
    "revoke": N_("revoke"),
}


def said_summary(plan: Mapping[str, Any]) -> str:
    """:func:`summary_sentence` in the language of the run (erpsync.i18n), numbers as the
    language writes them."""
    parts = [
        _(ACTION_COUNTS[action]).format(n=number(n))
        for action, n in summary_counts(plan).items()
        if n
    ]
    if not parts:
        return _(NO_CHANGES)
    return _("Plan: {parts}.").format(parts=_(", ").join(parts))


# The kinds of object a plan changes, as the views name them.
KIND_NAMES = {
    "department": N_("department"),
    "role": N_("role"),
    "user": N_("user"),
    "permission": N_("permission"),
    "membership": N_("membership"),
}


def action_name(action: object) -> str:
    """An action word (``grant``) as the language says it; an unknown one as it is."""
    name = ACTION_NAMES.get(str(action))
    return _(name) if name is not None else clean(action)


def kind_name(kind: object) -> str:
    """A kind of object (``membership``) as the language says it; an unknown one as it is."""
    name = KIND_NAMES.get(str(kind))
    return _(name) if name is not None else clean(kind)


def split_key(key: str) -> tuple[str, str]:
    """``("ap-clerk", "finance.payment:read")`` from a permission or membership key."""
    owner, _, item = key.partition("/")
    return owner, item


def renamed_from(change: Mapping[str, Any]) -> str | None:
    """The old key of an update that renames its object (``moved:``), else None."""
    before = change.get("before") if change.get("action") == "update" else None
    old = before.get("key") if isinstance(before, Mapping) else None
    return clean(old) if isinstance(old, str) else None


def show(value: Any) -> str:
    """An attribute value as it is printed: JSON, Chinese kept readable (``"李娜"``, ``null``)."""
    return json.dumps(value, ensure_ascii=False)


def clean(text: object) -> str:
    """One printable line: control, line-separator and format characters become escapes.

    A name or reason holding a newline or a terminal escape sequence must not be
    able to forge a line of the plan or recolour the terminal.
    """
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"}
        else ch
        for ch in text
    )


def line(out: Text, *parts: tuple[str, str]) -> None:
    """Append to a terminal view one line made of ``(text, style)`` parts."""
    for text, style in parts:
        out.append(text, style=style)
    out.append("\n")


def comment(reason: object) -> tuple[str, str]:
    """A dim ``  # reason`` part for :func:`line` (nothing when there is no reason), in
    the language of the run."""
    return (f"  # {clean(said_reason(str(reason)))}" if reason else "", "dim")


def said_reason(reason: str) -> str:
    from erpsync.i18n import reason as translated

    return translated(reason)


def guard_line(verdict: Mapping[str, Any]) -> tuple[str, bool]:
    """A guard's verdict from a plan's JSON form as one sentence, and whether it passed:
    ``max_removals: the plan removes ...; apply needs --allow-mass-removal``."""
    passed = verdict.get("passed") is True
    guard = clean(verdict.get("guard"))
    detail = clean(said_detail(str(verdict.get("detail") or "")))
    override = verdict.get("override")
    if passed:
        template = _("{guard}: {detail}")
    elif override:
        template = _("{guard}: {detail}; apply needs {override}")
    else:
        template = _("{guard}: {detail} (no override)")
    return template.format(guard=guard, detail=detail, override=clean(override)), passed


def said_detail(detail: str) -> str:
    """A guard's detail (:mod:`erpsync.guards`) in the language of the run."""
    return said(detail)
