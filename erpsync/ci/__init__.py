"""What erpsync's GitHub workflows do, as code rather than shell inside YAML.

- :mod:`erpsync.ci.plan_compare`: the change set of a plan, its digest, and how two
  plans' change sets differ (timestamps, digests of the sources and reasons ignored).
- :mod:`erpsync.ci.sticky_comment`: the one pull-request comment that shows the plan,
  updated in place on every push, its hidden metadata, and the pull request's labels.
- :mod:`erpsync.ci.drift_issue`: the one issue that is open while the ERP drifts from
  the policy, updated while it does and closed when it no longer does.
- :mod:`erpsync.ci.github`: a small GitHub REST client (urllib) and the run's context,
  read from the variables GitHub Actions sets.

- :mod:`erpsync.ci.gitlab` and :mod:`erpsync.ci.gitlab_flow`: the same for GitLab CI (a
  REST v4 client, and the GitLab side of each flow).

The first three modules are pure functions over plain data; only the clients talk to
the network, and ``erpsync.commands.ci_cmd`` ties them together. What they write speaks
the platform's words (:class:`Terms`): a pull request and its workflow run on GitHub, a
merge request and its job on GitLab.
"""

from dataclasses import dataclass

from erpsync.i18n import N_

BOT_LOGIN = "github-actions[bot]"  # the login GitHub Actions' token comments as


@dataclass(frozen=True)
class Terms:
    """How a CI platform names what the comments, issues and refusals speak of."""

    request: str = "pull request"
    mark: str = "#"  # before a request's number: #12 on GitHub, !12 on GitLab
    run: str = "workflow run"
    comment: str = "comment"
    artifact: str = "erpsync-plan"  # where the whole plan is kept
    annotated: bool = True  # validation errors are annotated on the changed files


GITHUB = Terms(N_("pull request"), "#", N_("workflow run"), N_("comment"))
GITLAB = Terms(N_("merge request"), "!", N_("job"), N_("note"), "plan.json", annotated=False)
# The platforms' words are kept in English in the Terms (messages that are data use them);
# a view for people says them with erpsync.i18n._ (marked above for the catalogue).
