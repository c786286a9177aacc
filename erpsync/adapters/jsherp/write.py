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
  (type, key_id) may exist in any tenant: jshERP reads the first whatever its tenant.

Every insert sets ``tenant_id`` to the tenant's; every statement is limited to it. One
``jsh_log`` row per kind of object changed (用户, 角色, 部门, 关联关系, 用户与部门关系) records
the apply for jshERP's 日志管理, with ``client_ip`` ``erpsync``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Table, and_, func, insert, select, update

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
from erpsync.plan import Change

LOG_CLIENT = "erpsync"


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

    def users(self) -> None:
        t, old, new = jsh_user, self.before.users, self.after.users
        for u in new.values():
            flag = LEADER if u.leader else NOT_LEADER
            if u.id < 0:
                self.ids[u.id] = self.insert(
                    t,
                    {
                        "username": u.name,
                        "login_name": u.login,
                        "leader_flag": flag,
                        "email": u.email,
                        "ismanager": 1,
                        "isystem": 0,
                        "status": u.status,
                        "delete_flag": PRESENT,
                    },
                )
                self.note("用户", f"新增{u.login}")
                continue
            was = old[u.id]
            if (was.login, was.name, was.email, was.status, was.leader) != (
                u.login,
                u.name,
                u.email,
                u.status,
                u.leader,
            ):
                self.conn.execute(
                    update(t)
                    .where(self.mine(t, u.id))
                    .values(
                        login_name=u.login,
                        username=u.name,
                        email=u.email,
                        status=u.status,
                        leader_flag=flag,
                    )
                )
                self.note("用户", f"修改{u.login}")
        for gone in old.keys() - new.keys():
            self.conn.execute(update(t).where(self.mine(t, gone)).values(delete_flag=DELETED))
            self.note("用户", f"删除[{old[gone].login}]")

    def departments_of_users(self) -> None:
        t = jsh_orga_user_rel
        for u in self.after.managed_users():
            was = self.before.users.get(u.id)
            if was is not None and was.dept == u.dept and was.rel is not None:
                continue
            if was is not None and was.rel is not None:
                self.conn.execute(
                    update(t)
                    .where(self.mine(t, was.rel))
                    .values(orga_id=self.real(u.dept), update_time=self.now)
                )
            elif was is None or u.dept is not None:
                self.insert(
                    t,
                    {
                        "orga_id": self.real(u.dept),
                        "user_id": self.real(u.id),
                        "delete_flag": PRESENT,
                        "create_time": self.now,
                        "update_time": self.now,
                    },
                )
            else:
                continue
            self.note("用户与部门关系", f"修改{u.login}")

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

    def business(self, kind: str, key: int, row: int | None, values: dict[str, object]) -> None:
        t = jsh_user_business
        if row is not None:
            self.conn.execute(update(t).where(self.mine(t, row)).values(**values))
            return
        clash = self.conn.execute(
            select(t.c.id, t.c.tenant_id).where(live(t), t.c.type == kind, t.c.key_id == str(key))
        ).first()
        if clash is not None:
            raise DatabaseError(
                f"jsh_user_business row {clash.id} (tenant {clash.tenant_id}) is already the "
                f"{kind} row jshERP reads for id {key}: erpsync will not add a second one"
            )
        self.insert(t, {"type": kind, "key_id": str(key), "delete_flag": PRESENT, **values})

    def role_functions(self) -> None:
        for r in self.after.roles.values():
            was = self.before.roles.get(r.id)
            same = was is not None and (was.views, was.buttons) == (r.views, r.buttons)
            if same or (was is None and not r.views and not r.buttons):
                continue
            value = self.after.parents_in_value(r.views)
            self.business(
                ROLE_FUNCTIONS,
                self.real(r.id) or r.id,
                r.functions_row,
                {"value": format_ids(value), "btn_str": self.buttons_of(r, value)},
            )
            self.note("关联关系", f"修改{r.name}")

    def buttons_of(self, role: Role, order: Sequence[int]) -> str:
        return format_buttons(role.buttons, [i for i in order if i in role.buttons])

    def user_roles(self) -> None:
        for u in self.after.managed_users():
            was = self.before.users.get(u.id)
            if (was.roles if was else set()) == u.roles:
                continue
            value = format_ids(self.real(r) or r for r in sorted(u.roles))
            self.business(USER_ROLE, self.real(u.id) or u.id, u.role_row, {"value": value})
            self.note("关联关系", f"修改{u.login}")

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
    writer.bind()
    writer.journal()
    if progress is not None:
        progress(len(changes))
