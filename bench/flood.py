"""Time ``erpsync validate`` on a policy full of mistakes: the sample policy plus users
naming N roles that do not exist (near misses of a real one, so every name is a
candidate for a "did you mean" hint).

    .venv/bin/python bench/flood.py [--refs 200000] [--format text]

Prints the wall time and the number of output lines of one run in a fresh process;
the figures are recorded in docs/benchmarks.md ("Hostile input").
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PER_USER = 1000


def write_flood(directory: Path, refs: int) -> None:
    shutil.copytree(ROOT / "policies", directory)
    with (directory / "users" / "flood.yaml").open("w", encoding="utf-8") as out:
        out.write("users:\n")
        for u in range(max(refs // PER_USER, 1)):
            out.write(f"  flood.{u}:\n    name: Flood {u}\n    roles:\n")
            out.writelines(f"      - ap-clerk-{u}-{r}\n" for r in range(min(refs, PER_USER)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", type=int, default=200_000)
    parser.add_argument("--format", default="text", choices=["text", "json", "github"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        policies = Path(tmp) / "policies"
        write_flood(policies, args.refs)
        command = [sys.executable, "-m", "erpsync", "validate", str(policies)]
        start = time.perf_counter()
        done = subprocess.run(
            [*command, "--format", args.format], capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - start
    lines = done.stdout.count("\n")
    print(f"{args.refs:,} unknown roles, --format {args.format}: {seconds:.1f} s, {lines:,} lines")


if __name__ == "__main__":
    main()
