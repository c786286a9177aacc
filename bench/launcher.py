"""Start measured commands from a small process, for ``bench/run.py``.

A process's peak resident set size counts the memory it had before ``exec``: a
command started directly by the benchmark (which holds generated organisations
of up to 100,000 users) would report the benchmark's size as its own. This
launcher imports nothing large; it reads one JSON line per command on stdin
(``[argv, cwd]``), runs it with its output discarded, and answers one JSON line
``[wall seconds, peak RSS in MiB, exit code]``.

The peak is that of the command's whole process tree: ``plan`` and ``drift`` read the
live ERP in a child process while they load the policy, and the memory of both counts.
The kernel reports the largest single process (``wait4``); the sum of the tree's
resident set sizes is sampled every 10 ms from ``/proc/<pid>/status``, an upper bound,
as pages a child still shares with its parent after ``fork`` count twice (the
proportional set size in ``smaps_rollup`` would not, but reading it walks the page
tables and slowed the measured command by 10%). The larger of the two is answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _sample_tree(pid: int, peak: list[int], done: threading.Event) -> None:
    while not done.wait(0.01):
        peak[0] = max(peak[0], sum(map(_rss_kib, _tree(pid))))


def main() -> None:
    for line in sys.stdin:
        argv, cwd = json.loads(line)
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
        peak, done = [0], threading.Event()
        sampler = threading.Thread(target=_sample_tree, args=(proc.pid, peak, done))
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        rss = max(usage.ru_maxrss, peak[0]) / 1024
        sys.stdout.write(json.dumps([elapsed, rss, os.waitstatus_to_exitcode(status)]) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
