"""What a report shows, as prepared strings: a title, facts and tables.

:func:`layout` reads a report's JSON form (``to_dict()`` of the dataclasses in
:mod:`erpsync.reports`, plus the ``target`` and ``generated_at`` a command
adds) and returns a :class:`Layout`. The text and HTML views only lay it out,
so both say the same thing; every string has passed :func:`erpsync.render.clean`
(no control character can forge a line or recolour a terminal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
        return f"{self.title} ({len(self.rows) if self.count is None else self.count})"


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
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(clean(v) for v in value)
    return clean(value)


def _section(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    empty: str = "none",
    count: int | None = None,
) -> Section:
    cells = tuple(tuple(_text(c) for c in row) for row in rows)
    return Section(title, tuple(headers), cells, empty, count)


_LIVE_NOTE = {
    "sod": "; the rules and exceptions from the policy",
    "expiring": " (who is still active); the expiry dates from the policy",
    "dormant": " and its sign-in records; roles' risk and the SoD rules from the policy",
}


def _origin(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Where the data comes from: the live ERP (which target) or the policy."""
    if doc.get("view") == "evidence":
        source = "erpsync's review evidence (erpsync_review, hash-chained)"
    elif doc.get("view") == "live":
        target = doc.get("target") or {}
        where = f"live ERP, target {target['name']} ({target['url']})" if target else "live ERP"
        source = where + _LIVE_NOTE.get(str(doc["report"]), "; roles as stored (flattened)")
    else:
        source = "policy (desired state)"
    facts = [("Source", clean(source))]
    if doc.get("generated_at"):
        facts.append(("Generated", clean(doc["generated_at"])))
    return facts


def _perm(code: Any, label: Any) -> str:
    """A permission code with the ERP's own label beside it: ``system:user:add (用户新增)``."""
    return f"{code} ({label})" if label else str(code)


def _labelled(codes: Sequence[str], labels: Mapping[str, Any]) -> list[tuple[str]]:
    return [(_perm(p, labels.get(p)),) for p in codes]


def _builtin(why: Any) -> str:
    """The fact that says a user or role is a built-in administrator, and the ERP's rule."""
    return f"{BUILTIN_TEXT}: {why}"


def _department(key: Any, name: Any) -> str:
    if key is None:
        return ""
    return f"{key} ({name})" if name else str(key)


# --- one builder per report ------------------------------------------------------------------

Built = tuple[str, list[tuple[str, Any]], list[Section]]


def _user(doc: Mapping[str, Any]) -> Built:
    admin = bool(doc.get("builtin_administrator")) and doc["active"]
    status = doc["status"] + (f" ({doc['status_reason']})" if doc.get("status_reason") else "")
    facts: list[tuple[str, Any]] = [
        ("Login", doc["login"]),
        ("Name", doc["name"]),
        ("Email", doc.get("email")),
        ("Department", _department(doc.get("department"), doc.get("department_name"))),
        ("Status", status),
        ("Expires", doc.get("expires")),
        ("Built-in administrator", _builtin(doc["builtin_administrator"]) if admin else None),
        ("Permissions", str(len(doc["permissions"])) + (" (every permission)" if admin else "")),
    ]
    roles = [(r["role"], r.get("name") or "", r["text"]) for r in doc["roles"]]
    perms = [
        (_perm(p["permission"], p.get("label")) if i == 0 else "", path["text"])
        for p in doc["permissions"]
        for i, path in enumerate(p["paths"])
    ]
    sections = [
        _section("Roles", ("Role", "Name", "Held as"), roles),
        _section(
            "Effective permissions",
            ("Permission", "Path"),
            perms,
            _none_held(doc),
            len(doc["permissions"]),
        ),
    ]
    if doc.get("dormant_permissions"):
        dormant = _labelled(doc["dormant_permissions"], doc.get("labels") or {})
        title = "Dormant: granted by stored memberships, not held while inactive"
        sections.append(_section(title, ("Permission",), dormant))
    return f"User {doc['login']}", facts, sections


def _none_held(doc: Mapping[str, Any]) -> str:
    return "none (inactive users hold nothing)" if not doc["active"] else "none"


def _role(doc: Mapping[str, Any]) -> Built:
    admin = doc.get("builtin_administrator")
    labels = doc.get("labels") or {}
    tally = f"{len(doc['permissions'])} ({len(doc['own'])} its own)"
    facts: list[tuple[str, Any]] = [
        ("Role", doc["key"]),
        ("Name", doc["name"]),
        ("Description", doc.get("description")),
        ("Risk", doc.get("risk")),
        ("Data scope", doc.get("data_scope")),
        ("Includes", doc["includes"]),
        ("Included by", doc["included_by"]),
        ("Built-in administrator", _builtin(admin) if admin else None),
        ("Permissions", f"every permission: {tally}" if admin else tally),
        ("Holders", str(len({h["login"] for h in doc["holders"]}))),
    ]
    own = _labelled(doc["own"], labels)
    included = [
        (_perm(i["permission"], labels.get(i["permission"])), i["from"]) for i in doc["included"]
    ]
    holders = [
        (h["login"], h["name"], _department(h.get("department"), None), h["active"], h["text"])
        for h in doc["holders"]
    ]
    sections = [_section("Own permissions", ("Permission",), own)]
    if admin:
        every = _labelled([p for p in doc["permissions"] if p not in doc["own"]], labels)
        sections.append(_section(f"Held as {BUILTIN}", ("Permission",), every))
    if doc["view"] == "desired":
        sections.append(
            _section("Included permissions", ("Permission", "From included role"), included)
        )
    headers = ("Login", "Name", "Department", "Active", "Held as")
    count = len({h["login"] for h in doc["holders"]})
    sections.append(_section("Holders", headers, holders, count=count))
    return f"Role {doc['key']}", facts, sections


def _who_can(doc: Mapping[str, Any]) -> Built:
    wanted = doc["permission"]
    rows = []
    for h in doc["holders"]:
        for i, path in enumerate(h["paths"]):
            via = path["text"]
            if path["permission"] != wanted:
                via = f"{path['permission']}: {via}"
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
    facts: list[tuple[str, Any]] = [
        ("Permission", _perm(wanted, doc.get("label"))),
        ("Users", str(doc["count"]) + (f" ({admins} built-in administrators)" if admins else "")),
    ]
    headers = ("Login", "Name", "Department", "Path")
    section = _section("Users holding it", headers, rows, "nobody", doc["count"])
    return f"Who can {wanted}", facts, [section]


def _access(doc: Mapping[str, Any]) -> Built:
    s = doc["summary"]
    admins = sorted({r["login"] for r in doc["rows"] if r.get("builtin_administrator")})
    facts: list[tuple[str, Any]] = [
        ("Users", f"{s['users']} ({s['active_users']} active)"),
        ("Built-in administrators", f"{', '.join(admins)}: {BUILTIN_TEXT}" if admins else None),
        ("Permissions", str(s["permissions"])),
        ("Rows", str(s["rows"])),
    ]
    rows = [
        (
            f"{r['login']} {r['name']}" if r["name"] and r["name"] != r["login"] else r["login"],
            _department(r.get("department"), r.get("department_name")),
            r.get("status") or ("active" if r["active"] else "inactive"),
            _perm(r["permission"], r.get("permission_label")) if r["permission"] else "none",
            [BUILTIN, *r["roles"]] if r.get("builtin_administrator") else r["roles"],
        )
        for r in doc["rows"]
    ]
    headers = ("User", "Department", "Status", "Permission", "Roles")
    return "Access listing", facts, [_section("User × permission", headers, rows)]


def _sod(doc: Mapping[str, Any]) -> Built:
    s = doc["summary"]
    facts: list[tuple[str, Any]] = [
        ("Date", doc["today"]),
        ("Violations", str(s["violations"])),
        ("Unmitigated", str(s["unmitigated"])),
        ("Exception expired", str(s["exception_expired"])),
        ("Mitigated by an exception", str(s["mitigated"])),
        ("Built-in administrators", str(s.get(BUILTIN_KEY, 0))),
        ("Blocking (high/critical, unmitigated)", str(s["blocking"])),
    ]
    rows = [
        (
            f"{v['rule']} ({v['severity']})",
            f"{v['user']} ({v['name']})" if v.get("name") else v["user"],
            _held(v),
            v["status"],
            _exception(v.get("exception")),
        )
        for v in doc["violations"]
    ]
    headers = ("Rule", "User", "Holds", "Status", "Exception")
    return "Separation of duties", facts, [_section("Violations", headers, rows)]


def _held(v: Mapping[str, Any]) -> str:
    groups = []
    for group in v["held"]:
        if v.get(BUILTIN_KEY):  # the status says how: every permission, built-in
            groups.append(", ".join(group))
            continue
        parts = [f"{p} ({_held_by(v['roles'].get(p, []))})" for p in group]
        groups.append(", ".join(parts))
    return " + ".join(groups)


BUILTIN_KEY = "builtin_administrator"


def _held_by(roles: Sequence[str]) -> str:
    named = [r for r in roles if r != BUILTIN]
    out = [f"role {', '.join(named)}"] if named else []
    return "; ".join(out + ([BUILTIN] if BUILTIN in roles else []))


def _exception(exc: Mapping[str, Any] | None) -> str:
    if exc is None:
        return ""
    until = f", expires {exc['expires']}" if exc.get("expires") else ", no expiry"
    return f"approved by {exc['approved_by']}{until}: {exc['reason']}"


def _expiring(doc: Mapping[str, Any]) -> Built:
    s = doc["summary"]
    facts: list[tuple[str, Any]] = [
        ("Date", doc["today"]),
        ("Window", f"{doc['days']} days"),
        ("Already expired", str(s["expired"])),
        ("Expiring", str(s["expiring"])),
    ]
    live = doc["view"] == "live"
    headers = ["Status", "Kind", "Key", "Expires", "Days left", "Detail"]
    if live:
        headers.append("Active in the ERP")
    rows = []
    for e in doc["entries"]:
        row: list[Any] = [
            e["status"],
            e["kind"].replace("_", " "),
            e["key"],
            e["expires"],
            str(e["days_left"]),
            e["detail"],
        ]
        if live:
            row.append("" if e["live_active"] is None else e["live_active"])
        rows.append(row)
    title = f"Expiring within {doc['days']} days, or expired"
    return title, facts, [_section("Users and SoD exceptions", headers, rows)]


def _dormant(doc: Mapping[str, Any]) -> Built:
    s = doc["summary"]
    facts: list[tuple[str, Any]] = [
        ("Date", doc["today"]),
        ("Dormant after", f"{doc['days']} days without a sign-in"),
        ("Sign-ins from", doc["source"]),
        ("Checked", f"{s['checked']} active managed users and built-in administrators"),
        ("Dormant", str(s["dormant"])),
        ("Never signed in", str(s["never_signed_in"])),
        ("With high-risk access", str(s["with_high_risk"])),
        *(("Note", note) for note in doc["notes"]),
    ]
    headers = ["User", "Department", "Last sign-in", "Days", "Roles", "High-risk access"]
    rows = []
    for u in doc["users"]:
        user = f"{u['login']} ({u['name']})" if u["name"] else u["login"]
        noted = u["roles_of_note"]
        roles = [f"{r} [{', '.join(noted[r])}]" if r in noted else r for r in u["roles"]]
        risky = _builtin(u["builtin_administrator"]) if u["builtin_administrator"] else ""
        rows.append(
            [
                user,
                _department(u["department"], u["department_name"]),
                u["last_login"] or "never",
                "" if u["days_since"] is None else str(u["days_since"]),
                roles,
                risky or u["high_risk_permissions"],
            ]
        )
    title = f"Dormant accounts: no sign-in for {doc['days']} days or more"
    return title, facts, [_section("Active users not signed in", headers, rows)]


def _review(doc: Mapping[str, Any]) -> Built:
    evidence = doc["evidence"]
    chain = "intact" if evidence["intact"] else "NOT intact: " + "; ".join(evidence["problems"])
    facts: list[tuple[str, Any]] = [
        ("Campaign", doc["campaign"]),
        ("Status", doc["status"]),
        ("Target", doc["target"]),
        ("Scope", doc["scope"]),
        ("Started", f"{doc['started_at']} by {doc['started_by']}"),
        ("Due", doc["due"]),
        ("Closed", f"{doc['closed_at']} by {doc['closed_by']}" if doc["closed_at"] else None),
        ("Evidence", f"erpsync_review records {', '.join(map(str, evidence['records']))}: {chain}"),
        ("Head of the chain", evidence.get("head")),
    ]
    reviewers = [
        [
            f"{r['reviewer']} ({r['name']})" if r["name"] else r["reviewer"],
            str(r["lines"]),
            r["returned"] or "not returned",
            ", ".join(f"{k} {v}" for k, v in r["counts"].items()),
            r["digest"][:19] + "…",  # in full in the JSON view
        ]
        for r in doc["reviewers"]
    ]
    decisions = [
        [
            d["reviewer"],
            str(d["line"]),
            d["login"],
            d["role"] or "(account)",
            d["decision"] or "undecided",
            d["expires"] or "",
            d["comment"] or "",
        ]
        for d in doc["decisions"]
    ]
    sections = [
        _section(
            "Reviewers", ("Reviewer", "Lines", "Sheet returned", "Decisions", "Digest"), reviewers
        ),
        _section(
            "Decisions",
            ("Reviewer", "Line", "User", "Role", "Decision", "Expires", "Comment"),
            decisions,
            "none recorded (the campaign is open)",
        ),
        _section("Policy changes", ("Change",), [[c] for c in doc["policy_changes"]]),
        _section("Needing a hand edit", ("Decision",), [[m] for m in doc["manual"]]),
    ]
    return f"Access review {doc['campaign']}", facts, sections


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
