"""The one exception tree of erpsync.

The library raises these; only :mod:`erpsync.cli` turns them into exit codes::

    ErpsyncError                 exit 1  (an expected failure; nothing was changed)
    ├── UsageError               bad arguments or a missing file
    ├── ConfigError              erpsync.yaml is missing or invalid
    ├── PolicyError              the policy did not load or validate (carries diagnostics)
    ├── DatabaseError            the ERP database could not be read or written
    │   └── ConnectError         it did not accept a connection (with a hint)
    ├── ApplyRefused             apply refused before writing anything
    │   ├── StalePlanError       the ERP changed since the plan was made
    │   ├── PlanMismatchError    a saved plan is not what the policy gives (edited)
    │   ├── GuardError           a guard tripped (max_removals, SoD, protected objects)
    │   └── LockTimeout          another apply holds the lock
    ├── AuditError               the audit trail is missing or does not verify
    └── InternalError            exit 3  (a bug in erpsync)

Every message is written for the person at the terminal: it names the file,
the object and what to do, and never contains a secret. Messages are English data made
from templates marked ``N_``; the CLI says them in the run's language
(:func:`erpsync.i18n.said`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from erpsync.i18n import N_

if TYPE_CHECKING:
    from erpsync.diagnostics import Diagnostic

ISSUES_URL = "https://github.com/erpsync/erpsync/issues"


class ErpsyncError(Exception):
    """Base of every error erpsync raises on purpose."""

    exit_code: ClassVar[int] = 1


class UsageError(ErpsyncError):
    """The command line asked for something that cannot be done."""


class ConfigError(ErpsyncError):
    """The project configuration (erpsync.yaml) is missing or invalid; ``diagnostics``
    lists the problems of an invalid one (the message holds them in English), so that a
    view can show each in the run's language (:func:`erpsync.diagnostics.to_text`)."""

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics = list(diagnostics)


class PolicyError(ErpsyncError):
    """The policy failed to load or validate; ``diagnostics`` says where and why."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.is_error)
        super().__init__(N_("policy is invalid: {n} error(s)").format(n=errors))


class ReviewSheetError(ErpsyncError):
    """A returned access-review sheet is malformed, or was edited outside its decision
    cells; the message names the file, the sheet, the row and the column."""


class DatabaseError(ErpsyncError):
    """The ERP database could not be reached, read or written."""


class ConnectError(DatabaseError):
    """The database did not accept a connection: ``where`` names the target and its URL,
    ``reason`` says what happened (the driver's words, without secrets), ``hint`` what
    to check."""

    def __init__(self, where: str, reason: str, hint: str) -> None:
        super().__init__(where, reason, hint)
        self.where = where
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        # ``where`` (its {problem}), ``reason`` and the hint (its {detail}) are messages
        # themselves, said with it.
        return N_("{problem}: {reason}\n  hint: {detail}").format(
            problem=self.where, reason=self.reason, detail=self.hint
        )


class ApplyRefused(ErpsyncError):
    """apply refused before its first write: nothing was changed."""


class StalePlanError(ApplyRefused):
    """The live ERP (or the policy) changed since the plan was made."""


class PlanMismatchError(ApplyRefused):
    """A saved plan's changes are not what the policy (or the reverted audit record) gives
    against the live ERP: the file was edited, or made otherwise than by erpsync."""


class GuardError(ApplyRefused):
    """A safety guard tripped; the message names it and how to override it, if one can."""


class LockTimeout(ApplyRefused):
    """Another apply held the lock for longer than --lock-timeout; the message names it."""


class AuditError(ErpsyncError):
    """The audit trail is missing, unreadable or fails verification."""


class InternalError(ErpsyncError):
    """A bug in erpsync: the message says where to report it."""

    exit_code: ClassVar[int] = 3
