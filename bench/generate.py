"""Generate a synthetic organisation as a policy directory.

Deterministic for a given size and seed. Shape (after the sizes named in the
plan issue): about 3 explicit roles per user, 300 roles at 10k users and 2,000
at 100k, 20-40 permissions per role drawn from the reference catalogue,
departments in a two-level tree with default roles, users split into one file
per top-level department (as a person would keep them). SoD rules are written
so that the generated state is valid.

    python -m bench.generate 10000 bench/out/10k/policies
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import yaml

from erpsync.catalogue import REFERENCE_CATALOGUE

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰辉鹏飞斌宇浩凯婷雪琳晨"
# Permissions no generated role carries, so the SoD rules below hold by construction.
RESERVED = {"system.user:create", "system.user:update", "finance.payment:approve"}


def role_count(users: int) -> int:
    return max(30, min(2000, round(users * 0.03))) if users < 100_000 else 2000


def organisation(users: int, seed: int = 7) -> dict[str, Any]:
    """The policy as plain data: {section: {key: fields}}."""
    rng = random.Random(seed)
    perms = [
        f"{module}:{action}"
        for module, actions in REFERENCE_CATALOGUE.items()
        for action in actions
        if f"{module}:{action}" not in RESERVED
    ]
    top = max(3, min(20, users // 2000))
    departments: dict[str, Any] = {"hq": {"name": "集团总部", "default_roles": ["role-0000"]}}
    for t in range(top):
        departments[f"d{t:02d}"] = {"name": f"事业部{t:02d}", "parent": "hq"}
        for s in range(max(2, users // (top * 200))):
            departments[f"d{t:02d}-{s:03d}"] = {
                "name": f"事业部{t:02d}科室{s:03d}",
                "parent": f"d{t:02d}",
                "default_roles": [f"role-{1 + (t * 7 + s) % 20:04d}"],
            }
    leaves = [k for k in departments if k.count("-") == 1]
    roles: dict[str, Any] = {}
    for r in range(role_count(users)):
        chosen = sorted(rng.sample(perms, rng.randint(20, 40)))
        permissions: dict[str, list[str]] = {}
        for perm in chosen:
            module, action = perm.rsplit(":", 1)
            permissions.setdefault(module, []).append(action)
        roles[f"role-{r:04d}"] = {"name": f"角色{r:04d}", "permissions": permissions}
    files: dict[str, dict[str, Any]] = {f"d{t:02d}": {} for t in range(top)}
    for u in range(users):
        dept = leaves[u % len(leaves)]
        user: dict[str, Any] = {
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "email": f"user{u:06d}@example.com",
            "department": dept,
            "roles": sorted(rng.sample(list(roles)[21:], 3)),
        }
        files[dept.split("-")[0]][f"user{u:06d}"] = user
    sod = {
        "SOD-BENCH-1": {
            "description": "用户管理与付款审批分离",
            "severity": "high",
            "conflicts": [
                ["system.user:create", "system.user:update"],
                ["finance.payment:approve"],
            ],
        }
    }
    return {"departments": departments, "roles": roles, "user_files": files, "sod_rules": sod}


def write(org: dict[str, Any], directory: Path) -> None:
    (directory / "users").mkdir(parents=True, exist_ok=True)

    def dump(path: Path, data: dict[str, Any]) -> None:
        path.write_text(
            yaml.dump(
                data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=200
            ),
            encoding="utf-8",
        )

    catalogue = {m: {"actions": list(a)} for m, a in REFERENCE_CATALOGUE.items()}
    dump(directory / "catalog.yaml", {"modules": catalogue})
    dump(directory / "departments.yaml", {"departments": org["departments"]})
    dump(directory / "roles.yaml", {"roles": org["roles"]})
    dump(directory / "sod.yaml", {"sod_rules": org["sod_rules"]})
    for name, users in org["user_files"].items():
        dump(directory / "users" / f"{name}.yaml", {"users": users})


if __name__ == "__main__":
    write(organisation(int(sys.argv[1])), Path(sys.argv[2]))
