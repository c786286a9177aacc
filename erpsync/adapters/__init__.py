"""Adapters map the canonical state onto one ERP's tables; see :mod:`erpsync.adapters.base`.

:func:`open_adapter` turns a resolved target into a connected adapter; it is
the one place that creates database engines, so connection errors are
reported the same way everywhere and never show a password.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from erpsync.adapters.base import Adapter
from erpsync.config import ResolvedTarget, redact_url
from erpsync.errors import DatabaseError, UsageError

# name -> "module:Class", imported on first use (an adapter may need an optional driver).
ADAPTERS = {
    "reference": "erpsync.adapters.reference:ReferenceAdapter",
    "ruoyi": "erpsync.adapters.ruoyi:RuoYiAdapter",
    "tryton": "erpsync.adapters.tryton:TrytonAdapter",
}


def adapter_class(name: str) -> type[Adapter]:
    if name not in ADAPTERS:
        known = ", ".join(sorted(ADAPTERS))
        raise UsageError(f"unknown adapter '{name}' (known: {known})")
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
        adapter.engine.dispose()


def open_adapter(target: ResolvedTarget) -> Adapter:
    """A connected adapter for ``target``; a missing SQLite file is an error, not a new DB."""
    # SQLAlchemy is imported by the code that connects, not at start-up: a command that
    # needs no database (validate, --help) does not pay its 0.15 s, and plan and drift
    # import it in the child that reads (erpsync.live_read) while the policy loads.
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    cls = adapter_class(target.adapter)
    shown = redact_url(target.url)
    try:
        url = make_url(target.url)
    except ArgumentError:
        raise UsageError(f"target {target.name}: not a database URL: {shown}") from None
    database = url.database
    is_file = url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    if is_file and database and not Path(database).exists():
        raise DatabaseError(
            f"target {target.name}: database file {database} does not exist "
            f"(create a reference ERP with `erpsync refdb init {shown}`)"
        )
    try:
        engine = create_engine(url)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(
            f"target {target.name}: no driver for {url.drivername} ({exc}); install the "
            "matching extra, e.g. pip install 'erpsync[postgres]'"
        ) from None
    return cls(engine)
