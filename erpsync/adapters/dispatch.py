"""Which method of an adapter's rules class plays each kind of change.

Adapters that check a plan by playing its changes on a model of the ERP (RuoYi's and
jshERP's invariants) name their methods after the change: ``create_department``,
``update_role``, ``grant_permission``, ``revoke_membership`` …, and ``set_active(change,
active)`` for deactivating and reactivating a user. :func:`handlers` builds the table
from those names, so each adapter writes the methods and none repeats the table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from erpsync.plan import Action, Change, Kind

Handler = Callable[[Any, Change], object]

_OBJECTS = (Kind.DEPARTMENT, Kind.USER, Kind.ROLE)
_LINKS = (Kind.PERMISSION, Kind.MEMBERSHIP)


def handlers(cls: type) -> dict[tuple[Kind, Action], Handler]:
    """(kind, action) -> ``cls``'s method for it (only the methods ``cls`` has)."""
    table: dict[tuple[Kind, Action], Handler] = {}
    pairs = [(k, a) for k in _OBJECTS for a in (Action.CREATE, Action.UPDATE, Action.DELETE)]
    pairs += [(k, a) for k in _LINKS for a in (Action.GRANT, Action.REVOKE)]
    for kind, action in pairs:
        method = getattr(cls, f"{action}_{kind}", None)
        if method is not None:
            table[(kind, action)] = method
    if hasattr(cls, "set_active"):
        table[(Kind.USER, Action.DEACTIVATE)] = lambda rules, c: rules.set_active(c, False)
        table[(Kind.USER, Action.REACTIVATE)] = lambda rules, c: rules.set_active(c, True)
    return table
