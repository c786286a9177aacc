"""The natural keys erpsync gives RuoYi's rows, and RuoYi's codes.

Departments. RuoYi has no department code: ``dept_name`` is unique only among
siblings (the seed data has two 市场部门), so a department's own identity is its
*name path* from the root, and its natural key is that path written with ``/``
between the names: ``若依科技/深圳总公司/市场部门``. A policy key may not hold
whitespace or control characters, so within a name those characters, ``/`` and
``%`` are percent-escaped (UTF-8 bytes: ``销售部 (Zürich)`` → ``销售部%20(Zürich)``);
an empty name is written ``%``. The key is therefore one-to-one with the path.
A path longer than 64 characters (the key limit) is written as an 8-hex digest
of the whole path, ``~`` and the path's last characters: stable, still readable,
and unique for any practical tree. Renaming or moving a department changes its
path but not its key: the key it was bound to (:mod:`erpsync.bindings`) stays, and the
natural key names only departments no binding names.

Permissions. ``sys_menu.perms`` is erpsync's permission as it is, in RuoYi's own
words: the action is what follows the last ``:`` and the module everything before
it (``system:user:add`` is module ``system:user``, action ``add``). Perms that are
no ``module:action`` (one segment, an empty segment, whitespace) are not
manageable and are reported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from erpsync.policy.model import PERMISSION_PATTERN

KEY_LIMIT = 64
SEPARATOR = "/"
_ESCAPED = re.compile(r"[%/\s\x00-\x1f\x7f-\x9f]")
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


def _escape(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8"))


def name_segment(name: str) -> str:
    """One department name as a part of a key (``%`` for an empty name)."""
    return _ESCAPED.sub(_escape, name) if name else "%"


def department_key(path: Sequence[str]) -> str:
    """The key of the department whose names from the root down are ``path``."""
    key = SEPARATOR.join(name_segment(name) for name in path)
    if len(key) <= KEY_LIMIT:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    return f"{digest}~{key[-(KEY_LIMIT - len(digest) - 1) :]}"


def permission_of(perms: str) -> str | None:
    """``perms`` itself when it is a ``module:action`` permission, else None."""
    return perms if _PERMISSION.match(perms) else None
