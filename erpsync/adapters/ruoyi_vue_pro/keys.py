"""ruoyi-vue-pro's codes, and the keys erpsync gives its rows.

Codes are integers (``tinyint`` on MariaDB, ``smallint`` on PostgreSQL):
``status`` 0 enabled / 1 disabled; ``deleted`` 0 present / 1 deleted (``bit(1)``
on MariaDB: always compared in SQL, never read back); ``system_role.type`` 1
built-in / 2 custom; ``system_menu.type`` 1 directory / 2 page / 3 button;
``system_role.data_scope`` 1..5.

Departments have no code: their natural key is the name path
(:mod:`erpsync.adapters.namepath`), as for RuoYi. Permissions are
``system_menu.permission`` verbatim, split as erpsync splits RuoYi's ``perms``:
the action is the last ``:`` segment, the module everything before it
(``system:user:query`` is module ``system:user``, action ``query``).
"""

from __future__ import annotations

import re

from erpsync.policy.model import PERMISSION_PATTERN

ENABLED, DISABLED = 0, 1
PRESENT, DELETED = 0, 1
BUILTIN_TYPE, CUSTOM_TYPE = 1, 2
DIRECTORY, PAGE, BUTTON = 1, 2, 3
ROOT = 0  # parent_id of a top-level department or menu

SCOPE_BY_CODE = {1: "all", 2: "custom", 3: "department", 4: "department_tree", 5: "self"}
CODE_BY_SCOPE = {scope: code for code, scope in SCOPE_BY_CODE.items()}
CUSTOM = "custom"
DEFAULT_SCOPE = "all"  # what the app gives a role created in its UI

SUPER_ADMIN = "super_admin"  # the one role the permission check lets through everything
TENANT_ADMIN = "tenant_admin"  # each tenant's administrator role (the package's menus)
RESERVED_CODES = frozenset({SUPER_ADMIN, TENANT_ADMIN})
ADMIN_USER_ID = 1
SYSTEM_PACKAGE = 0  # system_tenant.package_id of the system tenant: no limit

LOGIN = re.compile(r"^[A-Za-z0-9]{4,30}$")  # the app's rule for system_users.username
_PERMISSION = re.compile(PERMISSION_PATTERN)


def permission_of(text: str | None) -> str | None:
    """``text`` when it is a ``module:action`` permission erpsync can manage, else None."""
    return text if text and _PERMISSION.match(text) else None
