"""Who changed what, from RuoYi's own operation log (``sys_oper_log``).

RuoYi writes a row for every call of a controller method annotated ``@Log``:
``title`` (the module: 角色管理, 用户管理, 部门管理), ``business_type`` (1 insert,
2 update, 3 delete, 4 grant), ``oper_name`` (the operator's login), ``oper_time``
(local wall-clock time), ``oper_url``, ``oper_param`` (the request parameters as
JSON, cut at 2,000 characters) and ``status`` (0 success). The calls that change
what erpsync manages, and how each names its rows:

- 角色管理: add/edit (``roleId``, ``roleKey``, ``menuIds``: a role's own fields and
  its menus), data scope, status, delete (``/system/role/{ids}``; Shiro ``ids``),
  and grants from the role's side — ``authUser/selectAll``, ``cancelAll``
  (``roleId`` + ``userIds``) and ``cancel`` (``userId`` + ``roleId``): memberships.
- 用户管理: add/edit (``userId``, the login, ``roleIds``), status, delete, and
  ``authRole`` (``userId`` + ``roleIds``): the user's memberships.
- 部门管理: add (``deptName`` + ``parentId``), edit (``deptId``), delete.

Parsing is best-effort: ids are found by their parameter names with a regular
expression (the parameter may be cut short, so it is not parsed as JSON), and a
row naming nothing erpsync knows is skipped. Failed calls (``status`` 1) changed
nothing and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TITLES = {"角色管理": "role", "用户管理": "user", "部门管理": "department"}
CHANGES = (1, 2, 3, 4)  # insert, update, delete, grant
LIMIT = 20_000  # the most recent rows read: attribution wants the latest change only

_FIELD = re.compile(r'"(\w+)"\s*:\s*(\[[^\]]*\]|"(?:[^"\\]|\\.)*"|-?\d+)')
_NUMBER = re.compile(r"\d+")
_OWN = {
    "role": ("roleId", "roleIds", "ids"),
    "user": ("userId", "userIds", "ids"),
    "department": ("deptId", "ids"),
}


@dataclass(frozen=True)
class Operation:
    """One logged call: the rows of its own kind it names, by id or natural key, and the
    (user id, role id) memberships it names from the role's side."""

    kind: str
    by: str | None
    at: Any
    ids: frozenset[int]
    names: frozenset[str]  # role keys, logins, or "parent id/department name"
    pairs: frozenset[tuple[int, int]]
    links: bool = False  # it set the rows' menus (a role) or roles (a user)


def _fields(text: str) -> dict[str, list[str]]:
    """Every ``"name": value`` of the parameter text, outermost first, values as text."""
    found: dict[str, list[str]] = {}
    for name, value in _FIELD.findall(text):
        found.setdefault(name, []).append(value.strip('"'))
    return found


def _ids(values: list[str]) -> set[int]:
    return {int(n) for v in values for n in _NUMBER.findall(v)}


def parse(title: str, business_type: int, url: str, param: str, by: Any, at: Any) -> Operation:
    """The rows one ``sys_oper_log`` row names (see the module docstring)."""
    kind = TITLES[title]
    fields = _fields(param or "")
    ids: set[int] = set()
    for name in _OWN[kind]:
        if name in fields:
            ids |= _ids(fields[name][:1])
    names: set[str] = set()
    if kind == "role":
        names.update(fields.get("roleKey", [])[:1])
    elif kind == "user":
        names.update(fields.get("userName", [])[:1] + fields.get("loginName", [])[:1])
    elif "deptName" in fields and "parentId" in fields:
        names.add(f"{fields['parentId'][0]}/{fields['deptName'][0]}")
    if business_type == 3 and not ids:
        bare = (param or "").strip()  # RuoYi-Vue logs a path variable array as "[3,4] "
        tail = (url or "").rstrip("/").rsplit("/", 1)[-1]
        source = bare if bare.startswith("[") else tail
        ids = _ids([source]) if re.fullmatch(r"\[?[\d,\s]+\]?", source) else set()
    pairs: set[tuple[int, int]] = set()
    if kind == "role" and business_type == 4:
        users = _ids(fields.get("userIds", [])[:1] + fields.get("userId", [])[:1])
        pairs = {(u, r) for u in users for r in ids}
    links = ("menuIds" if kind == "role" else "roleIds") in fields
    return Operation(
        kind,
        None if by in (None, "") else str(by),
        at,
        frozenset(ids),
        frozenset(names),
        frozenset(pairs),
        links and kind != "department",
    )
