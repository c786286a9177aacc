"""What a report shows, as prepared strings: a title, facts and tables.

:func:`layout` reads a report's JSON form (``to_dict()`` of the dataclasses in
:mod:`erpsync.reports`, plus the ``target`` and ``generated_at`` a command
adds) and returns a :class:`Layout`. The text and HTML views only lay it out,
so both say the same thing; every string has passed :func:`erpsync.render.clean`
(no control character can forge a line or recolour a terminal).

Everything is said in the run's language (:mod:`erpsync.i18n`): the titles, labels
and headings with ``_()``, the report's own words (a status, a path's text, a note),
which its JSON form keeps in English, with ``said()``. The ERP's own strings (names,
labels, permission codes) are shown as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erpsync.i18n import N_, _, ngettext, number, pgettext, said
from erpsync.render import clean
from erpsync.reports import BUILTIN, BUILTIN_TEXT

Row = tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """One table: a caption, column headers and rows (``empty`` is said when it has none)."""

    title: str
    headers: Row
    rows: tuple[Row, ...]
    empty: str = "none"
    count: int | None = None  # how many things the rows show, when not one per row

    @property
    def caption(self) -> str:
        shown = len(self.rows) if self.count is None else self.count
        return _("{title} ({count})").format(title=self.title, count=number(shown))


@dataclass(frozen=True)
class Layout:
    title: str
    facts: tuple[tuple[str, str], ...]  # (label, value), the summary shown first
    sections: tuple[Section, ...]


def layout(doc: Mapping[str, Any]) -> Layout:
    """The layout of any report's JSON form, chosen by its ``report`` field."""
    build = _BUILDERS[str(doc["report"])]
    title, facts, sections = build(doc)
    return Layout(clean(title), tuple(_origin(doc)) + tuple(_facts(facts)), tuple(sections))


def _facts(pairs: Sequence[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(label, _text(value)) for label, value in pairs if value not in (None, "", [])]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):  # keys and codes: ASCII, so a cell wraps between them
        return ", ".join(clean(v) for v in value)
    return clean(value)


def _section(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    empty: str | None = None,
    count: int | None = None,
) -> Section:
    cells = tuple(tuple(_text(c) for c in row) for row in rows)
    return Section(title, tuple(headers), cells, _("none") if empty is None else empty, count)


# The words of a report's JSON form (statuses, kinds, how a role is held) shown to people:
# said() finds them in the catalogue, the JSON keeps them in English.
WORDS = (
    N_("active"),
    N_("inactive"),
    N_("expired"),
    N_("expiring"),
    N_("mitigated"),
    N_("unmitigated"),
    N_("exception expired"),
    N_("built-in administrator"),
    N_("user"),
    N_("sod exception"),
    N_("open"),
    N_("closed"),
    N_("keep"),
    N_("revoke"),
    N_("expire"),
    N_("critical"),
    N_("high"),
    N_("medium"),
    N_("low"),
)


def _live_note(report: str) -> str:
    notes = {
        "sod": N_("; the rules and exceptions from the policy"),
        "expiring": N_(" (who is still active); the expiry dates from the policy"),
        "dormant": N_(" and its sign-in records; roles' risk and the SoD rules from the policy"),
    }
    flattened = N_("; roles as stored (flattened)")
    return _(notes.get(report, flattened))


def _origin(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Where the data comes from: the live ERP (which target) or the policy."""
    if doc.get("view") == "evidence":
        source = _("erpsync's review evidence (erpsync_review, hash-chained)")
    elif doc.get("view") == "live":
        target = doc.get("target") or {}
        where = (
            _("live ERP, target {name} ({url})").format(name=target["name"], url=target["url"])
            if target
            else _("live ERP")
        )
        source = where + _live_note(str(doc["report"]))
    else:
        source = _("policy (desired state)")
    facts = [(_("Source"), clean(source))]
    if doc.get("generated_at"):
        facts.append((_("Generated"), clean(doc["generated_at"])))
    return facts


def _perm(code: Any, label: Any) -> str:
    """A permission code with the ERP's own label beside it: ``system:user:add (用户新增)``."""
    return f"{code} ({label})" if label else str(code)


def _labelled(codes: Sequence[str], labels: Mapping[str, Any]) -> list[tuple[str]]:
    return [(_perm(p, labels.get(p)),) for p in codes]


def _builtin(why: Any) -> str:
    """The fact that says a user or role is a built-in administrator, and the ERP's rule."""
    return _("{builtin}: {why}").format(builtin=said(BUILTIN_TEXT), why=said(str(why)))


def _with(text: str, detail: str) -> str:
    """``text (detail)``, in the language's parentheses."""
    return _("{text} ({detail})").format(text=text, detail=detail)


def _cell(key: str, detail: str) -> str:
    """``key (detail)`` in a table cell: the space lets a narrow column wrap after the key,
    as the ERP's own names beside a code are shown (``sales (销售部)``)."""
    return f"{key} ({detail})"


def _count(n: int) -> str:
    return number(n)


def _department(key: Any, name: Any) -> str:
    if key is None:
        return ""
    return f"{key} ({name})" if name else str(key)


# --- one builder per report ------------------------------------------------------------------

Built = tuple[str, list[tuple[str, Any]], list[Section]]


def _user(doc: Mapping[str, Any]) -> Built:
    admin = bool(doc.get("builtin_administrator")) and doc["active"]
    status = said(doc["status"])
    if doc.get("status_reason"):
        status = _with(status, said(doc["status_reason"]))
    count = _count(len(doc["permissions"]))
    facts: list[tuple[str, Any]] = [
        (_("Login"), doc["login"]),
        (_("Name"), doc["name"]),
        (_("Email"), doc.get("email")),
        (_("Department"), _department(doc.get("department"), doc.get("department_name"))),
        (_("Status"), status),
        (_("Expires"), doc.get("expires")),
        (_("Built-in administrator"), _builtin(doc["builtin_administrator"]) if admin else None),
        (_("Permissions"), _with(count, _("every permission")) if admin else count),
    ]
    roles = [(r["role"], r.get("name") or "", said(r["text"])) for r in doc["roles"]]
    perms = [
        (_perm(p["permission"], p.get("label")) if i == 0 else "", said(path["text"]))
        for p in doc["permissions"]
        for i, path in enumerate(p["paths"])
    ]
    sections = [
        _section(_("Roles"), (_("Role"), pgettext("role", "Name"), _("Held as")), roles),
        _section(
            _("Effective permissions"),
            (_("Permission"), _("Path")),
            perms,
            _none_held(doc),
            len(doc["permissions"]),
        ),
    ]
    if doc.get("dormant_permissions"):
        dormant = _labelled(doc["dormant_permissions"], doc.get("labels") or {})
        title = _("Dormant: granted by stored memberships, not held while inactive")
        sections.append(_section(title, (_("Permission"),), dormant))
    return _("User {login}").format(login=doc["login"]), facts, sections


def _none_held(doc: Mapping[str, Any]) -> str:
    return _("none (inactive users hold nothing)") if not doc["active"] else _("none")


def _role(doc: Mapping[str, Any]) -> Built:
    admin = doc.get("builtin_administrator")
    labels = doc.get("labels") or {}
    tally = _("{count} ({own} its own)").format(
        count=_count(len(doc["permissions"])), own=_count(len(doc["own"]))
    )
    facts: list[tuple[str, Any]] = [
        (_("Role"), doc["key"]),
        (pgettext("role", "Name"), doc["name"]),
        (_("Description"), doc.get("description")),
        (_("Risk"), said(doc["risk"]) if doc.get("risk") else None),
        (_("Data scope"), doc.get("data_scope")),
        (_("Includes"), doc["includes"]),
        (_("Included by"), doc["included_by"]),
        (_("Built-in administrator"), _builtin(admin) if admin else None),
        (_("Permissions"), _("every permission: {tally}").format(tally=tally) if admin else tally),
        (_("Holders"), _count(len({h["login"] for h in doc["holders"]}))),
    ]
    own = _labelled(doc["own"], labels)
    included = [
        (_perm(i["permission"], labels.get(i["permission"])), i["from"]) for i in doc["included"]
    ]
    holders = [
        (
            h["login"],
            h["name"],
            _department(h.get("department"), None),
            h["active"],
            said(h["text"]),
        )
        for h in doc["holders"]
    ]
    sections = [_section(_("Own permissions"), (_("Permission"),), own)]
    if admin:
        every = _labelled([p for p in doc["permissions"] if p not in doc["own"]], labels)
        title = _("Held as {builtin}").format(builtin=said(BUILTIN))
        sections.append(_section(title, (_("Permission"),), every))
    if doc["view"] == "desired":
        sections.append(
            _section(
                _("Included permissions"),
                (_("Permission"), _("From included role")),
                included,
            )
        )
    headers = (_("Login"), _("Name"), _("Department"), _("Active"), _("Held as"))
    count = len({h["login"] for h in doc["holders"]})
    sections.append(_section(_("Holders"), headers, holders, count=count))
    return _("Role {key}").format(key=doc["key"]), facts, sections


def _who_can(doc: Mapping[str, Any]) -> Built:
    wanted = doc["permission"]
    rows = []
    for h in doc["holders"]:
        for i, path in enumerate(h["paths"]):
            via = said(path["text"])
            if path["permission"] != wanted:
                via = _("{permission}: {path}").format(permission=path["permission"], path=via)
            first = i == 0
            dept = _department(h.get("department"), h.get("department_name"))
            rows.append(
                (
                    h["login"] if first else "",
                    h["name"] if first else "",
                    dept if first else "",
                    via,
                )
            )
    admins = sum(1 for h in doc["holders"] if h.get("builtin_administrator"))
    users = _count(doc["count"])
    if admins:
        many = ngettext("{n} built-in administrator", "{n} built-in administrators", admins)
        users = _with(users, many.format(n=_count(admins)))
    facts: list[tuple[str, Any]] = [
        (_("Permission"), _perm(wanted, doc.get("label"))),
        (_("Users"), users),
    ]
    headers = (_("Login"), _("Name"), _("Department"), _("Path"))
    section = _section(_("Users holding it"), headers, rows, _("nobody"), doc["count"])
    return _("Who can {permission}").format(permission=wanted), facts, [section]


def _access(doc: Mapping[str, Any]) -> Built:
    s = doc["summary"]
    admins = sorted({r["login"] for r in doc["rows"] if r.get("builtin_administrator")})
    users = _("{users} ({active} active)").format(
        users=_count(s["users"]), active=_count(s["active_users"])
    )
    facts: list[tuple[str, Any]] = [
        (_("Users"), users),
        (
            _("Built-in administrators"),
            _("{logins}: {builtin}").format(logins=", ".join(admins), builtin=said(BUILTIN_TEXT))
            if admins
            else None,
        ),
        (_("Permissions"), _count(s["permissions"])),
        (_("Rows"), _count(s["rows"])),
    ]
    rows = [
        (
            f"{r['login']} {r['name']}" if r["name"] and r["name"] != r["login"] else r["login"],
            _department(r.get("department"), r.get("department_name")),
            said(r.get("status") or ("active" if r["active"] else "inactive")),
            _perm(r["permission"], r.get("permission_label")) if r["permission"] else _("none"),
            [said(BUILTIN), *r["roles"]] if r.get("builtin_administrator") else r["roles"],
        )
        for r in doc["rows"]
    ]
    headers = (_("User"), _("Department"), _("Status"), _("Permission"), _("Roles"))
    return _("Access listing"), facts, [_section(_("User × permission"), headers, rows)]


def _sod(doc: Mapping[str, Any]) -> Built:
    s = doc["summary"]
    facts: list[tuple[str, Any]] = [
        (_("Date"), doc["today"]),
        (_("Violations"), _count(s["violations"])),
        (_("Unmitigated"), _count(s["unmitigated"])),
        (_("Exception expired"), _count(s["exception_expired"])),
        (_("Mitigated by an exception"), _count(s["mitigated"])),
        (_("Built-in administrators"), _count(s.get(BUILTIN_KEY, 0))),
        (_("Blocking (high/critical, unmitigated)"), _count(s["blocking"])),
    ]
    rows = [
        (
            _cell(v["rule"], said(v["severity"])),
            _cell(v["user"], v["name"]) if v.get("name") else v["user"],
            _held(v),
            said(v["status"]),
            _exception(v.get("exception")),
        )
        for v in doc["violations"]
    ]
    headers = (_("Rule"), _("User"), _("Holds"), _("Status"), _("Exception"))
    return _("Separation of duties"), facts, [_section(_("Violations"), headers, rows)]


def _held(v: Mapping[str, Any]) -> str:
    groups = []
    for group in v["held"]:
        if v.get(BUILTIN_KEY):  # the status says how: every permission, built-in
            groups.append(", ".join(group))
            continue
        parts = [_cell(p, _held_by(v["roles"].get(p, []))) for p in group]
        groups.append(", ".join(parts))
    return " + ".join(groups)


BUILTIN_KEY = "builtin_administrator"


def _held_by(roles: Sequence[str]) -> str:
    named = [r for r in roles if r != BUILTIN]
    out = [_("role {roles}").format(roles=", ".join(named))] if named else []
    return _("; ").join(out + ([said(BUILTIN)] if BUILTIN in roles else []))


def _exception(exc: Mapping[str, Any] | None) -> str:
    if exc is None:
        return ""
    if exc.get("expires"):
        said_ = _("approved by {approver}, expires {date}: {reason}")
        return said_.format(approver=exc["approved_by"], date=exc["expires"], reason=exc["reason"])
    said_ = _("approved by {approver}, no expiry: {reason}")
    return said_.format(approver=exc["approved_by"], reason=exc["reason"])


def _days(n: int) -> str:
    return ngettext("{n} day", "{n} days", n).format(n=_count(n))


def _expiring(doc: Mapping[str, Any]) -> Built:
    s = doc["summary"]
    facts: list[tuple[str, Any]] = [
        (_("Date"), doc["today"]),
        (_("Window"), _days(doc["days"])),
        (_("Already expired"), _count(s["expired"])),
        (_("Expiring"), _count(s["expiring"])),
    ]
    live = doc["view"] == "live"
    headers = [_("Status"), _("Kind"), _("Key"), _("Expires"), _("Days left"), _("Detail")]
    if live:
        headers.append(_("Active in the ERP"))
    rows = []
    for e in doc["entries"]:
        row: list[Any] = [
            said(e["status"]),
            said(e["kind"].replace("_", " ")),
            e["key"],
            e["expires"],
            _count(e["days_left"]),
            said(e["detail"]) if e["kind"] != "user" else e["detail"],
        ]
        if live:
            row.append("" if e["live_active"] is None else e["live_active"])
        rows.append(row)
    title = ngettext(
        "Expiring within {n} day, or expired", "Expiring within {n} days, or expired", doc["days"]
    ).format(n=_count(doc["days"]))
    return title, facts, [_section(_("Users and SoD exceptions"), headers, rows)]


def _dormant(doc: Mapping[str, Any]) -> Built:
    s = doc["summary"]
    checked = ngettext(
        "{n} active managed user or built-in administrator",
        "{n} active managed users and built-in administrators",
        s["checked"],
    ).format(n=_count(s["checked"]))
    after = ngettext("{n} day without a sign-in", "{n} days without a sign-in", doc["days"]).format(
        n=_count(doc["days"])
    )
    facts: list[tuple[str, Any]] = [
        (_("Date"), doc["today"]),
        (_("Dormant after"), after),
        (_("Sign-ins from"), doc["source"]),
        (_("Checked"), checked),
        (_("Dormant"), _count(s["dormant"])),
        (_("Never signed in"), _count(s["never_signed_in"])),
        (_("With high-risk access"), _count(s["with_high_risk"])),
        *((_("Note"), said(note)) for note in doc["notes"]),
    ]
    headers = [
        _("User"),
        _("Department"),
        _("Last sign-in"),
        _("Days"),
        _("Roles"),
        _("High-risk access"),
    ]
    rows = []
    for u in doc["users"]:
        user = _cell(u["login"], u["name"]) if u["name"] else u["login"]
        noted = u["roles_of_note"]
        roles = [f"{r} [{', '.join(noted[r])}]" if r in noted else r for r in u["roles"]]
        risky = _builtin(u["builtin_administrator"]) if u["builtin_administrator"] else ""
        rows.append(
            [
                user,
                _department(u["department"], u["department_name"]),
                u["last_login"] or _("never"),
                "" if u["days_since"] is None else _count(u["days_since"]),
                roles,
                risky or u["high_risk_permissions"],
            ]
        )
    title = ngettext(
        "Dormant accounts: no sign-in for {n} day or more",
        "Dormant accounts: no sign-in for {n} days or more",
        doc["days"],
    ).format(n=_count(doc["days"]))
    return title, facts, [_section(_("Active users not signed in"), headers, rows)]


def _review(doc: Mapping[str, Any]) -> Built:
    evidence = doc["evidence"]
    if evidence["intact"]:
        chain = _("intact")
    else:
        problems = _("; ").join(said(p) for p in evidence["problems"])
        chain = _("NOT intact: {problems}").format(problems=problems)
    records = ", ".join(map(str, evidence["records"]))
    closed = None
    if doc["closed_at"]:
        closed = doc["closed_at"] + " " + _("by {who}").format(who=doc["closed_by"])
    started = doc["started_at"] + " " + _("by {who}").format(who=doc["started_by"])
    facts: list[tuple[str, Any]] = [
        (_("Campaign"), doc["campaign"]),
        (_("Status"), said(doc["status"])),
        (_("Target"), doc["target"]),
        (_("Scope"), doc["scope"]),
        (_("Started"), started),
        (_("Due"), doc["due"]),
        (_("Closed"), closed),
        (
            _("Evidence"),
            _("erpsync_review records {records}: {chain}").format(records=records, chain=chain),
        ),
        (_("Head of the chain"), evidence.get("head")),
    ]
    reviewers = [
        [
            _cell(r["reviewer"], r["name"]) if r["name"] else r["reviewer"],
            _count(r["lines"]),
            r["returned"] or _("not returned"),
            _(", ").join(f"{said(k)} {_count(v)}" for k, v in r["counts"].items()),
            r["digest"][:19] + "…",  # in full in the JSON view
        ]
        for r in doc["reviewers"]
    ]
    decisions = [
        [
            d["reviewer"],
            _count(d["line"]),
            d["login"],
            d["role"] or _("(account)"),
            said(d["decision"]) if d["decision"] else _("undecided"),
            d["expires"] or "",
            d["comment"] or "",
        ]
        for d in doc["decisions"]
    ]
    sections = [
        _section(
            _("Reviewers"),
            (_("Reviewer"), _("Lines"), _("Sheet returned"), _("Decisions"), _("Digest")),
            reviewers,
        ),
        _section(
            _("Decisions"),
            (
                _("Reviewer"),
                _("Line"),
                _("User"),
                _("Role"),
                _("Decision"),
                _("Expires"),
                _("Comment"),
            ),
            decisions,
            _("none recorded (the campaign is open)"),
        ),
        _section(_("Policy changes"), (_("Change"),), [[said(c)] for c in doc["policy_changes"]]),
        _section(_("Needing a hand edit"), (_("Decision"),), [[said(m)] for m in doc["manual"]]),
    ]
    return _("Access review {campaign}").format(campaign=doc["campaign"]), facts, sections


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Built]] = {
    "user": _user,
    "role": _role,
    "who-can": _who_can,
    "access": _access,
    "sod": _sod,
    "expiring": _expiring,
    "dormant": _dormant,
    "review": _review,
}
