"""Writing a plan to the reference ERP (:func:`write_changes`): each run of consecutive
changes of one (kind, action) is one batch, written by its handler in ``_WRITERS`` with
one ``executemany`` per statement shape."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, delete, insert, select, update

from erpsync.adapters.base import Progress, refused
from erpsync.adapters.batches import Batch, engine_secrets, write_batches
from erpsync.adapters.reference.check import _missing
from erpsync.adapters.reference.messages import _named, _reason
from erpsync.adapters.reference.read import _permissions
from erpsync.adapters.reference.schema import (
    _utcnow,
    erp_department,
    erp_permission,
    erp_role,
    erp_role_department,
    erp_role_permission,
    erp_user,
    erp_user_role,
)
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind

# Tables and key columns of the objects a plan creates, updates and deletes.
_OBJECTS: dict[Kind, tuple[Table, str]] = {
    Kind.DEPARTMENT: (erp_department, "code"),
    Kind.USER: (erp_user, "login"),
    Kind.ROLE: (erp_role, "code"),
}

# attribute -> (column, table whose natural key the value is, resolved to an id), or None
# for an attribute stored in a table of its own (a role's data departments).
_FIELDS: dict[Kind, dict[str, tuple[str, Table | None] | None]] = {
    Kind.DEPARTMENT: {
        "key": ("code", None),
        "name": ("name", None),
        "parent": ("parent_id", erp_department),
        "manager": ("manager_login", None),
    },
    Kind.USER: {
        "key": ("login", None),
        "name": ("name", None),
        "email": ("email", None),
        "department": ("department_id", erp_department),
        "active": ("active", None),
    },
    Kind.ROLE: {
        "key": ("code", None),
        "name": ("name", None),
        "description": ("description", None),
        "data_scope": ("data_scope", None),
        "data_departments": None,
    },
}

# What an attribute missing from a create's ``after`` means (as memory.apply_changes).
_CREATE_DEFAULTS: dict[Kind, dict[str, Any]] = {Kind.USER: {"active": True}}


@dataclass(frozen=True)
class _Link:
    """A link table a grant or revoke writes: its two columns and the tables they key."""

    table: Table
    owner: tuple[str, Table]  # the part of the change key before "/"
    item: tuple[str, Table]  # the part after it


_LINKS: dict[Kind, _Link] = {
    Kind.PERMISSION: _Link(
        erp_role_permission, ("role_id", erp_role), ("permission_id", erp_permission)
    ),
    Kind.MEMBERSHIP: _Link(erp_user_role, ("user_id", erp_user), ("role_id", erp_role)),
}


def _key_ids(column: Column[Any]) -> Callable[[Connection], dict[str, int]]:
    def load(conn: Connection) -> dict[str, int]:
        return dict(conn.execute(select(column, column.table.c.id)).all())

    return load


def _permission_ids(conn: Connection) -> dict[str, int]:
    return {f"{module}:{action}": pid for pid, (module, action) in _permissions(conn).items()}


# table name -> (what its rows are called, how to read natural key -> id)
_ID_SOURCES: dict[str, tuple[str, Callable[[Connection], dict[str, int]]]] = {
    erp_department.name: ("department", _key_ids(erp_department.c.code)),
    erp_user.name: ("user", _key_ids(erp_user.c.login)),
    erp_role.name: ("role", _key_ids(erp_role.c.code)),
    erp_permission.name: ("permission", _permission_ids),
}


class _Writer:
    """One write: the caller's connection, the stamps, and natural key -> id maps.

    A map is read (one ``SELECT``) when a batch first needs it, and read again
    after rows were inserted into its table, when a later batch needs it.
    """

    def __init__(self, conn: Connection, actor: str) -> None:
        self.conn = conn
        now = _utcnow()
        self.updated: dict[str, Any] = {"updated_by": actor, "updated_at": now}
        self.created: dict[str, Any] = {"created_by": actor, "created_at": now, **self.updated}
        self._ids: dict[str, dict[str, int]] = {}

    def id(self, table: Table, key: str, change: Change) -> int:
        """The id of the row of ``table`` whose natural key is ``key``."""
        what, load = _ID_SOURCES[table.name]
        ids = self._ids.get(table.name)
        if ids is None:
            ids = self._ids[table.name] = load(self.conn)
        found = ids.get(key)
        if found is None:
            raise DatabaseError(refused(change, _missing(Kind(what), key)))
        return found

    def resolve(self, target: Table | None, value: Any, change: Change) -> Any:
        """``value``, or the id of the ``target`` row it names."""
        return value if target is None or value is None else self.id(target, value, change)

    def columns(self, change: Change, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """The column values of ``attributes`` (references resolved to ids)."""
        fields = _FIELDS[change.kind]
        out: dict[str, Any] = {}
        for name, value in attributes.items():
            if name not in fields:
                why = N_("unknown attribute {name}").format(name=repr(name))
                raise DatabaseError(refused(change, why))
            field = fields[name]
            if field is None:
                continue  # stored in a table of its own
            column, target = field
            out[column] = self.resolve(target, value, change)
        return out

    def forget(self, table: Table) -> None:
        """Read ``table``'s natural key -> id map again when next needed (keys changed)."""
        self._ids.pop(table.name, None)

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:  # an empty parameter list would insert one row of defaults
            self.conn.execute(insert(table), rows)
            self.forget(table)

    def update(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Update rows by ``row_id``; one ``executemany`` per set of columns set."""
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            shapes.setdefault(tuple(sorted(row)), []).append(row)
        statement = update(table).where(table.c.id == bindparam("row_id"))
        for same in shapes.values():
            self.conn.execute(statement, same)

    def delete(self, column: Column[Any], ids: list[int]) -> None:
        if ids:
            statement = delete(column.table).where(column == bindparam("row_id"))
            self.conn.execute(statement, [{"row_id": i} for i in ids])


def _create(w: _Writer, batch: Batch) -> None:
    kind = batch[0].kind
    table, key = _OBJECTS[kind]
    own = [name for name in _FIELDS[kind] if name != "key"]  # the key column is set below
    defaults: dict[str, Any] = {**dict.fromkeys(own), **_CREATE_DEFAULTS.get(kind, {})}
    w.insert(
        table,
        [{key: c.key, **w.columns(c, {**defaults, **(c.after or {})}), **w.created} for c in batch],
    )


def _create_departments(w: _Writer, batch: Batch) -> None:
    """Create departments a tree level at a time, so each level's parents have ids."""
    pending = {c.key: c for c in batch}
    while pending:
        level = [c for c in pending.values() if (c.after or {}).get("parent") not in pending]
        if not level:
            raise DatabaseError(
                N_("cannot create departments {keys}: their parents form a cycle").format(
                    keys=_named(pending)
                )
            )
        _create(w, level)
        for c in level:
            del pending[c.key]


def _create_roles(w: _Writer, batch: Batch) -> None:
    _create(w, batch)
    _insert_scopes(w, batch)


def _update(w: _Writer, batch: Batch) -> None:
    """Update rows; a renamed key (``moved:``) is the row's own key column, found under its
    old key, and a renamed login is renamed where departments name it as manager."""
    table, _ = _OBJECTS[batch[0].kind]
    rows = []
    renamed: list[tuple[str, str]] = []
    for c in batch:
        old = c.renamed_from
        rows.append(
            {"row_id": w.id(table, old or c.key, c), **w.columns(c, c.after or {}), **w.updated}
        )
        if old is not None:
            renamed.append((old, c.key))
    w.update(table, rows)
    if renamed:
        w.forget(table)
    if renamed and table is erp_user:
        manager = erp_department.c.manager_login
        w.conn.execute(
            update(erp_department)
            .where(manager == bindparam("b_old"))
            .values(manager_login=bindparam("b_new")),
            [{"b_old": old, "b_new": new} for old, new in renamed],
        )


def _update_roles(w: _Writer, batch: Batch) -> None:
    """Update roles; a changed ``data_departments`` replaces the role's scope rows."""
    _update(w, batch)
    rescoped = [c for c in batch if "data_departments" in (c.after or {})]
    w.delete(erp_role_department.c.role_id, [w.id(erp_role, c.key, c) for c in rescoped])
    _insert_scopes(w, rescoped)


def _insert_scopes(w: _Writer, batch: Batch) -> None:
    rows = sorted(
        (w.id(erp_role, c.key, c), w.id(erp_department, department, c))
        for c in batch
        for department in dict.fromkeys((c.after or {}).get("data_departments") or ())
    )
    w.insert(erp_role_department, [{"role_id": r, "department_id": d} for r, d in rows])


def _delete(w: _Writer, batch: Batch) -> None:
    table, _ = _OBJECTS[batch[0].kind]
    w.delete(table.c.id, [w.id(table, c.key, c) for c in batch])


def _delete_roles(w: _Writer, batch: Batch) -> None:
    """Delete roles and their scope rows (their grants and holders were revoked before)."""
    ids = [w.id(erp_role, c.key, c) for c in batch]
    w.delete(erp_role_department.c.role_id, ids)
    w.delete(erp_role.c.id, ids)


def _set_active(active: bool) -> Callable[[_Writer, Batch], None]:
    def run(w: _Writer, batch: Batch) -> None:
        rows = [{"row_id": w.id(erp_user, c.key, c), "active": active, **w.updated} for c in batch]
        w.update(erp_user, rows)

    return run


def _link_ids(w: _Writer, batch: Batch) -> tuple[_Link, list[tuple[int, int]]]:
    link = _LINKS[batch[0].kind]
    pairs = []
    for c in batch:
        owner, item = c.parts()
        pairs.append((w.id(link.owner[1], owner, c), w.id(link.item[1], item, c)))
    return link, sorted(pairs)  # primary key order: faster to write


def _grant(w: _Writer, batch: Batch) -> None:
    link, pairs = _link_ids(w, batch)
    names = (link.owner[0], link.item[0])
    w.insert(link.table, [dict(zip(names, pair, strict=True)) for pair in pairs])


def _revoke(w: _Writer, batch: Batch) -> None:
    link, pairs = _link_ids(w, batch)
    t = link.table
    statement = delete(t).where(
        t.c[link.owner[0]] == bindparam("b_owner"), t.c[link.item[0]] == bindparam("b_item")
    )
    w.conn.execute(statement, [{"b_owner": a, "b_item": b} for a, b in pairs])


_WRITERS: dict[tuple[Kind, Action], Callable[[_Writer, Batch], None]] = {
    (Kind.DEPARTMENT, Action.CREATE): _create_departments,
    (Kind.DEPARTMENT, Action.UPDATE): _update,
    (Kind.DEPARTMENT, Action.DELETE): _delete,
    (Kind.ROLE, Action.CREATE): _create_roles,
    (Kind.ROLE, Action.UPDATE): _update_roles,
    (Kind.ROLE, Action.DELETE): _delete_roles,
    (Kind.USER, Action.CREATE): _create,
    (Kind.USER, Action.UPDATE): _update,
    (Kind.USER, Action.DELETE): _delete,
    (Kind.USER, Action.DEACTIVATE): _set_active(False),
    (Kind.USER, Action.REACTIVATE): _set_active(True),
    (Kind.PERMISSION, Action.GRANT): _grant,
    (Kind.PERMISSION, Action.REVOKE): _revoke,
    (Kind.MEMBERSHIP, Action.GRANT): _grant,
    (Kind.MEMBERSHIP, Action.REVOKE): _revoke,
}


def write_changes(
    conn: Connection, changes: Iterable[Change], actor: str, progress: Progress | None = None
) -> None:
    """Apply ``changes`` in order through ``conn``, inside the caller's transaction.

    Each run of consecutive changes of one (kind, action) is one batch. New
    rows get ``created_by``/``created_at``, new and changed rows
    ``updated_by``/``updated_at`` (``actor``, now); ``password_hash`` is never
    written. Raises :class:`DatabaseError` naming the change (or the batch)
    that failed; the caller rolls back.
    """
    writer = _Writer(conn, actor)

    secrets = engine_secrets(conn.engine)
    write_batches(changes, _WRITERS, writer, _reason, "reference ERP", progress, secrets)
