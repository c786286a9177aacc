"""The ``reference`` adapter: erpsync's own reference ERP schema, and how to read it.

The reference ERP is a small but realistic identity and access schema for the
demo, the tests, the benchmarks, and in-house ERPs that adopt it. It works on
SQLite and PostgreSQL (no dialect-specific types)::

    erp_department       id, code (the policy key), name, parent_id -> erp_department,
                         manager_login (a login, no foreign key: a department may be
                         created before its manager, as RuoYi's ``leader``)
    erp_user             id, login, name, email, department_id -> erp_department, active,
                         password_hash (the ERP's; erpsync never reads or writes it)
    erp_role             id, code (the policy key), name, description, data_scope
    erp_role_department  role_id, department_id   departments of a custom data scope
    erp_permission       id, module, action, module_name   the module catalogue
    erp_role_permission  role_id, permission_id
    erp_user_role        user_id, role_id

Departments, users and roles carry ``created_by``/``created_at``/
``updated_by``/``updated_at`` as ERPs do.

Reading (:class:`ReferenceAdapter`) issues one flat ``SELECT`` per table and
maps ids to natural keys in Python dictionaries, so the number of queries
never depends on the number of users (see ``performance.md``). Dirty rows
never crash a read: a link row pointing at a missing row is skipped, and a
department or user whose department reference dangles is read without it (so
that a plan updates the row rather than creating a duplicate); either way the
read says so in :attr:`LiveSnapshot.problems`.

Writing a whole state in bulk (:func:`load_state`: one ``executemany`` per
table, per tree level for departments) serves ``erpsync refdb init --sample``
(:func:`init_database`), the benchmarks and the tests; ``erpsync apply`` goes
through the adapter instead.

Writing a plan (:meth:`ReferenceAdapter.write`, :func:`write_changes`) applies
the changes in order inside the caller's transaction, with the semantics of
:func:`erpsync.adapters.memory.apply_changes`. Consecutive changes of one
(kind, action) are one batch, written by one ``executemany`` per statement
shape: department creates per tree level, updates per set of changed columns.
Natural keys become ids through one ``SELECT`` per table, made when a batch
first needs it and made again after an insert into that table; so the number
of statements depends on the shape of the plan, never on its size.

The code lives in one module per concern: :mod:`~erpsync.adapters.reference.schema`
(the tables, creating them), :mod:`~erpsync.adapters.reference.read` (reading the live
state), :mod:`~erpsync.adapters.reference.load` (bulk load, the sample company),
:mod:`~erpsync.adapters.reference.write` (writing a plan),
:mod:`~erpsync.adapters.reference.database` (``erpsync refdb init``) and
:mod:`~erpsync.adapters.reference.messages` (how failures are worded). This module holds
only :class:`ReferenceAdapter`, which imports them (and so SQLAlchemy) when it first
reads or writes, as :mod:`erpsync.adapters.base` explains.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from erpsync.i18n import N_
from erpsync.plan import Change

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["TAKES_EFFECT", "ReferenceAdapter"]

TAKES_EFFECT = N_(
    "The changes take effect on each user's next request "
    "(the reference ERP reads permissions from the database on every request)."
)


ADMIN_RULE = N_("the reference ERP's built-in administrator account: it holds every permission")
ADMIN_ROLE_RULE = N_(
    "the reference ERP's built-in super-administrator role: it holds every permission of the "
    "catalogue"
)


class ReferenceAdapter(Adapter):
    """Reads the reference ERP (one flat ``SELECT`` per table, ids mapped in Python) and
    writes plans to it (batched ``executemany``: :func:`write_changes`)."""

    name: ClassVar[str] = "reference"
    capabilities: ClassVar[Capabilities] = Capabilities(
        departments=True,
        department_manager=True,
        email=True,
        data_scope=True,
        custom_data_scope=True,
        delete_users=True,
    )
    builtin_users: ClassVar[frozenset[str]] = frozenset({"admin"})
    builtin_roles: ClassVar[frozenset[str]] = frozenset({"admin"})
    administrators: ClassVar[tuple[Administrator, ...]] = (
        Administrator("user", "admin", ADMIN_RULE),
        Administrator("role", "admin", ADMIN_ROLE_RULE),
    )
    schema_hint: ClassVar[str] = N_(
        "create the schema with `erpsync refdb init URL`, or point the target at the "
        "database that holds it"
    )

    @classmethod
    def schema_problems(cls, conn: Connection) -> list[str]:
        from erpsync.adapters.reference.schema import schema_problems

        return schema_problems(conn)

    @classmethod
    def check_plan(cls, snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[Refusal]:
        """What writing the plan would fail on (:mod:`.check`): keys, references, lengths,
        permissions, departments still in use."""
        from erpsync.adapters.reference.check import refusals

        return refusals(snapshot, changes)

    login_source: ClassVar[str | None] = "erp_user.last_login_at"

    def read_logins_from(self, conn: Connection) -> LoginRecords:
        from erpsync.adapters.reference.logins import read_logins

        return read_logins(conn)

    def read_from(self, conn: Connection) -> LiveSnapshot:
        from erpsync.adapters.reference.read import read_snapshot

        return read_snapshot(conn)

    def write(
        self,
        conn: Connection,
        changes: Sequence[Change],
        actor: str,
        progress: Progress | None = None,
    ) -> None:
        from erpsync.adapters.reference.write import write_changes

        write_changes(conn, changes, actor, progress)

    def after_commit(self, changes: Sequence[Change]) -> list[str]:
        """No cache to drop: the reference ERP reads permissions on every request."""
        return [TAKES_EFFECT] if changes else []
