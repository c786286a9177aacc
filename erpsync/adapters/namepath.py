"""Department keys from name paths, for ERPs whose departments have no code of their own.

RuoYi and ruoyi-vue-pro keep a department's name unique only among its siblings
(both seeds have two 市场部门), so a department's own identity is its *name path*
from the root, and its natural key is that path written with ``/`` between the
names: ``若依科技/深圳总公司/市场部门``. A policy key may not hold whitespace or
control characters, so within a name those characters, ``/`` and ``%`` are
percent-escaped (UTF-8 bytes: ``销售部 (Zürich)`` → ``销售部%20(Zürich)``); an
empty name is written ``%``. The key is therefore one-to-one with the path. A
path longer than 64 characters (the key limit) is written as an 8-hex digest of
the whole path, ``~`` and the path's last characters: stable, still readable, and
unique for any practical tree.

:func:`declared_paths` gives the same key for the departments a policy declares
(what an unbound live department is adopted by, ``Adapter.natural_keys``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from erpsync.state import State

KEY_LIMIT = 64
SEPARATOR = "/"
_ESCAPED = re.compile(r"[%/\s\x00-\x1f\x7f-\x9f]")


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


def declared_paths(desired: State) -> dict[str, str]:
    """Department key -> the name-path key its declared ``name`` and ``parent`` give, for
    the departments whose whole path up to a root is declared (only then an identity)."""
    depts = desired.departments
    paths = {}
    for key in depts:
        names: list[str] = []
        current: str | None = key
        while current is not None and current in depts and len(names) <= len(depts):
            names.append(depts[current].name)
            current = depts[current].parent
        if current is None:
            paths[key] = department_key(names[::-1])
    return paths
