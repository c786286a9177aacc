"""``erpsync validate``: check the policy without a database.

With a configuration, the policy is also checked against what the target's
adapter can store and allows (:meth:`Adapter.check_policy`, the check ``plan``
makes): only the adapter class is needed, never a connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from erpsync import diagnostics as diag
from erpsync.adapters import adapter_class
from erpsync.adapters.base import Adapter
from erpsync.commands import write_raw
from erpsync.config import Project, Settings
from erpsync.errors import PolicyError
from erpsync.i18n import _, number
from erpsync.policy.confusables import confusable_keys
from erpsync.policy.loader import load_policy
from erpsync.policy.validate import validate

FORMATS = ("text", "json", "github")
_STYLE = {diag.Severity.ERROR: "bold red", diag.Severity.WARNING: "yellow"}


def target_adapters(
    project: Project, target: str | None, db_url: str | None
) -> list[type[Adapter]]:
    """The adapters the policy must suit: the named or default target's; without one, every
    target's (they share the policy directory); none without an erpsync.yaml or a target.
    Raises UsageError for an unknown target or adapter."""
    if project.path is None and target is None:
        return []
    targets = project.config.targets
    if target is not None or project.config.default_target is not None or len(targets) == 1:
        names = [project.target(target, db_url).adapter]
    else:
        names = sorted({t.adapter for t in targets.values()})
    return [adapter_class(name) for name in names]


def check(
    directory: Path,
    today: dt.date,
    max_bytes: int,
    adapters: Sequence[type[Adapter]] = (),
    settings: Settings | None = None,
) -> tuple[list[diag.Diagnostic], str]:
    """Every diagnostic for the policy in ``directory`` (and for what ``adapters`` cannot
    store or would refuse, with ``settings``) and a one-line description of it (in the
    run's language)."""
    try:
        loaded = load_policy(directory, max_bytes)
    except PolicyError as exc:
        return exc.diagnostics, f"{directory}"
    p = loaded.policy
    counts = _(
        "{directory}: {files} files, {departments} departments, {roles} roles, "
        "{users} users, {rules} SoD rules"
    ).format(
        directory=directory,
        files=number(len(loaded.files)),
        departments=number(len(p.departments)),
        roles=number(len(p.roles)),
        users=number(len(p.users)),
        rules=number(len(p.sod_rules)),
    )
    settings = settings or Settings()
    found = validate(loaded, today)
    for adapter in adapters:
        found += adapter.check_policy(loaded, settings)
    users = {*settings.protected_users, *(u for a in adapters for u in a.builtin_users)}
    roles = {*settings.protected_roles, *(r for a in adapters for r in a.builtin_roles)}
    found += confusable_keys(loaded, users, roles)
    return diag.ordered(found), counts


def run(
    directory: Path,
    fmt: str,
    console: Console,
    today: dt.date,
    max_bytes: int,
    adapters: Sequence[type[Adapter]] = (),
    settings: Settings | None = None,
) -> int:
    return run_many([(directory, adapters)], fmt, console, today, max_bytes, settings)


def directories(project: Project) -> list[tuple[Path, list[type[Adapter]]]]:
    """Each distinct policy directory of erpsync.yaml with the adapters of the targets
    using it (each adapter once): what ``validate`` checks when targets have their own."""
    found = []
    for directory, names in project.policy_dirs().items():
        kinds = sorted({project.config.targets[n].adapter for n in names})
        found.append((directory, [adapter_class(kind) for kind in kinds]))
    return found


def run_many(
    groups: Sequence[tuple[Path, Sequence[type[Adapter]]]],
    fmt: str,
    console: Console,
    today: dt.date,
    max_bytes: int,
    settings: Settings | None = None,
) -> int:
    """Validate each policy directory once, for its adapters; JSON and GitHub formats
    list the diagnostics of every directory together (each names its file)."""
    checked = [(check(d, today, max_bytes, a, settings), a) for d, a in groups]
    every = diag.ordered([d for (found, _described), _adapters in checked for d in found])
    if fmt == "json":
        write_raw(console, diag.to_json(every))
    elif fmt == "github":
        write_raw(console, diag.to_github(every))
        write_raw(console, f"erpsync validate: {diag.said_summary(every)}\n")
    else:
        for (found, described), adapters in checked:
            _text(console, found, described, adapters)
    return 1 if diag.has_errors(every) else 0


def _text(
    console: Console,
    found: Sequence[diag.Diagnostic],
    described: str,
    adapters: Sequence[type[Adapter]],
) -> None:
    for d in found[: diag.SHOWN]:
        line = Text(f"{d.position}: ")
        line.append(str(d.severity), style=_STYLE[d.severity])
        message = diag.said_message(d.message)
        line.append(f": {diag.said_object(d.object)}: {message}" if d.object else f": {message}")
        console.print(line, soft_wrap=True)
    if len(found) > diag.SHOWN:
        rest = diag.rest_line(found[diag.SHOWN :])
        console.print(
            Text(_("{rest} (--format json lists them all)").format(rest=rest)), soft_wrap=True
        )
    summary = diag.said_summary(found)
    if diag.has_errors(found):
        checked = _("{described}: invalid ({summary})").format(described=described, summary=summary)
    else:
        checked = _("{described}: valid ({summary})").format(described=described, summary=summary)
    if adapters:
        checked += _("; checked for the {adapters} adapter").format(
            adapters=_(", ").join(a.name for a in adapters)
        )
    console.print(Text(checked), soft_wrap=True)
