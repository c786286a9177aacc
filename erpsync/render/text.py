"""The terminal view of a plan, in the manner of ``terraform plan``.

:func:`text_view` turns a plan's JSON form into a ``rich`` :class:`~rich.text.Text`:
a header naming the target, a legend of the markers that occur, then the
departments, roles and users that change. A role's permission grants and
revokes are nested under the role, a user's memberships under the user, even
when the role or user itself does not change. Then the unmanaged objects,
warnings and notes, and last the ``Plan: …`` sentence. Colour only repeats
what the markers already say: ``Text.plain`` reads fully without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from erpsync.i18n import N_, _, ngettext, number, said
from erpsync.render import (
    ACTION_NAMES,
    ACTIONS,
    clean,
    comment,
    guard_line,
    kind_name,
    line,
    renamed_from,
    said_summary,
    show,
    split_key,
)

MARKERS = {
    "create": "+",
    "update": "~",
    "delete": "-",
    "deactivate": "x",
    "reactivate": "^",
    "grant": "+",
    "revoke": "-",
}
STYLES = {
    "create": "green",
    "grant": "green",
    "update": "yellow",
    "delete": "red",
    "revoke": "red",
    "deactivate": "red",
    "reactivate": "cyan",
}
# Object kinds in the order they are shown, and their section titles.
SECTIONS = {"department": N_("Departments"), "role": N_("Roles"), "user": N_("Users")}
# A permission belongs to a role, a membership to a user; the sub-heading they are listed under.
NESTED = {"permission": ("role", N_("permissions:")), "membership": ("user", N_("roles:"))}
UNMANAGED_SHOWN = 20
OBJECT = "  "  # indent of an object line, before its marker
DETAIL = "      "  # indent of an attribute line or a nested sub-heading
ITEM = "        "  # indent of a nested grant or revoke


@dataclass
class _Entry:
    """One object and everything that changes about it, in plan order."""

    kind: str
    key: str
    own: list[Mapping[str, Any]] = field(default_factory=list)
    nested: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)


def text_view(plan: Mapping[str, Any]) -> Text:
    """The whole plan as Terraform-like text; the last line is the ``Plan:`` sentence."""
    out = Text()
    _header(out, plan)
    changes = plan.get("changes") or []
    if changes:
        _legend(out, changes)
        for title, entries in _sections(changes):
            _section(out, title, entries)
    _unmanaged(out, plan.get("unmanaged") or [])
    _listing(out, _("Warnings:"), "!", plan.get("warnings") or [], "yellow")
    _listing(out, _("Notes:"), "*", plan.get("notes") or [], "")
    if changes:
        _guards(out, plan.get("guards") or [])
    out.append(said_summary(plan), style="bold")
    return out


def _header(out: Text, plan: Mapping[str, Any]) -> None:
    target = plan.get("target") or {}
    name, adapter, url = (clean(target.get(k, "?")) for k in ("name", "adapter", "url"))
    title = _("erpsync plan for target {name} (adapter {adapter}, {url})")
    line(out, (title.format(name=name, adapter=adapter, url=url), "bold"))
    out.append("\n")


def _legend(out: Text, changes: Iterable[Mapping[str, Any]]) -> None:
    used = {c.get("action") for c in changes}
    by_marker: dict[str, list[str]] = {}
    for action in ACTIONS:
        if action in used:
            by_marker.setdefault(MARKERS[action], []).append(action)
    line(out, (_("Changes are marked with these symbols:"), ""))
    for marker, actions in by_marker.items():
        names = _(", ").join(_(ACTION_NAMES[a]) for a in actions)
        line(out, (OBJECT, ""), (marker, STYLES[actions[0]]), (f" {names}", ""))
    out.append("\n")


def _sections(changes: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[_Entry]]]:
    """Group changes by object, objects by kind; plan order is kept inside each group."""
    groups: dict[str, dict[str, _Entry]] = {}
    for change in changes:
        kind, key = clean(change.get("kind")), clean(change.get("key"))
        if kind in NESTED:
            owner_kind, heading = NESTED[kind]
            owner = split_key(key)[0]
            entry = groups.setdefault(owner_kind, {}).setdefault(owner, _Entry(owner_kind, owner))
            entry.nested.setdefault(heading, []).append(change)
        else:
            entry = groups.setdefault(kind, {}).setdefault(key, _Entry(kind, key))
            entry.own.append(change)
    order = [*SECTIONS, *(k for k in groups if k not in SECTIONS)]
    return [
        (
            _(SECTIONS[kind]) if kind in SECTIONS else f"{kind.capitalize()}s",
            list(groups[kind].values()),
        )
        for kind in order
        if kind in groups
    ]


def _section(out: Text, title: str, entries: list[_Entry]) -> None:
    line(out, (title, "bold"))
    for entry in entries:
        _entry(out, entry)
    out.append("\n")


def _entry(out: Text, entry: _Entry) -> None:
    kind = _kind(entry.kind)
    if not entry.own:  # only its permissions or memberships change
        line(out, (f"{OBJECT}  {kind} {entry.key}", ""))
    for change in entry.own:
        action = str(change.get("action"))
        style = STYLES.get(action, "")
        old = renamed_from(change)
        name = entry.key if old is None else f"{old} → {entry.key}"
        line(
            out,
            (OBJECT, ""),
            (f"{MARKERS.get(action, '?')} {kind} {name}", style),
            comment(change.get("reason")),
        )
        _attributes(out, action, change)
    for heading, items in entry.nested.items():
        line(out, (f"{DETAIL}{_(heading)}", ""))
        for change in items:
            action = str(change.get("action"))
            item = split_key(clean(change.get("key")))[1]
            marker = MARKERS.get(action, "?")
            line(
                out,
                (ITEM, ""),
                (f"{marker} {item}", STYLES.get(action, "")),
                comment(change.get("reason")),
            )


def _kind(kind: str) -> str:
    return kind_name(kind)


def _attributes(out: Text, action: str, change: Mapping[str, Any]) -> None:
    """The attribute lines of a create (new values), update (changes) or delete (old values)."""
    style = STYLES.get(action, "")
    before, after = change.get("before") or {}, change.get("after") or {}
    if action == "update":
        for name in dict.fromkeys([*before, *after]):
            if name == "key":
                continue  # shown as "old → new" on the object's line
            old, new = show(before.get(name)), show(after.get(name))
            line(out, (DETAIL, ""), (f"~ {clean(name)}: {old} -> {new}", style))
        return
    values, marker = (after, "+") if action == "create" else (before, "-")
    for name, value in values.items():
        if value is not None:
            line(out, (DETAIL, ""), (f"{marker} {clean(name)}: {show(value)}", style))


def _unmanaged(out: Text, unmanaged: list[Mapping[str, Any]]) -> None:
    if not unmanaged:
        return
    line(out, (_("Unmanaged (erpsync leaves these alone):"), "bold"))
    for item in unmanaged[:UNMANAGED_SHOWN]:
        line(
            out,
            (f"{OBJECT}{_kind(str(item.get('kind')))} {clean(item.get('key'))}", ""),
            comment(item.get("reason")),
        )
    if len(unmanaged) > UNMANAGED_SHOWN:
        more = len(unmanaged) - UNMANAGED_SHOWN
        text = ngettext("… and {n} more", "… and {n} more", more).format(n=number(more))
        line(out, (f"{OBJECT}{text}", "dim"))
    out.append("\n")


def _guards(out: Text, verdicts: Iterable[Mapping[str, Any]]) -> None:
    """Each guard's verdict: what apply will check before its first write."""
    lines = [
        guard_line(v) for v in verdicts if isinstance(v, Mapping) and v.get("guard") is not None
    ]
    if not lines:
        return
    line(out, (_("Guards (checked again by apply):"), "bold"))
    for text, passed in lines:
        verdict = _("ok") if passed else _("REFUSED")
        line(out, (f"{OBJECT}{verdict} {text}", "" if passed else "bold red"))
    out.append("\n")


def _listing(out: Text, title: str, bullet: str, items: list[str], style: str) -> None:
    if not items:
        return
    line(out, (title, f"bold {style}".strip()))
    for item in items:
        line(out, (f"{OBJECT}{bullet} {clean(said(str(item)))}", style))
    out.append("\n")
