"""``erpsync show user LOGIN``, ``erpsync show role KEY`` and ``erpsync who-can MODULE:ACTION``.

From the live ERP by default (read through :func:`erpsync.adapters.connected`),
or with ``desired`` from the policy alone (no database needed): the policy's
effective access, with where each permission comes from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from erpsync import reports
from erpsync.adapters import connected
from erpsync.commands import write_raw
from erpsync.config import Project, ResolvedTarget
from erpsync.errors import UsageError
from erpsync.i18n import N_
from erpsync.policy.loader import LoadedPolicy, load_policy
from erpsync.state import desired_state

FORMATS = ("text", "json")


def load(project: Project, policy_dir: Path) -> LoadedPolicy:
    """The policy, within the configured file size limit."""
    return load_policy(policy_dir, project.config.settings.max_file_mib * 1024 * 1024)


def policy_catalogue(loaded: LoadedPolicy) -> dict[str, list[str]] | None:
    """The policy's catalog.yaml (expands ``*`` without a database), if it has one."""
    modules = loaded.policy.modules
    return {key: list(m.actions) for key, m in modules.items()} or None


def desired(loaded: LoadedPolicy, today: dt.date) -> reports.AccessModel:
    """The policy's access model, resolved as the plan resolves it."""
    return reports.desired_model(desired_state(loaded, policy_catalogue(loaded), today))


def live(target: ResolvedTarget | None) -> reports.AccessModel:
    """The live ERP's access model (one consistent read)."""
    if target is None:
        raise UsageError(N_("no target to read: give --target or --db, or use --desired"))
    with connected(target) as adapter:
        snapshot = adapter.read()
    return reports.live_model(snapshot)


def model(
    project: Project,
    target: ResolvedTarget | None,
    policy_dir: Path,
    use_desired: bool,
    today: dt.date,
) -> reports.AccessModel:
    return desired(load(project, policy_dir), today) if use_desired else live(target)


def stamp(doc: dict[str, Any], target: ResolvedTarget | None, now: dt.datetime) -> dict[str, Any]:
    """Add where (the target, password redacted) and when the report was made."""
    if doc.get("view") == reports.LIVE and target is not None:
        doc["target"] = {"name": target.name, "adapter": target.adapter, "url": target.display_url}
    doc["generated_at"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return doc


def emit(doc: dict[str, Any], fmt: str, console: Console) -> None:
    """Print the report as text (rich tables) or JSON."""
    if fmt == "json":
        from erpsync.render.report_json import json_view

        write_raw(console, json_view(doc))
    elif fmt == "text":
        from erpsync.render.report_text import text_view

        console.print(text_view(doc))
    else:
        raise UsageError(
            N_("unknown format '{format}' (known: {known})").format(
                format=fmt, known=", ".join(FORMATS)
            )
        )


def _run(
    project: Project,
    target: ResolvedTarget | None,
    policy_dir: Path,
    use_desired: bool,
    fmt: str,
    console: Console,
    now: dt.datetime | None,
    make: Callable[[reports.AccessModel], reports.Report],
) -> int:
    now = now or dt.datetime.now(dt.UTC)
    found = model(project, target, policy_dir, use_desired, now.date())
    emit(stamp(make(found).to_dict(), target, now), fmt, console)
    return 0


def user(
    project: Project,
    target: ResolvedTarget | None,
    policy_dir: Path,
    login: str,
    use_desired: bool,
    fmt: str,
    console: Console,
    now: dt.datetime | None = None,
) -> int:
    """``erpsync show user LOGIN``: status, department, roles and every effective permission
    with all its paths."""
    return _run(
        project,
        target,
        policy_dir,
        use_desired,
        fmt,
        console,
        now,
        lambda m: reports.show_user(m, login),
    )


def role(
    project: Project,
    target: ResolvedTarget | None,
    policy_dir: Path,
    key: str,
    use_desired: bool,
    fmt: str,
    console: Console,
    now: dt.datetime | None = None,
) -> int:
    """``erpsync show role KEY``: own and included permissions, and who holds it."""
    return _run(
        project,
        target,
        policy_dir,
        use_desired,
        fmt,
        console,
        now,
        lambda m: reports.show_role(m, key),
    )


def who_can(
    project: Project,
    target: ResolvedTarget | None,
    policy_dir: Path,
    permission: str,
    use_desired: bool,
    fmt: str,
    console: Console,
    now: dt.datetime | None = None,
) -> int:
    """``erpsync who-can MODULE:ACTION``: every active user holding it, and how."""
    return _run(
        project,
        target,
        policy_dir,
        use_desired,
        fmt,
        console,
        now,
        lambda m: reports.who_can(m, permission),
    )
