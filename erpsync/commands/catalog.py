"""``erpsync catalog``: write the live ERP's module/action catalogue for offline validation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from rich.console import Console

from erpsync.adapters import connected
from erpsync.config import ResolvedTarget


def catalogue_yaml(
    catalogue: dict[str, tuple[str, ...]], names: dict[str, str], target: ResolvedTarget
) -> str:
    modules = {}
    for module, actions in catalogue.items():
        entry: dict[str, object] = {"name": names[module]} if module in names else {}
        entry["actions"] = list(actions)
        modules[module] = entry
    header = (
        f"# The module catalogue of target {target.name} ({target.adapter}), written by\n"
        f"# `erpsync catalog` on {dt.date.today()}. erpsync validate checks permissions\n"
        "# against it; rerun the command when the ERP gains modules.\n"
    )
    body = yaml.safe_dump({"modules": modules}, allow_unicode=True, sort_keys=False, width=100)
    return header + body


def run(target: ResolvedTarget, out: Path, console: Console) -> int:
    with connected(target) as adapter:
        snapshot = adapter.read()
    text = catalogue_yaml(dict(snapshot.catalogue), dict(snapshot.module_names), target)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote {len(snapshot.catalogue)} modules to {out}.")
    return 0
