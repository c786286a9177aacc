"""Adapters map the canonical state onto one ERP's tables; see :mod:`erpsync.adapters.base`.

:func:`open_adapter` turns a resolved target into a connected adapter; it is
the one place that creates database engines (through :mod:`erpsync.connect`), so
connection errors are reported the same way everywhere and never show a secret.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from erpsync.adapters.base import Adapter
from erpsync.config import ResolvedTarget
from erpsync.errors import UsageError
from erpsync.i18n import N_

# name -> "module:Class", imported on first use (an adapter may need an optional driver).
ADAPTERS = {
    "reference": "erpsync.adapters.reference:ReferenceAdapter",
    "ruoyi": "erpsync.adapters.ruoyi:RuoYiAdapter",
    "ruoyi-vue-pro": "erpsync.adapters.ruoyi_vue_pro:RuoYiVueProAdapter",
    "tryton": "erpsync.adapters.tryton:TrytonAdapter",
    "jsherp": "erpsync.adapters.jsherp:JshErpAdapter",
}


def adapter_class(name: str) -> type[Adapter]:
    if name not in ADAPTERS:
        known = ", ".join(sorted(ADAPTERS))
        raise UsageError(
            N_("unknown adapter '{name}' (known: {known})").format(name=name, known=known)
        )
    module, _, cls = ADAPTERS[name].partition(":")
    found: type[Adapter] = getattr(importlib.import_module(module), cls)
    return found


@contextmanager
def connected(target: ResolvedTarget) -> Iterator[Adapter]:
    """A connected adapter whose database connections are closed afterwards."""
    adapter = open_adapter(target)
    try:
        yield adapter
    finally:
        if adapter.shared is None:  # a shared database's engine is its group's to close
            adapter.engine.dispose()


def open_adapter(target: ResolvedTarget) -> Adapter:
    """A connected adapter for ``target``; a missing SQLite file is an error, not a new DB."""
    # SQLAlchemy is imported by the code that connects, not at start-up: a command that
    # needs no database (validate, --help) does not pay its 0.15 s, and plan and drift
    # import it in the child that reads (erpsync.live_read) while the policy loads.
    from erpsync import shared_read
    from erpsync.connect import engine_for

    cls = adapter_class(target.adapter)
    shared = shared_read.for_target(target)  # a tenant of a database --all-targets shares
    adapter = cls(engine_for(target) if shared is None else shared.engine(), target.tenant)
    adapter.secrets = target.secrets
    adapter.shared = shared
    return adapter
