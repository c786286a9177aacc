"""``erpsync init [--force]``: scaffold a policy repository in a directory.

Writes erpsync.yaml, a small example policy, the plan/apply/drift workflows with their
composite action, a pre-commit configuration and a README (:mod:`erpsync.scaffold`).
An existing file that differs from its template is skipped unless ``--force``; the
command lists what it created, overwrote, skipped and found already in place.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from erpsync.scaffold import Written, scaffold

NEXT_STEPS = (
    "erpsync validate                       # the example policy is valid",
    "erpsync refdb init sqlite:///erp.db    # a local reference ERP to try plans on",
    "erpsync plan",
)


def run(directory: Path, force: bool, console: Console) -> int:
    """Scaffold ``directory`` (created if missing); 0 also when every file was skipped."""
    written = scaffold(directory, force)
    say = console.print
    for label, paths in (
        ("created", written.created),
        ("overwritten", written.overwritten),
        ("already up to date", written.unchanged),
        ("skipped (exists and differs; --force overwrites)", written.skipped),
    ):
        for path in paths:
            say(f"  {label}: {path}", markup=False, highlight=False)
    say(_summary(written), markup=False, highlight=False)
    if written.created or written.overwritten:
        say("\nNext:", markup=False)
        for step in NEXT_STEPS:
            say(f"  {step}", markup=False, highlight=False)
        say(
            "Then set up the secrets and branch protection as README.md describes.",
            markup=False,
        )
    return 0


def _summary(written: Written) -> str:
    changed = len(written.created) + len(written.overwritten)
    if not changed:
        skipped, unchanged = len(written.skipped), len(written.unchanged)
        return f"Nothing written: {skipped} skipped, {unchanged} up to date."
    parts = [f"{len(written.created)} created"]
    if written.overwritten:
        parts.append(f"{len(written.overwritten)} overwritten")
    if written.skipped:
        parts.append(f"{len(written.skipped)} skipped")
    return f"Scaffolded an erpsync policy repository: {', '.join(parts)}."
