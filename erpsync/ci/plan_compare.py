"""Compare the change sets of two plans: the one reviewed on a pull request and a new one.

A plan's *change set* is what applying it would do: the target (name and adapter) and
every change's action, kind, key, ``before`` and ``after``. Everything else is left out
on purpose: when the plan was made, the digests of the policy files and of the live
state (merging rewrites the files without changing what they mean; the live digest
guards staleness at apply time anyway), the redacted URL (plan and apply connect as
different database users), reasons (they quote file lines that move), warnings and
unmanaged objects. The order of the changes does not matter either.

:func:`changeset_digest` names a change set in one string, which the pull-request
comment carries; :func:`compare` says how two change sets differ, change by change.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from erpsync.i18n import N_, _, ngettext, said
from erpsync.plan import Change, Plan
from erpsync.render import clean

DIGEST_PREFIX = "sha256:"
SHOWN_DIFFERENCES = 50

Identity = tuple[str, str, str]  # (action, kind, key)


def _row(change: Change) -> str:
    """One change as canonical JSON: the same change always gives the same string."""
    return json.dumps(
        [str(change.action), str(change.kind), change.key, change.before, change.after],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def change_set(plan: Plan) -> Counter[str]:
    """The plan's changes as a multiset of canonical rows."""
    return Counter(_row(change) for change in plan.changes)


def changeset_digest(plan: Plan) -> str:
    """``sha256:…`` of the target and the sorted change set."""
    payload = json.dumps(
        {
            "target": [plan.target.name, plan.target.adapter],
            "changes": sorted(change_set(plan).elements()),
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return DIGEST_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Altered:
    """A change both plans make to the same object, with different values."""

    identity: Identity
    reviewed: tuple[Any, Any]  # (before, after)
    new: tuple[Any, Any]


@dataclass(frozen=True)
class Comparison:
    """How the new plan's change set differs from the reviewed one."""

    target: str | None = None  # why the targets differ, or None
    dropped: tuple[Identity, ...] = ()  # reviewed, but the new plan does not make it
    added: tuple[Identity, ...] = ()  # the new plan makes it, but it was not reviewed
    altered: tuple[Altered, ...] = ()

    @property
    def same(self) -> bool:
        return not (self.target or self.dropped or self.added or self.altered)

    @property
    def count(self) -> int:
        return len(self.dropped) + len(self.added) + len(self.altered) + bool(self.target)


def compare(reviewed: Plan, new: Plan) -> Comparison:
    """Compare two plans' change sets (see the module docstring for what counts)."""
    target = None
    old_target = (reviewed.target.name, reviewed.target.adapter)
    new_target = (new.target.name, new.target.adapter)
    if old_target != new_target:
        target = N_(
            "the reviewed plan is for target {target} ({adapter}), the new one for "
            "{new_target} ({new_adapter})"
        ).format(
            target=old_target[0],
            adapter=old_target[1],
            new_target=new_target[0],
            new_adapter=new_target[1],
        )
    only_reviewed = change_set(reviewed) - change_set(new)
    only_new = change_set(new) - change_set(reviewed)
    old = _by_identity(only_reviewed.elements())
    fresh = _by_identity(only_new.elements())
    altered: list[Altered] = []
    for identity in sorted(old.keys() & fresh.keys()):
        pairs = zip(old[identity], fresh[identity], strict=False)
        altered.extend(Altered(identity, before, after) for before, after in pairs)
    matched = Counter({i: min(len(old[i]), len(fresh[i])) for i in old.keys() & fresh.keys()})
    return Comparison(
        target=target,
        dropped=_remaining(old, matched),
        added=_remaining(fresh, matched),
        altered=tuple(altered),
    )


def _by_identity(rows: Iterable[str]) -> dict[Identity, list[tuple[Any, Any]]]:
    found: dict[Identity, list[tuple[Any, Any]]] = {}
    for row in sorted(rows):
        action, kind, key, before, after = json.loads(row)
        found.setdefault((action, kind, key), []).append((before, after))
    return found


def _remaining(
    rows: dict[Identity, list[tuple[Any, Any]]], matched: Counter[Identity]
) -> tuple[Identity, ...]:
    out: list[Identity] = []
    for identity in sorted(rows):
        out.extend([identity] * (len(rows[identity]) - matched[identity]))
    return tuple(out)


def describe(comparison: Comparison, limit: int = SHOWN_DIFFERENCES) -> list[str]:
    """One line per difference, at most ``limit`` of them, then how many more; in the
    language of the run (actions, kinds and keys stay as the plan has them)."""
    lines = [said(comparison.target)] if comparison.target else []
    lines += [
        "- " + _("not in the new plan: {change}").format(change=_name(i))
        for i in comparison.dropped
    ]
    lines += ["+ " + _("not reviewed: {change}").format(change=_name(i)) for i in comparison.added]
    for change in comparison.altered:
        lines.append(
            "~ "
            + _("{change}: reviewed {reviewed}, now {now}").format(
                change=_name(change.identity),
                reviewed=_values(change.reviewed),
                now=_values(change.new),
            )
        )
    if len(lines) > limit:
        more = len(lines) - limit
        lines = [
            *lines[:limit],
            ngettext("… and {n} more differences", "… and {n} more differences", more).format(
                n=f"{more:,}"
            ),
        ]
    return lines


def _name(identity: Identity) -> str:
    action, kind, key = identity
    return f"{clean(action)} {clean(kind)} {clean(key)}"


def _values(pair: tuple[Any, Any]) -> str:
    before, after = pair
    return clean(json.dumps({"before": before, "after": after}, ensure_ascii=False))
