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

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from erpsync.i18n import ENGLISH, N_, _, date, language, ngettext, number, said
from erpsync.render import ACTION_NAMES, clean, comment, line, show

# Summary counts in the order they are shown: (key in "summary", label, plural label).
# The labels name a category (an accepted item's, a table's column); :func:`counted`
# words a count with its own messages.
COUNTS = (
    ("changed", N_("changed"), N_("changed")),
    ("missing", N_("missing"), N_("missing")),
    ("extra", N_("extra"), N_("extra")),
    ("sod_violations", N_("SoD violation"), N_("SoD violations")),
    ("expired_active", N_("expired but active"), N_("expired but active")),
)
# The same, capitalised, as the heading of a column or a tile.
TITLES = {
    "changed": N_("Changed"),
    "missing": N_("Missing"),
    "extra": N_("Extra"),
    "sod_violations": N_("SoD violations"),
    "expired_active": N_("Expired but active"),
}
NO_DRIFT = N_("No drift: the ERP matches the policy.")
# An accepted item's category (a key of "summary"), as a person reads it.
CATEGORIES = {key: one for key, one, _many in COUNTS}
# What a drift item is, as a person reads it (other kinds are shown as they are).
KINDS = {
    "department": N_("department"),
    "role": N_("role"),
    "permission": N_("permission"),
    "user": N_("user"),
    "membership": N_("membership"),
    "sod": N_("sod"),
}
UNMANAGED_SHOWN = 20
OBJECT = "  "
DETAIL = "      "


# -- shared wording ------------------------------------------------------------------------


def num(n: int) -> str:
    """A count as people read it: ``1,234`` (grouped as the language groups digits)."""
    return f"{n:,}" if language() == ENGLISH else number(n)


def summary_sentence(report: Mapping[str, Any]) -> str:
    """``Drift: 1 changed, 2 extra; 1 out of band.``: the non-zero counts, or :data:`NO_DRIFT`,
    in the language of the run."""
    summary = report.get("summary") or {}
    parts = [counted(summary, key) for key, *_rest in COUNTS if summary.get(key)]
    if not parts:
        return _(NO_DRIFT)
    oob = int(summary.get("out_of_band", 0))
    tail = _("; {n} out of band").format(n=num(oob)) if oob else ""
    return _("Drift: {parts}{tail}.").format(parts=_(", ").join(parts), tail=tail)


def counted(summary: Mapping[str, Any], key: str) -> str:
    """``1 SoD violation``, ``3 changed``: a summary count with its label."""
    n = int(summary.get(key, 0))
    if key == "changed":
        text = ngettext("{n} changed", "{n} changed", n)
    elif key == "missing":
        text = ngettext("{n} missing", "{n} missing", n)
    elif key == "extra":
        text = ngettext("{n} extra", "{n} extra", n)
    elif key == "sod_violations":
        text = ngettext("{n} SoD violation", "{n} SoD violations", n)
    elif key == "expired_active":
        text = ngettext("{n} expired but active", "{n} expired but active", n)
    else:
        return f"{num(n)} {key.replace('_', ' ')}"
    return text.format(n=num(n))


def category(item: Mapping[str, Any]) -> str:
    """``SoD violation`` for an accepted item of category ``sod_violations``."""
    key = clean(item.get("category"))
    return _(CATEGORIES[key]) if key in CATEGORIES else key


def kind(value: object) -> str:
    """``user``, ``membership``…: a drift item's kind as a person reads it."""
    text = clean(value)
    return _(KINDS[text]) if text in KINDS else text


def when(text: object) -> str:
    """``2026-11-28T09:30:00Z`` as ``2026-11-28 09:30 UTC`` (``2026年11月28日 09:30 UTC``
    in Chinese); other text as it is."""
    value = clean(text)
    if len(value) == 20 and value.endswith("Z") and value[10] == "T":
        if language() != ENGLISH:
            day = _day(value[:10])
            if day is not None:
                return f"{date(day)} {value[11:16]} UTC"
        return f"{value[:10]} {value[11:16]} UTC"
    return value


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def attribution(item: Mapping[str, Any]) -> str:
    """``ui-admin, 2026-11-28 09:30 UTC``, or what the ERP did not record."""
    by, at = item.get("changed_by"), item.get("changed_at")
    if by is None and at is None:
        return _("not recorded by the ERP")
    if at is None:
        return _("{by}, time not recorded").format(by=clean(by))
    if by is None:
        return _("someone, {when}").format(when=when(at))
    return _("{by}, {when}").format(by=clean(by), when=when(at))


def attributed(item: Mapping[str, Any]) -> bool:
    """Whether a missing item has a who-and-when to show: deleted in the ERP, or a grant
    or membership whose timing drift could tell."""
    return bool(item.get("deleted_in_erp")) or item.get("out_of_band") is not None


def out_of_band(item: Mapping[str, Any]) -> str:
    """``out of band``, ``before the last apply`` or ``timing unknown`` (no time recorded)."""
    value = item.get("out_of_band")
    if value is True:
        return _("out of band")
    if value is False:
        return _("before the last apply")
    return _("timing unknown")


def last_apply(report: Mapping[str, Any]) -> str:
    last = report.get("last_apply")
    if not last:
        return _("erpsync has never applied to this ERP")
    record = clean(last.get("id"))
    text = _("#{id} at {when} by {actor}").format(
        id=record, when=when(last.get("applied_at")), actor=clean(last.get("actor"))
    )
    commit = last.get("git_commit")
    if commit:
        text += _(" (commit {commit})").format(commit=clean(commit)[:10])
    undid = last.get("reverts")
    if undid is not None:
        text += _(
            "; audit record #{id} reverted audit record #{undid}, "
            "so the ERP differs from the policy until the policy follows"
        ).format(id=record, undid=clean(undid))
    return text


def coverage(report: Mapping[str, Any]) -> str:
    """``40 of 43 live users managed (93.0%)``."""
    cov = report.get("coverage") or {}
    managed, live = int(cov.get("managed_users", 0)), int(cov.get("live_users", 0))
    percent = cov.get("percent")
    share = _(" ({percent}%)").format(percent=percent) if percent is not None else ""
    return _("{managed} of {live} live users managed{share}").format(
        managed=num(managed), live=num(live), share=share
    )


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
        if until:
            return _("exception until {date}").format(date=clean(until))
        return _("exception (no expiry)")
    if status == "exception_expired":
        return _("exception expired {date}").format(date=clean(exc.get("expires")))
    return _("no exception")


def note(finding: Mapping[str, Any]) -> str:
    """Why an SoD violation does not count as drift, in the language of the run."""
    return clean(said(str(finding.get("note") or "")))


def reason(item: Mapping[str, Any]) -> str:
    """An item's reason (a plan's reason, why the ERP deleted it), in the language of
    the run."""
    return clean(said(str(item.get("reason") or "")))


def action(item: Mapping[str, Any]) -> str:
    """What apply would do to an extra item (``revoke``), in the language of the run."""
    value = clean(item.get("apply_action"))
    return _(ACTION_NAMES[value]) if value in ACTION_NAMES else value


def field_change(change: Mapping[str, Any]) -> str:
    """``department: "finance" -> "sales"`` (policy -> ERP)."""
    name = clean(change.get("field"))
    return f"{name}: {show(change.get('declared'))} -> {show(change.get('live'))}"


def label(item: Mapping[str, Any]) -> str:
    """``user li.na (李娜)``: kind, key and display name."""
    name = item.get("name")
    text = f"{kind(item.get('kind'))} {clean(item.get('key'))}"
    return named(text, name)


def named(text: str, name: object) -> str:
    """``li.na (李娜)``: a key with its display name, when it has one."""
    return _("{object} ({name})").format(object=text, name=clean(name)) if name else text


def roles_held(roles: Sequence[object]) -> str:
    """``a, b``, or ``none`` when the user holds no role."""
    return _(", ").join(clean(r) for r in roles) or _("none")


def dormant_heading(section: Mapping[str, Any]) -> str:
    days = clean(section.get("days"))
    return _("Dormant accounts (no sign-in for {days} days or more)").format(days=days)


def dormant_intro(section: Mapping[str, Any]) -> str:
    """What the section is, where the sign-ins come from, or why there are none."""
    if section.get("unavailable"):
        return _("Not checked: {why}.").format(why=clean(said(str(section["unavailable"]))))
    notes = "".join(
        _(" {note}.").format(note=clean(said(str(n)))) for n in section.get("notes") or []
    )
    text = _(
        "Active users the ERP has not seen sign in (from {source}); listed for review, "
        "not counted as drift."
    )
    return text.format(source=clean(section.get("source"))) + notes


def last_sign_in(user: Mapping[str, Any]) -> str:
    """``2026-05-08 (204 days)``, or ``never``."""
    last = user.get("last_login")
    if last is None:
        return _("never")
    day = clean(last)[:10]
    if language() != ENGLISH and (parsed := _day(day)) is not None:
        day = date(parsed)
    return _("{date} ({days} days)").format(date=day, days=user.get("days_since"))


def dormant_rows(section: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Per dormant user: login, name, last sign-in, roles (with why of note), high-risk
    access, as plain cleaned strings."""
    rows = []
    for user in section.get("users") or []:
        seen = last_sign_in(user)
        noted = user.get("roles_of_note") or {}
        roles = ", ".join(
            f"{clean(r)} [{', '.join(clean(w) for w in noted[r])}]" if r in noted else clean(r)
            for r in user.get("roles") or []
        )
        builtin = user.get("builtin_administrator")
        risky = (
            _("every permission (built-in administrator)")
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
    counts = [counted(summary, key) for key, *_rest in COUNTS]
    line(out, (OBJECT + " · ".join(counts), "bold"))
    extras = [
        _("{n} out of band").format(n=num(int(summary.get("out_of_band", 0)))),
        _("{n} unmanaged").format(n=num(int(summary.get("unmanaged", 0)))),
        _("{n} accepted").format(n=num(int(summary.get("accepted", 0)))),
        _("coverage: {coverage}").format(coverage=coverage(report)),
    ]
    line(out, (OBJECT + " · ".join(extras), ""))
    out.append("\n")


def _stamp(item: Mapping[str, Any]) -> tuple[str, str]:
    flag = item.get("out_of_band")
    text = _("  [{timing}: {attribution}]").format(
        timing=out_of_band(item), attribution=attribution(item)
    )
    return (text, "bold red" if flag is True else "dim")


def _said(text: object) -> tuple[str, str]:
    """A dim ``  # text`` part: a message that is data, in the language of the run."""
    return (f"  # {clean(said(str(text)))}" if text else "", "dim")


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
        line(out, (OBJECT, ""), (f"+ {label(item)}", "green"), stamp, _said(item.get("reason")))
    out.append("\n")


def _extra(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    line(out, (_("Extra in the ERP (not declared; apply would remove):"), "bold"))
    for item in items:
        what = "- " + _("{object}: apply would {action}").format(
            object=label(item), action=action(item)
        )
        line(out, (OBJECT, ""), (what, "red"), _stamp(item), _said(item.get("reason")))
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
        line(out, (OBJECT + _("Also found, not counted as drift:"), ""))
        for item in others:
            line(out, (f"{OBJECT}  · {_violation(item)}", ""), _said(item.get("note")))
    out.append("\n")


def _violation(item: Mapping[str, Any]) -> str:
    rule, severity, user = (clean(item.get(k)) for k in ("rule", "severity", "user"))
    return _("{rule} ({severity}) {user}: {held}; {status}").format(
        rule=rule, severity=severity, user=user, held=held(item), status=sod_status(item)
    )


def _expired(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    line(out, (_("Expired in the policy but still active in the ERP:"), "bold"))
    for item in items:
        name = item.get("name")
        who = named(clean(item.get("login")), name)
        roles = _(", ").join(clean(r) for r in item.get("roles") or []) or _("no roles")
        text = "x " + _("user {who}: expired {date}, still holds {roles}").format(
            who=who, date=clean(item.get("expires")), roles=roles
        )
        line(out, (OBJECT, ""), (text, "red"))
    out.append("\n")


def _dormant(out: Text, section: Mapping[str, Any] | None) -> None:
    if section is None or not (section.get("users") or section.get("unavailable")):
        return
    line(out, (dormant_heading(section) + _(":"), "bold"))
    line(out, (OBJECT + dormant_intro(section), "dim"))
    for login, name, seen, roles, risky in dormant_rows(section):
        who = named(login, name)
        text = "? " + _("user {who}: last sign-in {seen}; roles {roles}").format(
            who=who, seen=seen, roles=roles or _("none")
        )
        line(out, (OBJECT, ""), (text, "yellow"))
        if risky:
            line(out, (DETAIL + _("high-risk: {access}").format(access=risky), "yellow"))
    out.append("\n")


def _unmanaged(out: Text, items: Sequence[Mapping[str, Any]]) -> None:
    if not items:
        return
    line(out, (_("Unmanaged (erpsync leaves these alone):"), "bold"))
    for item in items[:UNMANAGED_SHOWN]:
        text = f"{OBJECT}{kind(item.get('kind'))} {clean(item.get('key'))}"
        line(out, (text, ""), comment(item.get("reason")))
    if len(items) > UNMANAGED_SHOWN:
        left = len(items) - UNMANAGED_SHOWN
        more = ngettext("… and {n} more", "… and {n} more", left).format(n=num(left))
        line(out, (OBJECT + more, "dim"))
    out.append("\n")


def _accepted(out: Text, items: Sequence[Mapping[str, Any]], source: object) -> None:
    if not items:
        return
    heading = _("Accepted drift (listed in {file}):").format(file=clean(source or ".erpsyncignore"))
    line(out, (heading, "bold"))
    for item in items:
        what = f"{kind(item.get('kind'))} {clean(item.get('key'))}"
        text = OBJECT + _("{category}: {object}").format(category=category(item), object=what)
        why = _("line {line} `{entry}`").format(
            line=clean(item.get("line")), entry=clean(item.get("entry"))
        )
        reason = item.get("reason")
        if reason:
            why = _("{where}: {reason}").format(where=why, reason=clean(reason))
        line(out, (text, ""), (f"  # {why}", "dim"))
    out.append("\n")


def _listing(out: Text, title: str, items: Sequence[object]) -> None:
    if not items:
        return
    line(out, (title, "bold yellow"))
    for item in items:
        line(out, (f"{OBJECT}! {clean(said(str(item)))}", "yellow"))
    out.append("\n")
