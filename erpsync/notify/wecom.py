"""WeCom (企业微信) group robot: 群聊 → 群设置 → 群机器人 → 添加机器人.

The documented contract:

- POST JSON ``{"msgtype": "markdown", "markdown": {"content": …}}`` to the webhook
  URL (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``); the content is at
  most 4096 bytes of UTF-8; no signature: the ``key`` is the credential;
- reply ``{"errcode": 0, "errmsg": "ok"}``; 45009 too many messages (20 a minute per
  robot), 93000 an invalid webhook key.
"""

from __future__ import annotations

from erpsync.config import Destination
from erpsync.i18n import N_
from erpsync.notify.errors import PlatformRefused
from erpsync.notify.http import Post, Reply, json_reply
from erpsync.notify.message import Summary

LABEL = "WeCom (企业微信)"
MARKDOWN_LIMIT = 4096  # bytes of UTF-8


def request(dest: Destination, summary: Summary, now: float | None = None) -> Post:
    """The POST that sends ``summary`` to ``dest`` (``now`` is unused: nothing is signed)."""
    content = summary.markdown(limit=MARKDOWN_LIMIT)
    return Post(dest.url, {"msgtype": "markdown", "markdown": {"content": content}})


def check(reply: Reply) -> None:
    """Nothing when WeCom took the message, else :class:`PlatformRefused` saying why."""
    data = json_reply(reply, "WeCom")
    code, said = data.get("errcode"), data.get("errmsg", "")
    if code == 0 and reply.status < 300:
        return
    if code == 45009:
        raise PlatformRefused(
            N_(
                "WeCom rate limit (errcode 45009: {errmsg}): a robot takes 20 messages a "
                "minute; try again in a minute"
            ).format(errmsg=said)
        )
    if code == 93000:
        raise PlatformRefused(
            N_(
                "WeCom does not know this robot (errcode 93000: {errmsg}): check the webhook "
                "URL's key (the robot may have been removed from the group)"
            ).format(errmsg=said)
        )
    raise PlatformRefused(
        N_("WeCom answered HTTP {status}, errcode {code}: {errmsg}").format(
            status=reply.status, code=code, errmsg=said
        )
    )
