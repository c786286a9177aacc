"""What a written catalogue (``catalog.yaml`` as the policy loads it) says differently
from the live ERP's: modules, actions and ``requires``, what validation checks against,
compared as meaning, not as text (order, comments and layout do not count). Display
names are not compared: a hand-written catalogue may name modules in its own words, and
erpsync never writes them to the ERP.

``erpsync doctor`` reports these differences and ``erpsync catalog`` uses them to leave a
catalogue that already agrees with the ERP alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from erpsync.access import permission
from erpsync.adapters.base import LiveSnapshot
from erpsync.policy.model import Module


def differences(written: Mapping[str, Module], live: LiveSnapshot) -> list[str]:
    """One line per difference, by module; empty when they agree."""
    out = []
    for module in sorted(written.keys() | live.catalogue.keys()):
        entry = written.get(module)
        if entry is None:
            out.append(f"module {module}: in the ERP, not in catalog.yaml")
            continue
        if module not in live.catalogue:
            out.append(f"module {module}: in catalog.yaml, not in the ERP")
            continue
        mine, theirs = set(entry.actions), set(live.catalogue[module])
        if mine != theirs:
            parts = []
            if theirs - mine:
                parts.append(f"the ERP also has {_words(theirs - mine)}")
            if mine - theirs:
                parts.append(f"the ERP has no {_words(mine - theirs)}")
            out.append(f"module {module}: actions differ: {'; '.join(parts)}")
        for action in sorted(mine & theirs):
            perm = permission(module, action)
            said = set(entry.requires.get(action, ()))
            found = set(live.requires.get(perm, ()))
            if said != found:
                out.append(
                    f"permission {perm}: requires {_words(said) or 'nothing'} in catalog.yaml, "
                    f"{_words(found) or 'nothing'} in the ERP"
                )
    return out


def _words(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))
