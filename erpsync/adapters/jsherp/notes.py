"""What erpsync tells the operator about a jshERP plan and apply.

jshERP enforces menus and buttons in its web UI only: any logged-in user can call any
API of their tenant. Menus and buttons reach a user at the next login or full reload
(F5); data scopes (a role's, and a user's warehouses and customers) and membership are
read on every request. Sessions live in Redis,
which erpsync does not reach: a disabled or deleted user stays logged in until the
session ends (up to 3 days without activity, sliding).
"""

from __future__ import annotations

from collections.abc import Sequence

from erpsync.i18n import N_
from erpsync.plan import Action, Change, Kind

NEW_USERS = N_(
    "New jshERP users get no password (password NULL) and cannot log in until the tenant "
    "administrator sets one: 系统管理 → 用户管理 → 重置密码."
)
UI_ONLY = N_(
    "jshERP enforces menus and buttons in its web UI only: any logged-in user can call any "
    "API of their tenant; only data scopes are enforced by the server."
)


SCOPE_DRIFT = N_(
    "jshERP adds a warehouse to its creator's 仓库 list (UserDepot), and a customer to its "
    "creator's and the tenant administrator's 客户 list (UserCustomer): expect such additions "
    "as drift for users who declare warehouses or customers, and declare the new name."
)


def plan_notes(changes: Sequence[Change]) -> list[str]:
    from erpsync.adapters.jsherp.scopes import writes

    notes = []
    if any(c.kind is Kind.USER and c.action is Action.CREATE for c in changes):
        notes.append(NEW_USERS)
    if any(c.kind is Kind.PERMISSION for c in changes):
        notes.append(UI_ONLY)
    if writes(changes):
        notes.append(SCOPE_DRIFT)
    return notes


def apply_notes(changes: Sequence[Change]) -> list[str]:
    if not changes:
        return []
    notes = [
        N_(
            "jshERP shows new menus and buttons at the user's next login or full reload (F5); "
            "data scopes (warehouses and customers too) and memberships take effect on the "
            "next request."
        )
    ]
    if any(c.kind is Kind.USER and c.action in (Action.DEACTIVATE, Action.DELETE) for c in changes):
        notes.append(
            N_(
                "erpsync has no access to jshERP's Redis sessions: a disabled or deleted user "
                "who is logged in stays logged in until the session expires (up to 3 days)."
            )
        )
    if any(c.kind is Kind.USER and c.action is Action.CREATE for c in changes):
        notes.append(NEW_USERS)
    return notes
