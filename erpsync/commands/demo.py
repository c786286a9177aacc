"""``erpsync demo``: a sample ERP on embedded SQLite, walked through plan and apply.

The demo company's ERP has drifted from its policy the way real ones do; the
walk-through shows the plan a reviewer would see in a pull request, applies
it, and shows that a second plan is clean. It does so on a copy of its own
(``walkthrough.db``): ``erp.db``, the ERP of erpsync.yaml's ``demo`` target, is
left drifted, so the README's tour starts from a change to review and apply.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from erpsync.adapters import connected
from erpsync.adapters.reference.database import init_database
from erpsync.apply import ApplyOptions, execute
from erpsync.commands import apply as apply_cmd
from erpsync.commands import plan as plan_cmd
from erpsync.config import Project, ResolvedTarget
from erpsync.i18n import N_, _, said
from erpsync.policy.loader import load_policy

INTRO = N_(
    """\
华东精密机械 is a manufacturing and trading company. Its access policy
lives in {policies}/ as YAML: departments, users, roles and module
permissions, reviewed in git like code.

Its ERP ({url}) was run the usual way, by clicking in the admin UI,
and has drifted from that policy:
  • a leaver is still active; a transfer was done on paper only
  • a new hire is missing; someone granted a role by hand
  • a clerk role was widened out of band, so one person can now both
    maintain vendors and approve payments (a separation-of-duties breach)

`erpsync plan` reads the live ERP, compares it with the policy and
shows the change a reviewer would approve:"""
)

READ = N_(
    """\
How to read it: `+` creates or grants, `~` updates (old -> new), `-`
revokes or deletes, `x` deactivates; every line says why. The admin
account and role are built-ins erpsync never touches (unmanaged).

After review, `erpsync apply` makes the ERP match: one transaction,
under a lock, with a hash-chained audit record. The demo applies it now:"""
)

OUTRO = N_(
    """\
The second plan is clean: the walk-through's ERP matches the policy. Its
audit record (and the anchor above) are in {walkthrough}:
  erpsync --db sqlite:///{walkthrough} audit show 1

Your turn. {erp} (the `demo` target of erpsync.yaml) is the same
drifted ERP, not applied yet:
  erpsync plan                     the change above, for you to review
  erpsync plan --format markdown   the plan as a pull-request comment
  erpsync apply                    apply it (asks first)
  erpsync audit log                who applied what and when
  edit {policies}/users/*.yaml, then plan again"""
)


def run(project: Project, policies: Path, directory: Path, console: Console) -> int:
    erp = _fresh_sample(directory / "erp.db", console)
    database = _fresh_sample(directory / "walkthrough.db", console)
    url = f"sqlite:///{database}"
    intro = _(INTRO).format(policies=policies, url=database)
    console.print(Panel(intro, title=_("erpsync demo")), soft_wrap=False)
    target = ResolvedTarget("demo", "reference", url)
    plan = plan_cmd.compute(project, target, policies)
    plan_cmd.show(plan.to_dict(), "text", console)
    console.print(Panel(_(READ), title=_("what you are seeing")), soft_wrap=False)
    loaded = load_policy(policies)
    options = ApplyOptions(actor="erpsync-demo")
    settings = project.config.settings
    with connected(target) as adapter:
        result = execute(adapter, target, loaded, settings, options, plan)
    apply_cmd.report(result, console)
    console.print("\n$ erpsync plan", style="bold")
    plan_cmd.show(plan_cmd.compute(project, target, policies).to_dict(), "text", console)
    outro = _(OUTRO).format(policies=policies, erp=erp, walkthrough=database)
    console.print(Panel(outro, title=_("done")), soft_wrap=False)
    return 0


def _fresh_sample(database: Path, console: Console) -> Path:
    """The demo company's drifted ERP at ``database``, replacing any earlier one."""
    if database.exists():
        database.unlink()
    console.print(Text(said(init_database(f"sqlite:///{database}", sample=True)), style="dim"))
    return database
