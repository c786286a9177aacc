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
from typing import TYPE_CHECKING, Any

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
from erpsync.i18n import N_, _, number, said
from erpsync.plan import Plan

if TYPE_CHECKING:
    from erpsync.notify import Notifier

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
            "\n"
            + _(
                "Saved each target's plan to {out}/<target>.json; apply one exactly with "
                "`erpsync apply --target TARGET {out}/TARGET.json`."
            ).format(out=out),
            markup=False,
        )
    return all_targets.worst([e.exit_code for e in entries])


def drift(
    project: Project,
    fmt: str,
    out: Path | None,
    jobs: int,
    console: Console,
    policy_dir: Callable[[ResolvedTarget], Path] | None = None,
    notify: Notifier | None = None,
) -> int:
    """Report the drift of every target; print them as ``fmt``, or save them in ``out``;
    with ``notify``, then post ONE summary of every target to each destination (a failed
    post raises once the reports are written)."""
    if fmt not in DRIFT_FORMATS:
        known = ", ".join(DRIFT_FORMATS)
        raise UsageError(
            N_("drift --all-targets prints {known}, not {format}").format(
                known=known, format=repr(fmt)
            )
        )
    outcomes = all_targets.run_all(project, drift_cmd.compute_with, jobs, policy_dir)

    def code(result: DriftReport) -> int:
        return drift_cmd.EXIT_DRIFT if result.has_drift else 0

    entries = _entries(outcomes, code, DriftReport.to_dict, lambda r: r.has_drift)
    if out is not None:
        _save_each(entries, out, fmt, lambda doc: drift_cmd.render(doc, fmt))
        for e in entries:
            if e.error:
                shown = said(e.error.splitlines()[-1])
            else:
                shown = _("wrote {file}").format(file=f"{out}/{e.name}.{_EXT[fmt]}")
            console.print(f"{e.name}: {shown}", markup=False)
        console.print(summary_line(entries, "report"), markup=False)
    else:
        _print(entries, fmt, "report", console)
    if notify:
        from erpsync.notify.message import TargetDrift, all_targets_summary

        found = [TargetDrift(e.name, e.doc, e.error) for e in entries]
        notify.post(lambda report_url: all_targets_summary(found, report_url))
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
        raise UsageError(
            N_("--out {out}: with --all-targets, --out names a directory").format(out=out)
        )
    for e in entries:
        if "/" in e.name or "\\" in e.name or e.name.startswith("."):
            raise UsageError(
                N_("target {name} cannot name a file in {out}: rename the target").format(
                    name=repr(e.name), out=out
                )
            )
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
            heading = _("=== target {name} ===").format(name=e.name)
            console.print(Text(heading, style="bold"), soft_wrap=True)
            if e.doc is None:
                error = _("error: {message}").format(message=said(e.error or ""))
                console.print(Text(error, style="red"), soft_wrap=True)
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
    failed = sum(1 for e in entries if e.doc is None)
    changed = sum(1 for e in entries if e.changed)
    unchanged = len(entries) - failed - changed
    # words after a count, without placeholders: a template such as "{n} failed" would
    # match any message ending in "failed" when erpsync.i18n.said looks for one
    words = (
        (N_(" failed"), N_(" with changes"), N_(" without"))
        if key == "plan"
        else (N_(" failed"), N_(" with drift"), N_(" without drift"))
    )
    parts = [
        number(n) + _(word)
        for word, n in zip(words, (failed, changed, unchanged), strict=True)
        if n
    ]
    return _("{n} target(s): {parts}.").format(n=number(len(entries)), parts=_(", ").join(parts))


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
    title = _("# erpsync plan: {summary}") if key == "plan" else _("# erpsync drift: {summary}")
    lines = [title.format(summary=summary_line(entries, key)), ""]
    for e in entries:
        if e.doc is None:
            state = _("failed")
        elif key == "plan":
            state = _("changes") if e.changed else _("no changes")
        else:
            state = _("drift") if e.changed else _("no drift")
        lines.append(
            _("- `{target}`: {state} (exit {code})").format(
                target=_md(e.name), state=state, code=e.exit_code
            )
        )
    head = "\n".join(lines) + "\n"
    share = max(200, (limit - len(head)) // max(1, len(entries)) - SECTION_OVERHEAD)
    sections = [head]
    for e in entries:
        body = _section_body(e.doc, e.error, key, share)
        if e.doc is None:  # the views' own titles name their targets; a failure gets one
            failed_title = (
                _("## erpsync plan for `{target}`: failed")
                if key == "plan"
                else _("## erpsync drift for `{target}`: failed")
            )
            body = failed_title.format(target=_md(e.name)) + f"\n\n{body}"
        sections.append(f"\n---\n\n{body.rstrip()}\n")
    return "".join(sections)


def _section_body(doc: dict[str, Any] | None, error: str | None, key: str, share: int) -> str:
    if doc is None:
        text = (error or "failed")[: share - 20].replace("```", "'''")
        return _("**Failed:**") + f"\n\n```text\n{text}\n```\n"
    try:
        if key == "plan":
            from erpsync.render.markdown import markdown_view

            return markdown_view(doc, share)
        from erpsync.render.drift_markdown import markdown_view as drift_view

        return drift_view(doc, share)
    except ValueError:  # even the summary is longer than the share: the counts only
        return (
            _("Too long to show here ({share} characters per target); {see}.").format(
                share=f"{share:,}", see=_see(key)
            )
            + "\n"
        )


def _see(key: str) -> str:
    if key == "plan":
        return _("see `erpsync plan --all-targets --format json`")
    return _("see `erpsync drift --all-targets --format json`")


def _md(name: str) -> str:
    return name.replace("`", "'")
