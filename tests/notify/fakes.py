"""Local HTTP servers playing each platform's documented webhook contract.

Each fake checks what its platform checks (method, path, query, Content-Type, the JSON
body's shape, the robot's credential, the signature recomputed with the shared secret,
its clock window, a per-minute limit) and answers as the platform does, with its own
error codes and words. Every request, accepted or not, is kept in ``requests``;
accepted messages in ``messages``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, Any]]


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw.decode("utf-8"))


@dataclass
class Fake:
    """A platform's side of the contract; subclasses implement :meth:`answer`."""

    per_minute: int = 20
    requests: list[Seen] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def handle(self, seen: Seen) -> Answer:
        self.requests.append(seen)
        if seen.method != "POST":
            return 405, {"error": "method not allowed"}
        return self.answer(seen)

    def answer(self, seen: Seen) -> Answer:
        raise NotImplementedError

    def body_of(self, seen: Seen) -> dict[str, Any] | None:
        """The JSON body, when it was sent as application/json in UTF-8."""
        if not seen.headers.get("content-type", "").startswith("application/json"):
            return None
        try:
            body = seen.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def over_limit(self) -> bool:
        return len(self.messages) >= self.per_minute


def hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


@dataclass
class DingTalk(Fake):
    """钉钉 custom robot: /robot/send?access_token=…[&timestamp=…&sign=…]."""

    token: str = "dt-token-0f3a9c1e7b"
    secret: str | None = None  # 加签 on when set
    keywords: tuple[str, ...] = ()  # 自定义关键词

    @property
    def url(self) -> str:
        return f"{self.base_url}/robot/send?access_token={self.token}"

    def answer(self, seen: Seen) -> Answer:
        if seen.path != "/robot/send" or seen.query.get("access_token") != [self.token]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if self.secret is not None:
            ts, sign = seen.query.get("timestamp", [""])[0], seen.query.get("sign", [""])[0]
            fresh = ts.isdigit() and abs(int(ts) - time.time() * 1000) < 3600 * 1000
            expected = hmac_b64(self.secret.encode(), f"{ts}\n{self.secret}".encode())
            if not fresh or not hmac.compare_digest(sign, expected):
                return 200, {
                    "errcode": 310000,
                    "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc]",
                }
        body = self.body_of(seen)
        markdown = (body or {}).get("markdown") or {}
        if (
            body is None
            or body.get("msgtype") != "markdown"
            or not isinstance(markdown.get("title"), str)
            or not isinstance(markdown.get("text"), str)
        ):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}
        if self.keywords and not any(k in markdown["text"] for k in self.keywords):
            return 200, {"errcode": 310000, "errmsg": "keywords not in content"}
        if self.over_limit():
            return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        self.messages.append(body)
        return 200, {"errcode": 0, "errmsg": "ok"}


@dataclass
class WeCom(Fake):
    """企业微信 group robot: /cgi-bin/webhook/send?key=…."""

    key: str = "5c9e2a6b-41f7-4d0e-9b8a-3f1d7c2e6a90"

    @property
    def url(self) -> str:
        return f"{self.base_url}/cgi-bin/webhook/send?key={self.key}"

    def answer(self, seen: Seen) -> Answer:
        if seen.path != "/cgi-bin/webhook/send" or seen.query.get("key") != [self.key]:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1701]"}
        body = self.body_of(seen)
        content = ((body or {}).get("markdown") or {}).get("content")
        if body is None or body.get("msgtype") != "markdown" or not isinstance(content, str):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode("utf-8")) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        if self.over_limit():
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        self.messages.append(body)
        return 200, {"errcode": 0, "errmsg": "ok"}


@dataclass
class Feishu(Fake):
    """飞书 custom bot: /open-apis/bot/v2/hook/<token>, signed in the body."""

    token: str = "7d1f3c9a-8e2b-4b6d-a0c4-5e9f1b2d3c4a"
    secret: str | None = None  # 签名校验 on when set
    per_minute: int = 100

    @property
    def url(self) -> str:
        return f"{self.base_url}/open-apis/bot/v2/hook/{self.token}"

    def answer(self, seen: Seen) -> Answer:
        if seen.path != f"/open-apis/bot/v2/hook/{self.token}":
            return 200, {
                "code": 19001,
                "data": {},
                "msg": "param invalid: incoming webhook access token invalid",
            }
        body = self.body_of(seen)
        if body is None:
            return 200, {"code": 9499, "data": {}, "msg": "Bad Request"}
        if self.secret is not None:
            ts, sign = body.get("timestamp"), body.get("sign")
            fresh = isinstance(ts, str) and ts.isdigit() and abs(int(ts) - time.time()) < 3600
            expected = hmac_b64(f"{ts}\n{self.secret}".encode(), b"")
            if not fresh or not isinstance(sign, str) or not hmac.compare_digest(sign, expected):
                return 200, {
                    "code": 19021,
                    "data": {},
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
        card = body.get("card") or {}
        elements = card.get("elements") or []
        if (
            body.get("msg_type") != "interactive"
            or not isinstance(card.get("header", {}).get("title", {}).get("content"), str)
            or not elements
            or elements[0].get("tag") != "markdown"
            or not isinstance(elements[0].get("content"), str)
        ):
            return 200, {"code": 9499, "data": {}, "msg": "Bad Request"}
        if self.over_limit():
            return 200, {
                "code": 11232,
                "data": {},
                "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]",
            }
        self.messages.append(body)
        return 200, {"code": 0, "data": {}, "msg": "success"}


@dataclass
class Webhook(Fake):
    """A generic JSON endpoint behind a bearer token."""

    authorization: str = "Bearer wh-9f8e7d6c5b4a"
    per_minute: int = 1000

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks/erpsync"

    def answer(self, seen: Seen) -> Answer:
        if seen.path != "/hooks/erpsync":
            return 404, {"error": "not found"}
        if seen.headers.get("authorization") != self.authorization:
            return 401, {"error": "unauthorized"}
        body = self.body_of(seen)
        if body is None or set(body) < {"event", "target", "summary", "counts", "report_url"}:
            return 400, {"error": "bad body"}
        self.messages.append(body)
        return 204, {}


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    """``fake`` answering on a free port of 127.0.0.1 until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            status, reply = fake.handle(seen)
            data = b"" if status == 204 else json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that gave up waiting (the timeout test) is no error here

    server = Server(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
