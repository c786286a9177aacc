"""``erpsync plan``: the change that would make the live ERP match the policy."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from erpsync import live_read, removals
from erpsync.adapters import adapter_class
from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.commands import write_raw
from erpsync.config import Project, ResolvedTarget
from erpsync.i18n import _
from erpsync.plan import Plan
from erpsync.planner import make_plan
from erpsync.policy.loader import LoadedPolicy, load_policy

FORMATS = ("text", "json", "markdown")


def compute(project: Project, target: ResolvedTarget, policy_dir: Path) -> Plan:
    """Load the policy, read the ERP and diff them (no output)."""
    max_bytes = project.config.settings.max_file_mib * 1024 * 1024
    return compute_with(project, target, lambda: load_policy(policy_dir, max_bytes))


def compute_with(
    project: Project, target: ResolvedTarget, policy: Callable[[], LoadedPolicy]
) -> Plan:
    """:func:`compute` with the policy from ``policy()``, called while the ERP is read
    (``plan --all-targets`` shares one load between the targets of a directory)."""
    settings = project.config.settings
    now = dt.datetime.now(dt.UTC)

    def read(adapter: Adapter) -> tuple[LiveSnapshot, removals.Recent]:
        recent = removals.read_recent(adapter, settings.max_removals_window, now, target)
        return read_with_digest(adapter), recent

    with live_read.started(target, read) as live:
        loaded = policy()
        snapshot, recent = live.result()
    kind = adapter_class(target.adapter)
    return make_plan(loaded, snapshot, settings, kind, target, now.date(), now, recent=recent)


def read_with_digest(adapter: Adapter) -> LiveSnapshot:
    """The live snapshot, its digest already worked out (it travels with the state)."""
    snapshot = adapter.read()
    snapshot.state.digest()
    return snapshot


def plan_json(plan: dict[str, Any]) -> str:
    """The plan's JSON form as text: what ``--out`` saves and ``--format json`` prints."""
    return json.dumps(plan, ensure_ascii=False, indent=2) + "\n"


def save(text: str, path: Path) -> None:
    """Write to a temporary file first, then rename: a reader never sees half a plan."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def emit(plan: dict[str, Any], fmt: str, out: Path | None, console: Console) -> None:
    """Save the plan to ``out`` (when given) and print it as ``fmt``; the JSON text is
    made once when both need it."""
    text = plan_json(plan) if fmt == "json" or out is not None else None
    if out is not None and text is not None:
        save(text, out)
    show(plan, fmt, console, text)


def show(plan: dict[str, Any], fmt: str, console: Console, text: str | None = None) -> None:
    """Print one view of the plan, rendered from its JSON form (``text``, when the JSON
    view's text was already made)."""
    if fmt == "json":
        write_raw(console, text if text is not None else plan_json(plan))
    elif fmt == "markdown":
        from erpsync.render.markdown import markdown_view

        write_raw(console, markdown_view(plan))
    else:
        from erpsync.render.text import text_view

        console.print(text_view(plan), soft_wrap=True)


def run(
    project: Project,
    target: ResolvedTarget,
    policy_dir: Path,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    console: Console,
) -> int:
    plan = compute(project, target, policy_dir)
    emit(plan.to_dict(), fmt, out, console)
    if out is not None and fmt == "text":
        saved = _("Saved the plan to {out}; apply exactly it with `erpsync apply {out}`.")
        console.print("\n" + saved.format(out=out))
    return 2 if detailed_exitcode and plan.has_changes else 0
