"""Run the benchmarks and write the figures into docs/benchmarks.md.

    python bench/run.py [validate] [--sizes 1000,10000,100000]

Each benchmark measures the command in a fresh process (as a user runs it)
next to its floor: the time to parse the same YAML with libyaml's
CSafeLoader and the cyclic GC off. Times are the median of several runs; peak
memory is the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "benchmarks.md"
sys.path.insert(0, str(ROOT))

from bench.generate import organisation, write  # noqa: E402


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def yaml_floor(directory: Path) -> None:
    gc.disable()
    try:
        for path in sorted(directory.rglob("*.yaml")):
            yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    finally:
        gc.enable()


def run_cli(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one erpsync process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "erpsync", "--no-color", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, code


def ensure_org(size: int) -> Path:
    directory = OUT / f"org-{size}" / "policies"
    if not (directory / "roles.yaml").exists():
        write(organisation(size), directory)
    return directory


def bench_validate(sizes: list[int]) -> str:
    rows = []
    for size in sizes:
        directory = ensure_org(size)
        mib = sum(p.stat().st_size for p in directory.rglob("*.yaml")) / 1048576
        repeat = 5 if size <= 10_000 else 3
        floor = median_seconds(lambda d=directory: yaml_floor(d), repeat)
        runs = [run_cli(["validate", str(directory)]) for _ in range(repeat)]
        codes = {code for _, _, code in runs}
        if codes != {0}:
            raise SystemExit(f"validate of the {size}-user organisation exited {codes}")
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        rows.append(
            f"| {size:,} | {mib:.1f} | {floor:.2f} | {wall:.2f} | {wall / floor:.2f}x | {rss:.0f} |"
        )
    header = (
        "| users | YAML MiB | floor: CSafeLoader parse, s | `erpsync validate`, s "
        "| ratio | peak RSS, MiB |\n|---:|---:|---:|---:|---:|---:|"
    )
    return header + "\n" + "\n".join(rows)


def machine() -> str:
    return (
        f"{dt.date.today()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__})"
    )


def update_doc(section: str, body: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"<!-- {section}:begin -->\n_Measured {machine()}._\n\n{body}\n<!-- {section}:end -->"
    pattern = re.compile(rf"<!-- {section}:begin -->.*?<!-- {section}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text + "\n" + block
    DOC.write_text(text.rstrip() + "\n", encoding="utf-8")


BENCHMARKS = {"validate": bench_validate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", default=list(BENCHMARKS), choices=list(BENCHMARKS))
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name in args.which:
        print(f"== {name} {sizes}", flush=True)
        body = BENCHMARKS[name](sizes)
        print(body, flush=True)
        update_doc(name, body)
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
