"""The ``tryton`` adapter: the Tryton ERP (``trytond``), on SQLite and PostgreSQL.

How the canonical model maps (see :mod:`.read` and :mod:`.write` for details)::

    user        res_user               login, name, email, active (never password_hash)
    role        res_group              name = the group's name; key: bound by erpsync, else
                                       the module's XML id (sale.group_sale_admin), else
                                       the name (see .groups)
    membership  "res_user-res_group"   no unique constraint: erpsync never duplicates a row
    permission  ir_model_access        module = model name (sale.sale); read/create/
                                       update/delete = perm_read/perm_create/perm_write/
                                       perm_delete on the group's own rows
    catalogue   ir_model               every model, with read/create/update/delete

Tryton has no departments, no data scope (record rules are out of scope) and no
group descriptions: the capabilities say so, so a policy using a data scope or a
description fails validation (and plan) with its position. Departments are policy-only:
they still give default roles and appear in reports, but are neither written
nor read back as drift.
Users are never deleted, only deactivated. ``admin`` (an administrator, who
bypasses model access) and the internal ``root`` are never touched, nor are
global access rows (no group). A group the policy does not declare, such as
those Tryton's modules create (``Sales``, ``Stock`` …), is left alone
(``undeclared_roles = "declared"``; ``settings.scope.roles: all`` manages them);
a declared module group is managed, but ``trytond-admin -u`` resets its access
rows, so declare access on groups of your own.

Each trytond process caches groups and model access in memory: the apply
transaction upserts ``ir_cache`` (polling servers drop the caches within their
``[cache] clean_timeout``), and after commit on PostgreSQL erpsync sends
``pg_notify('ir_cache', …)`` for servers in channel mode (``clean_timeout = 0``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

from erpsync.adapters.base import (
    Adapter,
    Administrator,
    Capabilities,
    LiveSnapshot,
    LoginRecords,
    Progress,
    Refusal,
)
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind
from erpsync.state import State

if TYPE_CHECKING:
    from sqlalchemy import Connection

# Modules that need SQLAlchemy are imported in the methods (see erpsync.adapters.base).
__all__ = ["POLICY_ONLY_NOTE", "TrytonAdapter"]

POLICY_ONLY_NOTE = N_(
    "Tryton stores no departments and no data scopes: departments are policy-only (they give "
    "their members default roles and appear in reports, but are not written to Tryton); a "
    "policy for a tryton target declares no data scopes or role descriptions (erpsync "
    "validate names each place)."
)


ADMINISTRATOR_RULE = N_(
    "a Tryton administrator (res_user.administrator): model access does not bind it, so it "
    "holds every permission"
)


class TrytonAdapter(Adapter):
    """Reads Tryton with one ``SELECT`` per table and writes plans to it in batches."""

    name: ClassVar[str] = "tryton"
    capabilities: ClassVar[Capabilities] = Capabilities(
        departments=False,
        department_manager=False,
        email=True,
        data_scope=False,
        custom_data_scope=False,
        delete_users=False,
        role_descriptions=False,
    )
    builtin_users: ClassVar[frozenset[str]] = frozenset({"admin", "root"})
    builtin_roles: ClassVar[frozenset[str]] = frozenset()
    administrators: ClassVar[tuple[Administrator, ...]] = (
        Administrator("user", "admin", ADMINISTRATOR_RULE),
    )
    # A fresh database holds a dozen groups made by Tryton's modules (Administration,
    # Sales …): a policy declaring its own groups leaves them alone.
    undeclared_roles: ClassVar[Literal["all", "declared"]] = "declared"
    schema_hint: ClassVar[str] = N_(
        "point the target at the Tryton database (made by trytond-admin, with res_user, "
        "res_group, ir_model_access, ir_model ...); the table names are trytond's own"
    )
    target_note: ClassVar[str] = POLICY_ONLY_NOTE

    @classmethod
    def schema_problems(cls, conn: Connection) -> list[str]:
        from erpsync.adapters.tryton.tables import schema_problems

        return schema_problems(conn)

    @classmethod
    def check_plan(cls, snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[Refusal]:
        """What the writer would refuse, from the snapshot (:mod:`.check`)."""
        from erpsync.adapters.tryton.check import Private, refusals

        if not isinstance(snapshot.private, Private):
            return []  # a snapshot not read from Tryton (a test's): nothing to check against
        return refusals(snapshot, snapshot.private, changes)

    def live_administrators(
        self, conn: Connection, snapshot: LiveSnapshot
    ) -> tuple[Administrator, ...]:
        """Every user flagged ``administrator`` in ``res_user`` (one query), but ``root``."""
        from sqlalchemy import select

        from erpsync.adapters.tryton.tables import res_user

        rows = conn.execute(
            select(res_user.c.login).where(res_user.c.administrator.is_(True)).order_by("login")
        )
        logins = [login for (login,) in rows if login in snapshot.state.users]
        return tuple(Administrator("user", login, ADMINISTRATOR_RULE) for login in logins)

    login_source: ClassVar[str | None] = N_("ir_session (open sessions only)")

    def read_logins_from(self, conn: Connection) -> LoginRecords:
        from erpsync.adapters.tryton.logins import read_logins

        return read_logins(conn)

    def read_from(self, conn: Connection) -> LiveSnapshot:
        from erpsync.adapters.tryton.read import snapshot

        return snapshot(conn)

    def write(
        self,
        conn: Connection,
        changes: Sequence[Change],
        actor: str,
        progress: Progress | None = None,
    ) -> None:
        from erpsync.adapters.tryton.write import write_changes

        write_changes(conn, changes, progress)

    def after_commit(self, changes: Sequence[Change]) -> list[str]:
        """Signal channel-mode servers (PostgreSQL) and say when the changes take effect."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        from erpsync.adapters.tryton.tables import CACHE_NAMES

        if not changes:
            return []
        notes = []
        if self.engine.dialect.name == "postgresql":
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        text("SELECT pg_notify('ir_cache', :names)"),
                        {"names": json.dumps(list(CACHE_NAMES))},
                    )
                notes.append(
                    N_("Tryton servers in channel mode (clean_timeout = 0) were notified.")
                )
            except SQLAlchemyError as exc:
                notes.append(
                    N_("could not notify Tryton servers: {error}").format(error=self.explain(exc))
                )
        notes.append(
            N_(
                "Changes reach running Tryton servers within their [cache] clean_timeout "
                "(default 300 seconds); new server processes see them at once."
            )
        )
        if any(c.kind is Kind.USER and c.action is Action.CREATE for c in changes):
            notes.append(N_("New Tryton users have no password: set one in Tryton (or reset it)."))
        return notes

    @classmethod
    def natural_keys(cls, desired: State) -> Mapping[str, Mapping[str, str]]:
        """A declared role's identity in Tryton: its name (a group made by a module is
        identified by its XML id instead, under which import declares it)."""
        return {"role": {key: role.name for key, role in desired.roles.items()}}

    @classmethod
    def plan_notes(cls, changes: Sequence[Change]) -> list[str]:
        notes = []
        if any(c.kind is Kind.USER and c.action is Action.CREATE for c in changes):
            notes.append(
                N_("New Tryton users get no password; an administrator sets one in Tryton.")
            )
        if any(c.kind is Kind.PERMISSION and c.action is Action.GRANT for c in changes):
            notes.append(
                N_(
                    "A Tryton model with no access rows is open to everyone: the first grant on "
                    "such a model closes it to every group that is not granted it."
                )
            )
        return notes
