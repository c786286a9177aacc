"""What the operator is told about a ruoyi-vue-pro apply: passwords, caches, sessions.

The app caches on Redis for an hour (``spring.cache.redis.time-to-live``):
``user_role_ids:<userId>``, ``role:<tenantId>:<roleId>``,
``menu_role_ids:<tenantId>:<menuId>``, ``permission_menu_ids:<permission>`` and
``dept_children_ids:<tenantId>:<deptId>``, read on every API call. The app deletes
the keys a change touches after its commit; erpsync has no Redis access, so API
checks may see the old access for up to an hour (the UI's lists bypass the caches:
next page load). A disabled user's access and refresh tokens keep working until
they expire (30 minutes; refreshing never re-checks the status, for up to 30 days)
unless revoked in the app. Both are said after every apply they concern.
"""

from __future__ import annotations

from collections.abc import Sequence

from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind

MAX_NAMED = 20


def _named(keys: Sequence[str], short: str, long: str) -> str:
    """``short`` with the keys, or ``long`` with the first :data:`MAX_NAMED` of them and
    how many more there are (both ``N_`` templates with ``{keys}``, ``long`` with ``{more}``)."""
    more = len(keys) - MAX_NAMED
    shown = ", ".join(keys[:MAX_NAMED])
    return long.format(keys=shown, more=more) if more > 0 else short.format(keys=shown)


def _keys(changes: Sequence[Change], kind: Kind, *actions: Action) -> list[str]:
    return sorted({c.key for c in changes if c.kind is kind and c.action in actions})


def new_user_notes(changes: Sequence[Change]) -> list[str]:
    created = _keys(changes, Kind.USER, Action.CREATE)
    if not created:
        return []
    return [
        _named(
            created,
            N_(
                "New ruoyi-vue-pro users have no password ({keys}): nobody can log in as them "
                "until an administrator sets one in the app (系统管理 → 用户管理 → 重置密码)."
            ),
            N_(
                "New ruoyi-vue-pro users have no password ({keys} and {more} more): nobody can "
                "log in as them until an administrator sets one in the app (系统管理 → 用户管理 "
                "→ 重置密码)."
            ),
        )
    ]


def apply_notes(changes: Sequence[Change], tenant: int | None) -> list[str]:
    """Everything to say after a committed apply of ``changes`` to ``tenant``."""
    if not changes:
        return []
    notes = new_user_notes(changes)
    t = "<tenantId>" if tenant is None else str(tenant)
    keys = []
    if any(c.kind in (Kind.MEMBERSHIP,) or c.action is Action.DELETE for c in changes):
        keys.append("user_role_ids:<userId>")
    if any(c.kind is Kind.ROLE for c in changes):
        keys.append(f"role:{t}:<roleId>")
    if any(c.kind is Kind.PERMISSION for c in changes):
        keys += [f"menu_role_ids:{t}:*", "permission_menu_ids:*"]
    if any(c.kind is Kind.DEPARTMENT for c in changes):
        keys.append(f"dept_children_ids:{t}:*")
    if keys:
        notes.append(
            N_(
                "ruoyi-vue-pro caches access in Redis for 1 hour and erpsync cannot clear it: "
                "API permission checks may lag up to 1 h (menus and buttons follow on the next "
                "page load). To apply at once, delete {keys} (behind any "
                "spring.cache.redis.key-prefix)."
            ).format(keys=", ".join(keys))
        )
    stopped = _keys(changes, Kind.USER, Action.DEACTIVATE, Action.DELETE)
    if stopped:
        notes.append(
            _named(
                stopped,
                N_(
                    "Disabled or deleted users ({keys}) keep working with the tokens they hold "
                    "until these expire (access 30 min; a refresh token, up to 30 days, never "
                    "re-checks the status): force them out in the app (系统管理 → 用户管理 → "
                    "状态, or the OAuth2 token page) to end their sessions now."
                ),
                N_(
                    "Disabled or deleted users ({keys} and {more} more) keep working with the "
                    "tokens they hold until these expire (access 30 min; a refresh token, up to "
                    "30 days, never re-checks the status): force them out in the app (系统管理 → "
                    "用户管理 → 状态, or the OAuth2 token page) to end their sessions now."
                ),
            )
        )
    return notes
