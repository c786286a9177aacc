"""Writing a plan to RuoYi, inside the caller's transaction.

:func:`write_changes` reads the live rows again (one ``SELECT`` per table),
runs the whole plan through :func:`~erpsync.adapters.ruoyi.invariants.check_plan`
— nothing is written unless every change passes — and then writes each run of
consecutive changes of one (kind, action) as one batch: an ``executemany`` per
statement shape, departments a tree level at a time (children need their
parent's id and ``ancestors``). New rows get their real ids from one ``SELECT``
by natural key after the insert.

What is written, as RuoYi itself would:

- ``sys_dept``: ``parent_id``, ``ancestors`` (the parent's ``ancestors`` + ``,``
  + parent id; on a move, rewritten for the department and every department
  below it), ``dept_name``, ``order_num`` (after its siblings), ``leader``,
  ``status``/``del_flag`` ``'0'``; delete = ``del_flag = '2'``.
- ``sys_user``: login, display name, ``email`` ('' for none), ``dept_id``,
  ``user_type`` ``'00'``, ``status`` ``'0'``/``'1'``; delete = ``del_flag = '2'``
  and its ``sys_user_role`` (and ``sys_user_post``) rows. Never ``password``,
  ``salt``, ``login_ip``, ``login_date`` or ``pwd_update_date``: a new user has
  no password until an administrator sets one in RuoYi.
- ``sys_role``: ``role_key``, ``role_name``, ``role_sort`` (after the others),
  ``data_scope`` code, ``remark``, ``status``/``del_flag``, the check-strictly
  flags RuoYi-Vue sets; ``sys_role_dept`` for a custom scope; delete =
  ``del_flag = '2'`` and its ``sys_role_menu``/``sys_role_dept`` rows.
- ``sys_role_menu``: a grant writes the menu rows of the permission and every
  directory/page row above them; a revoke removes them and the rows above that
  no remaining menu of the role needs. ``sys_user_role`` for memberships.

``create_by``/``update_by`` are the actor, ``create_time``/``update_time`` the
database's local time (RuoYi stamps local time too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from erpsync import bindings
from erpsync.adapters.base import Progress
from erpsync.adapters.batches import Batch, engine_secrets, write_batches
from erpsync.adapters.dbclock import clock
from erpsync.adapters.ruoyi.invariants import Rules, check_plan
from erpsync.adapters.ruoyi.keys import DELETED, DISABLED, NORMAL, PRESENT
from erpsync.adapters.ruoyi.model import Dept, Role, User
from erpsync.adapters.ruoyi.read import load
from erpsync.adapters.ruoyi.schema import RuoYiSchema
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind
from erpsync.secrets import redact


class _Writer:
    """One write: the connection, the schema, the live model kept in step, the stamps."""

    def __init__(self, conn: Connection, schema: RuoYiSchema, rules: Rules, actor: str) -> None:
        self.conn = conn
        self.schema = schema
        self.rules = rules
        self.model = rules.model
        now = clock(conn)[0]
        self.updated = {"update_by": actor, "update_time": now}
        self.created = {"create_by": actor, "create_time": now, **self.updated}

    def table(self, name: str) -> Table:
        return self.schema.tables[name]

    def values(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` without the columns this deployment lacks."""
        columns = self.table(table).c
        return {k: v for k, v in row.items() if k in columns}

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if rows:  # an empty parameter list would insert a row of defaults
            self.conn.execute(insert(self.table(table)), [self.values(table, r) for r in rows])

    def update(self, table: str, key: str, rows: Iterable[dict[str, Any]]) -> None:
        """Update rows by ``key`` (their id); one ``executemany`` per set of columns."""
        t = self.table(table)
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for given in rows:
            row = self.values(table, given)
            shapes.setdefault(tuple(sorted(row)), []).append(row)
        for columns, same in shapes.items():
            statement = (
                update(t)
                .where(t.c[key] == bindparam(f"b_{key}"))
                .values({c: bindparam(f"b_{c}") for c in columns if c != key})
            )
            self.conn.execute(statement, [{f"b_{c}": v for c, v in r.items()} for r in same])

    def delete_pairs(self, table: str, pairs: Sequence[tuple[int, int]]) -> None:
        if pairs:
            t = self.table(table)
            a, b = (c.name for c in t.c)
            statement = delete(t).where(t.c[a] == bindparam("b_a"), t.c[b] == bindparam("b_b"))
            self.conn.execute(statement, [{"b_a": x, "b_b": y} for x, y in sorted(set(pairs))])

    def delete_by(self, table: str, column: str, ids: Sequence[int]) -> None:
        if ids and table in self.schema.tables:
            t = self.table(table)
            statement = delete(t).where(t.c[column] == bindparam("b_id"))
            self.conn.execute(statement, [{"b_id": i} for i in sorted(set(ids))])

    def insert_pairs(self, table: str, pairs: Sequence[tuple[int, int]]) -> None:
        a, b = (c.name for c in self.table(table).c)
        self.insert(table, [{a: x, b: y} for x, y in sorted(set(pairs))])

    def new_ids(
        self, table: str, id_column: str, columns: Sequence[str], keys: Sequence[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], int]:
        """The ids the database gave new rows, by their natural key (values of ``columns``),
        found with one ``SELECT`` of live rows; the highest id wins if a key is there twice."""
        t = self.table(table)
        query = select(t.c[id_column], *(t.c[c] for c in columns)).where(
            t.c[columns[0]].in_(sorted({k[0] for k in keys}))
        )
        if "del_flag" in t.c:
            query = query.where(t.c.del_flag == PRESENT)
        found: dict[tuple[Any, ...], int] = {}
        for row_id, *key in self.conn.execute(query):
            found[tuple(key)] = max(row_id, found.get(tuple(key), 0))
        return found


# -- departments ----------------------------------------------------------------------------


def _dept_columns(w: _Writer, dept: Dept) -> dict[str, Any]:
    return {"parent_id": dept.parent, "dept_name": dept.name, "leader": dept.leader}


def _ancestors(w: _Writer, ids: Iterable[int]) -> dict[int, str]:
    """The new ``ancestors`` of ``ids``, checked against the column's length."""
    ids = list(ids)
    w.rules.check_ancestors(ids)
    return {i: w.model.ancestors(i) for i in ids}


def _create_departments(w: _Writer, batch: Batch) -> None:
    pending = {c.key: c for c in batch}
    while pending:
        level = [c for c in pending.values() if (c.after or {}).get("parent") not in pending]
        if not level:
            raise DatabaseError(
                N_("cannot create departments {keys}: a cycle").format(keys=", ".join(pending))
            )
        depts = [w.rules.create_department(c) for c in level]
        ancestors = _ancestors(w, (d.id for d in depts))
        w.insert(
            "sys_dept",
            [
                {
                    **_dept_columns(w, d),
                    "ancestors": ancestors[d.id],
                    "order_num": d.order,
                    "status": NORMAL,
                    "del_flag": PRESENT,
                    **w.created,
                }
                for d in depts
            ],
        )
        keys = [(d.parent, d.name) for d in depts]
        found = w.new_ids("sys_dept", "dept_id", ("parent_id", "dept_name"), keys)
        for d in depts:
            d.ancestors = ancestors[d.id]
            w.model.reassign_dept(d.id, found[(d.parent, d.name)])
        for c in level:
            del pending[c.key]


def _update_departments(w: _Writer, batch: Batch) -> None:
    columns = {"name": "dept_name", "parent": "parent_id", "manager": "leader"}
    changed: dict[int, set[str]] = {}
    moved_before = set(w.rules.moved)
    for c in batch:
        dept = w.rules.update_department(c)  # a new key is a binding only (no column)
        changed.setdefault(dept.id, set()).update(columns[a] for a in c.after or {} if a != "key")
    rows: dict[int, dict[str, Any]] = {}
    for dept_id, names in changed.items():
        values = _dept_columns(w, w.model.depts[dept_id])
        rows[dept_id] = {"dept_id": dept_id, **{n: values[n] for n in names}, **w.updated}
    moved = w.rules.subtrees(w.rules.moved - moved_before)
    for dept_id, value in _ancestors(w, moved).items():
        dept = w.model.depts[dept_id]
        if value != dept.ancestors:
            rows.setdefault(dept_id, {"dept_id": dept_id})["ancestors"] = value
            dept.ancestors = value
    w.update("sys_dept", "dept_id", rows.values())


def _delete_departments(w: _Writer, batch: Batch) -> None:
    ids = [w.rules.delete_department(c).id for c in batch]
    w.update("sys_dept", "dept_id", [{"dept_id": i, "del_flag": DELETED, **w.updated} for i in ids])


# -- users ----------------------------------------------------------------------------------


def _user_columns(w: _Writer, user: User) -> dict[str, Any]:
    return {
        w.schema.login: user.login,
        w.schema.display: user.name,
        "email": user.email or "",
        "dept_id": user.dept,
    }


def _create_users(w: _Writer, batch: Batch) -> None:
    users = [w.rules.create_user(c) for c in batch]
    w.insert(
        "sys_user",
        [
            {
                **_user_columns(w, u),
                "user_type": "00",
                "status": NORMAL if u.active else DISABLED,
                "del_flag": PRESENT,
                **w.created,
            }
            for u in users
        ],
    )
    found = w.new_ids("sys_user", "user_id", (w.schema.login,), [(u.login,) for u in users])
    for u in users:
        w.model.reassign_user(u.id, found[(u.login,)])


def _update_users(w: _Writer, batch: Batch) -> None:
    columns = {
        "name": w.schema.display,
        "email": "email",
        "department": "dept_id",
        "key": w.schema.login,
        "active": "status",
    }
    rows: dict[int, dict[str, Any]] = {}
    for c in batch:
        user = w.rules.update_user(c)
        values = {**_user_columns(w, user), "status": NORMAL if user.active else DISABLED}
        row = rows.setdefault(user.id, {"user_id": user.id, **w.updated})
        row.update({columns[a]: values[columns[a]] for a in c.after or {}})
    w.update("sys_user", "user_id", rows.values())
    led = sorted(w.rules.leaders)  # departments led by a renamed login follow it
    w.rules.leaders.clear()
    w.update(
        "sys_dept",
        "dept_id",
        [{"dept_id": i, "leader": w.model.depts[i].leader, **w.updated} for i in led],
    )


def _set_active(active: bool) -> Callable[[_Writer, Batch], None]:
    def run(w: _Writer, batch: Batch) -> None:
        ids = [w.rules.set_active(c, active).id for c in batch]
        status = NORMAL if active else DISABLED
        w.update(
            "sys_user", "user_id", [{"user_id": i, "status": status, **w.updated} for i in ids]
        )

    return run


def _delete_users(w: _Writer, batch: Batch) -> None:
    ids = [w.rules.delete_user(c).id for c in batch]
    w.update("sys_user", "user_id", [{"user_id": i, "del_flag": DELETED, **w.updated} for i in ids])
    w.delete_by("sys_user_role", "user_id", ids)
    w.delete_by("sys_user_post", "user_id", ids)


# -- roles ----------------------------------------------------------------------------------


def _role_columns(role: Role) -> dict[str, Any]:
    return {
        "role_name": role.name,
        "remark": role.remark,
        "data_scope": role.scope,
    }


def _create_roles(w: _Writer, batch: Batch) -> None:
    roles = [w.rules.create_role(c) for c in batch]
    w.insert(
        "sys_role",
        [
            {
                **_role_columns(r),
                "role_key": r.key,
                "role_sort": r.sort,
                "menu_check_strictly": 1,
                "dept_check_strictly": 1,
                "status": NORMAL,
                "del_flag": PRESENT,
                **w.created,
            }
            for r in roles
        ],
    )
    found = w.new_ids("sys_role", "role_id", ("role_key",), [(r.key,) for r in roles])
    for r in roles:
        w.model.reassign_role(r.id, found[(r.key,)])
    w.insert_pairs("sys_role_dept", [(r.id, d) for r in roles for d in r.depts])


def _update_roles(w: _Writer, batch: Batch) -> None:
    columns = {
        "key": "role_key",
        "name": "role_name",
        "description": "remark",
        "data_scope": "data_scope",
    }
    rows: dict[int, dict[str, Any]] = {}
    rescoped: dict[int, Role] = {}
    for c in batch:
        role = w.rules.update_role(c)
        values = {"role_key": role.key, **_role_columns(role)}
        row = rows.setdefault(role.id, {"role_id": role.id, **w.updated})
        row.update({columns[a]: values[columns[a]] for a in c.after or {} if a in columns})
        if "data_departments" in (c.after or {}):
            rescoped[role.id] = role
    w.update("sys_role", "role_id", rows.values())
    w.delete_by("sys_role_dept", "role_id", list(rescoped))
    w.insert_pairs("sys_role_dept", [(r.id, d) for r in rescoped.values() for d in r.depts])


def _delete_roles(w: _Writer, batch: Batch) -> None:
    ids = [w.rules.delete_role(c).id for c in batch]
    w.update("sys_role", "role_id", [{"role_id": i, "del_flag": DELETED, **w.updated} for i in ids])
    w.delete_by("sys_role_menu", "role_id", ids)
    w.delete_by("sys_role_dept", "role_id", ids)


# -- links ----------------------------------------------------------------------------------


def _grant_permissions(w: _Writer, batch: Batch) -> None:
    w.insert_pairs("sys_role_menu", [p for c in batch for p in w.rules.grant_permission(c)])


def _revoke_permissions(w: _Writer, batch: Batch) -> None:
    w.delete_pairs("sys_role_menu", [p for c in batch for p in w.rules.revoke_permission(c)])


def _grant_memberships(w: _Writer, batch: Batch) -> None:
    existing = {(u, r) for u, roles in w.model.user_roles.items() for r in roles}
    pairs = [w.rules.grant_membership(c) for c in batch]
    w.insert_pairs("sys_user_role", [p for p in pairs if p not in existing])


def _revoke_memberships(w: _Writer, batch: Batch) -> None:
    w.delete_pairs("sys_user_role", [w.rules.revoke_membership(c) for c in batch])


_WRITERS: dict[tuple[Kind, Action], Callable[[_Writer, Batch], None]] = {
    (Kind.DEPARTMENT, Action.CREATE): _create_departments,
    (Kind.DEPARTMENT, Action.UPDATE): _update_departments,
    (Kind.DEPARTMENT, Action.DELETE): _delete_departments,
    (Kind.USER, Action.CREATE): _create_users,
    (Kind.USER, Action.UPDATE): _update_users,
    (Kind.USER, Action.DEACTIVATE): _set_active(False),
    (Kind.USER, Action.REACTIVATE): _set_active(True),
    (Kind.USER, Action.DELETE): _delete_users,
    (Kind.ROLE, Action.CREATE): _create_roles,
    (Kind.ROLE, Action.UPDATE): _update_roles,
    (Kind.ROLE, Action.DELETE): _delete_roles,
    (Kind.PERMISSION, Action.GRANT): _grant_permissions,
    (Kind.PERMISSION, Action.REVOKE): _revoke_permissions,
    (Kind.MEMBERSHIP, Action.GRANT): _grant_memberships,
    (Kind.MEMBERSHIP, Action.REVOKE): _revoke_memberships,
}


def write_changes(
    conn: Connection,
    schema: RuoYiSchema,
    changes: Sequence[Change],
    actor: str,
    progress: Progress | None = None,
) -> None:
    """Check, then apply, ``changes`` in order through ``conn`` (the caller commits or rolls
    back). Raises :class:`DatabaseError` naming the change or batch that failed."""
    loaded = load(conn, schema)
    check_plan(loaded.model, schema.facts(), changes)
    writer = _Writer(conn, schema, Rules(loaded.model, schema.facts()), actor)
    write_batches(
        changes,
        _WRITERS,
        writer,
        lambda exc: _reason(exc, conn),
        "RuoYi ERP",
        progress,
        engine_secrets(conn.engine),
    )
    bindings.replace(conn, "department", writer.model.dept_identities())


def _reason(exc: SQLAlchemyError, conn: Connection) -> str:
    """The driver's message on one line, without the statement, and without a secret."""
    orig = getattr(exc, "orig", None)
    lines = [line.strip() for line in str(orig if orig is not None else exc).splitlines()]
    text = " ".join(line for line in lines if line) or type(exc).__name__
    return redact(text, engine_secrets(conn.engine))
