"""``erpsync catalog``: write the live ERP's module/action catalogue for offline validation.

It never destroys what someone wrote by hand. The file it writes carries a digest of its
own text; an existing file is replaced only when that digest shows nobody edited it
since. Any other existing file is left as it is: when it already says what the ERP says
(compared as meaning, :mod:`erpsync.catalogue_diff`) nothing is written; otherwise the
generated catalogue goes beside it, as ``<name>.generated`` (a name the policy loader
does not read), and the differences are listed so they can be merged by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from rich.console import Console

from erpsync.access import split_permission
from erpsync.adapters import connected
from erpsync.adapters.base import LiveSnapshot
from erpsync.catalogue_diff import differences
from erpsync.config import ResolvedTarget
from erpsync.i18n import N_, _, ngettext, number, said
from erpsync.policy.model import PolicyDocument

DIGEST_LINE = re.compile(r"^# erpsync catalog digest: sha256:([0-9a-f]{64})\n", re.MULTILINE)
GENERATED_SUFFIX = ".generated"
SHOWN_DIFFERENCES = 20


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
    text = header + body
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return header + f"# erpsync catalog digest: sha256:{digest}\n" + body


def untouched(text: str) -> bool:
    """Whether ``text`` is a catalogue this command wrote, unedited since (its digest,
    taken without the digest line itself, still matches)."""
    found = DIGEST_LINE.search(text)
    if found is None:
        return False
    rest = text[: found.start()] + text[found.end() :]
    return hashlib.sha256(rest.encode("utf-8")).hexdigest() == found.group(1)


def run(target: ResolvedTarget, out: Path, console: Console) -> int:
    """Write the live catalogue to ``out``, or beside it when ``out`` holds hand-written
    content (see the module docstring); 0 in every case."""
    with connected(target) as adapter:
        snapshot = adapter.read()
    text = catalogue_yaml(
        dict(snapshot.catalogue), dict(snapshot.module_names), target, snapshot.requires
    )
    count = len(snapshot.catalogue)
    existing = _read(out)
    if existing is None or untouched(existing):
        _write(out, text)
        wrote = ngettext("Wrote {n} module to {out}.", "Wrote {n} modules to {out}.", count)
        console.print(wrote.format(n=number(count), out=out), markup=False)
        return 0
    differs = _differences(existing, snapshot)
    if not differs:
        same = ngettext(
            "{out} already says what the ERP's catalogue says ({n} module); left as it is.",
            "{out} already says what the ERP's catalogue says ({n} modules); left as it is.",
            count,
        )
        console.print(same.format(out=out, n=number(count)), markup=False)
        return 0
    beside = out.with_name(out.name + GENERATED_SUFFIX)
    _write(beside, text)
    kept = ngettext(
        "{out} was written or edited by hand, so it is kept as it is; the ERP's catalogue "
        "({n} module) is in {beside}. It differs from {name}:",
        "{out} was written or edited by hand, so it is kept as it is; the ERP's catalogue "
        "({n} modules) is in {beside}. It differs from {name}:",
        count,
    )
    console.print(kept.format(out=out, n=number(count), beside=beside, name=out.name), markup=False)
    for line in differs[:SHOWN_DIFFERENCES]:
        console.print(f"  - {said(line)}", markup=False)
    if len(differs) > SHOWN_DIFFERENCES:
        more = len(differs) - SHOWN_DIFFERENCES
        text = ngettext("… and {n} more", "… and {n} more", more).format(n=number(more))
        console.print(f"  {text}", markup=False)
    merge = _(
        "Merge what you need into {name}, or replace it with {generated}, then delete {generated}."
    )
    console.print(merge.format(name=out.name, generated=beside.name), markup=False)
    return 0


def _differences(existing: str, snapshot: LiveSnapshot) -> list[str]:
    """What the existing file says differently from the ERP; a file that cannot be read
    as a catalogue differs as a whole."""
    try:
        doc = yaml.safe_load(existing) or {}
        modules = PolicyDocument.model_validate({"modules": doc.get("modules") or {}}).modules
    except (yaml.YAMLError, ValueError, AttributeError):
        return [N_("the file cannot be read as a catalogue (run `erpsync validate` to see why)")]
    return differences(modules, snapshot)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""  # unreadable: never overwritten


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
