"""Running one computation (a plan, a drift report) on every target of erpsync.yaml.

Targets run concurrently in a bounded pool of threads (``--jobs``). A target's work is
mostly waiting for its database (connecting, the SQL reads), which a thread does
without holding the interpreter, so several databases are read at once; the planning
itself takes turns. Threads rather than processes: every target's result stays in this
process with no pickling, and an error is an ordinary exception. (The single-target
commands fork a reading child, :mod:`erpsync.live_read`; it stays off here, as it does
whenever a second thread runs, and each target reads in its worker thread.)

Each distinct policy directory is loaded once, by the first target that needs it,
and shared by every target using it. The loads are queued before the targets, so a
target waiting for its policy only ever waits for a load already running.

One target failing (an unreachable database, an invalid policy) does not stop the
others: its :class:`Outcome` carries the error's message instead of a result.

Reading a shared database once: targets that are tenants of one database (an adapter
with tenants, the same URL) read it together (:mod:`erpsync.shared_read`): one engine,
one snapshot transaction reading each table once, made by the first of them to ask,
each target then taking its tenant's part. The commands do not know: their adapter's
``read()`` returns that part.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from erpsync import diagnostics, shared_read
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import ErpsyncError, PolicyError, UsageError
from erpsync.i18n import N_
from erpsync.policy.loader import LoadedPolicy, load_policy

T = TypeVar("T")

MAX_DEFAULT_JOBS = 4


def default_jobs() -> int:
    """``--jobs`` when not given: the CPUs, at most 4."""
    return max(1, min(MAX_DEFAULT_JOBS, os.cpu_count() or 1))


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One target's result, or the message of the error that stopped it."""

    target: ResolvedTarget
    result: T | None = None
    error: str | None = None


Compute = Callable[[Project, ResolvedTarget, Callable[[], LoadedPolicy]], T]


def run_all(
    project: Project,
    compute: Compute[T],
    jobs: int,
    policy_dir: Callable[[ResolvedTarget], Path] | None = None,
) -> list[Outcome[T]]:
    """``compute(project, target, policy)`` for every target of erpsync.yaml, at most
    ``jobs`` at a time; the outcomes in erpsync.yaml's order. ``policy_dir`` gives a
    target's directory as the command shows it (a plan's reasons and digest name the
    policy files by it, so it must be the path ``apply --target`` uses)."""
    directory_of = policy_dir or project.policy_dir_for
    names = list(project.config.targets)
    if not names:
        raise UsageError(N_("--all-targets: erpsync.yaml defines no targets"))
    if jobs < 1:
        raise UsageError(N_("--jobs must be at least 1, not {jobs}").format(jobs=jobs))
    targets = [project.target(name) for name in names]
    max_bytes = project.config.settings.max_file_mib * 1024 * 1024
    groups = shared_read.group(targets)
    try:
        for shared in groups.values():
            shared.start()  # before the threads: its read may run in a child process
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="erpsync-target") as pool:
            loads: dict[Path, Future[LoadedPolicy]] = {}
            for target in targets:
                directory = directory_of(target)
                if directory not in loads:
                    loads[directory] = pool.submit(load_policy, directory, max_bytes)
            runs = [
                pool.submit(_one, project, target, compute, loads[directory_of(target)], groups)
                for target in targets
            ]
            return [run.result() for run in runs]
    finally:
        for shared in groups.values():
            shared.close()


def _one(
    project: Project,
    target: ResolvedTarget,
    compute: Compute[T],
    policy: Future[LoadedPolicy],
    groups: shared_read.Groups,
) -> Outcome[T]:
    try:
        with shared_read.using(groups):
            return Outcome(target, result=compute(project, target, policy.result))
    except PolicyError as exc:
        shown = diagnostics.to_text(exc.diagnostics, say=False).rstrip()  # data: English
        return Outcome(target, error=target.redact(f"{shown}\nerror: {exc}".strip()))
    except ErpsyncError as exc:
        return Outcome(target, error=target.redact(str(exc)))
    except Exception as exc:
        from erpsync.connect import database_failure  # a database was used: loaded already

        reason = database_failure(exc)
        if reason is None:
            raise  # a bug: the command ends with it (exit 3)
        failed = N_("the database failed: {reason}").format(reason=reason)
        return Outcome(target, error=target.redact(failed))


def worst(codes: Sequence[int]) -> int:
    """The exit code of several targets: 1 when any failed, else the largest (2: changes
    or drift somewhere, 0: none)."""
    return 1 if 1 in codes else max(codes, default=0)
