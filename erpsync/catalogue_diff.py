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
from erpsync.i18n import N_
from erpsync.policy.model import Module


def differences(written: Mapping[str, Module], live: LiveSnapshot) -> list[str]:
    """One line per difference, by module; empty when they agree."""
    out = []
    for module in sorted(written.keys() | live.catalogue.keys()):
        entry = written.get(module)
        if entry is None:
            out.append(N_("module {module}: in the ERP, not in catalog.yaml").format(module=module))
            continue
        if module not in live.catalogue:
            out.append(N_("module {module}: in catalog.yaml, not in the ERP").format(module=module))
            continue
        mine, theirs = set(entry.actions), set(live.catalogue[module])
        if mine != theirs:
            extra, missing = _words(theirs - mine), _words(mine - theirs)
            if extra and missing:
                template = N_(
                    "module {module}: actions differ: the ERP also has {extra}; the ERP has no "
                    "{missing}"
                )
            elif extra:
                template = N_("module {module}: actions differ: the ERP also has {extra}")
            else:
                template = N_("module {module}: actions differ: the ERP has no {missing}")
            out.append(template.format(module=module, extra=extra, missing=missing))
        for action in sorted(mine & theirs):
            perm = permission(module, action)
            said = set(entry.requires.get(action, ()))
            found = set(live.requires.get(perm, ()))
            if said != found:
                out.append(_requires(perm, _words(said), _words(found)))
    return out


def _requires(perm: str, said: str, found: str) -> str:
    if said and found:
        template = N_("permission {perm}: requires {said} in catalog.yaml, {found} in the ERP")
    elif said:
        template = N_("permission {perm}: requires {said} in catalog.yaml, nothing in the ERP")
    elif found:
        template = N_("permission {perm}: requires nothing in catalog.yaml, {found} in the ERP")
    else:  # never: they differ
        template = N_("permission {perm}: requires nothing in catalog.yaml, nothing in the ERP")
    return template.format(perm=perm, said=said, found=found)


def _words(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))
