"""``erpsync plan --all-targets`` and ``erpsync drift --all-targets``: every target of
erpsync.yaml (:mod:`erpsync.all_targets`), printed as one result.

- text: a section per target, under a rule naming it, then the target's own view;
- Markdown: a title with one line per target, then a section per target holding the
  target's own Markdown view, each within an equal share of the comment limit, so the
  whole stays within the limit one comment (or issue) holds;
- JSON: ``{"format_version": "1", "targets": [{"target", "exit_code", "plan" | "report"
  | "error"}]}``.

A target that failed shows its error in its section. Exit code: 1 when any target
failed, else 2 when any has changes (plan with ``--detailed-exitcode``) or drift, else 0.
``--out DIR`` saves each target's plan (report) as ``DIR/<target>.json`` (``.<format>``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from erpsync import all_targets
from erpsync.all_targets import Outcome
from erpsync.commands import drift as drift_cmd
from erpsync.commands import plan as plan_cmd
from erpsync.commands import write_raw
from erpsync.config import Project, ResolvedTarget
from erpsync.drift import DriftReport
from erpsync.errors import UsageError
from erpsync.plan import Plan

FORMAT_VERSION = "1"
PLAN_FORMATS = plan_cmd.FORMATS
DRIFT_FORMATS = ("text", "json", "markdown")
MARKDOWN_LIMIT = 65_000  # one GitHub comment or issue body
SECTION_OVERHEAD = 200  # a section's heading and spacing, out of its share


@dataclass(frozen=True)
class Entry:
    """One target's part of the combined result."""

    name: str
    exit_code: int
    doc: dict[str, Any] | None  # the plan's (report's) JSON form; None: it failed
    error: str | None = None
    changed: bool = False  # the plan has changes (the report finds drift)


def plan(
    project: Project,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    jobs: int,
    console: Console,
    policy_dir: Callable[[ResolvedTarget], Path] | None = None,
) -> int:
    """Plan every target; print them as ``fmt``; save them in ``out`` (a directory)."""
    outcomes = all_targets.run_all(project, plan_cmd.compute_with, jobs, policy_dir)

    def code(result: Plan) -> int:
        return 2 if detailed_exitcode and result.has_changes else 0

    entries = _entries(outcomes, code, Plan.to_dict, lambda p: p.has_changes)
    if out is not None:
        _save_each(entries, out, "json", plan_cmd.plan_json)
    _print(entries, fmt, "plan", console)
    if out is not None and fmt == "text":
        console.print(
            f"\nSaved each target's plan to {out}/<target>.json; apply one exactly with "
            f"`erpsync apply --target TARGET {out}/TARGET.json`."
        )
    return all_targets.worst([e.exit_code for e in entries])


def drift(
    project: Project,
    fmt: str,
    out: Path | None,
    jobs: int,
    console: Console,
    policy_dir: Callable[[ResolvedTarget], Path] | None = None,
) -> int:
    """Report the drift of every target; print them as ``fmt``, or save them in ``out``."""
    if fmt not in DRIFT_FORMATS:
        known = ", ".join(DRIFT_FORMATS)
        raise UsageError(f"drift --all-targets prints {known}, not {fmt!r}")
    outcomes = all_targets.run_all(project, drift_cmd.compute_with, jobs, policy_dir)

    def code(result: DriftReport) -> int:
        return drift_cmd.EXIT_DRIFT if result.has_drift else 0

    entries = _entries(outcomes, code, DriftReport.to_dict, lambda r: r.has_drift)
    if out is not None:
        _save_each(entries, out, fmt, lambda doc: drift_cmd.render(doc, fmt))
        for e in entries:
            said = e.error.splitlines()[-1] if e.error else f"wrote {out}/{e.name}.{_EXT[fmt]}"
            console.print(f"{e.name}: {said}", markup=False)
        console.print(summary_line(entries, "report"), markup=False)
    else:
        _print(entries, fmt, "report", console)
    return all_targets.worst([e.exit_code for e in entries])


def _entries(
    outcomes: Sequence[Outcome[Any]],
    code: Callable[[Any], int],
    to_dict: Callable[[Any], dict[str, Any]],
    changed: Callable[[Any], bool],
) -> list[Entry]:
    entries: list[Entry] = []
    for outcome in outcomes:
        name, result = outcome.target.name, outcome.result
        if result is None:
            entries.append(Entry(name, 1, None, outcome.error or "failed"))
        else:
            entries.append(Entry(name, code(result), to_dict(result), changed=changed(result)))
    return entries


_EXT = {"json": "json", "markdown": "md", "text": "txt"}


def _save_each(
    entries: Sequence[Entry], out: Path, fmt: str, render: Callable[[dict[str, Any]], str]
) -> None:
    """Write each planned target's document to ``out/<target>.<ext>``."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: with --all-targets, --out names a directory")
    for e in entries:
        if "/" in e.name or "\\" in e.name or e.name.startswith("."):
            raise UsageError(f"target {e.name!r} cannot name a file in {out}: rename the target")
    for e in entries:
        if e.doc is not None:
            plan_cmd.save(render(e.doc), out / f"{e.name}.{_EXT[fmt]}")


def _print(entries: Sequence[Entry], fmt: str, key: str, console: Console) -> None:
    if fmt == "json":
        write_raw(console, combined_json(entries, key))
    elif fmt == "markdown":
        write_raw(console, combined_markdown(entries, key))
    else:
        for i, e in enumerate(entries):
            if i:
                console.print()
            console.print(Text(f"=== target {e.name} ===", style="bold"), soft_wrap=True)
            if e.doc is None:
                console.print(Text(f"error: {e.error}", style="red"), soft_wrap=True)
            elif key == "plan":
                from erpsync.render.text import text_view

                console.print(text_view(e.doc), soft_wrap=True)
            else:
                from erpsync.render.drift_text import text_view as drift_text

                console.print(drift_text(e.doc), soft_wrap=True)
        console.print()
        console.print(Text(summary_line(entries, key), style="bold"), soft_wrap=True)


def summary_line(entries: Sequence[Entry], key: str) -> str:
    """``3 targets: 1 failed, 1 with changes, 1 without.``"""
    changed = "with changes" if key == "plan" else "with drift"
    unchanged = "without" if key == "plan" else "without drift"
    failed = sum(1 for e in entries if e.doc is None)
    counts = {"failed": failed, changed: sum(1 for e in entries if e.changed)}
    counts[unchanged] = len(entries) - failed - counts[changed]
    parts = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    return f"{len(entries)} target(s): {parts}."


def combined_json(entries: Sequence[Entry], key: str) -> str:
    targets: list[dict[str, Any]] = []
    for e in entries:
        entry: dict[str, Any] = {"target": e.name, "exit_code": e.exit_code}
        if e.doc is None:
            entry["error"] = e.error
        else:
            entry[key] = e.doc
        targets.append(entry)
    document = {"format_version": FORMAT_VERSION, "targets": targets}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def combined_markdown(entries: Sequence[Entry], key: str, limit: int = MARKDOWN_LIMIT) -> str:
    """A title listing every target, then a section per target (its own view, under its
    own title) within an equal share of ``limit``."""
    what = "plan" if key == "plan" else "drift"
    lines = [f"# erpsync {what}: {summary_line(entries, key)}", ""]
    for e in entries:
        change = "changes" if key == "plan" else "drift"
        state = "failed" if e.doc is None else (change if e.changed else f"no {change}")
        lines.append(f"- `{_md(e.name)}`: {state} (exit {e.exit_code})")
    head = "\n".join(lines) + "\n"
    share = max(200, (limit - len(head)) // max(1, len(entries)) - SECTION_OVERHEAD)
    sections = [head]
    for e in entries:
        body = _section_body(e.doc, e.error, key, share)
        if e.doc is None:  # the views' own titles name their targets; a failure gets one
            body = f"## erpsync {what} for `{_md(e.name)}`: failed\n\n{body}"
        sections.append(f"\n---\n\n{body.rstrip()}\n")
    return "".join(sections)


def _section_body(doc: dict[str, Any] | None, error: str | None, key: str, share: int) -> str:
    if doc is None:
        text = (error or "failed")[: share - 20].replace("```", "'''")
        return f"**Failed:**\n\n```text\n{text}\n```\n"
    try:
        if key == "plan":
            from erpsync.render.markdown import markdown_view

            return markdown_view(doc, share)
        from erpsync.render.drift_markdown import markdown_view as drift_view

        return drift_view(doc, share)
    except ValueError:  # even the summary is longer than the share: the counts only
        return f"Too long to show here ({share:,} characters per target); {_see(key)}.\n"


def _see(key: str) -> str:
    if key == "plan":
        return "see `erpsync plan --all-targets --format json`"
    return "see `erpsync drift --all-targets --format json`"


def _md(name: str) -> str:
    return name.replace("`", "'")
