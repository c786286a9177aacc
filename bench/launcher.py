"""Start measured commands from a small process, for ``bench/run.py``.

A process's peak resident set size counts the memory it had before ``exec``: a
command started directly by the benchmark (which holds generated organisations
of up to 100,000 users) would report the benchmark's size as its own. This
launcher imports nothing large; it reads one JSON line per command on stdin
(``[argv, cwd]``), runs it with its output discarded, and answers one JSON line
``[wall seconds, peak RSS in MiB, exit code]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    for line in sys.stdin:
        argv, cwd = json.loads(line)
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        answer = [elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)]
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
