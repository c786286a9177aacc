"""Reading one database once for the several targets that are tenants of it.

A multi-tenant ERP (ruoyi-vue-pro, jsherp) keeps every tenant's rows in the same
tables. ``--all-targets`` over 200 tenants of one database would otherwise connect 200
times and scan every table 200 times; instead the targets of one database are a
:class:`SharedDatabase`: one engine, and one :meth:`~erpsync.adapters.base.Adapter.read_tenants`
(one snapshot transaction, each table read once by an adapter that overrides
``read_tenants_from``) made by whichever target asks first, while the others wait for it.

It is invisible to the commands: :mod:`erpsync.all_targets` makes the groups and sets
:data:`CURRENT` in each worker; :func:`erpsync.adapters.open_adapter` then gives the
target's adapter the group's engine and the group itself, and
:meth:`Adapter.read <erpsync.adapters.base.Adapter.read>` takes the target's snapshot
from it. Everything else a command reads (the audit trail) goes through the same
engine. Only targets of an adapter with tenants are grouped, and only when two or more
name the same database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

from erpsync.config import ResolvedTarget

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from erpsync.adapters.base import Adapter, LiveSnapshot
    from erpsync.live_read import Pending

T = TypeVar("T")
GroupKey = tuple[str, str]  # (adapter, database URL as written, secrets included)
Groups = Mapping[GroupKey, "SharedDatabase"]


@dataclass
class SharedDatabase:
    """The targets naming one database of a multi-tenant adapter."""

    first: ResolvedTarget  # whose URL, adapter, secrets and timeout the engine uses
    tenants: list[str | None] = field(default_factory=list)
    _engine: Engine | None = None
    _snapshots: dict[str | None, LiveSnapshot] | None = None
    _error: Exception | None = None
    _pending: Pending[list[LiveSnapshot]] | None = None  # the read, once started
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _once: dict[Hashable, object] = field(default_factory=dict)
    _once_lock: threading.Lock = field(default_factory=threading.Lock)
    # engine() has a lock of its own: the read, under _lock, may open an adapter, which
    # asks for the group's engine (an in-process read, where no child can read)
    _engine_lock: threading.Lock = field(default_factory=threading.Lock)

    def once(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` made once for the whole group (the first target asking makes it,
        the others wait and share it): what every tenant reads of erpsync's own tables,
        such as the audit trail's recent removals, split per target by the caller."""
        with self._once_lock:
            if key not in self._once:
                self._once[key] = compute()
            return cast(T, self._once[key])

    def engine(self) -> Engine:
        """The group's one engine (made on first use; its pool serves every worker)."""
        with self._engine_lock:
            if self._engine is None:
                from erpsync.connect import engine_for

                self._engine = engine_for(self.first)
            return self._engine

    def start(self) -> None:
        """Start the group's read now, in a child process where that is safe
        (:mod:`erpsync.live_read`: no other thread yet), so that it overlaps the loading
        of the policies; elsewhere it is made when the first target asks."""
        from erpsync import live_read

        tenants = list(self.tenants)
        self._pending = live_read.start(self.first, lambda a: a.read_tenants(tenants))

    def snapshot(self, tenant: str | None) -> LiveSnapshot:
        """``tenant``'s snapshot from the group's one read (made now if it is the first
        asked for). When the database failed, that error for every target of the group;
        when one tenant was the problem (a tenant erpsync.yaml names that the ERP does not
        have), each target reads alone, so only that one fails."""
        from erpsync.errors import DatabaseError

        engine = self.engine()
        with self._lock:
            if self._snapshots is None and self._error is None:
                try:
                    if self._pending is not None:
                        found = self._pending.result()
                    else:
                        found = self._reader(engine, None).read_tenants(self.tenants)
                except Exception as exc:
                    self._error = exc
                else:
                    self._snapshots = dict(zip(self.tenants, found, strict=True))
            if self._snapshots is not None:
                return self._snapshots[tenant]
            error = self._error
        if isinstance(error, DatabaseError):
            raise error
        return self._reader(engine, tenant).read()  # alone, outside the lock

    def _reader(self, engine: Engine, tenant: str | None) -> Adapter:
        from erpsync.adapters import adapter_class

        reader = adapter_class(self.first.adapter)(engine, tenant)
        reader.secrets = self.first.secrets
        return reader

    def close(self) -> None:
        if self._pending is not None:
            self._pending.close()
        if self._engine is not None:
            self._engine.dispose()


# The groups of the run in progress (set per worker by erpsync.all_targets).
CURRENT: ContextVar[Groups | None] = ContextVar("erpsync_shared_databases", default=None)


def key_of(target: ResolvedTarget) -> GroupKey:
    return (target.adapter, target.url)


def group(targets: Sequence[ResolvedTarget]) -> dict[GroupKey, SharedDatabase]:
    """The databases two or more of ``targets`` share, for adapters with tenants."""
    from erpsync.adapters import ADAPTERS, adapter_class

    by_key: dict[GroupKey, list[ResolvedTarget]] = {}
    for target in targets:
        if target.adapter in ADAPTERS and adapter_class(target.adapter).capabilities.tenants:
            by_key.setdefault(key_of(target), []).append(target)
    return {
        key: SharedDatabase(found[0], list(dict.fromkeys(t.tenant for t in found)))
        for key, found in by_key.items()
        if len(found) > 1
    }


def for_target(target: ResolvedTarget) -> SharedDatabase | None:
    """The group ``target`` reads through in this worker, if any."""
    groups = CURRENT.get()
    return None if groups is None else groups.get(key_of(target))


@contextmanager
def using(groups: Groups) -> Iterator[None]:
    """Make ``groups`` current in this thread while the block runs."""
    token = CURRENT.set(groups)
    try:
        yield
    finally:
        CURRENT.reset(token)
