"""The terminal view of a drift report, and the phrases every drift view shares.

:func:`text_view` turns the report's JSON form (:meth:`erpsync.drift.DriftReport.to_dict`)
into a ``rich`` :class:`~rich.text.Text`: a header naming the target and the last
apply, the summary counts, then one section per non-empty category, and last a
``Drift: …`` sentence. Markers say what colour repeats: ``~`` changed, ``+``
missing, ``-`` extra, ``!`` an SoD violation that counts, ``x`` expired but active.

The helpers above :func:`text_view` (:func:`summary_sentence`, :func:`when`,
:func:`sod_status`…) word things once for the Markdown and HTML views too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from erpsync.i18n import N_, _
from erpsync.render import clean, comment, line, show

# Summary counts in the order they are shown: (key in "summary", label, plural label).
COUNTS = (
    ("changed", N_("changed"), N_("changed")),
    ("missing", N_("missing"), N_("missing")),
    ("extra", N_("extra"), N_("extra")),
    ("sod_violations", N_("SoD violation"), N_("SoD violations")),
    ("expired_active", N_("expired but active"), N_("expired but active")),
)
NO_DRIFT = N_("No drift: the ERP matches the policy.")
# An accepted item's category (a key of "summary"), as a person reads it.
CATEGORIES = {key: one for key, one, _many in COUNTS}
UNMANAGED_SHOWN = 20
OBJECT = "  "
DETAIL = "      "


# -- shared wording ------------------------------------------------------------------------


def summary_sentence(report: Mapping[str, Any]) -> str:
    """``Drift: 1 changed, 2 extra; 1 out of band.``: the non-zero counts, or :data:`NO_DRIFT`,
    in the language of the run."""
    summary = report.get("summary") or {}
    parts = [counted(summary, key) for key, *_rest in COUNTS if summary.get(key)]
    if not parts:
        return _(NO_DRIFT)
    oob = int(summary.get("out_of_band", 0))
    tail = _("; {n} out of band").format(n=f"{oob:,}") if oob else ""
    return _("Drift: {parts}{tail}.").format(parts=_(", ").join(parts), tail=tail)


def counted(summary: Mapping[str, Any], key: str) -> str:
    """``1 SoD violation``, ``3 changed``: a summary count with its label."""
    n = int(summary.get(key, 0))
    for name, one, many in COUNTS:
        if name == key:
            return f"{n:,} {_(one if n == 1 else many)}"
    return f"{n:,} {key.replace('_', ' ')}"


def category(item: Mapping[str, Any]) -> str:
    """``SoD violation`` for an accepted item of category ``sod_violations``."""
    key = clean(item.get("category"))
    return CATEGORIES.get(key, key)


def when(text: object) -> str:
    """``2026-11-28T09:30:00Z`` as ``2026-11-28 09:30 UTC``; other text as it is."""
    value = clean(text)
    if len(value) == 20 and value.endswith("Z") and value[10] == "T":
        return f"{value[:10]} {value[11:16]} UTC"
    return value


def attribution(item: Mapping[str, Any]) -> str:
    """``ui-admin, 2026-11-28 09:30 UTC``, or what the ERP did not record."""
    by, at = item.get("changed_by"), item.get("changed_at")
    if by is None and at is None:
        return "not recorded by the ERP"
    if at is None:
        return f"{clean(by)}, time not recorded"
    return f"{clean(by) if by is not None else 'someone'}, {when(at)}"


def attributed(item: Mapping[str, Any]) -> bool:
    """Whether a missing item has a who-and-when to show: deleted in the ERP, or a grant
    or membership whose timing drift could tell."""
    return bool(item.get("deleted_in_erp")) or item.get("out_of_band") is not None


def out_of_band(item: Mapping[str, Any]) -> str:
    """``out of band``, ``before the last apply`` or ``timing unknown`` (no time recorded)."""
    value = item.get("out_of_band")
    if value is True:
        return "out of band"
    if value is False:
        return "before the last apply"
    return "timing unknown"


def last_apply(report: Mapping[str, Any]) -> str:
    last = report.get("last_apply")
    if not last:
        return _("erpsync has never applied to this ERP")
    text = (
        f"#{clean(last.get('id'))} at {when(last.get('applied_at'))} by {clean(last.get('actor'))}"
    )
    commit = last.get("git_commit")
    text = f"{text} (commit {clean(commit)[:10]})" if commit else text
    undid = last.get("reverts")
    if undid is not None:
        text += (
            f"; audit record #{clean(last.get('id'))} reverted audit record #{clean(undid)}, "
            "so the ERP differs from the policy until the policy follows"
        )
    return text


def coverage(report: Mapping[str, Any]) -> str:
    """``40 of 43 live users managed (93.0%)``."""
    cov = report.get("coverage") or {}
    managed, live = int(cov.get("managed_users", 0)), int(cov.get("live_users", 0))
    percent = cov.get("percent")
    share = f" ({percent}%)" if percent is not None else ""
    return f"{managed:,} of {live:,} live users managed{share}"


def percent(report: Mapping[str, Any]) -> str:
    value = (report.get("coverage") or {}).get("percent")
    return "—" if value is None else f"{value}%"


def held(finding: Mapping[str, Any]) -> str:
    """The conflicting permissions a user holds: ``a:create, a:update + b:approve``."""
    groups = finding.get("held") or []
    return " + ".join(", ".join(clean(p) for p in group) for group in groups)


def sod_status(finding: Mapping[str, Any]) -> str:
    exc = finding.get("exception") or {}
    status = finding.get("status")
    if status == "exception":
        until = exc.get("expires")
        return f"exception until {clean(until)}" if until else "exception (no expiry)"
    if status == "exception_expired":
        return f"exception expired {clean(exc.get('expires'))}"
    return "no exception"


def field_change(change: Mapping[str, Any]) -> str:
    """``department: "finance" -> "sales"`` (policy -> ERP)."""
    name = clean(change.get("field"))
    return f"{name}: {show(change.get('declared'))} -> {show(change.get('live'))}"


def label(item: Mapping[str, Any]) -> str:
    """``user li.na (李娜)``: kind, key and display name."""
    name = item.get("name")
    text = f"{clean(item.get('kind'))} {clean(item.get('key'))}"
    return f"{text} ({clean(name)})" if name else text


def dormant_heading(section: Mapping[str, Any]) -> str:
    days = clean(section.get("days"))
    return _("Dormant accounts (no sign-in for {days} days or more)").format(days=days)


def dormant_intro(section: Mapping[str, Any]) -> str:
    """What the section is, where the sign-ins come from, or why there are none."""
    if section.get("unavailable"):
        return _("Not checked: {why}.").format(why=clean(section["unavailable"]))
    notes = "".join(f" {clean(n)}." for n in section.get("notes") or [])
    text = _(
        "Active users the ERP has not seen sign in (from {source}); listed for review, "
        "not counted as drift."
    )
    return text.format(source=clean(section.get("source"))) + notes


def dormant_rows(section: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Per dormant user: login, name, last sign-in, roles (with why of note), high-risk
    access, as plain cleaned strings."""
    rows = []
    for user in section.get("users") or []:
        last = user.get("last_login")
        seen = "never" if last is None else f"{clean(last)[:10]} ({user.get('days_since')} days)"
        noted = user.get("roles_of_note") or {}
        roles = ", ".join(
            f"{clean(r)} [{', '.join(clean(w) for w in noted[r])}]" if r in noted else clean(r)
            for r in user.get("roles") or []
        )
        builtin = user.get("builtin_administrator")
        risky = (
            "every permission (built-in administrator)"
            if builtin
            else ", ".join(clean(p) for p in user.get("high_risk_permissions") or [])
        )
        rows.append((clean(user.get("login")), clean(user.get("name") or ""), seen, roles, risky))
    return rows


# -- the terminal view ---------------------------------------------------------------------


def text_view(report: Mapping[str, Any]) -> Text:
    """The whole report as text; the last line is the ``Drift:`` sentence."""
    out = Text()
    _header(out, report)
    _changed(out, report.get("changed") or [])
    _missing(out, report.get("missing") or [])
    _extra(out, report.get("extra") or [])
    _sod(out, report.get("sod") or [])
    _expired(out, report.get("expired_active") or [])
    _unmanaged(out, report.get("unmanaged") or [])
    _accepted(out, report.get("accepted") or [], report.get("ignore_file"))
    _dormant(out, report.get("dormant"))
    _listing(out, _("Warnings:"), report.get("warnings") or [])
    out.append(summary_sentence(report), style="bold red" if _drift(report) else "bold green")
    return out


def _drift(report: Mapping[str, Any]) -> bool:
    return bool((report.get("summary") or {}).get("drift"))


def _header(out: Text, report: Mapping[str, Any]) -> None:
    target = report.get("target") or {}
    name, adapter, url = (clean(target.get(k, "?")) for k in ("name", "adapter", "url"))
    title = _("erpsync drift for target {name} (adapter {adapter}, {url})")
    line(out, (title.format(name=name, adapter=adapter, url=url), "bold"))
    checked = _("Checked {when}; last apply: {last}")
    line(out, (checked.format(when=when(report.get("created_at")), last=last_apply(report)), ""))
    out.append("\n")
    summary = report.get("summary") or {}
    counts = [counted(summary, key) for key, *_ in COUNTS]
    line(out, (OBJECT + " · ".join(counts), "bold"))
    extras = [
        f"{int(summary.get('out_of_band', 0)):,} out of band",
        f"{int(summary.get('unmanaged', 0)):,} unmanaged",
        f"{int(summary.get('accepted', 0)):,} accepted",
        f"coverage: {coverage(report)}",
    ]
    line(out, (OBJECT + " · ".join(extras), ""))
    out.append("\n")


def _stamp(item: Mapping[str, Any]) -> tuple[str, str]:
    flag = item.get("out_of_band")
    text = f"  [{out_of_band(item)}: {attribution(item)}]"
    return (text, "bold red" if flag is True else "dim")


def _changed(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    line(out, (_("Changed in the ERP (policy -> ERP):"), "bold"))
    for item in items:
        line(out, (OBJECT, ""), (f"~ {label(item)}", "yellow"), _stamp(item))
        for change in item.get("fields") or []:
            line(out, (DETAIL, ""), (f"~ {field_change(change)}", "yellow"))
    out.append("\n")


def _missing(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    line(out, (_("Missing from the ERP (declared, absent):"), "bold"))
    for item in items:
        stamp = _stamp(item) if attributed(item) else ("", "")
        line(out, (OBJECT, ""), (f"+ {label(item)}", "green"), stamp, comment(item.get("reason")))
    out.append("\n")


def _extra(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    line(out, (_("Extra in the ERP (not declared; apply would remove):"), "bold"))
    for item in items:
        what = f"- {label(item)}: apply would {clean(item.get('apply_action'))}"
        line(out, (OBJECT, ""), (what, "red"), _stamp(item), comment(item.get("reason")))
    out.append("\n")


def _sod(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    counting = [i for i in items if i.get("counts_as_drift")]
    others = [i for i in items if not i.get("counts_as_drift")]
    line(out, (_("Separation-of-duties violations in the live state:"), "bold"))
    for item in counting:
        line(out, (OBJECT, ""), (f"! {_violation(item)}", "bold red"))
    if others:
        line(out, (f"{OBJECT}Also found, not counted as drift:", ""))
        for item in others:
            line(out, (f"{OBJECT}  · {_violation(item)}", ""), comment(item.get("note")))
    out.append("\n")


def _violation(item: Mapping[str, Any]) -> str:
    rule, severity, user = (clean(item.get(k)) for k in ("rule", "severity", "user"))
    return f"{rule} ({severity}) {user}: {held(item)}; {sod_status(item)}"


def _expired(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    line(out, (_("Expired in the policy but still active in the ERP:"), "bold"))
    for item in items:
        name = item.get("name")
        who = f"{clean(item.get('login'))} ({clean(name)})" if name else clean(item.get("login"))
        roles = ", ".join(clean(r) for r in item.get("roles") or []) or "no roles"
        text = f"x user {who}: expired {clean(item.get('expires'))}, still holds {roles}"
        line(out, (OBJECT, ""), (text, "red"))
    out.append("\n")


def _dormant(out: Text, section: Mapping[str, Any] | None) -> None:
    if section is None or not (section.get("users") or section.get("unavailable")):
        return
    line(out, (dormant_heading(section) + ":", "bold"))
    line(out, (OBJECT + dormant_intro(section), "dim"))
    for login, name, seen, roles, risky in dormant_rows(section):
        who = f"{login} ({name})" if name else login
        text = f"? user {who}: last sign-in {seen}; roles {roles or 'none'}"
        line(out, (OBJECT, ""), (text, "yellow"))
        if risky:
            line(out, (DETAIL + f"high-risk: {risky}", "yellow"))
    out.append("\n")


def _unmanaged(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    line(out, (_("Unmanaged (erpsync leaves these alone):"), "bold"))
    for item in items[:UNMANAGED_SHOWN]:
        text = f"{OBJECT}{clean(item.get('kind'))} {clean(item.get('key'))}"
        line(out, (text, ""), comment(item.get("reason")))
    if len(items) > UNMANAGED_SHOWN:
        line(out, (f"{OBJECT}… and {len(items) - UNMANAGED_SHOWN:,} more", "dim"))
    out.append("\n")


def _accepted(out: Text, items: Sequence[Mapping[str, Any]], source: object) -> None:
    if not items:
        return
    line(out, (f"Accepted drift (listed in {clean(source or '.erpsyncignore')}):", "bold"))
    for item in items:
        text = f"{OBJECT}{category(item)}: {clean(item.get('kind'))} "
        text += clean(item.get("key"))
        why = f"line {clean(item.get('line'))} `{clean(item.get('entry'))}`"
        reason = item.get("reason")
        line(out, (text, ""), comment(f"{why}: {clean(reason)}" if reason else why))
    out.append("\n")


def _listing(out: Text, title: str, items: Sequence[object]) -> None:
    if not items:
        return
    line(out, (title, "bold yellow"))
    for item in items:
        line(out, (f"{OBJECT}! {clean(item)}", "yellow"))
    out.append("\n")
