"""Reading the live ERP in a second process while this one loads the policy.

``plan`` and ``drift`` need both the policy (parsed and validated, which is CPU-bound:
3.3 s at 100,000 users) and the live state (its SQL reads and its digest: 1.2 s).
A Python process runs one thread at a time, so the two overlap only in two
processes: :func:`started` forks a child that connects, reads, and sends its result
back pickled, while the parent loads the policy. Receiving the result costs the
parent 0.4 s at 100,000 users, where reading it costs 1.2 s (docs/benchmarks.md).

The child reads exactly as the parent would, in one transaction, and writes and
prints nothing. An error it meets (a database that cannot be reached) is raised in
the parent when the parent asks for the result, which is after the policy loaded:
the same order as without a child. The child is forked only where that is safe:
on Linux, with no other thread running in this process. Elsewhere, or with
``ERPSYNC_READ_IN_PARALLEL=0``, the read runs in this process when its result is
asked for, and the result is the same.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, NoReturn, TypeVar

from erpsync.adapters import connected
from erpsync.adapters.base import Adapter
from erpsync.config import ResolvedTarget
from erpsync.errors import ErpsyncError, InternalError

T = TypeVar("T")

SWITCH = "ERPSYNC_READ_IN_PARALLEL"  # "0" turns the child off


@contextmanager
def started(target: ResolvedTarget, read: Callable[[Adapter], T]) -> Iterator[Pending[T]]:
    """``read(adapter)`` on ``target``, started now and finished by ``.result()``.

    ``read``'s result must pickle. Leaving the block without asking for the result
    (the policy failed to load) stops the child.
    """
    pending: Pending[T] = _Child(target, read) if _can_fork() else _InProcess(target, read)
    try:
        yield pending
    finally:
        pending.close()


def _can_fork() -> bool:
    return (
        sys.platform == "linux"
        and threading.active_count() == 1
        and os.environ.get(SWITCH, "1") != "0"
    )


class Pending(Generic[T]):
    """A read that was started; :meth:`result` waits for it and raises its error."""

    in_child = False  # whether a child process reads

    def result(self) -> T:
        raise NotImplementedError

    def close(self) -> None:
        """Stop the read if it is still running (nothing is read twice or left behind)."""


class _InProcess(Pending[T]):
    def __init__(self, target: ResolvedTarget, read: Callable[[Adapter], T]) -> None:
        self.target = target
        self.read = read

    def result(self) -> T:
        with connected(self.target) as adapter:
            return self.read(adapter)


class _Child(Pending[T]):
    in_child = True

    def __init__(self, target: ResolvedTarget, read: Callable[[Adapter], T]) -> None:
        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(readable)
            _run_child(target, read, writable)
        os.close(writable)
        self.pid: int | None = pid
        self.pipe = os.fdopen(readable, "rb")
        self.ended = "still running"  # how the child ended, once it did

    def result(self) -> T:
        try:
            data = self.pipe.read()
        finally:
            self.close()
        try:
            ok, value = pickle.loads(data)
        except (EOFError, pickle.UnpicklingError):
            raise InternalError(
                f"the process reading the live ERP ended without a whole answer ({self.ended})"
            ) from None
        if not ok:
            raise value
        answer: T = value
        return answer

    def close(self) -> None:
        self.pipe.close()
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:  # still reading: its transaction only reads, so it can just go
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self.ended = f"killed by signal {-code}" if code < 0 else f"exit status {code}"


def _run_child(target: ResolvedTarget, read: Callable[[Adapter], T], fd: int) -> NoReturn:
    """Read, send ``(True, result)`` or ``(False, error)`` and exit at once: the child
    shares the parent's open files and must neither flush nor clean up anything."""
    try:
        try:
            with connected(target) as adapter:
                answer: tuple[bool, object] = (True, read(adapter))
        except ErpsyncError as exc:
            answer = (False, exc)
        except BaseException as exc:  # a bug: the parent reports it as one
            where = traceback.extract_tb(exc.__traceback__)[-1]
            answer = (
                False,
                InternalError(
                    f"reading the live ERP failed ({os.path.basename(where.filename)}:"
                    f"{where.lineno}): {exc!r}"
                ),
            )
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    finally:
        os._exit(0)
