"""Applying a plan's changes in batches: the loop every database adapter shares.

A batch is a run of consecutive changes with the same (kind, action); the plan's order
is kept. Each batch goes to the adapter's handler for its (kind, action), which writes
it with a few executemany statements. A failed statement becomes a DatabaseError naming
the change, or the batch, that it wrote; the caller rolls the transaction back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import groupby
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from erpsync.adapters.base import Progress, refused
from erpsync.errors import DatabaseError
from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind
from erpsync.secrets import redact, remembered, url_secrets

Batch = list[Change]
W = TypeVar("W")


def engine_secrets(engine: Engine) -> list[str]:
    """What a message about ``engine``'s database must not show: its URL's password and
    secret parameters, and the secrets of the targets this process resolved."""
    return [*url_secrets(engine.url.render_as_string(hide_password=False)), *remembered()]


def label(change: Change) -> str:
    return f"{change.action} {change.kind} {change.key}"


def failed(batch: Batch, error: str) -> str:
    """That the change, or the batch of changes, one failed statement wrote failed, and
    ``error`` (the driver's words) why."""
    first = batch[0]
    if len(batch) == 1:
        return N_("{action} {kind} {key} failed: {error}").format(
            action=first.action, kind=first.kind, key=first.key, error=error
        )
    return N_("{n} {action} {kind} changes ({first} … {last}) failed: {error}").format(
        n=len(batch),
        action=first.action,
        kind=first.kind,
        first=first.key,
        last=batch[-1].key,
        error=error,
    )


def write_batches(
    changes: Iterable[Change],
    handlers: Mapping[tuple[Kind, Action], Callable[[W, Batch], None]],
    writer: W,
    reason: Callable[[SQLAlchemyError], str],
    erp: str,
    progress: Progress | None = None,
    secrets: Sequence[str] = (),
) -> None:
    """Hand each batch to its handler; ``reason`` words a driver error. ``secrets`` (the
    database's: :func:`engine_secrets`) are hidden in every message, keys and driver text
    included."""
    for (kind, action), run in groupby(changes, key=lambda c: (c.kind, c.action)):
        batch = list(run)
        handler = handlers.get((kind, action))
        if handler is None:
            why = N_("the {erp} cannot {action} {kind}s").format(erp=erp, action=action, kind=kind)
            raise DatabaseError(refused(batch[0], why))
        try:
            handler(writer, batch)
        except SQLAlchemyError as exc:
            message = failed(batch, reason(exc))
            raise DatabaseError(redact(message, secrets)) from None
        if progress is not None:
            progress(len(batch))
