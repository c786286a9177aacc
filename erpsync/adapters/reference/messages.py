"""How the reference adapter words failures: the driver's reason on one line, long
lists of offenders cut short (secrets are hidden by :mod:`erpsync.secrets`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import SQLAlchemyError

MAX_NAMED = 20  # offenders named in one error message


def _named(items: Iterable[str]) -> str:
    names = sorted(items)
    shown = ", ".join(names[:MAX_NAMED])
    more = len(names) - MAX_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's message on one line, without the SQL statement and its parameters."""
    orig = getattr(exc, "orig", None)
    lines = [line.strip() for line in str(orig if orig is not None else exc).splitlines()]
    return " ".join(line for line in lines if line) or type(exc).__name__
