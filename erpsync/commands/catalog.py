"""``erpsync catalog``: write the live ERP's module/action catalogue for offline validation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import yaml
from rich.console import Console

from erpsync.access import split_permission
from erpsync.adapters import connected
from erpsync.config import ResolvedTarget


def requires_by_module(
    requires: Mapping[str, tuple[str, ...]],
) -> dict[str, dict[str, list[str]]]:
    """permission -> permissions it brings, as catalog.yaml writes it: module -> action ->
    permissions."""
    out: dict[str, dict[str, list[str]]] = {}
    for perm in sorted(requires):
        module, action = split_permission(perm)
        out.setdefault(module, {})[action] = list(requires[perm])
    return out


def catalogue_yaml(
    catalogue: dict[str, tuple[str, ...]],
    names: dict[str, str],
    target: ResolvedTarget,
    requires: Mapping[str, tuple[str, ...]] | None = None,
) -> str:
    brings = requires_by_module(requires or {})
    modules = {}
    for module, actions in catalogue.items():
        entry: dict[str, object] = {"name": names[module]} if module in names else {}
        entry["actions"] = list(actions)
        if module in brings:
            entry["requires"] = brings[module]
        modules[module] = entry
    header = (
        f"# The module catalogue of target {target.name} ({target.adapter}), written by\n"
        f"# `erpsync catalog` on {dt.date.today()}. erpsync validate checks permissions\n"
        "# against it (and, under requires, the permissions an action brings with it, such as\n"
        "# a button's page); rerun the command when the ERP gains modules.\n"
    )
    body = yaml.safe_dump({"modules": modules}, allow_unicode=True, sort_keys=False, width=100)
    return header + body


def run(target: ResolvedTarget, out: Path, console: Console) -> int:
    with connected(target) as adapter:
        snapshot = adapter.read()
    text = catalogue_yaml(
        dict(snapshot.catalogue), dict(snapshot.module_names), target, snapshot.requires
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote {len(snapshot.catalogue)} modules to {out}.")
    return 0
