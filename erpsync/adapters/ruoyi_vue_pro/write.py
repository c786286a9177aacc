"""Writing a plan to one tenant of ruoyi-vue-pro, inside the caller's transaction.

:func:`write_changes` reads the tenant again, runs the whole plan through
:func:`~.invariants.check_plan` (nothing is written unless every change passes),
then writes each run of same-kind changes as a batch of ``executemany`` statements,
as the app itself would:

- every insert is stamped with the tenant (``tenant_id``), link rows included, and
  gets its id from ``nextval('<table>_seq')`` on PostgreSQL (the columns have no
  default) or ``AUTO_INCREMENT`` on MariaDB (read back by natural key);
- every removal is ``UPDATE … SET deleted = 1``, link rows included: a revoke
  soft-deletes every live duplicate row of the link, a re-grant inserts a new row,
  deleting a user or role also soft-deletes its ``system_user_role`` (and role's
  ``system_role_menu``) rows;
- every statement is limited to the tenant (``WHERE … AND tenant_id = T``): another
  tenant's rows are never written;
- ``creator``/``updater`` are :data:`ACTOR` and ``create_time``/``update_time`` the
  database's local time, set explicitly (PostgreSQL has no ``ON UPDATE``);
- ``system_users``: ``username``, ``nickname``, ``email``, ``dept_id``, ``status``;
  a new user's ``password`` is the column's default, ``''`` (nobody can log in until
  an administrator sets one). Never ``password``, ``login_ip``, ``login_date``;
- posts, as the app's user service writes them: a user created or given new posts gets
  ``system_users.post_ids`` (JSON text ``[2,4]``, ``[]`` for none) and a
  ``system_user_post`` row per post added, and the rows of the posts it loses (a missing
  post's too) are soft-deleted; a post kept keeps its row;
- ``system_role``: ``code``, ``name``, ``remark``, ``data_scope``,
  ``data_scope_dept_ids`` (JSON text), new roles ``type = 2``, ``status = 0``;
- ``system_dept``: ``name``, ``parent_id``, ``sort``, ``leader_user_id`` (resolved after
  the plan's users exist), ``status = 0``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from erpsync import bindings
from erpsync.adapters.base import Progress
from erpsync.adapters.batches import Batch, engine_secrets, write_batches
from erpsync.adapters.dbclock import clock
from erpsync.adapters.ruoyi_vue_pro.invariants import (
    Rules,
    check_plan,
    post_ids_text,
    scope_text,
)
from erpsync.adapters.ruoyi_vue_pro.keys import (
    CUSTOM_TYPE,
    DELETED,
    DISABLED,
    ENABLED,
    PRESENT,
)
from erpsync.adapters.ruoyi_vue_pro.model import Tenant, TenantModel
from erpsync.adapters.ruoyi_vue_pro.read import load, scope_of
from erpsync.adapters.ruoyi_vue_pro.schema import Schema
from erpsync.plan import Action, Kind
from erpsync.secrets import redact

ACTOR = "erpsync"  # creator/updater of every row erpsync writes (the audit trail says who)


class _Writer:
    def __init__(self, conn: Connection, schema: Schema, rules: Rules) -> None:
        self.conn = conn
        self.schema = schema
        self.rules = rules
        self.model: TenantModel = rules.model
        self.tenant = self.model.tenant.id
        now = clock(conn)[0]  # the app stamps the JVM's local time; the database's is ours
        self.updated = {"updater": ACTOR, "update_time": now}
        self.created = {"creator": ACTOR, "create_time": now, **self.updated, "deleted": PRESENT}

    def insert(
        self, table: str, rows: list[dict[str, Any]], natural: Sequence[str] = ()
    ) -> list[int]:
        """Insert ``rows`` into the tenant; returns their ids (in order) when ``natural``
        names the columns that find them again on MariaDB."""
        if not rows:
            return []
        t = self.schema.tables[table]
        rows = [{**r, **self.created, "tenant_id": self.tenant} for r in rows]
        if self.schema.postgresql:
            seq = func.nextval(f"{table}_seq")
            ids = [
                i
                for (i,) in self.conn.execute(
                    select(seq).select_from(func.generate_series(1, len(rows)))
                )
            ]
            for row, new in zip(rows, ids, strict=True):
                row["id"] = new
            self.conn.execute(insert(t), rows)
            return ids
        self.conn.execute(insert(t), rows)
        if not natural:
            return []
        query = select(t.c.id, *(t.c[c] for c in natural)).where(
            t.c.tenant_id == self.tenant,
            t.c.deleted == 0,
            t.c[natural[0]].in_(sorted({r[natural[0]] for r in rows})),
        )
        found: dict[tuple[Any, ...], int] = {}
        for new, *key in self.conn.execute(query):
            found[tuple(key)] = max(new, found.get(tuple(key), 0))
        return [found[tuple(r[c] for c in natural)] for r in rows]

    def update(self, table: str, rows: Sequence[dict[str, Any]], *by: str) -> None:
        """Update the tenant's live rows matching ``by`` columns (default ``id``); one
        ``executemany`` per set of columns."""
        by = by or ("id",)
        t = self.schema.tables[table]
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            full = {**row, **self.updated}
            shapes.setdefault(tuple(sorted(full)), []).append(full)
        for columns, same in shapes.items():
            statement = (
                update(t)
                .where(
                    *(t.c[c] == bindparam(f"w_{c}") for c in by),
                    t.c.tenant_id == self.tenant,
                    t.c.deleted == 0,
                )
                .values({c: bindparam(f"v_{c}") for c in columns if c not in by})
            )
            self.conn.execute(
                statement,
                [
                    {
                        **{f"w_{c}": r[c] for c in by},
                        **{f"v_{c}": r[c] for c in columns if c not in by},
                    }
                    for r in same
                ],
            )

    def soft_delete(self, table: str, keys: Sequence[dict[str, Any]], *by: str) -> None:
        if keys:
            self.update(table, [{**k, "deleted": DELETED} for k in keys], *by)


# -- departments ----------------------------------------------------------------------------


def _create_department(w: _Writer, batch: Batch) -> None:
    pending = list(batch)
    while pending:
        names = {c.key for c in pending}
        level = [c for c in pending if (c.after or {}).get("parent") not in names]
        depts = [w.rules.create_department(c) for c in level]
        rows = [
            {"name": d.name, "parent_id": d.parent, "sort": d.sort, "status": ENABLED}
            for d in depts
        ]
        ids = w.insert("system_dept", rows, ("parent_id", "name"))
        for dept, new in zip(depts, ids, strict=True):
            w.model.depts[new] = w.model.depts.pop(dept.id)
            w.model.bound[new] = w.model.bound.pop(dept.id)
            for child in w.model.depts.values():
                if child.parent == dept.id:
                    child.parent = new
            dept.id = new
            w.model.touch()
        pending = [c for c in pending if c not in level]


def _update_department(w: _Writer, batch: Batch) -> None:
    rows = []
    for c in batch:
        dept = w.rules.update_department(c)
        if {"name", "parent"} & set(c.after or {}):
            rows.append({"id": dept.id, "name": dept.name, "parent_id": dept.parent})
    w.update("system_dept", rows)


def _delete_department(w: _Writer, batch: Batch) -> None:
    w.soft_delete("system_dept", [{"id": w.rules.delete_department(c).id} for c in batch])


# -- users ----------------------------------------------------------------------------------


def _user_row(user: Any) -> dict[str, Any]:
    return {
        "username": user.login,
        "nickname": user.name,
        "email": user.email or "",
        "dept_id": user.dept,
        "status": ENABLED if user.active else DISABLED,
    }


def _post_ids(w: _Writer, user: Any) -> dict[str, Any]:
    return {"post_ids": post_ids_text(w.model.user_posts.get(user.id, ()))}


def _create_user(w: _Writer, batch: Batch) -> None:
    users = [w.rules.create_user(c) for c in batch]
    # password is left to its default, '': nobody can log in until an admin sets one;
    # post_ids as the app's form sends it, [] for none
    rows = [{**_user_row(u), **_post_ids(w, u)} for u in users]
    ids = w.insert("system_users", rows, ("username",))
    for user, new in zip(users, ids, strict=True):
        w.model.users[new] = w.model.users.pop(user.id)
        if user.id in w.model.user_posts:
            w.model.user_posts[new] = w.model.user_posts.pop(user.id)
        user.id = new
        w.model.touch()
    _write_posts(w)


def _update_user(w: _Writer, batch: Batch) -> None:
    users = [w.rules.update_user(c) for c in batch]
    posted = {id(u) for u, _, _ in w.rules.posted}
    rows = [
        {"id": u.id, **_user_row(u), **(_post_ids(w, u) if id(u) in posted else {})} for u in users
    ]
    w.update("system_users", rows)
    _write_posts(w)


def _write_posts(w: _Writer) -> None:
    """The system_user_post rows of the users whose posts the last batch set."""
    added, removed = [], []
    for user, gained, lost in w.rules.take_posts():
        added += [{"user_id": user.id, "post_id": p} for p in sorted(gained)]
        removed += [{"user_id": user.id, "post_id": p} for p in sorted(lost)]
    w.soft_delete("system_user_post", removed, "user_id", "post_id")
    w.insert("system_user_post", added)


def _deactivate_user(w: _Writer, batch: Batch) -> None:
    rows = [{"id": w.rules.set_active(c, False).id, "status": DISABLED} for c in batch]
    w.update("system_users", rows)


def _reactivate_user(w: _Writer, batch: Batch) -> None:
    rows = [{"id": w.rules.set_active(c, True).id, "status": ENABLED} for c in batch]
    w.update("system_users", rows)


def _delete_user(w: _Writer, batch: Batch) -> None:
    ids = [w.rules.delete_user(c).id for c in batch]
    w.soft_delete("system_users", [{"id": i} for i in ids])
    w.soft_delete("system_user_role", [{"user_id": i} for i in ids], "user_id")
    if "system_user_post" in w.schema.tables:  # as the app deletes a user: its posts too
        w.soft_delete("system_user_post", [{"user_id": i} for i in ids], "user_id")


# -- roles ----------------------------------------------------------------------------------


def _role_row(role: Any) -> dict[str, Any]:
    return {
        "code": role.code,
        "name": role.name,
        "remark": role.remark,
        "data_scope": role.scope,
        "data_scope_dept_ids": scope_text(role) if role.scope_depts else "",
    }


def _create_role(w: _Writer, batch: Batch) -> None:
    roles = [w.rules.create_role(c) for c in batch]
    rows = [{**_role_row(r), "sort": r.sort, "status": ENABLED, "type": CUSTOM_TYPE} for r in roles]
    ids = w.insert("system_role", rows, ("code",))
    for role, new in zip(roles, ids, strict=True):
        w.model.roles[new] = w.model.roles.pop(role.id)
        role.id = new
        w.model.touch()


def _update_role(w: _Writer, batch: Batch) -> None:
    rows = [{"id": role.id, **_role_row(role)} for role in (w.rules.update_role(c) for c in batch)]
    w.update("system_role", rows)


def _delete_role(w: _Writer, batch: Batch) -> None:
    ids = [w.rules.delete_role(c).id for c in batch]
    w.soft_delete("system_role", [{"id": i} for i in ids])
    w.soft_delete("system_user_role", [{"role_id": i} for i in ids], "role_id")
    w.soft_delete("system_role_menu", [{"role_id": i} for i in ids], "role_id")


# -- links ----------------------------------------------------------------------------------


def _grant_permission(w: _Writer, batch: Batch) -> None:
    pairs = sorted({p for c in batch for p in w.rules.grant_permission(c)})
    w.insert("system_role_menu", [{"role_id": r, "menu_id": m} for r, m in pairs])


def _revoke_permission(w: _Writer, batch: Batch) -> None:
    pairs = sorted({p for c in batch for p in w.rules.revoke_permission(c)})
    w.soft_delete(
        "system_role_menu", [{"role_id": r, "menu_id": m} for r, m in pairs], "role_id", "menu_id"
    )


def _grant_membership(w: _Writer, batch: Batch) -> None:
    held = {(u, r) for u, rs in w.model.user_roles.items() for r in rs}
    pairs = sorted({p for p in (w.rules.grant_membership(c) for c in batch) if p not in held})
    w.insert("system_user_role", [{"user_id": u, "role_id": r} for u, r in pairs])


def _revoke_membership(w: _Writer, batch: Batch) -> None:
    pairs = sorted({w.rules.revoke_membership(c) for c in batch})
    w.soft_delete(
        "system_user_role", [{"user_id": u, "role_id": r} for u, r in pairs], "user_id", "role_id"
    )


# (kind, action) -> the function writing a batch of them: ``_<action>_<kind>``
WRITERS: dict[tuple[Kind, Action], Callable[[_Writer, Batch], None]] = {
    (kind, action): found
    for kind in Kind
    for action in Action
    if (found := globals().get(f"_{action}_{kind}")) is not None
}


def write_changes(
    conn: Connection,
    schema: Schema,
    tenant: Tenant,
    changes: Sequence[Any],
    progress: Progress | None = None,
) -> None:
    """Check, then apply, ``changes`` to ``tenant`` through ``conn`` (the caller commits)."""
    problems: dict[int, list[str]] = {tenant.id: []}
    model = load(conn, schema, [tenant], problems)[tenant.id]
    check_plan(model, schema.facts, changes)
    writer = _Writer(conn, schema, Rules(model, schema.facts))
    secrets = engine_secrets(conn.engine)
    write_batches(
        changes,
        WRITERS,
        writer,
        lambda exc: _reason(exc, secrets),
        "ruoyi-vue-pro ERP",
        progress,
        secrets,
    )
    for _ in writer.rules.pending():
        pass  # checked above; resolves the managers' ids
    leaders = writer.rules.leader_ids()
    writer.update(
        "system_dept",
        [{"id": i, "leader_user_id": leader} for i, leader in sorted(leaders.items())],
    )
    bindings.replace(conn, "department", model.identities(), scope_of(tenant))


def _reason(exc: SQLAlchemyError, secrets: Sequence[str]) -> str:
    orig = getattr(exc, "orig", None)
    lines = [line.strip() for line in str(orig if orig is not None else exc).splitlines()]
    return redact(" ".join(line for line in lines if line) or type(exc).__name__, secrets)
