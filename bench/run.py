"""Run the benchmarks and write the figures into docs/benchmarks.md.

    python bench/run.py [validate] [--sizes 1000,10000,100000]

Each benchmark measures the command in a fresh process (as a user runs it)
next to its floor: the time to parse the same YAML with libyaml's
CSafeLoader and the cyclic GC off. Times are the median of several runs; peak
memory is that of the command's whole process tree (see bench/launcher.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

DOC = ROOT / "docs" / "benchmarks.md"
sys.path.insert(0, str(ROOT))

from bench.generate import organisation, write  # noqa: E402
from erpsync.adapters.reference import ReferenceAdapter  # noqa: E402
from erpsync.adapters.reference.load import load_state  # noqa: E402
from erpsync.adapters.reference.schema import create_schema  # noqa: E402
from erpsync.apply import ApplyOptions, execute  # noqa: E402
from erpsync.catalogue import REFERENCE_CATALOGUE  # noqa: E402
from erpsync.config import ResolvedTarget, Settings  # noqa: E402
from erpsync.planner import make_plan  # noqa: E402
from erpsync.policy.loader import load_policy  # noqa: E402
from erpsync.state import State, desired_state  # noqa: E402


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


_launcher: subprocess.Popen[str] | None = None
_installed: Path | None = None


def installed_command() -> Path:
    """``erpsync`` as users run it: installed from this working tree (a wheel, not the
    editable install of .venv) into a virtualenv of its own, ``bench/out/venv``. An
    editable install finds erpsync's modules through a finder run at every start, which
    adds 0.02-0.03 s to each command that no user pays. Reinstalled at each run, so the
    figures are always those of the code in the tree."""
    global _installed  # noqa: PLW0603 - installed once per run
    if _installed is None:
        venv = OUT / "venv"
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            # Its dependencies at the versions this interpreter has (the floor's PyYAML).
            pins = OUT / "venv-constraints.txt"
            pins.write_text(
                "".join(
                    f"{d.metadata['Name']}=={d.version}\n"
                    for d in importlib.metadata.distributions()
                    if d.metadata["Name"] != "erpsync"
                ),
                encoding="utf-8",
            )
            subprocess.run([*pip, "--constraint", str(pins), str(ROOT)], check=True)
        else:
            subprocess.run([*pip, "--no-deps", "--force-reinstall", str(ROOT)], check=True)
        _installed = venv / "bin" / "erpsync"
    return _installed


def run_cli(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one erpsync process, started by
    ``bench/launcher.py`` so that this process's own size is not counted as its peak."""
    global _launcher  # noqa: PLW0603 - one launcher for the whole run
    if _launcher is None:
        _launcher = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "launcher.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
    assert _launcher.stdin is not None
    assert _launcher.stdout is not None
    argv = [str(installed_command()), "--no-color", *args]
    _launcher.stdin.write(json.dumps([argv, str(ROOT)]) + "\n")
    _launcher.stdin.flush()
    elapsed, rss, code = json.loads(_launcher.stdout.readline())
    return float(elapsed), float(rss), int(code)


_startup: float | None = None


def startup_seconds() -> float:
    """Median wall time of ``erpsync --version``: starting Python and importing erpsync
    (SQLAlchemy, pydantic, click, rich), which every command pays and no floor does."""
    global _startup  # noqa: PLW0603 - measured once per run
    if _startup is None:
        _startup = statistics.median(run_cli(["--version"])[0] for _ in range(5))
    return _startup


def ratios(wall: float, floor: float) -> str:
    """The command against its floor, with and without the start-up."""
    startup = startup_seconds()
    return f"{wall / floor:.2f}x | {startup:.2f} | {(wall - startup) / floor:.2f}x"


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
            f"| {size:,} | {mib:.1f} | {floor:.2f} | {wall:.2f} | {ratios(wall, floor)} "
            f"| {rss:.0f} |"
        )
    header = (
        "| users | YAML MiB | floor: CSafeLoader parse, s | `erpsync validate`, s "
        "| ratio | start-up, s | ratio without start-up | peak RSS, MiB |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    return header + "\n" + "\n".join(rows)


def machine() -> str:
    return (
        f"{dt.date.today()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__})"
    )


def size_of(row: str) -> int:
    return int(row.split("|")[1].strip().replace(",", ""))


def merged_rows(old_block: str, body: str) -> str:
    """``body``'s table, plus the rows of ``old_block`` for sizes this run did not measure."""
    header, new_rows = body.split("\n")[:2], body.split("\n")[2:]
    measured = {size_of(r) for r in new_rows}
    kept = [
        line
        for line in old_block.split("\n")
        if re.match(r"^\| [\d,]+ \|", line) and size_of(line) not in measured
    ]
    rows = sorted(kept + new_rows, key=size_of)
    return "\n".join(header + rows)


def update_doc(section: str, body: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- {section}:begin -->.*?<!-- {section}:end -->", re.S)
    found = pattern.search(text)
    table = merged_rows(found.group(0), body) if found else body
    block = f"<!-- {section}:begin -->\n_Measured {machine()}._\n\n{table}\n<!-- {section}:end -->"
    text = pattern.sub(lambda _: block, text) if found else text + "\n" + block
    DOC.write_text(text.rstrip() + "\n", encoding="utf-8")


def drifted(state: State, share: float = 0.01) -> State:
    """``state`` as a live ERP that drifted: ``share`` of the users renamed and stripped of
    their roles (about 1,000 user updates and 5,000 membership grants at 100k users), and
    the same share of roles holding an extra grant."""
    step = max(1, round(1 / share))
    victims = set(sorted(state.users)[::step])
    users = {
        login: replace(user, name=user.name + "（旧）") if login in victims else user
        for login, user in state.users.items()
    }
    held = {login: roles for login, roles in state.user_roles.items() if login not in victims}
    extra = {(role, "system.user:create") for role in sorted(state.roles)[::step]}
    return replace(state, users=users, user_roles=held, grants=state.grants | extra)


def ensure_erp(size: int, directory: Path) -> Path:
    """A reference ERP (SQLite) holding the drifted organisation, and a config naming it."""
    base = directory.parent
    database, config = base / "erp.db", base / "erpsync.yaml"
    if not database.exists():
        engine = create_engine(f"sqlite:///{database}")
        create_schema(engine)
        desired = desired_state(load_policy(directory), REFERENCE_CATALOGUE, dt.date.today())
        load_state(engine, drifted(desired.state))
        engine.dispose()
    config.write_text(
        f"policies: policies\ntargets:\n  bench: {{adapter: reference, url: 'sqlite:///{database}'}}\n"
        "settings: {max_removals: 100%}\n",
        encoding="utf-8",
    )
    return config


def select_floor(database: Path) -> None:
    gc.disable()
    try:
        with sqlite3.connect(database) as conn:
            tables = [
                r[0] for r in conn.execute("select name from sqlite_master where type='table'")
            ]
            for table in tables:
                conn.execute(f"select * from {table}").fetchall()
    finally:
        gc.enable()


def bench_plan(sizes: list[int]) -> str:
    rows = []
    for size in sizes:
        directory = ensure_org(size)
        config = ensure_erp(size, directory)
        database = directory.parent / "erp.db"
        repeat = 5 if size <= 10_000 else 3
        floor = median_seconds(
            lambda d=directory, db=database: (yaml_floor(d), select_floor(db)), repeat
        )
        out = directory.parent / "plan.json"
        args = ["--config", str(config), "plan", "--format", "json", "--out", str(out)]
        runs = [run_cli(args) for _ in range(repeat)]
        if {code for _, _, code in runs} != {0}:
            raise SystemExit(f"plan of the {size}-user organisation failed")
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        changes = len(json.loads(out.read_text(encoding="utf-8"))["changes"])
        rows.append(
            f"| {size:,} | {changes:,} | {floor:.2f} | {wall:.2f} | {ratios(wall, floor)} "
            f"| {rss:.0f} |"
        )
    header = (
        "| users | changes (1% drift) | floor: YAML parse + SELECT every row, s "
        "| `erpsync plan`, s | ratio | start-up, s | ratio without start-up | peak RSS, MiB |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    return header + "\n" + "\n".join(rows)


def bench_language(sizes: list[int]) -> str:
    """The plan's text view in English and in Chinese: what saying every reason, warning
    and note through the catalogue (erpsync.i18n.said) costs on top of the plan."""
    rows = []
    for size in sizes:
        directory = ensure_org(size)
        config = ensure_erp(size, directory)
        repeat = 5 if size <= 10_000 else 3
        measured = []
        for lang in ("en", "zh-CN"):
            runs = [
                run_cli(["--config", str(config), "--lang", lang, "plan"]) for _ in range(repeat)
            ]
            if {code for _, _, code in runs} - {0, 2}:
                raise SystemExit(f"plan --lang {lang} of the {size}-user organisation failed")
            measured.append((statistics.median(r[0] for r in runs), max(r[1] for r in runs)))
        (en, en_rss), (zh, zh_rss) = measured
        rows.append(
            f"| {size:,} | {en:.2f} | {zh:.2f} | {zh / en:.2f}x | {en_rss:.0f} | {zh_rss:.0f} |"
        )
    header = (
        "| users | `erpsync --lang en plan`, s | `--lang zh-CN`, s | ratio "
        "| peak RSS en, MiB | peak RSS zh-CN, MiB |\n|---:|---:|---:|---:|---:|---:|"
    )
    return header + "\n" + "\n".join(rows)


def timed_apply(url: str, directory: Path) -> tuple[float, float, int]:
    """Seconds to read the live state, seconds for the whole apply of a saved plan (stale
    check, guards, writes, audit, commit) and the number of changes, in-process."""
    engine = create_engine(url)
    try:
        adapter = ReferenceAdapter(engine)
        loaded = load_policy(directory)
        now = dt.datetime.now(dt.UTC)
        target = ResolvedTarget("bench", "reference", url)
        plan = make_plan(
            loaded, adapter.read(), Settings(), ReferenceAdapter, target, now.date(), now
        )
        gc.disable()
        start = time.perf_counter()
        adapter.read()
        read = time.perf_counter() - start
        start = time.perf_counter()
        execute(adapter, target, loaded, Settings(), APPLY_OPTIONS, plan)
        return read, time.perf_counter() - start, len(plan.changes)
    finally:
        gc.enable()
        engine.dispose()


def postgres_copy(size: int, directory: Path) -> str | None:
    """The drifted organisation in a fresh schema of the test PostgreSQL, if one runs."""
    base = os.environ.get("ERPSYNC_TEST_PG_URL")
    if not base:
        return None
    schema = f"bench_{size}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = f"{base}?options={quote(f'-csearch_path={schema}')}"
    engine = create_engine(url)
    create_schema(engine)
    desired = desired_state(load_policy(directory), REFERENCE_CATALOGUE, dt.date.today())
    load_state(engine, drifted(desired.state))
    engine.dispose()
    return url


def bench_apply(sizes: list[int]) -> str:
    rows = []
    for size in sizes:
        directory = ensure_org(size)
        ensure_erp(size, directory)
        source = directory.parent / "erp.db"
        runs = []
        for _ in range(3):
            copy = directory.parent / "apply.db"
            shutil.copyfile(source, copy)
            runs.append(timed_apply(f"sqlite:///{copy}", directory))
        rows.append(apply_row(size, "SQLite", runs))
        url = postgres_copy(size, directory)
        if url is not None:
            rows.append(apply_row(size, "PostgreSQL", [timed_apply(url, directory)]))
    header = (
        "| users | database | changes | read live state, s | whole apply of the saved plan, s "
        "| added to the read, s |\n|---:|---|---:|---:|---:|---:|"
    )
    return header + "\n" + "\n".join(rows)


def apply_row(size: int, database: str, runs: list[tuple[float, float, int]]) -> str:
    read = statistics.median(r[0] for r in runs)
    whole = statistics.median(r[1] for r in runs)
    changes = runs[0][2]
    return (
        f"| {size:,} | {database} | {changes:,} | {read:.2f} | {whole:.2f} | {whole - read:.2f} |"
    )


def bench_adoption(sizes: list[int]) -> str:
    """import and drift of the drifted ERP, next to plan on the same ERP (same run)."""
    rows = []
    for size in sizes:
        directory = ensure_org(size)
        config = ensure_erp(size, directory)
        repeat = 3
        base = ["--config", str(config)]
        imported = directory.parent / "imported"
        commands = {
            "plan": [*base, "plan", "--format", "json", "--out", str(directory.parent / "p.json")],
            "import": [*base, "import", "--out", str(imported), "--force"],
            "drift": [
                *base,
                "drift",
                "--format",
                "json",
                "--out",
                str(directory.parent / "d.json"),
            ],
        }
        wall: dict[str, float] = {}
        for name, args in commands.items():
            runs = [run_cli(args) for _ in range(repeat)]
            codes = {code for _, _, code in runs}
            if not codes <= {0, 2}:  # drift exits 2 when there is drift
                raise SystemExit(f"{name} of the {size}-user organisation exited {codes}")
            wall[name] = statistics.median(r[0] for r in runs)
        plan = wall["plan"]
        rows.append(
            f"| {size:,} | {plan:.2f} | {wall['import']:.2f} ({wall['import'] / plan:.2f}x) "
            f"| {wall['drift']:.2f} ({wall['drift'] / plan:.2f}x) |"
        )
    header = (
        "| users | `erpsync plan`, s | `erpsync import`, s (x plan) | `erpsync drift`, s (x plan) |"
        "\n|---:|---:|---:|---:|"
    )
    return header + "\n" + "\n".join(rows)


APPLY_OPTIONS = ApplyOptions(lock_timeout=10.0, allow_mass_removal=True, actor="bench")

BENCHMARKS = {
    "validate": bench_validate,
    "plan": bench_plan,
    "apply": bench_apply,
    "adoption": bench_adoption,
    "language": bench_language,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Checked here, not by argparse: Python 3.11's argparse refuses an empty list (and a
    # list default) as not one of the choices.
    parser.add_argument("which", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    unknown = sorted(set(args.which) - BENCHMARKS.keys())
    if unknown:
        parser.error(
            f"no benchmark named {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    sizes = [int(s) for s in args.sizes.split(",")]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name in args.which or list(BENCHMARKS):
        print(f"== {name} {sizes}", flush=True)
        body = BENCHMARKS[name](sizes)
        print(body, flush=True)
        update_doc(name, body)
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
