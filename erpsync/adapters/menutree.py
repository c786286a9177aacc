"""Menu trees whose rows carry permission strings: RuoYi's ``sys_menu`` and
ruoyi-vue-pro's ``system_menu``.

In both, a permission is a menu row's string in the ERP's own words, and the
directory and page rows above a button are what shows it in the UI. Two walks both
adapters share: the rows above a menu (:func:`above`) and each module's actions in menu
order (:func:`module_actions`; the action is what follows the last ``:``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol


class MenuRow(Protocol):
    @property
    def parent(self) -> int: ...


def above(menus: Mapping[int, MenuRow], menu_id: int) -> Iterator[int]:
    """The ids of the rows above ``menu_id``, nearest first (a parent that is no row, or a
    cycle in dirty data, ends the walk)."""
    seen = {menu_id}
    current = menus[menu_id].parent if menu_id in menus else None
    while current is not None and current in menus and current not in seen:
        seen.add(current)
        yield current
        current = menus[current].parent


def module_actions(permissions: Iterable[str]) -> dict[str, list[str]]:
    """module -> its actions, in the order the permissions come (menu id order)."""
    actions: dict[str, list[str]] = {}
    for permission in permissions:
        module, _, action = permission.rpartition(":")
        if action not in actions.setdefault(module, []):
            actions[module].append(action)
    return actions
