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

TOP_ITEMS = 5  # items listed before "… and N more"
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
            bullets.append(f"- … and {more:,} more")
        if bullets:
            parts.append("\n".join(bullets))
        if self.report_url:
            parts.append(f"[Full report]({_link(self.report_url)})")
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
    title = f"erpsync drift · {target}: " + (
        f"{total:,} to look at" if summary.get("drift") else "no drift"
    )
    lines = [" · ".join(counted(summary, key) for key, *_ in COUNTS)]
    dormant = report.get("dormant")
    if dormant and dormant.get("users"):
        days = dormant.get("days")
        lines.append(f"{len(dormant['users']):,} dormant account(s): no sign-in for {days}+ days")
    items = _drift_items(report)
    counts = {key: int(summary.get(key, 0)) for key in (*(k for k, *_ in COUNTS), "out_of_band")}
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
    return inline(f"{name} (tenant {tenant})" if tenant else name)


def _drift_items(report: Mapping[str, Any]) -> list[str]:
    """Every item that counts as drift, one line each, the riskiest first: SoD
    violations, then access that has expired but still works, then changes made in the
    ERP, extra objects and missing ones (each in the report's order)."""
    items = []
    for s in report.get("sod") or ():
        if s.get("counts_as_drift"):
            items.append(
                f"SoD violation {inline(s['rule'])} ({inline(s['severity'])}): "
                f"user {inline(s['user'])}"
            )
    for x in report.get("expired_active") or ():
        items.append(
            f"expired but active: user {named(x['login'], x.get('name'))}, "
            f"expired {inline(x['expires'])}"
        )
    for c in report.get("changed") or ():
        fields = ", ".join(inline(f["field"]) for f in c.get("fields") or ())
        items.append(f"changed {c['kind']} {named(c['key'], c.get('name'))}: {fields}{_by(c)}")
    for e in report.get("extra") or ():
        action = inline(e.get("apply_action") or "remove")
        items.append(
            f"extra {e['kind']} {named(e['key'], e.get('name'))}: apply would {action}{_by(e)}"
        )
    for m in report.get("missing") or ():
        items.append(f"missing {m['kind']} {named(m['key'], m.get('name'))}{_by(m)}")
    return items


def _by(item: Mapping[str, Any]) -> str:
    """`` (out of band: ui-admin)`` when the ERP says who made an out-of-band change."""
    if not item.get("out_of_band"):
        return ""
    who = item.get("changed_by")
    return f" (out of band{': ' + inline(who) if who else ''})"


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
        f"{named(r.reviewer, r.name)}: {r.decided}/{r.lines} decided"
        + ("" if r.decided else ", not started")
        for r in waiting
    ]
    when = f", due {inline(due)}" if due else ""
    return Summary(
        event="review_status",
        target=inline(target),
        title=f"erpsync access review · {inline(target)}: {done:,}/{total:,} decided",
        headline=f"Access review {inline(campaign)} ({inline(state)}{when}): "
        f"{finished} of {len(reviewers)} reviewer(s) done.",
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
