"""Which tenant a target means: ``targets.<name>.tenant`` (an id or a name) resolved
against ``system_tenant``.

- A tenant given as digits is the tenant with that id when there is one, else the
  tenant with that name; any other text is a name. Unknown: a :class:`ConfigError`
  naming the tenants there are.
- No tenant configured: the system tenant (``package_id = 0``, the seed's 芋道源码),
  the lowest id if several; a database whose ``system_tenant`` is empty (tenancy off)
  is tenant 0, the column's default, with no package limit.

A tenant's package (``system_tenant_package.menu_ids``, JSON text) lists the menus it
may grant; the system tenant's package 0 means no limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from erpsync.adapters.ruoyi_vue_pro.keys import SYSTEM_PACKAGE
from erpsync.adapters.ruoyi_vue_pro.model import Tenant
from erpsync.errors import ConfigError
from erpsync.i18n import N_

NO_TENANCY = Tenant(0, "")


def json_ids(text: Any) -> tuple[int, ...] | None:
    """A JSON array of ids as stored in a varchar (``''``/NULL: none); None if malformed."""
    if text is None or str(text).strip() == "":
        return ()
    try:
        value = json.loads(str(text))
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        return None
    return tuple(value)


def tenants_from(
    tenant_rows: Iterable[Any], package_rows: Iterable[Any], problems: list[str]
) -> list[Tenant]:
    """The live tenants, each with its package's menus."""
    packages: dict[int, frozenset[int]] = {}
    for row in package_rows:
        ids = json_ids(row.menu_ids)
        if ids is None:
            problems.append(
                N_(
                    "system_tenant_package: package {package} ({name}) has menu_ids that are "
                    "no JSON array of ids; read as no menus"
                ).format(package=row.id, name=row.name)
            )
        packages[row.id] = frozenset(ids or ())
    found = []
    for row in tenant_rows:
        package: frozenset[int] | None = None
        if row.package_id != SYSTEM_PACKAGE:
            package = packages.get(row.package_id)
            if package is None:
                problems.append(
                    N_(
                        "system_tenant: tenant {tenant} ({name}) has a missing package "
                        "{package}; read as allowing no menus"
                    ).format(tenant=row.id, name=row.name, package=row.package_id)
                )
                package = frozenset()
        found.append(
            Tenant(row.id, str(row.name or ""), row.contact_user_id, package, row.account_count)
        )
    return sorted(found, key=lambda t: t.id)


def resolve(wanted: str | None, tenants: Sequence[Tenant]) -> Tenant:
    """The tenant ``wanted`` names (see the module's docstring)."""
    if not tenants:
        if wanted is None or wanted.strip() == "0":
            return NO_TENANCY
        raise ConfigError(
            N_("tenant {tenant}: this ruoyi-vue-pro database has no tenants").format(
                tenant=repr(wanted)
            )
        )
    if wanted is None:
        system = [t for t in tenants if t.package is None]
        if system:
            return system[0]
        raise ConfigError(
            N_(
                "no tenant is configured and this ruoyi-vue-pro database has no system tenant "
                "(package_id 0): set targets.<name>.tenant to one of {tenants}"
            ).format(tenants=known(tenants))
        )
    text = str(wanted).strip()
    if text.isdigit():
        by_id = [t for t in tenants if t.id == int(text)]
        if by_id:
            return by_id[0]
    by_name = [t for t in tenants if t.name == text]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise ConfigError(
            N_("tenant {tenant}: several tenants have that name ({ids}); give its id").format(
                tenant=repr(text), ids=", ".join(str(t.id) for t in by_name)
            )
        )
    raise ConfigError(
        N_("unknown ruoyi-vue-pro tenant {tenant}; the tenants are {tenants}").format(
            tenant=repr(text), tenants=known(tenants)
        )
    )


def known(tenants: Sequence[Tenant]) -> str:
    return ", ".join(f"{t.id} ({t.name})" for t in tenants)
