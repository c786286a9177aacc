"""What a notification says, before any platform shapes it: :class:`Summary`.

A chat message is read on a phone between two other things, so it is short: a title
naming the event and the target (the title always holds ``erpsync``, which a DingTalk
robot's keyword check can require), one sentence, the counts, the first few items
with the ERP's own names (李娜, 销售专员), and a link to the full report. The
Markdown kept to what every platform renders: a heading, bold, bullets and a link.
Names from the ERP are made inert (:func:`inline`) so that none can add a link or
break the layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from erpsync.i18n import N_, _, ngettext

TOP_ITEMS = 5  # items listed before "… and N more"
# A campaign's state as ``review status`` names it (a machine value), as people read it.
REVIEW_STATES = {
    "open": N_("open"),
    "open, overdue": N_("open, overdue"),
    "closed": N_("closed"),
}
_INERT = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］", "*": "＊", "`": "'", "#": "＃"})


def inline(text: object) -> str:
    """``text`` on one line, with nothing Markdown or HTML would act on."""
    return " ".join(str(text).split()).translate(_INERT)


def named(key: str, name: object) -> str:
    """``li.na (李娜)``, or the key alone when the ERP has no name for it."""
    return inline(f"{key} ({name})" if name and name != key else key)


@dataclass(frozen=True)
class Summary:
    """One notification, platform-neutral. ``lines`` are Markdown bullet texts (already
    inert); ``counts`` and ``event`` are the machine fields the generic webhook sends."""

    event: str  # "drift" | "review_status"
    target: str
    title: str
    headline: str
    lines: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    report_url: str | None = None
    alert: bool = False  # drift found, a review overdue: the card's colour
    more: int = 0  # items not listed in ``lines``

    def markdown(self, heading: bool = True, limit: int | None = None) -> str:
        """The message as Markdown; with ``limit``, at most that many UTF-8 bytes
        (items are left out from the end, and counted, until it fits)."""
        shown = list(self.lines)
        while True:
            text = self._markdown(heading, shown, self.more + len(self.lines) - len(shown))
            if limit is None or len(text.encode("utf-8")) <= limit or not shown:
                return text if limit is None else _cut(text, limit)
            shown.pop()

    def _markdown(self, heading: bool, lines: Sequence[str], more: int) -> str:
        parts = [f"### {inline(self.title)}"] if heading else []
        parts.append(f"**{inline(self.headline)}**")
        bullets = [f"- {line}" for line in lines]
        if more:
            bullets.append(
                "- " + ngettext("… and {n} more", "… and {n} more", more).format(n=f"{more:,}")
            )
        if bullets:
            parts.append("\n".join(bullets))
        if self.report_url:
            parts.append(_("[Full report]({url})").format(url=_link(self.report_url)))
        return "\n\n".join(parts) + "\n"


def _link(url: str) -> str:
    """A URL as a Markdown link target: spaces and parentheses encoded."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes, never inside a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


# -- drift ---------------------------------------------------------------------------------


def drift_summary(report: Mapping[str, Any], report_url: str | None) -> Summary:
    """The summary of a drift report's JSON form (:meth:`DriftReport.to_dict`)."""
    from erpsync.render.drift_text import COUNTS, counted, summary_sentence

    summary = report.get("summary") or {}
    target = _target(report)
    total = int(summary.get("total", 0))
    if summary.get("drift"):
        title = _("erpsync drift · {target}: {n} to look at").format(target=target, n=f"{total:,}")
    else:
        title = _("erpsync drift · {target}: no drift").format(target=target)
    lines = [" · ".join(counted(summary, key) for key, *_rest in COUNTS)]
    dormant = report.get("dormant")
    if dormant and dormant.get("users"):
        users = len(dormant["users"])
        lines.append(
            ngettext(
                "{n} dormant account(s): no sign-in for {days}+ days",
                "{n} dormant account(s): no sign-in for {days}+ days",
                users,
            ).format(n=f"{users:,}", days=dormant.get("days"))
        )
    items = _drift_items(report)
    counts = {
        key: int(summary.get(key, 0)) for key in (*(k for k, *_rest in COUNTS), "out_of_band")
    }
    counts["dormant"] = int(summary.get("dormant", 0))
    return Summary(
        event="drift",
        target=target,
        title=title,
        headline=summary_sentence(report),
        lines=(*lines, *items[:TOP_ITEMS]),
        counts=counts,
        report_url=report_url,
        alert=bool(summary.get("drift")),
        more=max(0, len(items) - TOP_ITEMS),
    )


def _target(report: Mapping[str, Any]) -> str:
    target = report.get("target") or {}
    name = str(target.get("name") or "?")
    tenant = target.get("tenant")
    return inline(
        _("{name} (tenant {tenant})").format(name=name, tenant=tenant) if tenant else name
    )


def _drift_items(report: Mapping[str, Any]) -> list[str]:
    """Every item that counts as drift, one line each, the riskiest first: SoD
    violations, then access that has expired but still works, then changes made in the
    ERP, extra objects and missing ones (each in the report's order)."""
    items = []
    for s in report.get("sod") or ():
        if s.get("counts_as_drift"):
            items.append(
                _("SoD violation {rule} ({severity}): user {user}").format(
                    rule=inline(s["rule"]),
                    severity=_(SEVERITIES.get(inline(s["severity"]), inline(s["severity"]))),
                    user=inline(s["user"]),
                )
            )
    for x in report.get("expired_active") or ():
        items.append(
            _("expired but active: user {user}, expired {date}").format(
                user=named(x["login"], x.get("name")), date=inline(x["expires"])
            )
        )
    colon = _(": ")
    for c in report.get("changed") or ():
        fields = _(", ").join(inline(f["field"]) for f in c.get("fields") or ())
        name = named(c["key"], c.get("name"))
        items.append(f"{_said('changed', c['kind'])} {name}{colon}{fields}{_by(c)}")
    for e in report.get("extra") or ():
        action = inline(e.get("apply_action") or "remove")
        name = named(e["key"], e.get("name"))
        would = _(APPLY_WOULD.get(action, "apply would " + action))
        items.append(f"{_said('extra', e['kind'])} {name}{colon}{would}{_by(e)}")
    for m in report.get("missing") or ():
        items.append(f"{_said('missing', m['kind'])} {name_of(m)}{_by(m)}")
    return items


def name_of(item: Mapping[str, Any]) -> str:
    return named(item["key"], item.get("name"))


# A SoD rule's severity (a machine value in the report) as people read it.
SEVERITIES = {
    "critical": N_("critical"),
    "high": N_("high"),
    "medium": N_("medium"),
    "low": N_("low"),
}
# "changed user", "extra role": whole phrases without placeholders, so that no template
# such as "missing {kind} {name}" can match an unrelated message (erpsync.i18n.said).
PHRASES = {
    ("changed", "department"): N_("changed department"),
    ("changed", "role"): N_("changed role"),
    ("changed", "permission"): N_("changed permission"),
    ("changed", "user"): N_("changed user"),
    ("changed", "membership"): N_("changed membership"),
    ("extra", "department"): N_("extra department"),
    ("extra", "role"): N_("extra role"),
    ("extra", "permission"): N_("extra permission"),
    ("extra", "user"): N_("extra user"),
    ("extra", "membership"): N_("extra membership"),
    ("missing", "department"): N_("missing department"),
    ("missing", "role"): N_("missing role"),
    ("missing", "permission"): N_("missing permission"),
    ("missing", "user"): N_("missing user"),
    ("missing", "membership"): N_("missing membership"),
}
APPLY_WOULD = {
    "delete": N_("apply would delete"),
    "deactivate": N_("apply would deactivate"),
    "revoke": N_("apply would revoke"),
    "remove": N_("apply would remove"),
}


def _said(state: str, kind: object) -> str:
    """``changed user``: an item's state and kind as the language says them."""
    key = inline(kind)
    return _(PHRASES.get((state, key), f"{state} {key}"))


def _by(item: Mapping[str, Any]) -> str:
    """`` (out of band: ui-admin)`` when the ERP says who made an out-of-band change."""
    if not item.get("out_of_band"):
        return ""
    who = item.get("changed_by")
    if who:
        return _(" (out of band: {who})").format(who=inline(who))
    return _(" (out of band)")


# -- access review -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerProgress:
    """One reviewer's sheet: who (with the ERP's name) and how far."""

    reviewer: str
    name: str | None
    decided: int
    lines: int


def review_summary(
    target: str,
    campaign: str,
    state: str,
    due: str | None,
    reviewers: Sequence[ReviewerProgress],
    report_url: str | None,
) -> Summary:
    """The progress of an access review (``erpsync review status``)."""
    done = sum(r.decided for r in reviewers)
    total = sum(r.lines for r in reviewers)
    finished = sum(1 for r in reviewers if r.lines and r.decided == r.lines)
    waiting = [r for r in reviewers if r.decided < r.lines]
    waiting.sort(key=lambda r: (r.decided / r.lines if r.lines else 1, r.reviewer))
    lines = [
        (
            _("{who}: {decided}/{lines} decided").format(
                who=named(r.reviewer, r.name), decided=r.decided, lines=r.lines
            )
            if r.decided
            else _("{who}: {decided}/{lines} decided, not started").format(
                who=named(r.reviewer, r.name), decided=r.decided, lines=r.lines
            )
        )
        for r in waiting
    ]
    shown_state = _(REVIEW_STATES.get(state, state))
    if due:
        headline = ngettext(
            "Access review {campaign} ({state}, due {due}): {done} of {n} reviewer(s) done.",
            "Access review {campaign} ({state}, due {due}): {done} of {n} reviewer(s) done.",
            len(reviewers),
        )
    else:
        headline = ngettext(
            "Access review {campaign} ({state}): {done} of {n} reviewer(s) done.",
            "Access review {campaign} ({state}): {done} of {n} reviewer(s) done.",
            len(reviewers),
        )
    return Summary(
        event="review_status",
        target=inline(target),
        title=_("erpsync access review · {target}: {done}/{total} decided").format(
            target=inline(target), done=f"{done:,}", total=f"{total:,}"
        ),
        headline=headline.format(
            campaign=inline(campaign),
            state=inline(shown_state),
            due=inline(due),
            done=finished,
            n=len(reviewers),
        ),
        lines=tuple(lines[:TOP_ITEMS]),
        counts={
            "decided": done,
            "lines": total,
            "reviewers": len(reviewers),
            "reviewers_done": finished,
        },
        report_url=report_url,
        alert="overdue" in state,
        more=max(0, len(lines) - TOP_ITEMS),
    )


# -- drift of every target ------------------------------------------------------------------


@dataclass(frozen=True)
class TargetDrift:
    """One target's part of ``drift --all-targets``: its report's JSON form, or the error
    that stopped it."""

    name: str
    report: Mapping[str, Any] | None
    error: str | None = None


ALL_TARGETS = "*"  # the ``target`` of a summary of every target (the webhook's field)


def all_targets_summary(targets: Sequence[TargetDrift], report_url: str | None) -> Summary:
    """ONE message for ``drift --all-targets``: a group chat gets one post per run, not
    one per target (a robot takes 20 a minute, and a run may cover hundreds of
    tenants). The targets that drift or failed are listed first, each with its own
    summary sentence; those without drift are only counted."""
    from erpsync.render.drift_text import COUNTS, summary_sentence

    failed = [t for t in targets if t.report is None]
    drifting = [t for t in targets if t.report is not None and _drifts(t.report)]
    clean_ = len(targets) - len(failed) - len(drifting)
    parts = []
    if failed:
        parts.append(f"{len(failed):,}" + _(" failed"))
    if drifting:
        parts.append(f"{len(drifting):,}" + _(" with drift"))
    if clean_:
        parts.append(f"{clean_:,}" + _(" without drift"))
    title = ngettext(
        "erpsync drift · {n} target: {parts}",
        "erpsync drift · {n} targets: {parts}",
        len(targets),
    ).format(n=f"{len(targets):,}", parts=_(", ").join(parts))
    if failed or drifting:
        headline = _("{drifting} of {n} targets drift; {failed} could not be checked.").format(
            drifting=f"{len(drifting):,}", n=f"{len(targets):,}", failed=f"{len(failed):,}"
        )
    else:
        headline = _("No drift on any of the {n} targets.").format(n=f"{len(targets):,}")
    lines = [
        _("{target}: could not be checked: {problem}").format(
            target=inline(t.name), problem=inline(_last_line(t.error))
        )
        for t in failed
    ]
    lines += [inline(t.name) + _(": ") + inline(summary_sentence(t.report or {})) for t in drifting]
    counts = {"targets": len(targets), "failed": len(failed), "drifting": len(drifting)}
    for key in (*(k for k, *_rest in COUNTS), "out_of_band", "dormant"):
        counts[key] = sum(int((t.report or {}).get("summary", {}).get(key, 0)) for t in targets)
    return Summary(
        event="drift",
        target=ALL_TARGETS,
        title=title,
        headline=headline,
        lines=tuple(lines[:TOP_ITEMS]),
        counts=counts,
        report_url=report_url,
        alert=bool(failed or drifting),
        more=max(0, len(lines) - TOP_ITEMS),
    )


def _drifts(report: Mapping[str, Any]) -> bool:
    summary = report.get("summary")
    return bool(isinstance(summary, Mapping) and summary.get("drift"))


def _last_line(error: str | None) -> str:
    """The error's last line (its ``error: …``), said in the language of the run."""
    from erpsync.i18n import said

    lines = (error or "failed").strip().splitlines() or ["failed"]
    return said(lines[-1].removeprefix("error: "))
