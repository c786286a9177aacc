"""Plan dicts (the JSON form) built by hand for the renderer tests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from erpsync.plan import changes_digest

ACTIONS = ("create", "update", "delete", "deactivate", "reactivate", "grant", "revoke")


def change(
    action: str,
    kind: str,
    key: str,
    reason: str = "declared in the policy",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "action": action,
        "kind": kind,
        "key": key,
        "before": before,
        "after": after,
        "reason": reason,
    }


def plan_dict(
    changes: list[dict[str, Any]],
    unmanaged: list[dict[str, str]] | None = None,
    warnings: list[str] | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    counts = Counter(c["action"] for c in changes)
    return {
        "format_version": "2",
        "erpsync_version": "0.1.0",
        "target": {"name": "prod", "adapter": "ruoyi", "url": "mysql+pymysql://erpsync:***@db/ry"},
        "created_at": "2026-11-27T10:00:00Z",
        "policy_digest": "sha256:" + "a" * 64,
        "live_digest": "sha256:" + "b" * 64,
        "reverts": None,
        "summary": {a: counts[a] for a in ACTIONS},
        "changes_digest": changes_digest(changes),
        "changes": changes,
        "unmanaged": unmanaged or [],
        "guards": [],
        "warnings": warnings or [],
        "notes": notes or [],
    }


def small_plan() -> dict[str, Any]:
    """Every action and kind once or twice, ordered as the diff orders them."""
    gone = "user wang.fang is deactivated: 已离职 (expires 2026-10-31)"
    return plan_dict(
        [
            change(
                "create",
                "department",
                "finance-ap",
                "declared in policies/org.yaml:12",
                after={"name": "应付组", "parent": "finance", "manager": None},
            ),
            change(
                "update",
                "department",
                "sales",
                "differs from policies/org.yaml:3",
                before={"name": "销售部"},
                after={"name": "销售一部"},
            ),
            change(
                "create",
                "role",
                "ap-clerk",
                "declared in policies/roles/finance.yaml:1",
                after={"name": "应付会计", "description": None, "data_scope": "department"},
            ),
            change(
                "grant", "permission", "ap-clerk/finance.payment:read", "role ap-clerk declares it"
            ),
            change(
                "grant", "permission", "auditor/finance.ledger:read", "role auditor declares it"
            ),
            change(
                "create",
                "user",
                "zhao.lei",
                "declared in policies/users/sales.yaml:14",
                after={
                    "name": "赵磊",
                    "email": "zhao.lei@corp.cn",
                    "department": "sales",
                    "active": True,
                },
            ),
            change(
                "update",
                "user",
                "li.na",
                "differs from policies/users/finance.yaml:8",
                before={"department": "sales"},
                after={"department": "finance"},
            ),
            change("reactivate", "user", "chen.jie", "declared active in policies/users/x.yaml:2"),
            change(
                "grant", "membership", "zhao.lei/sales-clerk", "default role of department sales"
            ),
            change("grant", "membership", "li.na/ap-clerk", "default role of department finance"),
            change("revoke", "membership", "wang.fang/ap-clerk", gone),
            change("revoke", "membership", "li.na/sales-clerk", "not declared in the policy"),
            change("deactivate", "user", "wang.fang", "已离职 (expires 2026-10-31)"),
            change(
                "revoke",
                "permission",
                "auditor/finance.payment:approve",
                "not declared: removed by policy",
            ),
            change(
                "delete",
                "role",
                "legacy",
                "not declared: removed by policy",
                before={"name": "旧角色|临时", "description": None, "data_scope": "all"},
            ),
        ],
        unmanaged=[{"kind": "user", "key": "admin", "reason": "protected account"}],
        warnings=["department old-sales is not declared but still holds users; it is kept"],
        notes=["wang.fang keeps her department sales"],
    )


def huge_plan() -> dict[str, Any]:
    """3,000 new users with 2 roles each; 500 users deactivated, each losing 2 roles."""
    forward, grants, revokes, leavers = [], [], [], []
    for n in range(3000):
        login = f"user{n:04d}"
        after = {
            "name": f"员工{n}",
            "email": f"{login}@corp.cn",
            "department": "sales",
            "active": True,
        }
        forward.append(
            change("create", "user", login, "declared in policies/users.yaml", after=after)
        )
        for role in ("sales-clerk", "viewer"):
            grants.append(change("grant", "membership", f"{login}/{role}", "default role of sales"))
    for n in range(500):
        login = f"left{n:03d}"
        for role in ("ap-clerk", "viewer"):
            revokes.append(
                change(
                    "revoke",
                    "membership",
                    f"{login}/{role}",
                    f"user {login} is removed: not declared",
                )
            )
        leavers.append(change("deactivate", "user", login, "not declared: removed by policy"))
    return plan_dict(forward + grants + revokes + leavers)
