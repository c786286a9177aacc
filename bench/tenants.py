"""Shared reads of many ruoyi-vue-pro tenants against one big tenant.

    ERPSYNC_TEST_MYSQL_URL=... ERPSYNC_TEST_PG_URL=... python bench/tenants.py

(``bash scripts/testdb.sh env`` gives the URLs.) In each database it builds one tenant
of 10,000 users (1,000 departments, 600 roles) and times its read, then 200 tenants of
50 users each (5 departments, 3 roles) and times ``read_tenants`` of all of them
together (best of three): the same number of rows in every table. The two should cost
about the same: each table is read once for all the tenants and split in memory. The
ERP is our own DDL (tests/adapters/ruoyi_vue_pro_fixture.py); every role holds a third
of the reference catalogue's 128 menus, every user one role.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from erpsync.adapters.ruoyi_vue_pro import RuoYiVueProAdapter
from erpsync.catalogue import REFERENCE_CATALOGUE
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


def measure(engine: Engine) -> tuple[float, float]:
    """(one 10,000-user tenant read, 200 tenants of 50 users read together), in seconds."""
    tenants = [str(t) for t in range(1, 201)]
    build(engine, 1, 10_000, 1_000, 600)  # the same rows as 200 tenants' in every table
    one = best(lambda: RuoYiVueProAdapter(engine, "1").read())
    build(engine, 200, 50, 5, 3)
    many = best(lambda: RuoYiVueProAdapter(engine).read_tenants(tenants))
    fx.create_schema(engine)
    return one, many


def main() -> None:
    for name in ("ERPSYNC_TEST_MYSQL_URL", "ERPSYNC_TEST_PG_URL"):
        engine = create_engine(os.environ[name])
        one, many = measure(engine)
        engine.dispose()
        print(
            f"{engine.dialect.name}: 1 tenant x 10,000 users {one:.2f} s; "
            f"200 tenants x 50 users together {many:.2f} s ({many / one:.2f}x)"
        )


if __name__ == "__main__":
    main()
