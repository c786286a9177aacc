"""Renamed keys: the policy's ``moved:`` list, as the planner uses it.

A policy key is the author's handle for one ERP row. Renaming the handle must
not re-create the row (it would lose its id, its members, its grants and its
history), so the author records the rename::

    moved:
      - {kind: role, from: sales-ops, to: sales-operations}

and the plan updates the row in place: one ``update`` whose ``before``/``after``
carry ``key`` (``~ role sales-ops → sales-operations``). Entries stay in the
policy as a history: chains (``a → b``, later ``b → c``) lead a row still known
by any older key to the key declared now, and an entry whose old key no longer
exists in the ERP has been applied and changes nothing.

:func:`renames` gives, per kind, every old key → the key it is declared under
now; :func:`problems` lists what makes the list unusable (validation reports
it at the entry).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from erpsync.i18n import N_
from erpsync.policy.model import Moved

SECTION = {"department": "departments", "role": "roles", "user": "users"}


@dataclass(frozen=True)
class Problem:
    index: int  # of the entry in the merged ``moved`` list
    field: str  # "from" or "to"
    message: str
    fatal: bool = True


def problems(
    moved: Sequence[Moved], declared: Mapping[str, Mapping[str, object]]
) -> Iterator[Problem]:
    """What is wrong with ``moved`` given the declared keys (``declared[kind]``)."""
    fatal = list(_fatal(moved, declared))
    yield from fatal
    if fatal:
        return  # where the list is wrong, where its chains lead means nothing yet
    for index, move in enumerate(moved):
        final = _follow(moved, move.kind, move.to)
        if final not in declared[move.kind]:
            yield Problem(
                index,
                "to",
                N_("{kind} {key} is not declared: this entry renames nothing").format(
                    kind=move.kind, key=final
                ),
                fatal=False,
            )


def _fatal(
    moved: Sequence[Moved], declared: Mapping[str, Mapping[str, object]]
) -> Iterator[Problem]:
    sources: dict[tuple[str, str], int] = {}
    targets: dict[tuple[str, str], int] = {}
    for index, move in enumerate(moved):
        keys = declared[move.kind]
        if move.from_ == move.to:
            itself = N_("renames {kind} {key} to itself").format(kind=move.kind, key=move.from_)
            yield Problem(index, "to", itself)
            continue
        if move.from_ in keys:
            yield Problem(
                index,
                "from",
                N_(
                    "{kind} {key} is still declared: a renamed key is declared only under its "
                    "new name ({new})"
                ).format(kind=move.kind, key=move.from_, new=move.to),
            )
        for field, seen, key, clash in (
            (
                "from",
                sources,
                move.from_,
                N_("{kind} {key} is renamed twice (also by moved #{entry})"),
            ),
            (
                "to",
                targets,
                move.to,
                N_("two keys are renamed to {kind} {key} (also by moved #{entry})"),
            ),
        ):
            earlier = seen.setdefault((move.kind, key), index)
            if earlier != index:
                clashing = clash.format(kind=move.kind, key=key, entry=earlier + 1)
                yield Problem(index, field, clashing)
    for index, kind, cycle in _cycles(moved):
        circle = N_("the renames of {kind}s form a cycle: {keys}").format(
            kind=kind, keys=" → ".join(cycle)
        )
        yield Problem(index, "to", circle)


def renames(moved: Sequence[Moved]) -> dict[str, dict[str, str]]:
    """kind -> old key -> the key it has now (chains followed to their end). Assumes
    :func:`problems` found nothing fatal."""
    out: dict[str, dict[str, str]] = {kind: {} for kind in SECTION}
    for move in moved:
        out[move.kind][move.from_] = _follow(moved, move.kind, move.to)
    return out


def adoptions(
    declared: Mapping[str, Mapping[str, object]],
    live: Mapping[str, Mapping[str, object]],
    unbound: Mapping[str, Mapping[str, str]],
    natural: Mapping[str, Mapping[str, str]],
) -> dict[str, dict[str, str]]:
    """kind -> live key -> declared key, for each declared object missing from the ERP
    whose identity (``natural``) is that of a live row no binding names (``unbound``) and
    the policy does not declare: the object is that row, read under another key."""
    out: dict[str, dict[str, str]] = {}
    for kind, identities in natural.items():
        candidates: dict[str, list[str]] = {}
        for key, identity in unbound.get(kind, {}).items():
            if key not in declared[kind]:
                candidates.setdefault(identity, []).append(key)
        for key, identity in sorted(identities.items()):
            found = candidates.get(identity, [])
            if key not in live[kind] and len(found) == 1:
                out.setdefault(kind, {})[found.pop()] = key
    return out


def _follow(moved: Sequence[Moved], kind: str, key: str) -> str:
    step = {m.from_: m.to for m in moved if m.kind == kind}
    seen = {key}
    while key in step and step[key] not in seen:
        key = step[key]
        seen.add(key)
    return key


def _cycles(moved: Sequence[Moved]) -> Iterator[tuple[int, str, list[str]]]:
    reported: set[frozenset[str]] = set()
    for index, move in enumerate(moved):
        if move.from_ == move.to:
            continue  # reported as renaming to itself
        step = {m.from_: m.to for m in moved if m.kind == move.kind and m.from_ != m.to}
        path = [move.from_]
        key = move.to
        while key in step and key not in path:
            path.append(key)
            key = step[key]
        if key == move.from_ and frozenset(path) not in reported:
            reported.add(frozenset(path))
            yield index, move.kind, [*path, key]
