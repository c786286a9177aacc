"""The one HTTP call of a notification: POST a JSON body, read a JSON reply.

urllib alone (no new dependency): a notification is one small request. What can go
wrong becomes :class:`PlatformRefused` with a sentence that never quotes the URL (it
carries the robot's credential); the caller names the destination.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from erpsync.i18n import N_
from erpsync.notify.errors import PlatformRefused

MAX_REPLY = 1 << 20  # a robot's reply is a few bytes; read no more than this


@dataclass(frozen=True)
class Post:
    """A request to make: where, the JSON body and extra headers."""

    url: str = field(repr=False)
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Reply:
    """What came back: the HTTP status and the body, parsed when it is JSON."""

    status: int
    data: Any  # the parsed JSON, or None
    text: str


def post(request: Post, timeout: float) -> Reply:
    """POST ``request`` as UTF-8 JSON; any HTTP status is a reply, a network failure
    or no answer within ``timeout`` seconds raises :class:`PlatformRefused`."""
    body = json.dumps(request.body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", **request.headers}
    req = urllib.request.Request(request.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return _reply(answer.status, answer.read(MAX_REPLY))
    except urllib.error.HTTPError as exc:
        return _reply(exc.code, exc.read(MAX_REPLY))
    except TimeoutError:
        raise PlatformRefused(
            N_("no answer within {seconds} s").format(seconds=f"{timeout:g}")
        ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise PlatformRefused(
                N_("no answer within {seconds} s").format(seconds=f"{timeout:g}")
            ) from None
        why = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise PlatformRefused(
            N_("could not reach the server ({error})").format(error=why)
        ) from None
    except OSError as exc:
        raise PlatformRefused(
            N_("the connection failed ({error})").format(error=exc.strerror or exc)
        ) from None


def _reply(status: int, raw: bytes) -> Reply:
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    return Reply(status, data, text)


def json_reply(reply: Reply, platform: str) -> dict[str, Any]:
    """The reply's JSON object, or :class:`PlatformRefused` saying what came instead."""
    if isinstance(reply.data, dict):
        return reply.data
    shown = " ".join(reply.text.split())[:200] or "an empty body"
    raise PlatformRefused(
        N_("{platform} answered HTTP {status} with {body}, not its JSON reply").format(
            platform=platform, status=reply.status, body=repr(shown)
        )
    )
