"""DingTalk (钉钉) custom group robot: 群设置 → 智能群助手 → 添加机器人 → 自定义.

The documented contract:

- POST JSON ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}`` to the
  webhook URL (``https://oapi.dingtalk.com/robot/send?access_token=…``); ``title`` is
  what the chat list and the notification show;
- with 加签 (signing) on: query parameters ``timestamp`` (milliseconds, within an hour of
  DingTalk's clock) and ``sign``, the Base64 of HMAC-SHA256 keyed with the secret
  (``SEC…``) over ``"{timestamp}\\n{secret}"``, URL-encoded;
- reply ``{"errcode": 0, "errmsg": "ok"}``; 310000 a failed security setting (signature,
  keyword or IP allow-list), 130101 too many messages (20 a minute per robot),
  300001 an access_token that is not a robot's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode

from erpsync.config import Destination
from erpsync.i18n import N_
from erpsync.notify.errors import PlatformRefused
from erpsync.notify.http import Post, Reply, json_reply
from erpsync.notify.message import Summary

LABEL = "DingTalk (钉钉)"


def sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` parameter before URL encoding: Base64(HMAC-SHA256(secret, ts\\nsecret))."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def request(dest: Destination, summary: Summary, now: float | None = None) -> Post:
    """The POST that sends ``summary`` to ``dest``, signed when it has a secret."""
    url = dest.url
    if dest.secret:
        timestamp = int((time.time() if now is None else now) * 1000)
        query = urlencode({"timestamp": timestamp, "sign": sign(dest.secret, timestamp)})
        url += ("&" if "?" in url else "?") + query
    body = {"msgtype": "markdown", "markdown": {"title": summary.title, "text": summary.markdown()}}
    return Post(url, body)


def check(reply: Reply) -> None:
    """Nothing when DingTalk took the message, else :class:`PlatformRefused` saying why."""
    data = json_reply(reply, "DingTalk")
    code, said = data.get("errcode"), data.get("errmsg", "")
    if code == 0 and reply.status < 300:
        return
    if code == 310000:
        raise PlatformRefused(
            N_(
                "DingTalk refused the robot's security check (errcode 310000: {errmsg}): check "
                "the 加签 secret (SEC…), the robot's keywords (the message contains 'erpsync') "
                "and its IP allow-list"
            ).format(errmsg=said)
        )
    if code == 130101:
        raise PlatformRefused(
            N_(
                "DingTalk rate limit (errcode 130101: {errmsg}): a robot takes 20 messages a "
                "minute; try again in a minute"
            ).format(errmsg=said)
        )
    if code == 300001:
        raise PlatformRefused(
            N_(
                "DingTalk does not know this robot (errcode 300001: {errmsg}): check the "
                "webhook URL's access_token"
            ).format(errmsg=said)
        )
    raise PlatformRefused(
        N_("DingTalk answered HTTP {status}, errcode {code}: {errmsg}").format(
            status=reply.status, code=code, errmsg=said
        )
    )
