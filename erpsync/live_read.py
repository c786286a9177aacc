"""Reading the live ERP in a second process while this one loads the policy.

``plan`` and ``drift`` need both the policy (parsed and validated, which is CPU-bound:
2.3 s at 100,000 users) and the live state (its SQL reads and its digest: 1.2 s).
A Python process runs one thread at a time, so the two overlap only in two
processes: :func:`started` forks a child that connects, reads, and sends its result
back pickled, while the parent loads the policy. Receiving the result costs the
parent 0.26 s at 100,000 users, where reading it costs 1.2 s (docs/benchmarks.md).

The child reads exactly as the parent would, in one transaction; it writes nothing
and prints nothing of its own (a library's warning would still reach stderr), and the
kernel ends it if the parent dies first. An error it meets (a database that cannot
be reached) is raised in the parent when the parent asks for the result, which is
after the policy loaded: the same order as without a child. The child is forked
only where that is safe: on Linux, with no other thread running in this process.
Elsewhere, or with ``ERPSYNC_READ_IN_PARALLEL=0``, the read runs in this process when
its result is asked for, and the result is the same.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import threading
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, NoReturn, TypeVar

from erpsync.adapters import connected
from erpsync.adapters.base import Adapter
from erpsync.config import ResolvedTarget
from erpsync.errors import ISSUES_URL, ErpsyncError, InternalError
from erpsync.i18n import N_

T = TypeVar("T")

SWITCH = "ERPSYNC_READ_IN_PARALLEL"  # "0" turns the child off


@contextmanager
def started(target: ResolvedTarget, read: Callable[[Adapter], T]) -> Iterator[Pending[T]]:
    """``read(adapter)`` on ``target``, started now and finished by ``.result()``.

    ``read``'s result must pickle. Leaving the block without asking for the result
    (the policy failed to load) stops the child.
    """
    pending = _start(target, read)
    try:
        yield pending
    finally:
        pending.close()


def start(target: ResolvedTarget, read: Callable[[Adapter], T]) -> Pending[T]:
    """:func:`started` for a caller that keeps the read beyond one block: it must call
    ``close()`` when done (``plan --all-targets`` starts the reads of the databases its
    targets share before its threads start, while forking is safe)."""
    return _start(target, read)


def _start(target: ResolvedTarget, read: Callable[[Adapter], T]) -> Pending[T]:
    if _can_fork():
        try:
            return _Child(target, read)
        except OSError:
            pass  # no process or pipe to spare (EAGAIN, ENOMEM): read here instead
    return _InProcess(target, read)


def _can_fork() -> bool:
    return (
        sys.platform == "linux"
        and threading.active_count() == 1
        and os.environ.get(SWITCH, "1") != "0"
    )


class Pending(ABC, Generic[T]):
    """A read that was started; :meth:`result` waits for it and raises its error."""

    in_child = False  # whether a child process reads

    @abstractmethod
    def result(self) -> T:
        """The read's result; its error is raised here."""

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
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            os.close(readable)
            os.close(writable)
            raise
        if pid == 0:
            os.close(readable)
            _run_child(target, read, writable, parent)
        os.close(writable)
        self.pid: int | None = pid
        self.pipe = os.fdopen(readable, "rb")
        self.ended = N_("still running")  # how the child ended, once it did

    def result(self) -> T:
        try:
            data = self.pipe.read()  # until the child closes its end, just before it exits
        finally:
            self.pipe.close()
            self._reap(stop=False)
        try:
            ok, value = pickle.loads(data)
        except Exception:  # nothing, or a cut answer: the child died while sending
            raise InternalError(
                N_(
                    "the process reading the live ERP ended without a whole answer ({cause})"
                ).format(cause=self.ended)
            ) from None
        if not ok:
            raise value
        answer: T = value
        return answer

    def close(self) -> None:
        self.pipe.close()
        self._reap(stop=True)

    def _reap(self, stop: bool) -> None:
        """Wait for the child to end; with ``stop``, end it first (its transaction only
        reads, so it can just go)."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        if stop:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self.ended = (
            N_("killed by signal {signal}").format(signal=-code)
            if code < 0
            else N_("exit status {code}").format(code=code)
        )


def _run_child(
    target: ResolvedTarget, read: Callable[[Adapter], T], fd: int, parent: int
) -> NoReturn:
    """Read, send ``(True, result)`` or ``(False, error)`` and exit at once: the child
    shares the parent's open files and must neither flush nor clean up anything.
    Exit 0 once the answer is sent, 130 when interrupted, 1 otherwise."""
    code = 1
    try:
        _end_with(parent)
        try:
            data = pickle.dumps(_answer(target, read), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a result that does not pickle is a bug too
            data = pickle.dumps((False, _bug(N_("sending the live state back"), exc)))
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        code = 0
    except KeyboardInterrupt:
        code = 130
    finally:
        os._exit(code)


def _end_with(parent: int) -> None:
    """Have the kernel kill this child when the parent dies, however it dies (a
    cancelled CI job sends SIGKILL): an orphan would go on reading the ERP."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0 or os.getppid() != parent:
        os._exit(1)  # no such guard, or the parent is already gone


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _answer(target: ResolvedTarget, read: Callable[[Adapter], T]) -> tuple[bool, object]:
    try:
        with connected(target) as adapter:
            return True, read(adapter)
    except ErpsyncError as exc:
        return False, _portable(exc)
    except Exception as exc:
        return False, _bug(N_("reading the live ERP"), exc)


def _portable(exc: ErpsyncError) -> ErpsyncError:
    """``exc``, or a plain error of its class's family with its message where it would
    not come out of pickle the same (an error class with its own constructor)."""
    try:
        back = pickle.loads(pickle.dumps(exc))
    except Exception:
        back = None
    if type(back) is type(exc) and str(back) == str(exc):
        return exc
    plain = InternalError if exc.exit_code == InternalError.exit_code else ErpsyncError
    return plain(str(exc))


def _bug(doing: str, exc: Exception) -> InternalError:
    """A bug in the child, as the parent reports it: where, what, where to report it,
    and the child's traceback for ``-v``."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    if where is not None:
        message = N_(
            "internal error in erpsync's reader process ({place}), {detail}: {error}\n"
            "This is a bug; please report it at {url} (run with -v for details)."
        ).format(
            place=f"{os.path.basename(where.filename)}:{where.lineno}",
            detail=doing,
            error=repr(exc),
            url=ISSUES_URL,
        )
    else:
        message = N_(
            "internal error in erpsync's reader process, {detail}: {error}\n"
            "This is a bug; please report it at {url} (run with -v for details)."
        ).format(detail=doing, error=repr(exc), url=ISSUES_URL)
    error = InternalError(message)
    error.add_note("The reader process's traceback:\n" + "".join(traceback.format_exception(exc)))
    return error
