"""Group-robot notifications: a short Markdown summary of a drift report or an access
review's progress, posted to the chat groups where ERP administrators work.

``settings.notify.destinations`` in erpsync.yaml names each destination (a DingTalk
custom robot, a WeCom group robot, a Feishu custom bot or a generic JSON webhook);
``erpsync drift --notify NAME`` and ``erpsync review status --notify NAME`` post to
it after the report is written, so a failed post never loses the report.

- :mod:`~erpsync.notify.message`: what is said (:class:`Summary`), platform-neutral;
- :mod:`~erpsync.notify.dingtalk`, :mod:`~erpsync.notify.wecom`,
  :mod:`~erpsync.notify.feishu`, :mod:`~erpsync.notify.webhook`: each platform's
  documented request (body, signature) and its replies, as pure functions;
- :mod:`~erpsync.notify.http`: the one POST (urllib, a timeout, JSON in and out);
- :mod:`~erpsync.notify.send`: :class:`Notifier`, which resolves the names, posts to
  each destination and raises :class:`NotifyError` naming every one that failed.

A destination's URL carries the robot's credential, so URLs, signing secrets and
header values are secrets: messages name the destination, never its URL, and every
such value is remembered for :mod:`erpsync.secrets` to scrub.
"""

from __future__ import annotations

from erpsync.notify.errors import NotifyError
from erpsync.notify.message import Summary
from erpsync.notify.send import Notifier

__all__ = ["Notifier", "NotifyError", "Summary"]
