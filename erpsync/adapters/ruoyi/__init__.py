"""The ``ruoyi`` adapter: the RuoYi family (若依), on MySQL/MariaDB and PostgreSQL.

RuoYi is an MIT-licensed Java admin framework under many Chinese in-house ERP,
OA and admin systems. Both variants are supported and told apart from the live
schema (:mod:`~erpsync.adapters.ruoyi.schema`): RuoYi-Vue (``sys_user.user_name``
is the login, ``nick_name`` the display name) and RuoYi with Shiro
(``login_name`` / ``user_name``, a ``salt``). How the canonical model maps::

    department  sys_dept       key: bound (erpsync.bindings), else the name path
                               (keys.department_key); name = dept_name;
                               parent = parent_id; manager = leader, when it holds a login
    user        sys_user       login, display name, email; active = status '0';
                               del_flag '2' (soft delete) = absent
    role        sys_role       key = role_key; name = role_name; description = remark;
                               data_scope '1'..'5' = all, custom, department,
                               department_tree, self; custom: sys_role_dept
    permission  sys_role_menu  through sys_menu.perms, verbatim: system:user:add (module
                               system:user, action add)
    membership  sys_user_role

``leader`` is free text in RuoYi (the seed data says 若依, a person's name):
it is read as the department's manager only when it is exactly the login of a
live user, and otherwise left alone; a policy's manager is written there as
the login. A role whose ``data_scope`` the policy leaves out gets RuoYi's own
default, '1' (all data), as a role created in RuoYi's UI does: the plan shows it,
and a live role with another scope is planned back to it. Declare a narrower one.

The super administrator (``user_id`` 1), its role (``role_id`` 1) and any role
keyed ``admin`` are never touched, and password, salt and login-tracking
columns are never read or written. The modules: :mod:`~.schema` (reflection,
variant), :mod:`~.keys` (natural keys and codes), :mod:`~.model` (rows in
memory, the canonical state), :mod:`~.read`, :mod:`~.invariants` (RuoYi's rules,
checked before writing), :mod:`~.write` and :mod:`~.notes` (what to tell the
operator).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from erpsync.adapters.base import (
    Adapter,
    Administrator,
    Capabilities,
    LiveSnapshot,
    LoginRecords,
    Progress,
    Refusal,
)
from erpsync.adapters.ruoyi.notes import apply_notes, new_user_notes
from erpsync.i18n import N_
from erpsync.plan import Change
from erpsync.state import State

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from erpsync.adapters.ruoyi.schema import RuoYiSchema

# Modules that need SQLAlchemy are imported in the methods (see erpsync.adapters.base).
__all__ = ["RuoYiAdapter"]


SUPER_USER_RULE = N_(
    "RuoYi's super administrator (sys_user.user_id 1): RuoYi grants it every permission "
    "(*:*:*) whatever sys_role_menu says"
)
SUPER_ROLE_RULE = N_(
    "RuoYi's super-administrator role (role_key 'admin'): RuoYi passes its holders through "
    "every role check and stores no menus for it"
)


class RuoYiAdapter(Adapter):
    """Reads RuoYi with one ``SELECT`` per table and writes plans to it in batches."""

    name: ClassVar[str] = "ruoyi"
    capabilities: ClassVar[Capabilities] = Capabilities(
        departments=True,
        department_manager=True,
        email=True,
        data_scope=True,
        custom_data_scope=True,
        delete_users=True,
        default_data_scope="all",
    )
    builtin_users: ClassVar[frozenset[str]] = frozenset({"admin"})
    builtin_roles: ClassVar[frozenset[str]] = frozenset({"admin"})
    administrators: ClassVar[tuple[Administrator, ...]] = (
        Administrator("user", "admin", SUPER_USER_RULE),
        Administrator("role", "admin", SUPER_ROLE_RULE),
    )
    schema_hint: ClassVar[str] = N_(
        "point the target at the RuoYi (RuoYi-Vue or RuoYi Shiro) database, with sys_user, "
        "sys_role, sys_dept, sys_menu and their link tables"
    )

    _schema: RuoYiSchema | None = None

    def schema(self, conn: Connection) -> RuoYiSchema:
        """The live schema, reflected on first use (once per adapter, i.e. per run)."""
        from erpsync.adapters.ruoyi.schema import reflect

        if self._schema is None:
            self._schema = reflect(conn)
        return self._schema

    @classmethod
    def schema_problems(cls, conn: Connection) -> list[str]:
        from erpsync.adapters.ruoyi.schema import schema_problems

        return schema_problems(conn)

    def read_from(self, conn: Connection) -> LiveSnapshot:
        from erpsync.adapters.ruoyi.read import load, snapshot

        schema = self.schema(conn)
        return snapshot(load(conn, schema), schema.facts())

    login_source: ClassVar[str | None] = N_("sys_user.login_date and sys_logininfor")

    def read_logins_from(self, conn: Connection) -> LoginRecords:
        from erpsync.adapters.ruoyi.logins import read_logins

        return read_logins(conn, self.schema(conn))

    def live_administrators(
        self, conn: Connection, snapshot: LiveSnapshot
    ) -> tuple[Administrator, ...]:
        """Whichever login is user 1 and whichever role is role 1 or keyed ``admin``, as the
        read found them (no query of its own)."""
        from erpsync.adapters.ruoyi.facts import Private
        from erpsync.adapters.ruoyi.keys import ADMIN_ROLE_ID, ADMIN_ROLE_KEY, ADMIN_USER_ID

        private = snapshot.private
        if not isinstance(private, Private):
            return super().live_administrators(conn, snapshot)
        model = private.model
        found = []
        user = model.users.get(ADMIN_USER_ID)
        if user is not None:
            found.append(Administrator("user", user.login, SUPER_USER_RULE))
        roles = {r.key for r in model.roles.values() if r.key == ADMIN_ROLE_KEY}
        role_one = model.roles.get(ADMIN_ROLE_ID)
        roles |= {role_one.key} if role_one is not None else set()
        found.extend(Administrator("role", key, SUPER_ROLE_RULE) for key in sorted(roles))
        return tuple(found)

    def permission_names(self, snapshot: LiveSnapshot) -> Mapping[str, str]:
        """``sys_menu.menu_name`` of the menu carrying each ``perms`` string (用户新增 for
        system:user:add)."""
        from erpsync.adapters.ruoyi.facts import Private

        private = snapshot.private
        if not isinstance(private, Private):
            return {}
        names: dict[str, str] = {}
        for menu in sorted(private.model.menus.values(), key=lambda m: m.id):
            if menu.permission is not None and menu.name:
                names.setdefault(menu.permission, menu.name)
        return names

    @classmethod
    def check_plan(cls, snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[Refusal]:
        """RuoYi's rules (:mod:`~.invariants`, what the writer checks) on the model the read
        built: lengths, case-insensitive uniqueness, departments still in use, a button's
        page, ..."""
        from erpsync.adapters.ruoyi.facts import Private
        from erpsync.adapters.ruoyi.invariants import refusals

        private = snapshot.private
        if not isinstance(private, Private) or not changes:
            return []  # a snapshot not read from RuoYi (a test's): nothing to check against
        # A refusal of the whole plan (rare) is pinned on its first change.
        return [
            Refusal(r.change or changes[0], r.reason)
            for r in refusals(private.model, private.schema, changes)
        ]

    def write(
        self,
        conn: Connection,
        changes: Sequence[Change],
        actor: str,
        progress: Progress | None = None,
    ) -> None:
        from erpsync.adapters.ruoyi.write import write_changes

        write_changes(conn, self.schema(conn), changes, actor, progress)

    def after_commit(self, changes: Sequence[Change]) -> list[str]:
        """What to tell the operator: new users have no password, and when RuoYi's caches
        let the changes reach logged-in users (RuoYi-Vue: Redis; Shiro: the JVM)."""
        return apply_notes(changes, self._schema.variant if self._schema else None)

    @classmethod
    def natural_keys(cls, desired: State) -> Mapping[str, Mapping[str, str]]:
        """A declared department's identity in RuoYi: the name path its ``name`` and
        ``parent`` give (what an unbound department is adopted by)."""
        from erpsync.adapters.namepath import declared_paths

        return {"department": declared_paths(desired)}

    @classmethod
    def plan_notes(cls, changes: Sequence[Change]) -> list[str]:
        """What a plan should say before it is applied (new users have no password); a
        class method, as the planner knows the adapter's class only."""
        return new_user_notes(changes)
