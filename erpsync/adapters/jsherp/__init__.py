"""The ``jsherp`` adapter: 华夏ERP (jshERP), on MySQL/MariaDB, one tenant per target.

jshERP keeps every tenant in one database, each row carrying ``tenant_id``. A target
names its tenant (``targets.<name>.tenant``: the ``jsh_tenant.tenant_id`` or the tenant
administrator's login; with none, the only tenant there is), and the adapter reads and
writes only that tenant's rows. How the canonical model maps::

    department  jsh_organization    key: bound (scope tenant:<id>), else org_abr;
                                    name = org_abr; parent = parent_id; manager = the
                                    member with leader_flag '1'; membership: the user's
                                    first jsh_orga_user_rel row
    user        jsh_user            login = login_name, name = username, email;
                                    active = status 0 (disabled: 2); delete_flag '1'
    role        jsh_role            key: bound, else name; name, description,
                                    data scope = type (全部数据 all, 个人数据 self,
                                    本部门数据 / 本机构数据 department_tree)
    membership  jsh_user_business   UserRole: one role per user, [id]
    permission  jsh_user_business   RoleFunctions: module = jsh_function.url; view = the
                                    page's id in value; edit/audit/unaudit/export/toggle/
                                    print/void = button codes 1/2/7/3/4/5/6 in btn_str
    warehouses  jsh_user_business   UserDepot: the user's jsh_depot ids, [14][15]; named
                                    by jsh_depot.name (:mod:`.scopes`)
    customers   jsh_user_business   UserCustomer: the user's jsh_supplier (type 客户) ids;
                                    named by jsh_supplier.supplier

Never touched: the platform administrator (``admin``, tenant 0) and role 管理员, tenant
administrators (``id = tenant_id``) and their UserRole rows, platform roles
(``tenant_id`` NULL) and their RoleFunctions, ``jsh_function``, ``jsh_tenant``, users
with ``isystem = 1``, ``password`` and ``weixin_open_id``; ``jsh_depot``,
``jsh_supplier`` and ``jsh_system_config`` are read only. Modules: :mod:`.formats`
(the UB value formats), :mod:`.keys`, :mod:`.model`, :mod:`.schema`, :mod:`.read`,
:mod:`.scopes` (warehouses and customers), :mod:`.invariants`, :mod:`.write`, :mod:`.notes`.
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
from erpsync.adapters.jsherp.notes import apply_notes, plan_notes
from erpsync.i18n import N_
from erpsync.plan import Change
from erpsync.state import State

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from erpsync.config import Settings
    from erpsync.diagnostics import Diagnostic
    from erpsync.policy.loader import LoadedPolicy

__all__ = ["JshErpAdapter"]

PLATFORM_ADMIN_RULE = N_(
    "jshERP's platform administrator (login_name 'admin', tenant 0): jshERP shows it every "
    "menu whatever its role holds"
)


class JshErpAdapter(Adapter):
    """Reads one jshERP tenant with one ``SELECT`` per table and writes plans in place."""

    name: ClassVar[str] = "jsherp"
    capabilities: ClassVar[Capabilities] = Capabilities(
        departments=True,
        department_manager=True,
        email=True,
        data_scope=True,
        custom_data_scope=False,
        delete_users=True,
        role_descriptions=True,
        default_data_scope="all",
        tenants=True,
        user_assignments=frozenset({"warehouses", "customers"}),
    )
    builtin_users: ClassVar[frozenset[str]] = frozenset({"admin"})
    administrators: ClassVar[tuple[Administrator, ...]] = (
        Administrator("user", "admin", PLATFORM_ADMIN_RULE),
    )
    schema_hint: ClassVar[str] = N_(
        "point the target at the jshERP database (jsh_user, jsh_role, jsh_organization, "
        "jsh_orga_user_rel, jsh_user_business, jsh_function, jsh_tenant, jsh_log, jsh_depot, "
        "jsh_supplier, jsh_system_config)"
    )
    target_note: ClassVar[str] = N_(
        "jshERP holds one role per user and data scopes all, self and department_tree; it "
        "enforces menus and buttons in its UI only"
    )

    _tenant_id: int | None = None

    def binding_scope(self) -> str:
        """``tenant:<id>`` of the resolved tenant (known once read)."""
        if self._tenant_id is None:
            from erpsync.isolation import read_transaction

            with read_transaction(self.engine) as conn:
                self.read_from(conn)
        return f"tenant:{self._tenant_id}"

    @classmethod
    def schema_problems(cls, conn: Connection) -> list[str]:
        from erpsync.adapters.jsherp.schema import schema_problems

        return schema_problems(conn)

    def read_from(self, conn: Connection) -> LiveSnapshot:
        return self.read_tenants_from(conn, [self.tenant])[0]

    def read_tenants_from(
        self, conn: Connection, tenants: Sequence[str | None]
    ) -> list[LiveSnapshot]:
        """Every table read once for all ``tenants``, the rows split by ``tenant_id``."""
        from erpsync.adapters.jsherp.read import load, snapshot

        found = load(conn, tenants)
        if len(tenants) == 1:
            self._tenant_id = found[0][0].tenant.id
        return [snapshot(model, problems) for model, problems in found]

    login_source: ClassVar[str | None] = N_("jsh_log (the sign-in rows)")

    def read_logins_from(self, conn: Connection) -> LoginRecords:
        from erpsync.adapters.jsherp.logins import read_logins
        from erpsync.adapters.jsherp.read import load

        found, _ = load(conn, [self.tenant])[0]
        return read_logins(conn, found)

    def model(self, conn: Connection) -> object:
        from erpsync.adapters.jsherp.read import load

        found, _ = load(conn, [self.tenant])[0]
        self._tenant_id = found.tenant.id
        return found

    @classmethod
    def check_policy(cls, loaded: LoadedPolicy, settings: Settings) -> list[Diagnostic]:
        """The capabilities, and one role per user (:mod:`.policy_rules`)."""
        from erpsync.adapters.jsherp.policy_rules import one_role_per_user

        return [*super().check_policy(loaded, settings), *one_role_per_user(loaded)]

    @classmethod
    def check_plan(cls, snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[Refusal]:
        """jshERP's rules (:mod:`.invariants`) on the tenant's rows as read."""
        from erpsync.adapters.jsherp.invariants import Private, play

        private = snapshot.private
        if not isinstance(private, Private) or not changes:
            return []
        _, refused = play(private.model, changes)
        return [Refusal(r.change or changes[0], r.reason, r.at) for r in refused]

    def write(
        self,
        conn: Connection,
        changes: Sequence[Change],
        actor: str,
        progress: Progress | None = None,
    ) -> None:
        from erpsync.adapters.jsherp.model import Model
        from erpsync.adapters.jsherp.write import write_changes

        model = self.model(conn)
        assert isinstance(model, Model)
        write_changes(conn, model, changes, progress)

    def after_commit(self, changes: Sequence[Change]) -> list[str]:
        return apply_notes(changes)

    @classmethod
    def plan_notes(cls, changes: Sequence[Change]) -> list[str]:
        return plan_notes(changes)

    @classmethod
    def plan_warnings(cls, snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[str]:
        """Users' warehouses or customers written while the tenant's switch (系统配置 →
        仓库权限 / 客户权限) is off: they take no effect until it is on."""
        from erpsync.adapters.jsherp.invariants import Private
        from erpsync.adapters.jsherp.scopes import flag_warnings

        private = snapshot.private
        if not isinstance(private, Private) or not changes:
            return []
        return flag_warnings(private.model, changes)

    @classmethod
    def natural_keys(cls, desired: State) -> Mapping[str, Mapping[str, str]]:
        """A declared role's and department's identity in jshERP: its name."""
        from erpsync.adapters.jsherp.keys import natural_key

        return {
            "role": {k: natural_key(r.name) for k, r in desired.roles.items()},
            "department": {k: natural_key(d.name) for k, d in desired.departments.items()},
        }
