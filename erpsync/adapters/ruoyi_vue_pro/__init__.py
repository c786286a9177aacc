"""The ``ruoyi-vue-pro`` adapter: 芋道 (yudao), on MariaDB and PostgreSQL, per tenant.

ruoyi-vue-pro is an MIT-licensed Spring Boot admin/ERP platform whose identity model
is its own (``system_*`` tables, integer codes, a ``deleted`` flag, ``tenant_id`` on
every row, Redis caches), so it has its own adapter beside ``ruoyi``. How the
canonical model maps::

    department  system_dept       key: bound (erpsync.bindings, scope tenant:<id>),
                                  else the name path; name; parent = parent_id;
                                  manager = leader_user_id's username
    user        system_users      login = username; name = nickname; email; department
                                  = dept_id; active = status 0
    role        system_role       key = code; name; description = remark; data_scope
                                  1..5 = all, custom, department, department_tree,
                                  self; custom ids in data_scope_dept_ids (JSON text)
    permission  system_role_menu  through system_menu.permission, verbatim:
                                  system:user:query (module system:user, action query)
    membership  system_user_role
    posts       system_user_post  a user's posts (岗位) by system_post.code, and
                                  system_users.post_ids (:mod:`.posts`)

Tenants (:mod:`.tenants`): ``targets.<name>.tenant`` picks a ``system_tenant`` by id
or name (none: the system tenant). Every read is filtered on its ``tenant_id``
(menus are global), every insert stamped with it, every update limited to it; its
package limits what may be granted. :meth:`RuoYiVueProAdapter.read_tenants_from`
reads each table once for many tenants. Built-ins (:mod:`.invariants`): the
``super_admin`` role and its holders, user 1, each tenant's administrator and every
``type = 1`` role are never touched. Modules: :mod:`.keys` (codes), :mod:`.schema`,
:mod:`.model`, :mod:`.tenants`, :mod:`.read`, :mod:`.posts`, :mod:`.invariants`,
:mod:`.write`, :mod:`.notes`.
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
from erpsync.adapters.ruoyi_vue_pro.keys import DEFAULT_SCOPE, LOGIN, SUPER_ADMIN
from erpsync.adapters.ruoyi_vue_pro.notes import apply_notes, new_user_notes
from erpsync.i18n import N_
from erpsync.plan import Change
from erpsync.state import State

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from erpsync.adapters.ruoyi_vue_pro.model import Tenant
    from erpsync.adapters.ruoyi_vue_pro.schema import Schema
    from erpsync.config import Settings
    from erpsync.diagnostics import Diagnostic
    from erpsync.policy.loader import LoadedPolicy

__all__ = ["RuoYiVueProAdapter"]

SUPER_ADMIN_RULE = N_(
    "ruoyi-vue-pro's super_admin role: the permission check (@ss.hasPermission) lets an "
    "enabled holder through every permission, whatever system_role_menu says"
)


class RuoYiVueProAdapter(Adapter):
    """Reads a tenant of ruoyi-vue-pro with one ``SELECT`` per table, writes plans to it."""

    name: ClassVar[str] = "ruoyi-vue-pro"
    capabilities: ClassVar[Capabilities] = Capabilities(
        default_data_scope=DEFAULT_SCOPE, tenants=True, user_assignments=frozenset({"posts"})
    )
    builtin_users: ClassVar[frozenset[str]] = frozenset({"admin"})
    builtin_roles: ClassVar[frozenset[str]] = frozenset({SUPER_ADMIN})
    administrators: ClassVar[tuple[Administrator, ...]] = (
        Administrator("role", SUPER_ADMIN, SUPER_ADMIN_RULE),
    )
    schema_hint: ClassVar[str] = N_(
        "point the target at the ruoyi-vue-pro (芋道) database, with system_users, system_role, "
        "system_dept, system_menu, their link tables and system_tenant"
    )

    _schema: Schema | None = None
    _resolved: Tenant | None = None

    def schema(self, conn: Connection) -> Schema:
        from erpsync.adapters.ruoyi_vue_pro.schema import reflect

        if self._schema is None:
            self._schema = reflect(conn)
        return self._schema

    @classmethod
    def schema_problems(cls, conn: Connection) -> list[str]:
        from erpsync.adapters.ruoyi_vue_pro.schema import schema_problems

        return schema_problems(conn)

    def with_tenant(self, tenant: str | None) -> Adapter:
        other = super().with_tenant(tenant)
        assert isinstance(other, RuoYiVueProAdapter)
        other._schema = self._schema
        return other

    def resolve(self, conn: Connection, problems: list[str]) -> list[Tenant]:
        """Every live tenant (and sets this adapter's resolved tenant)."""
        from erpsync.adapters.ruoyi_vue_pro.read import live_tenants
        from erpsync.adapters.ruoyi_vue_pro.tenants import resolve

        tenants = live_tenants(conn, self.schema(conn), problems)
        self._resolved = resolve(self.tenant, tenants)
        return tenants

    def binding_scope(self) -> str:
        """``tenant:<id>`` of the resolved tenant (known once read; reading resolves it)."""
        from erpsync.adapters.ruoyi_vue_pro.read import scope_of

        if self._resolved is None:
            from erpsync.isolation import read_transaction

            with read_transaction(self.engine) as conn:
                self.resolve(conn, [])
        assert self._resolved is not None
        return scope_of(self._resolved)

    def read_from(self, conn: Connection) -> LiveSnapshot:
        tenants, found = self._read(conn, [self.tenant])
        self._resolved = tenants[0]
        return found[0]

    def read_tenants_from(
        self, conn: Connection, tenants: Sequence[str | None]
    ) -> list[LiveSnapshot]:
        """Each table read once for all ``tenants``, split by ``tenant_id`` in memory."""
        return self._read(conn, tenants)[1]

    def _read(
        self, conn: Connection, tenants: Sequence[str | None]
    ) -> tuple[list[Tenant], list[LiveSnapshot]]:
        import datetime as dt

        from erpsync.adapters.dbclock import clock
        from erpsync.adapters.ruoyi_vue_pro.attribution import Stamps, attribution
        from erpsync.adapters.ruoyi_vue_pro.read import live_tenants, load, menu_facts, snapshot
        from erpsync.adapters.ruoyi_vue_pro.tenants import resolve

        common: list[str] = []
        known = live_tenants(conn, self.schema(conn), common)
        wanted = [resolve(t, known) for t in tenants]
        problems = {t.id: list(common) for t in wanted}
        schema = self.schema(conn)
        stamps: Stamps = {}
        models = load(conn, schema, list({t.id: t for t in wanted}.values()), problems, stamps)
        if not wanted:
            return [], []
        menus = menu_facts(models[wanted[0].id])  # global: the same for every tenant
        offset = clock(conn)[1] if stamps else dt.timedelta(0)
        return wanted, [
            snapshot(
                models[t.id],
                problems[t.id],
                schema.facts,
                menus,
                attribution(models[t.id], stamps, offset),
            )
            for t in wanted
        ]

    login_source: ClassVar[str | None] = N_("system_users.login_date and system_login_log")

    def read_logins_from(self, conn: Connection) -> LoginRecords:
        from erpsync.adapters.ruoyi_vue_pro.logins import read_logins
        from erpsync.adapters.ruoyi_vue_pro.tenants import resolve

        tenant = resolve(self.tenant, self.resolve(conn, []))
        return read_logins(conn, tenant.id)

    def live_administrators(
        self, conn: Connection, snapshot: LiveSnapshot
    ) -> tuple[Administrator, ...]:
        """The super_admin role, when this tenant has it."""
        return tuple(a for a in self.administrators if a.key in snapshot.state.roles)

    @classmethod
    def check_policy(cls, loaded: LoadedPolicy, settings: Settings) -> list[Diagnostic]:
        """Also, offline: every login must be a username the app accepts."""
        from erpsync.diagnostics import error

        found = super().check_policy(loaded, settings)
        for login in loaded.policy.users:
            if not LOGIN.match(login):
                found.append(
                    error(
                        "capability",
                        loaded.position("users", login),
                        N_("user {login}").format(login=login),
                        N_(
                            "ruoyi-vue-pro usernames are 4 to 30 letters and digits "
                            "({pattern}): choose another login"
                        ).format(pattern=LOGIN.pattern),
                    )
                )
        return found

    @classmethod
    def check_plan(cls, snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[Refusal]:
        """The app's rules (:mod:`.invariants`) on the tenant's rows as read."""
        from erpsync.adapters.ruoyi_vue_pro.facts import Private
        from erpsync.adapters.ruoyi_vue_pro.invariants import refusals

        private = snapshot.private
        if not isinstance(private, Private) or not changes:
            return []
        return [
            Refusal(r.change, r.reason, r.at)
            for r in refusals(private.model, private.facts, changes)
        ]

    def write(
        self,
        conn: Connection,
        changes: Sequence[Change],
        actor: str,
        progress: Progress | None = None,
    ) -> None:
        """Writes as :data:`.write.ACTOR` (the app's creator/updater); erpsync's audit
        trail records ``actor``."""
        from erpsync.adapters.ruoyi_vue_pro.write import write_changes

        self.resolve(conn, [])
        assert self._resolved is not None
        write_changes(conn, self.schema(conn), self._resolved, changes, progress)

    def after_commit(self, changes: Sequence[Change]) -> list[str]:
        return apply_notes(changes, self._resolved.id if self._resolved else None)

    @classmethod
    def natural_keys(cls, desired: State) -> Mapping[str, Mapping[str, str]]:
        from erpsync.adapters.namepath import declared_paths

        return {"department": declared_paths(desired)}

    @classmethod
    def plan_notes(cls, changes: Sequence[Change]) -> list[str]:
        return new_user_notes(changes)
