"""Writing a plan to jshERP: the rules played on the model, then what differs is stored.

:func:`write_changes` reads the tenant's rows again (in apply's transaction), plays the
changes through :class:`~.invariants.Rules` (refusing, as a last line of defence, what
``check_plan`` refused) and writes the difference between the model before and after:

- ``jsh_organization``: inserts parents first (``org_no`` = the policy key, cut to 20
  characters; times set), updates of ``org_abr``/``parent_id``, soft deletes;
- ``jsh_user``: inserts with ``password`` NULL (the tenant administrator resets it in
  用户管理), ``ismanager`` 1, ``isystem`` 0; updates of name, e-mail, ``status`` (0 / 2),
  ``leader_flag``; soft deletes (rel and UB rows left, as jshERP leaves them);
- ``jsh_orga_user_rel``: the user's first live row updated in place, or one inserted (a
  new user always gets one, ``orga_id`` NULL without a department, as jshERP HEAD does);
- ``jsh_role``: inserts (``enabled`` 1), updates of name, ``type``, description; soft
  deletes; ``price_limit`` and ``sort`` are left alone;
- ``jsh_user_business``: the user's UserRole row (``[id]`` or ``''``) and the role's
  RoleFunctions row (``value``: pages and the directories all of whose pages are granted,
  as the role tree saves them; ``btn_str`` as the buttons dialog saves it) updated in
  place, or inserted when there is none. Before inserting one, no live row of the same
  (type, key_id) may exist in any tenant: jshERP reads the first whatever its tenant;
- ``jsh_user_business`` too: the user's UserDepot and UserCustomer rows (warehouses and
  customers, :mod:`.scopes`), ``[id][id]`` ascending or ``''``, updated or inserted alike.

Every insert sets ``tenant_id`` to the tenant's; every statement is limited to it. One
``jsh_log`` row per kind of object changed (用户, 角色, 部门, 关联关系, 用户与部门关系) records
the apply for jshERP's 日志管理, with ``client_ip`` ``erpsync``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)

from erpsync import bindings
from erpsync.adapters.base import Progress
from erpsync.adapters.jsherp.formats import format_buttons, format_ids
from erpsync.adapters.jsherp.invariants import play
from erpsync.adapters.jsherp.keys import (
    DELETED,
    LEADER,
    NOT_LEADER,
    PRESENT,
    ROLE_FUNCTIONS,
    SCOPE_TYPES,
    USER_ROLE,
    natural_key,
)
from erpsync.adapters.jsherp.model import Model, Role
from erpsync.adapters.jsherp.read import live, scope_of
from erpsync.adapters.jsherp.schema import (
    jsh_log,
    jsh_orga_user_rel,
    jsh_organization,
    jsh_role,
    jsh_user,
    jsh_user_business,
)
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.plan import Change

LOG_CLIENT = "erpsync"
SCOPE_LABELS = {"warehouses": "仓库", "customers": "客户"}  # as jsh_log names them
# a jsh_user_business row to write: (key id, the row to update or None for a new one, values)
BusinessRow = tuple[int, int | None, Mapping[str, object]]


class Writer:
    def __init__(self, conn: Connection, before: Model, after: Model) -> None:
        self.conn, self.before, self.after = conn, before, after
        self.tenant = before.tenant.id
        self.ids: dict[int, int] = {}  # provisional id -> inserted id
        # jshERP stamps the database's local time
        self.now = conn.execute(select(func.now())).scalar_one().replace(microsecond=0)
        self.log: dict[str, list[str]] = {}

    def real(self, row_id: int | None) -> int | None:
        return None if row_id is None else self.ids.get(row_id, row_id)

    def note(self, operation: str, text: str) -> None:
        self.log.setdefault(operation, []).append(text)

    def insert(self, table: Table, values: dict[str, object]) -> int:
        result = self.conn.execute(insert(table), {**values, "tenant_id": self.tenant})
        new = result.inserted_primary_key
        assert new is not None
        return int(new[0])

    def mine(self, table: Table, row_id: int) -> ColumnElement[bool]:
        return and_(table.c.id == row_id, table.c.tenant_id == self.tenant)

    # -- rows -------------------------------------------------------------------------------

    def departments(self) -> None:
        t, old, new = jsh_organization, self.before.depts, self.after.depts
        pending = [d for d in new.values() if d.id < 0]
        while pending:  # parents first
            ready = [
                d for d in pending if d.parent is None or d.parent >= 0 or d.parent in self.ids
            ]
            for d in ready:
                self.ids[d.id] = self.insert(
                    t,
                    {
                        "org_no": d.org_no,
                        "org_abr": d.name,
                        "parent_id": self.real(d.parent),
                        "create_time": self.now,
                        "update_time": self.now,
                        "delete_flag": PRESENT,
                    },
                )
                self.note("部门", f"新增{d.name}")
            pending = [d for d in pending if d not in ready]
        for d in new.values():
            was = old.get(d.id)
            if was is not None and (was.name, was.parent) != (d.name, d.parent):
                self.conn.execute(
                    update(t)
                    .where(self.mine(t, d.id))
                    .values(org_abr=d.name, parent_id=self.real(d.parent), update_time=self.now)
                )
                self.note("部门", f"修改{d.name}")
        for gone in old.keys() - new.keys():
            self.conn.execute(
                update(t)
                .where(self.mine(t, gone))
                .values(delete_flag=DELETED, update_time=self.now)
            )
            self.note("部门", f"删除[{old[gone].name}]")

    def update_many(self, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
        """One executemany UPDATE of the tenant's rows by id (``_id``), columns as given."""
        if not rows:
            return
        columns = [c for c in rows[0] if c != "_id"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"), table.c.tenant_id == self.tenant)
            .values({c: bindparam(c) for c in columns})
        )
        self.conn.execute(statement, rows)

    def insert_many(self, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
        if rows:
            self.conn.execute(insert(table), [{**r, "tenant_id": self.tenant} for r in rows])

    def users(self) -> None:
        t, old, new = jsh_user, self.before.users, self.after.users
        created = [u for u in new.values() if u.id < 0]
        self.insert_many(
            t,
            [
                {
                    "username": u.name,
                    "login_name": u.login,
                    "leader_flag": LEADER if u.leader else NOT_LEADER,
                    "email": u.email,
                    "ismanager": 1,
                    "isystem": 0,
                    "status": u.status,
                    "delete_flag": PRESENT,
                }
                for u in created
            ],
        )
        if created:  # logins are unique among live users: they name the new rows
            wanted = {u.login: u.id for u in created}
            query = select(t.c.id, t.c.login_name).where(
                live(t), t.c.tenant_id == self.tenant, t.c.login_name.in_(sorted(wanted))
            )
            for row_id, login in self.conn.execute(query):
                if login in wanted:
                    self.ids[wanted[login]] = row_id
            self.note("用户", "新增" + ",".join(u.login for u in created))
        changed = []
        for u in new.values():
            was = old.get(u.id)
            if was is None:
                continue
            if (was.login, was.name, was.email, was.status, was.leader) != (
                u.login,
                u.name,
                u.email,
                u.status,
                u.leader,
            ):
                changed.append(u)
        self.update_many(
            t,
            [
                {
                    "_id": u.id,
                    "login_name": u.login,
                    "username": u.name,
                    "email": u.email,
                    "status": u.status,
                    "leader_flag": LEADER if u.leader else NOT_LEADER,
                }
                for u in changed
            ],
        )
        if changed:
            self.note("用户", "修改" + ",".join(u.login for u in changed))
        gone = sorted(old.keys() - new.keys())
        self.update_many(t, [{"_id": i, "delete_flag": DELETED} for i in gone])
        if gone:
            self.note("用户", "删除" + "".join(f"[{old[i].login}]" for i in gone))

    def departments_of_users(self) -> None:
        moved, added = [], []
        for u in self.after.managed_users():
            was = self.before.users.get(u.id)
            if was is not None and was.dept == u.dept and was.rel is not None:
                continue
            if was is not None and was.rel is not None:
                orga = self.real(u.dept)
                moved.append({"_id": was.rel, "orga_id": orga, "update_time": self.now})
            elif was is None or u.dept is not None:
                added.append(
                    {
                        "orga_id": self.real(u.dept),
                        "user_id": self.real(u.id),
                        "delete_flag": PRESENT,
                        "create_time": self.now,
                        "update_time": self.now,
                    }
                )
        self.update_many(jsh_orga_user_rel, moved)
        self.insert_many(jsh_orga_user_rel, added)
        if moved or added:
            self.note("用户与部门关系", f"修改{len(moved) + len(added)}")

    def roles(self) -> None:
        t, old, new = jsh_role, self.before.roles, self.after.roles
        for r in new.values():
            if r.id < 0:
                self.ids[r.id] = self.insert(
                    t,
                    {
                        "name": r.name,
                        "type": r.type,
                        "description": r.description,
                        "enabled": 1,
                        "delete_flag": PRESENT,
                    },
                )
                self.note("角色", f"新增{r.name}")
                continue
            was = old[r.id]
            if (was.name, was.type, was.description) != (r.name, r.type, r.description):
                self.conn.execute(
                    update(t)
                    .where(self.mine(t, r.id))
                    .values(name=r.name, type=r.type, description=r.description)
                )
                self.note("角色", f"修改{r.name}")
        for gone in old.keys() - new.keys():
            self.conn.execute(update(t).where(self.mine(t, gone)).values(delete_flag=DELETED))
            self.note("角色", f"删除[{old[gone].name}]")

    def business(self, kind: str, rows: Sequence[BusinessRow]) -> None:
        """Write ``kind`` rows of jsh_user_business: (key id, the row to update or None,
        values). Before inserting, no live row of that (type, key_id) may exist in any
        tenant: jshERP reads the first, whatever its tenant."""
        t = jsh_user_business
        self.update_many(t, [{"_id": row, **values} for _, row, values in rows if row])
        new = [(str(key), values) for key, row, values in rows if row is None]
        if not new:
            return
        keys = sorted({key for key, _ in new})
        query = select(t.c.id, t.c.key_id, t.c.tenant_id).where(
            live(t), t.c.type == kind, t.c.key_id.in_(keys)
        )
        clash = self.conn.execute(query.order_by(t.c.id)).first()
        if clash is not None:
            raise DatabaseError(
                N_(
                    "jsh_user_business row {row} (tenant {tenant}) is already the {type} row "
                    "jshERP reads for id {key}: erpsync will not add a second one"
                ).format(row=clash.id, tenant=clash.tenant_id, type=kind, key=clash.key_id)
            )
        self.insert_many(
            t,
            [{"type": kind, "key_id": k, "delete_flag": PRESENT, **values} for k, values in new],
        )

    def role_functions(self) -> None:
        rows: list[BusinessRow] = []
        for r in self.after.roles.values():
            was = self.before.roles.get(r.id)
            same = was is not None and (was.views, was.buttons) == (r.views, r.buttons)
            if same or (was is None and not r.views and not r.buttons):
                continue
            value = self.after.parents_in_value(r.views)
            values = {"value": format_ids(value), "btn_str": self.buttons_of(r, value)}
            rows.append((self.real(r.id) or r.id, r.functions_row, values))
            self.note("关联关系", f"修改角色{r.name}的功能")
        self.business(ROLE_FUNCTIONS, rows)

    def buttons_of(self, role: Role, order: Sequence[int]) -> str:
        return format_buttons(role.buttons, [i for i in order if i in role.buttons])

    def user_roles(self) -> None:
        rows: list[BusinessRow] = []
        for u in self.after.managed_users():
            was = self.before.users.get(u.id)
            if (was.roles if was else set()) == u.roles:
                continue
            value = format_ids(self.real(r) or r for r in sorted(u.roles))
            rows.append((self.real(u.id) or u.id, u.role_row, {"value": value}))
        self.business(USER_ROLE, rows)
        if rows:
            self.note("关联关系", f"修改{len(rows)}个用户的角色")

    def user_scopes(self) -> None:
        """Each user's UserDepot and UserCustomer row whose ids the plan changed: the ids
        ascending (``[14][15]``), ``''`` for none (what jshERP's 分配仓库 / 分配客户 dialog
        saves for an empty choice: the row stays), the first live row updated in place."""
        for attr, kind in SCOPE_TYPES.items():
            rows: list[BusinessRow] = []
            for u in self.after.managed_users():
                was = self.before.users.get(u.id)
                ids = u.scopes.get(kind)
                if ids is None or (was is not None and was.scopes.get(kind) == ids):
                    continue
                if was is None and not ids:
                    continue  # a new user with none: no row, as jshERP creates none
                row = u.scope_rows.get(kind)
                rows.append((self.real(u.id) or u.id, row, {"value": format_ids(ids)}))
            self.business(kind, rows)
            if rows:
                self.note("关联关系", f"修改{len(rows)}个用户的{SCOPE_LABELS[attr]}")

    def bind(self) -> None:
        scope = scope_of(self.after.tenant)
        for kind, rows in (("department", self.after.depts), ("role", self.after.roles)):
            keys = self.after.dept_keys() if kind == "department" else self.after.role_keys()
            identities = {
                str(self.real(i)): (key, natural_key(rows[i].name)) for i, key in keys.items()
            }
            bindings.replace(self.conn, kind, identities, scope)

    def journal(self) -> None:
        rows = [
            {
                "user_id": self.tenant,
                "operation": operation,
                "client_ip": LOG_CLIENT,
                "create_time": self.now,
                "status": 0,
                "content": ("erpsync: " + ", ".join(texts))[:5000],
                "tenant_id": self.tenant,
            }
            for operation, texts in self.log.items()
        ]
        if rows:
            self.conn.execute(insert(jsh_log), rows)


def write_changes(
    conn: Connection, model: Model, changes: Sequence[Change], progress: Progress | None
) -> None:
    """Play ``changes`` on ``model`` (as read in this transaction) and store the outcome;
    raises the first refusal before writing anything."""
    after, refused = play(model, changes)
    if refused:
        raise refused[0]
    writer = Writer(conn, model, after)
    writer.departments()
    writer.users()
    writer.departments_of_users()
    writer.roles()
    writer.role_functions()
    writer.user_roles()
    writer.user_scopes()
    writer.bind()
    writer.journal()
    if progress is not None:
        progress(len(changes))
