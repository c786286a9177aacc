"""What the operator is told about a RuoYi apply: passwords, and when changes take effect.

RuoYi-Vue caches each logged-in user's permissions and roles in Redis
(``login_tokens:<uuid>``, 30 minutes): permissions reach them on their next page
load, roles and data scope on their next login; deleting their ``login_tokens:*``
keys logs them out and applies everything at once. RuoYi with Shiro caches
authorization in the JVM without expiry: changes reach a logged-in user on their
next login, or after "clear cache" in RuoYi's monitor page. erpsync cannot flush a
JVM cache, so it says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind

if TYPE_CHECKING:
    from erpsync.adapters.ruoyi.schema import Variant

MAX_NAMED = 20


# RuoYi's own menus, in its words (values of the notes, never translated)
RESET_PASSWORD = "系统管理 → 用户管理 → 重置密码"
ONLINE_USERS = "系统监控 → 在线用户"


def _named(short: str, long: str, keys: Sequence[str], **values: str) -> str:
    """``short`` with the ``keys``, or ``long`` with the first MAX_NAMED and how many more."""
    shown = ", ".join(keys[:MAX_NAMED])
    more = len(keys) - MAX_NAMED
    if more > 0:
        return long.format(logins=shown, more=more, **values)
    return short.format(logins=shown, **values)


def new_user_notes(changes: Sequence[Change]) -> list[str]:
    """New users have no password: nobody can log in as them until one is set in RuoYi."""
    created = sorted(c.key for c in changes if c.kind is Kind.USER and c.action is Action.CREATE)
    if not created:
        return []
    return [
        _named(
            N_(
                "New RuoYi users have no password ({logins}): an administrator must set "
                "one in RuoYi ({menu}) before they can log in."
            ),
            N_(
                "New RuoYi users have no password ({logins} and {more} more): an administrator "
                "must set one in RuoYi ({menu}) before they can log in."
            ),
            created,
            menu=RESET_PASSWORD,
        )
    ]


def apply_notes(changes: Sequence[Change], variant: Variant | None) -> list[str]:
    """Everything to say after a committed apply of ``changes``."""
    if not changes:
        return []
    notes = new_user_notes(changes)
    access = any(c.kind is not Kind.DEPARTMENT for c in changes)
    removed = sorted(
        c.key
        for c in changes
        if c.kind is Kind.USER and c.action in (Action.DEACTIVATE, Action.DELETE)
    )
    if variant == "ruoyi":
        if access:
            notes.append(
                N_(
                    "RuoYi (Shiro) caches authorization in the server's memory: the changes reach "
                    'users who are logged in on their next login, or at once after "clear cache" '
                    "in RuoYi's monitor page; erpsync cannot clear that cache."
                )
            )
        if removed:
            notes.append(
                _named(
                    N_(
                        "Deactivated or deleted users who are logged in ({logins}) keep their "
                        "session until it ends; force them out in RuoYi ({menu})."
                    ),
                    N_(
                        "Deactivated or deleted users who are logged in ({logins} and {more} "
                        "more) keep their session until it ends; force them out in RuoYi "
                        "({menu})."
                    ),
                    removed,
                    menu=ONLINE_USERS,
                )
            )
        return notes
    if access:
        notes.append(
            N_(
                "RuoYi-Vue caches each logged-in user's permissions in Redis (login_tokens:*, 30 "
                "minutes): changed permissions reach them on their next page load, changed roles "
                "and data scopes on their next login. Deleting those users' login_tokens:* keys "
                "logs them out and applies everything at once."
            )
        )
    if removed:
        notes.append(
            _named(
                N_(
                    "Deactivated or deleted users who are logged in ({logins}) keep their "
                    "session until its token expires; delete their login_tokens:* keys in "
                    "Redis or force them out in RuoYi ({menu}) to end it now."
                ),
                N_(
                    "Deactivated or deleted users who are logged in ({logins} and {more} more) "
                    "keep their session until its token expires; delete their login_tokens:* "
                    "keys in Redis or force them out in RuoYi ({menu}) to end it now."
                ),
                removed,
                menu=ONLINE_USERS,
            )
        )
    return notes
