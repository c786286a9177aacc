"""Bindings: which ERP row each policy key names.

A policy key is the author's handle; the ERP knows its rows by ids and by keys of
its own (a RuoYi department by its name path, a Tryton group by its module's XML id
or its name). erpsync records, in its own table ``erpsync_binding`` beside the audit
trail, the row each key was bound to::

    (scope, kind, policy_key) -> row_id, natural_key (the ERP's own key when bound), bound_at

so that ``name`` and every other attribute are ordinary attributes: renaming a
department in the policy updates the same row, whose id, members, grants and history
stay. Apply binds, in its transaction, every row of the kinds its adapter binds
(created rows under their key; renamed rows under their new key); ``import`` binds
what it adopts. An adapter reading the ERP names a bound row by its binding's key and
a row with no binding by its natural key (adoption). A binding whose row is gone is
ignored: the key is missing from the ERP and a plan creates it again. A restored
backup of the ERP without this table falls back to natural keys.

``scope`` keeps tenants of one database apart: "" for an ERP with one set of objects
per database, ``tenant:<id>`` for one tenant (:meth:`Adapter.binding_scope`), so two
tenants may both have a department ``sales``. Ids are stored as text, so every ERP's ids
fit. Which kinds an adapter binds is its
own business (:attr:`erpsync.adapters.base.Adapter.bound_kinds`): one whose natural key
is the policy key itself (a login, the reference ERP's ``code``) needs none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, insert, select

from erpsync.owntables import (
    BINDING_TABLE_NAME,
    binding_has_scope,
    ensure_tables,
    erpsync_binding,
    has_table,
)


@dataclass(frozen=True)
class Bindings:
    """The bindings as read: kind -> row id (text) -> policy key."""

    keys: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def of(self, kind: str) -> Mapping[str, str]:
        return self.keys.get(kind, {})


def load(conn: Connection, scope: str = "") -> Bindings:
    """Every binding of ``scope`` (none when erpsync's table does not exist yet; a table
    from before scopes holds scope "" only, and is read as such until apply migrates it)."""
    if not has_table(conn, BINDING_TABLE_NAME):
        return Bindings()
    keys: dict[str, dict[str, str]] = {}
    t = erpsync_binding
    query = select(t.c.kind, t.c.policy_key, t.c.row_id)
    if binding_has_scope(conn):
        query = query.where(t.c.scope == scope)
    elif scope:
        return Bindings()
    for kind, key, row_id in conn.execute(query):
        keys.setdefault(kind, {})[row_id] = key
    return Bindings(keys)


def load_scopes(conn: Connection, scopes: Sequence[str]) -> dict[str, Bindings]:
    """:func:`load` of each of ``scopes`` with one query for them all (an adapter reading
    many tenants of one database at once)."""
    found: dict[str, dict[str, dict[str, str]]] = {scope: {} for scope in scopes}
    if not scopes or not has_table(conn, BINDING_TABLE_NAME):
        return {scope: Bindings() for scope in scopes}
    t = erpsync_binding
    if not binding_has_scope(conn):  # a table from before scopes holds scope "" only
        return {scope: load(conn) if scope == "" else Bindings() for scope in scopes}
    query = select(t.c.scope, t.c.kind, t.c.policy_key, t.c.row_id).where(
        t.c.scope.in_(sorted(set(scopes)))
    )
    for scope, kind, key, row_id in conn.execute(query):
        found[scope].setdefault(kind, {})[row_id] = key
    return {scope: Bindings(keys) for scope, keys in found.items()}


def replace(
    conn: Connection, kind: str, rows: Mapping[str, tuple[str, str]], scope: str = ""
) -> None:
    """Make the bindings of ``kind`` in ``scope`` exactly ``rows`` (row id -> (policy key,
    natural key)), in ``conn``'s transaction; only the bindings that differ are written."""
    ensure_tables(conn)  # apply has made them; an import may be the first writer
    t = erpsync_binding
    mine = (t.c.scope == scope, t.c.kind == kind)
    query = select(t.c.policy_key, t.c.row_id, t.c.natural_key).where(*mine)
    have = {(key, row_id, natural) for key, row_id, natural in conn.execute(query)}
    wanted = {(key, row_id, natural) for row_id, (key, natural) in rows.items()}
    if have == wanted:
        return
    gone = sorted({key for key, _, _ in have - wanted})
    if gone:
        conn.execute(delete(t).where(*mine, t.c.policy_key.in_(gone)))
    new = sorted(wanted - have)  # (scope, kind, policy_key) is the key: no clash remains
    if new:
        now = dt.datetime.now(dt.UTC)
        conn.execute(
            insert(t),
            [
                {
                    "scope": scope,
                    "kind": kind,
                    "policy_key": k,
                    "row_id": r,
                    "natural_key": n,
                    "bound_at": now,
                }
                for k, r, n in new
            ],
        )
