"""Writing a plan to Tryton inside the caller's transaction (:func:`write_changes`).

The live ids are read once (one ``SELECT`` per table) and kept in step in
memory; each run of consecutive changes of one (kind, action) is written with
one ``executemany`` per statement shape. What is written, as Tryton would:

- ``res_user``: login, name, email, active (``administrator`` false, ``menu``
  Tryton's default menu action); deactivation also deletes the user's
  ``ir_session`` rows (``create_uid`` is the session's user). Users are never
  deleted (Tryton deactivates them), and ``admin``/``root`` are never written.
- ``res_group``: ``name`` (unique); a group's key is bound to its row
  (:mod:`.groups`), so renaming the key writes no column and renaming the group
  updates ``name`` in place; a
  deleted group loses its memberships, access rows and other link rows first.
  A delete that would leave a model with no access rows at all (which Tryton
  reads as "open to everyone") is refused.
- ``"res_user-res_group"``: a membership is inserted only when absent (no
  unique constraint exists); a revoke deletes every row of the pair.
- ``ir_model_access``: a grant sets ``perm_*`` on the group's first active row
  for the model, or inserts one (other perms false); a revoke clears it on
  every active row of the group and keeps the rows (removing a model's last row
  would open it to everyone). Global rows (no group) are never touched.
- ``ir_cache``: the timestamps of the caches holding groups and access are
  upserted, so running trytond processes drop them (see :mod:`.cache`).

Tryton's ``create_uid``/``write_uid`` reference ``res_user``, so erpsync's actor
cannot be stored there: rows are stamped as written by ``root`` (id 0) at the
current UTC time; the actor is in erpsync's own audit log.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, delete, insert, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from erpsync import bindings
from erpsync.adapters.base import Progress, refused
from erpsync.adapters.tryton.check import (
    KEY_TAKEN,
    LOGIN_EXISTS,
    NAME_TAKEN,
    NEEDS_NAME,
    NEVER,
    NEVER_DELETED,
    NO_ACTION,
    NO_DEPARTMENT,
    NO_GROUP,
    NO_KIND,
    NO_MODEL,
    NO_ROLE_ATTRIBUTE,
    NO_USER,
)
from erpsync.adapters.tryton.groups import active_groups, read_groups
from erpsync.adapters.tryton.tables import (
    ADMIN_ID,
    CACHE_NAMES,
    GROUP_LINK_TABLES,
    PERM_COLUMNS,
    ROOT_ID,
    ir_cache,
    ir_model,
    ir_model_data,
    ir_session,
    model_access,
    res_group,
    res_user,
    user_group,
)
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind

PERMS = tuple(PERM_COLUMNS.values())


def now() -> dt.datetime:
    """Naive UTC, as Tryton stores timestamps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _ids(conn: Connection, query: Select[str, int]) -> dict[str, int]:
    """natural key -> id, from a query of those two columns."""
    return {key: int(rid) for key, rid in conn.execute(query)}


def label(change: Change) -> str:
    return f"{change.action} {change.kind} {change.key}"


class _Writer:
    """The connection, the stamps and the live ids, kept in step with what is written."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        stamp = now()
        self.updated: dict[str, Any] = {"write_uid": ROOT_ID, "write_date": stamp}
        self.created: dict[str, Any] = {"create_uid": ROOT_ID, "create_date": stamp}
        self.users = _ids(conn, select(res_user.c.login, res_user.c.id))
        self.groups = read_groups(conn, active_groups(conn))
        # every group's name, inactive ones too: res_group.name is unique
        self.all_names = {str(n) for n in conn.execute(select(res_group.c.name)).scalars()}
        self.models = set(conn.execute(select(ir_model.c.name)).scalars())
        self.members: dict[tuple[int, int], list[int]] = defaultdict(list)
        for rid, uid, gid in conn.execute(
            select(user_group.c.id, user_group.c.user, user_group.c.group)
        ):
            self.members[(uid, gid)].append(rid)
        # (model, group id or None) -> active row ids, lowest first
        self.access: dict[tuple[str, int | None], list[int]] = defaultdict(list)
        query = (
            select(model_access.c.id, model_access.c.model, model_access.c.group)
            .where(model_access.c.active.is_(True))
            .order_by(model_access.c.id)
        )
        for rid, model, gid in conn.execute(query):
            self.access[(model, gid)].append(rid)

    def user_id(self, login: str, change: Change) -> int:
        uid = self.users.get(login)
        if uid is None:
            raise DatabaseError(refused(change, NO_USER.format(login=repr(login))))
        if uid in (ROOT_ID, ADMIN_ID):
            raise DatabaseError(refused(change, NEVER.format(login=login)))
        return uid

    def group_id(self, key: str, change: Change) -> int:
        gid = self.groups.ids.get(key)
        if gid is None:
            raise DatabaseError(refused(change, NO_GROUP.format(key=repr(key))))
        return gid

    def group_name(self, change: Change, name: Any) -> str:
        """A new group name, refused when empty or taken (``res_group.name`` is unique)."""
        if not isinstance(name, str) or not name.strip():
            raise DatabaseError(refused(change, NEEDS_NAME))
        if name in self.all_names:
            raise DatabaseError(refused(change, NAME_TAKEN.format(name=repr(name))))
        self.all_names.add(name)
        return name

    def default_menu(self) -> int | None:
        found = self.conn.execute(
            select(ir_model_data.c.db_id).where(
                ir_model_data.c.module == "ir", ir_model_data.c.fs_id == "act_menu_tree"
            )
        ).scalar()
        return int(found) if found is not None else None

    # --- users ------------------------------------------------------------------------------

    def create_users(self, batch: Sequence[Change]) -> None:
        menu = self.default_menu()
        rows = []
        for change in batch:
            after = change.after or {}
            if change.key in self.users:
                raise DatabaseError(refused(change, LOGIN_EXISTS))
            self.refuse_department(change, after)
            rows.append(
                {
                    "login": change.key,
                    "name": after.get("name") or change.key,
                    "email": after.get("email"),
                    "active": bool(after.get("active", True)),
                    "administrator": False,
                    "menu": menu,
                    **self.created,
                }
            )
        self.conn.execute(insert(res_user), rows)
        query = select(res_user.c.login, res_user.c.id)
        self.users.update(
            _ids(self.conn, query.where(res_user.c.login.in_([c.key for c in batch])))
        )

    @staticmethod
    def refuse_department(change: Change, values: dict[str, Any]) -> None:
        if values.get("department") is not None:
            raise DatabaseError(refused(change, NO_DEPARTMENT))

    def update_users(self, batch: Sequence[Change]) -> None:
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for change in batch:
            after = dict(change.after or {})
            self.refuse_department(change, after)
            values: dict[str, Any] = {k: after[k] for k in ("name", "email") if k in after}
            uid = self.user_id(change.renamed_from or change.key, change)
            if change.renamed_from is not None:  # a login rename (moved:)
                if change.key in self.users:
                    raise DatabaseError(refused(change, LOGIN_EXISTS))
                values["login"] = change.key
                self.users[change.key] = self.users.pop(change.renamed_from)
            if values:
                shapes[tuple(sorted(values))].append({"_id": uid, **values})
        for columns, rows in shapes.items():
            stmt = (
                update(res_user)
                .where(res_user.c.id == bindparam("_id"))
                .values({**{c: bindparam(c) for c in columns}, **self.updated})
            )
            self.conn.execute(stmt, rows)

    def set_active(self, batch: Sequence[Change], active: bool) -> None:
        ids = [self.user_id(c.key, c) for c in batch]
        self.conn.execute(
            update(res_user).where(res_user.c.id.in_(ids)).values(active=active, **self.updated)
        )
        if not active:
            self.conn.execute(delete(ir_session).where(ir_session.c.create_uid.in_(ids)))

    def delete_users(self, batch: Sequence[Change]) -> None:
        raise DatabaseError(refused(batch[0], NEVER_DELETED))

    # --- groups -----------------------------------------------------------------------------

    def create_roles(self, batch: Sequence[Change]) -> None:
        rows = []
        for change in batch:
            after = change.after or {}
            self.refuse_role_attributes(change, after)
            if change.key in self.groups.ids:
                raise DatabaseError(refused(change, KEY_TAKEN))
            name = self.group_name(change, after.get("name"))
            rows.append({"name": name, "active": True, **self.created})
        self.conn.execute(insert(res_group), rows)
        names = {row["name"]: change.key for row, change in zip(rows, batch, strict=True)}
        query = select(res_group.c.name, res_group.c.id).where(res_group.c.name.in_(names))
        for name, gid in self.conn.execute(query):
            self.groups.add(int(gid), names[name])
            self.groups.names[int(gid)] = name
            self.groups.natural[int(gid)] = name
            self.groups.bound.add(int(gid))

    @staticmethod
    def refuse_role_attributes(change: Change, values: dict[str, Any]) -> None:
        for attribute in ("description", "data_scope"):
            if values.get(attribute):
                raise DatabaseError(refused(change, NO_ROLE_ATTRIBUTE[attribute]))
        if values.get("data_departments"):
            raise DatabaseError(refused(change, NO_ROLE_ATTRIBUTE["data_scope"]))

    def update_roles(self, batch: Sequence[Change]) -> None:
        renamed = []
        for change in batch:
            after = change.after or {}
            gid = self.group_id(change.renamed_from or change.key, change)
            self.refuse_role_attributes(change, after)
            if change.renamed_from is not None:
                self.groups.rename(gid, change.key)  # a binding only: no column holds it
            if "name" in after and after["name"] != self.groups.names[gid]:
                self.all_names.discard(self.groups.names[gid])
                name = self.group_name(change, after["name"])
                self.groups.names[gid] = name
                renamed.append({"_id": gid, "name": name})
        if renamed:
            stmt = (
                update(res_group)
                .where(res_group.c.id == bindparam("_id"))
                .values(name=bindparam("name"), **self.updated)
            )
            self.conn.execute(stmt, renamed)

    def delete_roles(self, batch: Sequence[Change]) -> None:
        gids = [self.group_id(c.key, c) for c in batch]
        doomed = set(gids)
        for (model, gid), rows in self.access.items():
            if (
                gid in doomed
                and rows
                and not any(
                    g not in doomed and other for (m, g), other in self.access.items() if m == model
                )
            ):
                raise DatabaseError(
                    N_(
                        "cannot delete group(s) {keys}: model {model} would be left with no "
                        "access rows, which Tryton reads as open to everyone"
                    ).format(keys=", ".join(c.key for c in batch), model=model)
                )
        existing = set(inspect(self.conn).get_table_names())
        for name in GROUP_LINK_TABLES:
            if name in existing:
                link = Table(
                    name, res_group.metadata, extend_existing=True, autoload_with=self.conn
                )
                self.conn.execute(delete(link).where(link.c.group.in_(gids)))
        self.conn.execute(delete(model_access).where(model_access.c.group.in_(gids)))
        self.conn.execute(delete(user_group).where(user_group.c.group.in_(gids)))
        self.conn.execute(
            update(res_group)
            .where(res_group.c.parent.in_(gids))
            .values(parent=None, **self.updated)
        )
        self.conn.execute(delete(res_group).where(res_group.c.id.in_(gids)))
        for change in batch:
            gid = self.groups.ids.pop(change.key)
            del self.groups.keys[gid]
        for key in [k for k in self.access if k[1] in doomed]:
            del self.access[key]
        for pair in [k for k in self.members if k[1] in doomed]:
            del self.members[pair]

    # --- memberships ------------------------------------------------------------------------

    def pair(self, change: Change) -> tuple[int, int]:
        login, role = change.parts()
        return self.user_id(login, change), self.group_id(role, change)

    def grant_memberships(self, batch: Sequence[Change]) -> None:
        rows = []
        for change in batch:
            uid, gid = self.pair(change)
            if not self.members.get((uid, gid)):
                self.members[(uid, gid)].append(-1)  # the real id is not needed
                rows.append({"user": uid, "group": gid, **self.created})
        if rows:
            self.conn.execute(insert(user_group), rows)

    def revoke_memberships(self, batch: Sequence[Change]) -> None:
        rows = []
        for change in batch:
            uid, gid = self.pair(change)
            self.members.pop((uid, gid), None)
            rows.append({"_user": uid, "_group": gid})
        self.conn.execute(
            delete(user_group).where(
                user_group.c.user == bindparam("_user"), user_group.c.group == bindparam("_group")
            ),
            rows,
        )

    # --- model access -----------------------------------------------------------------------

    def permission(self, change: Change) -> tuple[str, int, str]:
        role, perm = change.parts()
        model, _, action = perm.rpartition(":")
        if action not in PERM_COLUMNS:
            raise DatabaseError(refused(change, NO_ACTION.format(action=repr(action))))
        if model not in self.models:
            raise DatabaseError(refused(change, NO_MODEL.format(model=repr(model))))
        return model, self.group_id(role, change), PERM_COLUMNS[action]

    def set_perms(self, batch: Sequence[Change], value: bool) -> None:
        new: dict[tuple[str, int], dict[str, Any]] = {}
        updates: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for change in batch:
            model, gid, column = self.permission(change)
            existing = self.access.get((model, gid))
            if existing:
                for rid in existing if not value else existing[:1]:
                    updates[column].append({"_id": rid})
            elif value:
                row = new.setdefault(
                    (model, gid),
                    {"model": model, "group": gid, "active": True, **dict.fromkeys(PERMS, False)},
                )
                row[column] = True
        for column, ids in updates.items():
            stmt = (
                update(model_access)
                .where(model_access.c.id == bindparam("_id"))
                .values({column: value, **self.updated})
            )
            self.conn.execute(stmt, ids)
        if new:
            self.conn.execute(insert(model_access), [{**r, **self.created} for r in new.values()])
            query = select(model_access.c.id, model_access.c.model, model_access.c.group).where(
                model_access.c.group.in_({gid for _, gid in new}),
                model_access.c.active.is_(True),
            )
            for rid, model, gid in self.conn.execute(query.order_by(model_access.c.id)):
                if (model, gid) in new and rid not in self.access[(model, gid)]:
                    self.access[(model, gid)].append(rid)

    # --- caches -----------------------------------------------------------------------------

    def touch_caches(self) -> None:
        """Upsert ``ir_cache(name, timestamp)``: polling trytond processes drop these caches."""
        stamp = now()
        present = set(
            self.conn.execute(
                select(ir_cache.c.name).where(ir_cache.c.name.in_(CACHE_NAMES))
            ).scalars()
        )
        if present:
            self.conn.execute(
                update(ir_cache)
                .where(ir_cache.c.name.in_(present))
                .values(timestamp=stamp, **self.updated)
            )
        missing = [n for n in CACHE_NAMES if n not in present]
        if missing:
            self.conn.execute(
                insert(ir_cache),
                [{"name": n, "timestamp": stamp, **self.created} for n in missing],
            )


_HANDLERS: dict[tuple[Kind, Action], Callable[[_Writer, Sequence[Change]], None]] = {
    (Kind.USER, Action.CREATE): _Writer.create_users,
    (Kind.USER, Action.UPDATE): _Writer.update_users,
    (Kind.USER, Action.DEACTIVATE): lambda w, b: w.set_active(b, active=False),
    (Kind.USER, Action.REACTIVATE): lambda w, b: w.set_active(b, active=True),
    (Kind.USER, Action.DELETE): _Writer.delete_users,
    (Kind.ROLE, Action.CREATE): _Writer.create_roles,
    (Kind.ROLE, Action.UPDATE): _Writer.update_roles,
    (Kind.ROLE, Action.DELETE): _Writer.delete_roles,
    (Kind.MEMBERSHIP, Action.GRANT): _Writer.grant_memberships,
    (Kind.MEMBERSHIP, Action.REVOKE): _Writer.revoke_memberships,
    (Kind.PERMISSION, Action.GRANT): lambda w, b: w.set_perms(b, value=True),
    (Kind.PERMISSION, Action.REVOKE): lambda w, b: w.set_perms(b, value=False),
}


def write_changes(
    conn: Connection, changes: Sequence[Change], progress: Progress | None = None
) -> None:
    """Write ``changes`` in order; raises :class:`DatabaseError` (the caller rolls back)."""
    if not changes:
        return
    try:
        writer = _Writer(conn)
        for (kind, action), run in groupby(changes, key=lambda c: (c.kind, c.action)):
            batch = list(run)
            handler = _HANDLERS.get((kind, action))
            if handler is None:
                raise DatabaseError(refused(batch[0], NO_KIND.format(kind=kind)))
            handler(writer, batch)
            if progress is not None:
                progress(len(batch))
        writer.touch_caches()
        bindings.replace(conn, "role", writer.groups.identities())
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(N_("writing to Tryton failed: {error}").format(error=first)) from None
