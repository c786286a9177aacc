"""Which key each Tryton group goes by, read and write alike.

A group's ``name`` is an ordinary attribute (what Tryton shows, unique in
``res_group``); its key is, in this order:

1. the key erpsync bound it to (:mod:`erpsync.bindings`): a group erpsync created,
   renamed or adopted;
2. for a group a Tryton module made, its XML id from ``ir_model_data``
   (``module.fs_id``, e.g. ``sale.group_sale_admin``), stable across databases
   and releases, so ``import`` declares module groups under it;
3. else its name when that is a valid policy key (``Accountants``), or the name
   in lower case with ``-`` for spaces and slashes (``Sales Clerk`` → ``sales-clerk``).

A key taken by a group earlier in that order gets ``#id``. A group without a
binding is adopted by a declared role of the same identity: its XML id for a
module group, else its exact name (:meth:`TrytonAdapter.natural_keys`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from erpsync import bindings
from erpsync.adapters.tryton.tables import ir_model_data, res_group

_KEY = re.compile(r"^[^\s/\x00-\x1f\x7f-\x9f]{1,64}$")
_UNSAFE = re.compile(r"[\s/\x00-\x1f\x7f-\x9f]+")


def key_of_name(name: str, group_id: int) -> str:
    """The key a group without binding or XML id goes by (see the module's docstring)."""
    if _KEY.match(name):
        return name
    slug = _UNSAFE.sub("-", name.strip()).strip("-").lower()[:64]
    return slug or f"group-{group_id}"


@dataclass
class Groups:
    """The active groups: key <-> id, names, and what erpsync binds."""

    ids: dict[str, int] = field(default_factory=dict)  # key -> id
    keys: dict[int, str] = field(default_factory=dict)  # id -> key
    names: dict[int, str] = field(default_factory=dict)  # id -> name
    natural: dict[int, str] = field(default_factory=dict)  # id -> XML id, else name
    bound: set[int] = field(default_factory=set)

    def add(self, group_id: int, key: str) -> None:
        self.ids[key] = group_id
        self.keys[group_id] = key

    def rename(self, group_id: int, key: str) -> None:
        del self.ids[self.keys[group_id]]
        self.add(group_id, key)
        self.bound.add(group_id)

    def identities(self) -> dict[str, tuple[str, str]]:
        """What erpsync binds: group id (as text) -> (its key, its identity)."""
        return {str(i): (key, self.natural[i]) for i, key in self.keys.items()}

    def unbound(self) -> dict[str, str]:
        """Key -> identity of the groups no binding names (adoptable by the policy)."""
        return {key: self.natural[i] for i, key in self.keys.items() if i not in self.bound}


def read_groups(conn: Connection, rows: list[tuple[int, str]]) -> Groups:
    """The keys of the active groups ``rows`` (id, name), in one query for the XML ids
    and one for erpsync's bindings."""
    xml_ids = {
        int(db_id): f"{module}.{fs_id}"
        for module, fs_id, db_id in conn.execute(
            select(ir_model_data.c.module, ir_model_data.c.fs_id, ir_model_data.c.db_id).where(
                ir_model_data.c.model == "res.group"
            )
        )
    }
    bound = bindings.load(conn).of("role")
    groups = Groups()
    by_id = {str(group_id): group_id for group_id, _ in rows}
    for row_id, key in sorted(bound.items()):
        if row_id in by_id:
            groups.add(by_id[row_id], key)
            groups.bound.add(by_id[row_id])
    for group_id, name in sorted(rows):
        groups.names[group_id] = name
        groups.natural[group_id] = xml_ids.get(group_id) or name
        if group_id in groups.keys:
            continue
        key = xml_ids.get(group_id) or key_of_name(name, group_id)
        groups.add(group_id, key if key not in groups.ids else f"{key}#{group_id}")
    return groups


def active_groups(conn: Connection) -> list[tuple[int, str]]:
    """(id, name) of every active group."""
    query = select(res_group.c.id, res_group.c.name).where(res_group.c.active.is_(True))
    return [(int(i), str(name or "")) for i, name in conn.execute(query)]
