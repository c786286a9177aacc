"""Feishu (飞书) custom bot: 群设置 → 群机器人 → 添加机器人 → 自定义机器人.

The documented contract:

- POST JSON to the webhook URL (``https://open.feishu.cn/open-apis/bot/v2/hook/…``:
  the last part is the credential);
- with 签名校验 (signature check) on: ``timestamp`` (seconds, as a string, within an
  hour of Feishu's clock) and ``sign`` in the body, the Base64 of HMAC-SHA256 keyed
  with ``"{timestamp}\\n{secret}"`` over an empty message;
- reply ``{"code": 0, "msg": "success"}``; 19021 a signature that does not match (or
  an old timestamp), 19024 a keyword the message lacks, 11232 / 9499 too many messages
  (100 a minute, 5 a second per bot), 19001 an unknown hook.

The message is an ``interactive`` card: a header carrying the title, red when there is
something to look at and green otherwise, and one ``markdown`` element with the same
Markdown every platform gets. A ``post`` (rich text) would need the summary rebuilt as
Feishu's own nodes and shows no colour; the card renders bold, bullets and the link
from the Markdown as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from erpsync.config import Destination
from erpsync.i18n import N_
from erpsync.notify.errors import PlatformRefused
from erpsync.notify.http import Post, Reply, json_reply
from erpsync.notify.message import Summary, inline

LABEL = "Feishu (飞书)"


def sign(secret: str, timestamp_s: int) -> str:
    """The body's ``sign``: Base64(HMAC-SHA256(key="{ts}\\n{secret}", message=b""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def card(summary: Summary) -> dict[str, Any]:
    """The interactive card: the title in a coloured header, the rest as Markdown."""
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            "title": {"tag": "plain_text", "content": inline(summary.title)},
            "template": "red" if summary.alert else "green",
        },
        "elements": [{"tag": "markdown", "content": summary.markdown(heading=False)}],
    }


def request(dest: Destination, summary: Summary, now: float | None = None) -> Post:
    """The POST that sends ``summary`` to ``dest``, signed when it has a secret."""
    body: dict[str, Any] = {}
    if dest.secret:
        timestamp = int(time.time() if now is None else now)
        body = {"timestamp": str(timestamp), "sign": sign(dest.secret, timestamp)}
    body |= {"msg_type": "interactive", "card": card(summary)}
    return Post(dest.url, body)


def check(reply: Reply) -> None:
    """Nothing when Feishu took the message, else :class:`PlatformRefused` saying why."""
    data = json_reply(reply, "Feishu")
    code = data.get("code", data.get("StatusCode"))
    said = data.get("msg", data.get("StatusMessage", ""))
    if code == 0 and reply.status < 300:
        return
    if code == 19021:
        raise PlatformRefused(
            N_(
                "Feishu refused the signature (code 19021: {errmsg}): check the 签名校验 secret "
                "and this machine's clock"
            ).format(errmsg=said)
        )
    if code == 19024:
        raise PlatformRefused(
            N_(
                "Feishu refused the message (code 19024: {errmsg}): the bot's keywords must "
                "include one the message holds, such as 'erpsync'"
            ).format(errmsg=said)
        )
    if code in (11232, 9499):
        raise PlatformRefused(
            N_(
                "Feishu rate limit (code {code}: {errmsg}): a bot takes 100 messages a minute "
                "and 5 a second; try again in a minute"
            ).format(code=code, errmsg=said)
        )
    if code == 19001:
        raise PlatformRefused(
            N_(
                "Feishu does not know this bot (code 19001: {errmsg}): check the webhook URL"
            ).format(errmsg=said)
        )
    raise PlatformRefused(
        N_("Feishu answered HTTP {status}, code {code}: {errmsg}").format(
            status=reply.status, code=code, errmsg=said
        )
    )
