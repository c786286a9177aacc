"""The error a failed notification raises (exit 1, like every expected failure)."""

from __future__ import annotations

from erpsync.errors import ErpsyncError


class NotifyError(ErpsyncError):
    """One or more destinations did not take the message; the message names each
    destination and what its platform answered, never its URL or secret."""


class PlatformRefused(Exception):
    """A platform's reply saying it did not post the message (bad signature, rate
    limit, invalid key ...); the text says why and what to check. Raised by the
    platform modules, turned into :class:`NotifyError` by :mod:`erpsync.notify.send`."""
