"""Many ruoyi-vue-pro tenants of one database against one big tenant.

    ERPSYNC_TEST_MYSQL_URL=... ERPSYNC_TEST_PG_URL=... python bench/tenants.py

(``bash scripts/testdb.sh env`` gives the URLs; a database whose URL is unset is left
out.) In each database it builds one tenant of 10,000 users (1,000 departments, 600
roles), then 200 tenants of 50 users each (5 departments, 3 roles): the same number of
rows in every table. For each it measures (best of three):

- the read: one tenant's ``read()`` against ``read_tenants`` of the 200 together (each
  table is read once for all the tenants and split in memory);
- the command, in a fresh process as a user runs it: ``erpsync plan`` of the big
  tenant's target against ``erpsync plan --all-targets`` over 200 targets, one per
  tenant, each with its own policy directory (imported from the tenant, so every plan
  is clean and the whole pipeline runs: load, validate, read, diff).

The ERP is our own DDL (tests/adapters/ruoyi_vue_pro_fixture.py); every role holds a
third of the reference catalogue's 128 menus, every user one role.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from erpsync.adapters.ruoyi_vue_pro import RuoYiVueProAdapter
from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.commands.import_cmd import render, write_files
from erpsync.config import Settings
from erpsync.importer import import_policy
from erpsync.policy.dump import Source
from erpsync.scope import Scope
from tests.adapters import ruoyi_vue_pro_fixture as fx
from tests.adapters.ruoyi_fixture import native_catalogue

TABLES = ("system_tenant", "system_dept", "system_role", "system_users")
LINKS = ("system_user_role", "system_role_menu")


def build(engine: Engine, tenants: int, users: int, depts_each: int, roles_each: int) -> None:
    """``tenants`` of ``users`` each; every role holds a third of the menus."""
    fx.create_schema(engine)
    menus = fx.catalogue_menus(native_catalogue(REFERENCE_CATALOGUE))
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in (*TABLES, *LINKS)}
    ids = iter(range(1000, 10**9))
    for t in range(1, tenants + 1):
        rows["system_tenant"].append(fx.tenant_row(t, f"t{t}"))
        depts = [next(ids) for _ in range(depts_each)]
        for n, d in enumerate(depts):
            parent = depts[0] if n else 0
            dept = {"id": d, "name": f"d{n}", "parent_id": parent, "sort": n, "status": 0}
            rows["system_dept"].append({**dept, "tenant_id": t})
        roles = [next(ids) for _ in range(roles_each)]
        for n, r in enumerate(roles):
            role: dict[str, Any] = {"id": r, "name": f"r{n}", "sort": n, "type": 2}
            role["code"] = f"role{n}"
            rows["system_role"].append({**role, "status": 0, "data_scope": 1, "tenant_id": t})
            rows["system_role_menu"] += [
                {"id": next(ids), "role_id": r, "menu_id": m["id"], "tenant_id": t}
                for m in menus[n % 3 :: 3]
            ]
        for u in range(users):
            user = {"id": next(ids), "username": f"user{u:05d}", "nickname": f"U{u}"}
            rows["system_users"].append(
                {**user, "dept_id": depts[u % depts_each], "status": 0, "tenant_id": t}
            )
            link = {"user_id": user["id"], "role_id": roles[u % roles_each], "tenant_id": t}
            rows["system_user_role"].append({"id": next(ids), **link})
    with engine.begin() as conn:
        fx.insert(conn, "system_menu", menus)
        for table, found in rows.items():
            for start in range(0, len(found), 5000):
                fx.insert(conn, table, found[start : start + 5000])


def best(run: Callable[[], object], times: int = 3) -> float:
    found = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        found.append(time.perf_counter() - start)
    return min(found)


def write_project(
    root: Path, url: str, tenants: list[str], snapshots: list[Any], single: bool
) -> None:
    """An erpsync.yaml with a target per tenant (``big`` when ``single``), each with its
    own policy directory imported from that tenant's snapshot."""
    lines = ["targets:"]
    adapter = RuoYiVueProAdapter
    scope = Scope.for_adapter(Settings(), adapter)
    for tenant, snapshot in zip(tenants, snapshots, strict=True):
        name = "big" if single else f"t{tenant}"
        imported = import_policy(snapshot, scope, adapter.capabilities)
        source = Source(name, "ruoyi-vue-pro", "bench", dt.date.today())
        write_files(render(imported, source), root / "tenants" / name)
        lines += [
            f"  {name}:",
            "    adapter: ruoyi-vue-pro",
            f"    url: '{url}'",
            f"    tenant: {tenant}",
            f"    policies: tenants/{name}",
        ]
    (root / "erpsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def command(root: Path, *args: str) -> Callable[[], None]:
    """Run ``erpsync ARGS`` in ``root`` (a fresh process); a failure stops the benchmark."""

    def run() -> None:
        done = subprocess.run(
            [sys.executable, "-m", "erpsync", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"erpsync {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    return run


def measure(engine: Engine, url: str) -> dict[str, float]:
    """Read and plan times of one 10,000-user tenant and of 200 tenants of 50 users."""
    tenants = [str(t) for t in range(1, 201)]
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-tenants-") as tmp:
        big, many = Path(tmp, "big"), Path(tmp, "many")
        build(engine, 1, 10_000, 1_000, 600)  # the same rows as 200 tenants' in every table
        found["read 1"] = best(lambda: RuoYiVueProAdapter(engine, "1").read())
        write_project(big, url, ["1"], [RuoYiVueProAdapter(engine, "1").read()], True)
        found["plan 1"] = best(command(big, "plan", "--target", "big"))
        build(engine, 200, 50, 5, 3)
        found["read 200"] = best(lambda: RuoYiVueProAdapter(engine).read_tenants(tenants))
        write_project(many, url, tenants, RuoYiVueProAdapter(engine).read_tenants(tenants), False)
        found["plan 200"] = best(command(many, "plan", "--all-targets"))
    fx.create_schema(engine)
    return found


def main() -> None:
    for name in ("ERPSYNC_TEST_MYSQL_URL", "ERPSYNC_TEST_PG_URL"):
        url = os.environ.get(name)
        if not url:
            continue
        engine = create_engine(url)
        t = measure(engine, url)
        engine.dispose()
        print(
            f"{engine.dialect.name}: read: 1 tenant x 10,000 users {t['read 1']:.2f} s, "
            f"200 tenants x 50 users together {t['read 200']:.2f} s "
            f"({t['read 200'] / t['read 1']:.2f}x); "
            f"plan: --target big {t['plan 1']:.2f} s, --all-targets {t['plan 200']:.2f} s "
            f"({t['plan 200'] / t['plan 1']:.2f}x)"
        )


if __name__ == "__main__":
    main()
