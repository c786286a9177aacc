"""A generic JSON webhook, for anything else (an alerting gateway, a ticket system).

POST ``{"event", "target", "title", "summary", "counts", "report_url", "text"}``:
``event`` is ``drift`` or ``review_status``, ``summary`` the one sentence, ``counts``
the numbers by name, ``text`` the Markdown the robots get. ``headers`` from the
destination are sent as they are (``Authorization: Bearer ${TOKEN}``). Any 2xx status
is success; anything else is an error naming the status.
"""

from __future__ import annotations

from erpsync.config import Destination
from erpsync.i18n import N_
from erpsync.notify.errors import PlatformRefused
from erpsync.notify.http import Post, Reply
from erpsync.notify.message import Summary

LABEL = "webhook"


def request(dest: Destination, summary: Summary, now: float | None = None) -> Post:
    """The POST that sends ``summary`` to ``dest`` with its headers."""
    body = {
        "event": summary.event,
        "target": summary.target,
        "title": summary.title,
        "summary": summary.headline,
        "counts": dict(summary.counts),
        "report_url": summary.report_url,
        "text": summary.markdown(),
    }
    return Post(dest.url, body, dict(dest.headers))


def check(reply: Reply) -> None:
    """Nothing on a 2xx status, else :class:`PlatformRefused` naming the status."""
    if 200 <= reply.status < 300:
        return
    shown = " ".join(reply.text.split())[:200]
    if shown:
        raise PlatformRefused(
            N_("the webhook answered HTTP {status}: {body}").format(status=reply.status, body=shown)
        )
    raise PlatformRefused(N_("the webhook answered HTTP {status}").format(status=reply.status))
