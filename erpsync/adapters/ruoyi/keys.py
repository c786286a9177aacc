"""The natural keys erpsync gives RuoYi's rows, and RuoYi's codes.

Departments. RuoYi has no department code: ``dept_name`` is unique only among
siblings (the seed data has two 市场部门), so a department's own identity is its
*name path* from the root, written as :mod:`erpsync.adapters.namepath` says
(``若依科技/深圳总公司/市场部门``). Renaming or moving a department changes its
path but not its key: the key it was bound to (:mod:`erpsync.bindings`) stays, and the
natural key names only departments no binding names.

Permissions. ``sys_menu.perms`` is erpsync's permission as it is, in RuoYi's own
words: the action is what follows the last ``:`` and the module everything before
it (``system:user:add`` is module ``system:user``, action ``add``). Perms that are
no ``module:action`` (one segment, an empty segment, whitespace) are not
manageable and are reported.
"""

from __future__ import annotations

import re

from erpsync.adapters.namepath import KEY_LIMIT, SEPARATOR, department_key, name_segment
from erpsync.policy.model import PERMISSION_PATTERN

__all__ = ["KEY_LIMIT", "SEPARATOR", "department_key", "name_segment", "permission_of"]

_PERMISSION = re.compile(PERMISSION_PATTERN)

# sys_role.data_scope <-> erpsync's data scopes (one to one).
SCOPE_BY_CODE = {
    "1": "all",
    "2": "custom",
    "3": "department",
    "4": "department_tree",
    "5": "self",
}
CODE_BY_SCOPE = {scope: code for code, scope in SCOPE_BY_CODE.items()}
CUSTOM = "custom"

# status and del_flag codes (CHAR columns: always bound as strings).
NORMAL = "0"
DISABLED = "1"
PRESENT = "0"
DELETED = "2"

# sys_menu.menu_type
DIRECTORY, PAGE, BUTTON = "M", "C", "F"

# The super administrator and its role: never touched, whatever the policy says.
ADMIN_USER_ID = 1
ADMIN_ROLE_ID = 1
ADMIN_ROLE_KEY = "admin"


def permission_of(perms: str) -> str | None:
    """``perms`` itself when it is a ``module:action`` permission, else None."""
    return perms if _PERMISSION.match(perms) else None
