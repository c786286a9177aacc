"""What erpsync's GitHub workflows do, as code rather than shell inside YAML.

- :mod:`erpsync.ci.plan_compare`: the change set of a plan, its digest, and how two
  plans' change sets differ (timestamps, digests of the sources and reasons ignored).
- :mod:`erpsync.ci.sticky_comment`: the one pull-request comment that shows the plan,
  updated in place on every push, its hidden metadata, and the pull request's labels.
- :mod:`erpsync.ci.drift_issue`: the one issue that is open while the ERP drifts from
  the policy, updated while it does and closed when it no longer does.
- :mod:`erpsync.ci.github`: a small GitHub REST client (urllib) and the run's context,
  read from the variables GitHub Actions sets.

The first three modules are pure functions over plain data; only the client talks to
the network, and ``erpsync.commands.ci_cmd`` ties them together.
"""

BOT_LOGIN = "github-actions[bot]"  # the login GitHub Actions' token comments as
