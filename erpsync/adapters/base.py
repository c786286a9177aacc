"""The adapter contract: how erpsync reads (and later writes) one ERP's tables.

An adapter is the only code that knows an ERP's schema. It maps the
canonical :class:`~erpsync.state.State` onto tables with SQLAlchemy Core,
reading the whole live state with one set-based query per table — never one
query per object — and identifying rows by natural keys, never ids. It
declares what it can store (:class:`Capabilities`) and which built-in
accounts and roles erpsync must never touch.

Two hooks let ``validate`` and ``plan`` refuse what the writer would refuse, so a
plan that passes review applies: :meth:`Adapter.check_policy` checks the policy
offline (no database; the capabilities are enforced there) and
:meth:`Adapter.check_plan` checks a plan's changes against the live snapshot the
plan was made from (the planner positions each :class:`Refusal` at the policy
declaration the change came from). The writer keeps its own checks as a last
line of defence.

An adapter's package imports its table, read and write modules (and with them
SQLAlchemy, 0.15 s to import) inside the methods that touch a database, never at
import: knowing the adapter (its capabilities, its built-ins) is then cheap, so
validate never loads SQLAlchemy, and plan and drift load it only in the child that
reads (:mod:`erpsync.live_read`).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar, Literal

from erpsync.errors import DatabaseError, UsageError
from erpsync.i18n import N_
from erpsync.plan import Change
from erpsync.secrets import redact, url_secrets
from erpsync.state import State

if TYPE_CHECKING:  # SQLAlchemy is imported where a database is used (erpsync.adapters)
    from sqlalchemy import Connection, Engine
    from sqlalchemy.exc import SQLAlchemyError

    from erpsync.config import Settings
    from erpsync.diagnostics import Diagnostic
    from erpsync.policy.loader import LoadedPolicy
    from erpsync.shared_read import SharedDatabase

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Capabilities:
    """What the ERP can store; a policy using something else is a validation error,
    except departments, which are policy-only where the ERP has none
    (:mod:`erpsync.policy.capabilities`)."""

    departments: bool = True
    department_manager: bool = True
    email: bool = True
    data_scope: bool = True
    custom_data_scope: bool = True
    delete_users: bool = True  # False: settings.removed_users: delete is refused
    role_descriptions: bool = True
    # The data scope the ERP gives a role created without one (RuoYi's UI: all): a role
    # that declares none is planned, written and compared with it. None: no default.
    default_data_scope: str | None = None
    # Whether the ERP keeps several tenants in one database (a target's ``tenant:``): the
    # adapter then reads and writes only the rows of its tenant (Adapter.tenant).
    tenants: bool = False
    # Which of a user's assignments to the ERP's own objects (state.ASSIGNMENTS: posts,
    # warehouses, customers) the ERP holds and the adapter reads and writes.
    user_assignments: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Attribution:
    """Who last changed a row and when, as the ERP itself recorded it (None: not recorded)."""

    by: str | None = None
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Administrator:
    """A built-in user or role that the ERP itself gives every permission, whatever its
    permission tables say (RuoYi's user 1, Tryton's ``administrator`` users). erpsync never
    manages it; the reports show it (and a role's holders) as holding every permission."""

    kind: Literal["user", "role"]
    key: str  # the login or the role key
    why: str  # the ERP's own rule, in one sentence


@dataclass(frozen=True)
class LiveSnapshot:
    """What one read of the ERP returned."""

    state: State
    catalogue: Mapping[str, tuple[str, ...]]  # module -> actions, in the ERP's order
    problems: tuple[str, ...] = field(default=())  # dirty data found (never "fixed" silently)
    module_names: Mapping[str, str] = field(default_factory=dict)  # module -> display name
    # ("department" | "user" | "role", key) -> last change, where the ERP records it; also
    # ("membership", "login/role") and ("permission", "role/module:action") where the ERP
    # records that link's own change, ("grants", role) and ("memberships", login) where it
    # records the last change of a role's grants or a user's roles (drift falls back to
    # them, then to the user's and role's own)
    attribution: Mapping[tuple[str, str], Attribution] = field(default_factory=dict)
    # What the adapter binds (erpsync.bindings), for the kinds whose ERP key is not the
    # policy key: kind -> row id (text) -> (the key the row goes by, its natural key)
    identities: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)
    # Rows of those kinds that no binding names, read under their natural key: kind -> key
    # -> the ERP's own identity of the row, which a declared object may adopt (see
    # Adapter.natural_keys)
    unbound: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # permission -> the permissions granting it also grants (RuoYi: a button's page)
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # What the adapter's check_plan needs beyond the state (RuoYi: its row model and column
    # facts); it travels with the snapshot from the reading child, so it must pickle, and
    # must not need SQLAlchemy to unpickle. None for adapters that need nothing more.
    private: object = None
    # The built-in administrators this read found (Adapter.live_administrators)
    administrators: tuple[Administrator, ...] = ()
    # permission -> the ERP's own label for it (RuoYi: the menu name of a perms string);
    # reports fall back to module_names for the permission's module
    permission_names: Mapping[str, str] = field(default_factory=dict)
    # Rows deleted in the ERP itself (RuoYi's del_flag '2') whose key no live row has:
    # (kind, key) -> who deleted them and when, as far as the ERP recorded it
    deleted: Mapping[tuple[str, str], Attribution] = field(default_factory=dict)


@dataclass(frozen=True)
class LoginRecords:
    """When each user last signed in, as the ERP itself recorded it (for dormant access)."""

    source: str  # where the ERP keeps it, in its own names ("sys_user.login_date, ...")
    # login -> the last successful sign-in (UTC); None: the ERP recorded none for the user
    last: Mapping[str, dt.datetime | None]
    # why some users' records cannot be trusted, or what the ERP does not record
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    """A change the adapter's writer would refuse, and why (found before anything is written)."""

    change: Change
    reason: str
    # Where below the change's declaration the refused value is written (("posts", 1):
    # the user's second post; ("posts", "hr"): a user's post by its value, which the
    # planner finds in the user's list); () for the declaration itself
    at: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        return refused(self.change, self.reason)


# "cannot <action> <kind> <key>: <reason>", one template per change a plan can hold, so a
# view says the action and the kind in its language too (the generic one for the rest)
_REFUSED = {
    ("create", "department"): N_("cannot create department {key}: {reason}"),
    ("update", "department"): N_("cannot update department {key}: {reason}"),
    ("delete", "department"): N_("cannot delete department {key}: {reason}"),
    ("create", "user"): N_("cannot create user {key}: {reason}"),
    ("update", "user"): N_("cannot update user {key}: {reason}"),
    ("delete", "user"): N_("cannot delete user {key}: {reason}"),
    ("deactivate", "user"): N_("cannot deactivate user {key}: {reason}"),
    ("reactivate", "user"): N_("cannot reactivate user {key}: {reason}"),
    ("create", "role"): N_("cannot create role {key}: {reason}"),
    ("update", "role"): N_("cannot update role {key}: {reason}"),
    ("delete", "role"): N_("cannot delete role {key}: {reason}"),
    ("grant", "permission"): N_("cannot grant permission {key}: {reason}"),
    ("revoke", "permission"): N_("cannot revoke permission {key}: {reason}"),
    ("grant", "membership"): N_("cannot grant membership {key}: {reason}"),
    ("revoke", "membership"): N_("cannot revoke membership {key}: {reason}"),
}


def refused(change: Change, reason: str) -> str:
    """That ``change`` cannot be made, and why (``reason``: a message of its own, said too):
    ``cannot <action> <kind> <key>: <reason>``."""
    template = _REFUSED.get((str(change.action), str(change.kind)))
    if template is not None:
        return template.format(key=change.key, reason=reason)
    return N_("cannot {action} {kind} {key}: {reason}").format(
        action=change.action, kind=change.kind, key=change.key, reason=reason
    )


class Adapter(ABC):
    name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    builtin_users: ClassVar[frozenset[str]] = frozenset()  # never created, changed or removed
    builtin_roles: ClassVar[frozenset[str]] = frozenset()
    # The default of settings.scope.roles for this ERP: "all" (a live role the policy does
    # not declare is removed) or "declared" (it is left alone, reported as unmanaged).
    undeclared_roles: ClassVar[Literal["all", "declared"]] = "all"
    # Who the ERP itself gives every permission (see Administrator): shown so by the reports
    administrators: ClassVar[tuple[Administrator, ...]] = ()

    def __init__(self, engine: Engine, tenant: str | None = None) -> None:
        self.engine = engine
        # The tenant as erpsync.yaml names it (an id or a name; None: the ERP's default),
        # for an adapter whose capabilities have tenants; the adapter resolves it on reading.
        self.tenant = tenant
        # what a message must not show (the target's, set by open_adapter); the URL's own
        # password and secret parameters are hidden in any case
        self.secrets: tuple[str, ...] = ()
        # The database this adapter's target shares with other tenants' targets in one
        # --all-targets run (erpsync.shared_read): read() takes its snapshot from there.
        self.shared: SharedDatabase | None = None

    def with_tenant(self, tenant: str | None) -> Adapter:
        """An adapter of this class on the same engine for ``tenant`` (a shared read's)."""
        other = type(self)(self.engine, tenant)
        other.secrets = self.secrets
        return other

    def binding_scope(self) -> str:
        """Which bindings (:mod:`erpsync.bindings`) are this adapter's: "" for an ERP with one
        set of objects per database; a tenant adapter names its resolved tenant
        (``tenant:121``), so tenants sharing a database never see each other's keys."""
        return ""

    def read(self) -> LiveSnapshot:
        """The whole live state, read in one transaction (a consistent snapshot); for a
        target sharing its database (:attr:`shared`), its part of the one shared read."""
        if self.shared is not None:
            return self.shared.snapshot(self.tenant)
        from sqlalchemy.exc import SQLAlchemyError  # loaded by now: the engine uses it

        from erpsync.isolation import read_transaction

        try:
            with read_transaction(self.engine) as conn:
                found = self.read_from(conn)
                return replace(
                    found,
                    administrators=self.live_administrators(conn, found),
                    permission_names=found.permission_names or self.permission_names(found),
                )
        except SQLAlchemyError as exc:
            raise DatabaseError(
                N_("reading the {erp} ERP failed: {error}").format(
                    erp=self.name, error=self.explain(exc)
                )
            ) from None

    # Where the ERP records sign-ins, in its own names; None: it records none erpsync reads
    login_source: ClassVar[str | None] = None

    def read_logins(self) -> LoginRecords:
        """When each user of the target last signed in (its tenant only), read in one
        transaction; raises UsageError where the ERP records no sign-ins."""
        if self.login_source is None:
            raise UsageError(
                N_(
                    "the {adapter} adapter has no sign-in records to read: the ERP keeps no "
                    "last-login data erpsync can use"
                ).format(adapter=self.name)
            )
        from sqlalchemy.exc import SQLAlchemyError

        from erpsync.isolation import read_transaction

        try:
            with read_transaction(self.engine) as conn:
                return self.read_logins_from(conn)
        except SQLAlchemyError as exc:
            raise DatabaseError(
                N_("reading the {erp} ERP's sign-in records failed: {error}").format(
                    erp=self.name, error=self.explain(exc)
                )
            ) from None

    def read_logins_from(self, conn: Connection) -> LoginRecords:
        """The hook of :meth:`read_logins` for adapters that set ``login_source``."""
        raise UsageError(
            N_("the {adapter} adapter reads no sign-in records").format(adapter=self.name)
        )

    def read_tenants(self, tenants: Sequence[str | None]) -> list[LiveSnapshot]:
        """The snapshots ``with_tenant(t).read()`` would give for each of ``tenants``, read in
        one transaction (one consistent snapshot of the database for them all): what
        ``--all-targets`` does for targets that are tenants of one database."""
        from sqlalchemy.exc import SQLAlchemyError

        from erpsync.isolation import read_transaction

        try:
            with read_transaction(self.engine) as conn:
                found = self.read_tenants_from(conn, tenants)
                return [
                    replace(
                        snap,
                        administrators=self.with_tenant(t).live_administrators(conn, snap),
                        permission_names=snap.permission_names or self.permission_names(snap),
                    )
                    for t, snap in zip(tenants, found, strict=True)
                ]
        except SQLAlchemyError as exc:
            raise DatabaseError(
                N_("reading the {erp} ERP failed: {error}").format(
                    erp=self.name, error=self.explain(exc)
                )
            ) from None

    def read_tenants_from(
        self, conn: Connection, tenants: Sequence[str | None]
    ) -> list[LiveSnapshot]:
        """Each tenant's snapshot through ``conn``, in ``tenants``' order. By default one
        :meth:`read_from` per tenant; an adapter whose tables hold every tenant's rows reads
        each table once for them all and splits the rows in memory."""
        return [self.with_tenant(t).read_from(conn) for t in tenants]

    def explain(self, exc: SQLAlchemyError) -> str:
        """The driver's own message, first line only, with no secret in it."""
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return redact(text, self.known_secrets())

    def known_secrets(self) -> list[str]:
        """Every secret of this adapter's database: the target's, and its URL's own."""
        url = self.engine.url.render_as_string(hide_password=False)
        return [*self.secrets, *url_secrets(url)]

    def bind(self, snapshot: LiveSnapshot) -> None:
        """Record that each row of ``snapshot``'s bound kinds goes by the key it was read
        under (what ``import`` adopts), so a later rename in the policy updates that row.
        Writes erpsync's own table only; raises :class:`DatabaseError`."""
        if not snapshot.identities:
            return
        from sqlalchemy.exc import SQLAlchemyError

        from erpsync import bindings

        try:
            with self.engine.begin() as conn:
                for kind, rows in snapshot.identities.items():
                    bindings.replace(conn, kind, rows, self.binding_scope())
        except SQLAlchemyError as exc:
            raise DatabaseError(
                N_("recording which rows the keys name failed: {error}").format(
                    error=self.explain(exc)
                )
            ) from None

    def live_administrators(
        self, conn: Connection, snapshot: LiveSnapshot
    ) -> tuple[Administrator, ...]:
        """The built-in administrators of the live ERP, for the reports: by default the
        declared :attr:`administrators` that ``snapshot`` holds; an adapter that can read
        the ERP's own evidence (which login is the super administrator) overrides it."""
        state = snapshot.state
        present = {"user": state.users, "role": state.roles}
        return tuple(a for a in self.administrators if a.key in present[a.kind])

    def permission_names(self, snapshot: LiveSnapshot) -> Mapping[str, str]:
        """permission -> the ERP's own label for it, where the read knows one beyond the
        module's name (:attr:`LiveSnapshot.permission_names`); empty by default."""
        return {}

    @abstractmethod
    def read_from(self, conn: Connection) -> LiveSnapshot:
        """Read everything erpsync manages through ``conn``, one query per table."""

    def write(
        self,
        conn: Connection,
        changes: Sequence[Change],
        actor: str,
        progress: Progress | None = None,
    ) -> None:
        """Apply ``changes`` in order inside the caller's transaction on ``conn``.

        Batched (a few executemany statements per kind of change, never one
        round trip per object); ``actor`` goes into the ERP's own who-changed
        columns; ``progress(n)`` is told after each batch of ``n`` changes.
        Raises :class:`DatabaseError` (the caller rolls back).
        """
        raise UsageError(
            N_("the {adapter} adapter cannot apply changes yet").format(adapter=self.name)
        )

    @classmethod
    def natural_keys(cls, desired: State) -> Mapping[str, Mapping[str, str]]:
        """The ERP's own identity of each declared object of the kinds this adapter binds
        (kind -> key -> identity, as in :attr:`LiveSnapshot.unbound`): a live row with no
        binding and the same identity is that object (adoption), planned as a rename of
        the row to the declared key. Pure: the planner knows the adapter's class only."""
        return {}

    @classmethod
    def check_policy(cls, loaded: LoadedPolicy, settings: Settings) -> list[Diagnostic]:
        """What this ERP cannot hold of the policy, found without a database (``validate``
        and ``plan`` both call it): every :class:`Capabilities` flag is enforced here.
        An adapter with rules of its own extends it (calling this one)."""
        from erpsync.policy import capabilities

        return capabilities.check(loaded, cls.capabilities, cls.name, settings)

    @classmethod
    def check_plan(cls, snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[Refusal]:
        """The changes this adapter's writer would refuse on the live state ``snapshot``
        (read by this adapter), each with its reason; empty when the plan can be applied.
        Called by the planner after diffing; it must stay cheap for a few changes."""
        return []

    @classmethod
    def schema_problems(cls, conn: Connection) -> list[str]:
        """For ``erpsync doctor``: why this adapter cannot use the database (read-only);
        empty when it can."""
        return []

    # For doctor: what to do when schema_problems finds something, and what the ERP cannot
    # hold, said on the target line ("" for nothing).
    schema_hint: ClassVar[str] = ""
    target_note: ClassVar[str] = ""

    @classmethod
    def plan_notes(cls, changes: Sequence[Change]) -> list[str]:
        """What the plan should tell its reviewer about these changes in this ERP (e.g. that
        new users get no password); a class method, as the planner knows only the class."""
        return []

    @classmethod
    def plan_warnings(cls, snapshot: LiveSnapshot, changes: Sequence[Change]) -> list[str]:
        """What the reviewer must know about these changes on this live ERP (a setting of
        the ERP that keeps them from taking effect); warnings of the plan, none by default."""
        return []

    def after_commit(self, changes: Sequence[Change]) -> list[str]:
        """Tell the running ERP about the change (drop caches); return what to tell the
        operator about when the changes take effect."""
        return []
