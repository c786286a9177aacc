"""Each platform's contract against its local fake (tests/notify/fakes.py): the message
arrives in the platform's format, correctly signed; a bad signature, a rate limit and
an invalid key or token each give a clear NotifyError naming the destination, never
its URL or secret. The summaries themselves: counts, top items with the ERP's names,
the link, and WeCom's 4096-byte limit."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from erpsync import secrets
from erpsync.config import Destination, NotifySettings
from erpsync.errors import UsageError
from erpsync.notify import Notifier, NotifyError
from erpsync.notify.message import ReviewerProgress, Summary, drift_summary, review_summary
from tests.notify.fakes import DingTalk, Fake, Feishu, Webhook, WeCom, serving

REPORT_URL = "https://ci.example.com/erp/-/jobs/42/artifacts/file/drift.html"
DOC: dict[str, Any] = {
    "target": {"name": "prod", "adapter": "ruoyi", "url": "mysql://…", "tenant": None},
    "summary": {
        "drift": True,
        "total": 8,
        "changed": 1,
        "missing": 1,
        "extra": 4,
        "sod_violations": 1,
        "expired_active": 1,
        "out_of_band": 1,
        "unmanaged": 0,
        "accepted": 0,
        "dormant": 2,
    },
    "changed": [
        {
            "kind": "user",
            "key": "li.na",
            "name": "李娜",
            "fields": [{"field": "department"}],
            "out_of_band": True,
            "changed_by": "ui-admin",
        }
    ],
    "missing": [{"kind": "role", "key": "buyer", "name": "采购员", "out_of_band": None}],
    "extra": [
        {"kind": "user", "key": f"temp{i}", "name": f"临时工{i}", "apply_action": "deactivate"}
        for i in range(4)
    ],
    "sod": [
        {"rule": "SOD-P2P-01", "severity": "high", "user": "zhang.wei2", "counts_as_drift": True}
    ],
    "expired_active": [{"login": "feng.yang", "name": "冯洋", "expires": "2026-10-31"}],
    "dormant": {"days": 90, "users": [{"login": "a"}, {"login": "b"}]},
}


def summary() -> Summary:
    return drift_summary(DOC, REPORT_URL)


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    secrets.forget()


def notifier(dest: Destination, out: io.StringIO | None = None) -> Notifier:
    settings = NotifySettings(destinations={"ops": dest}, timeout=5)
    console = Console(file=out or io.StringIO(), width=200, no_color=True)
    return Notifier(settings, ["ops"], console)


def refused(dest: Destination, fake: Fake) -> str:
    with pytest.raises(NotifyError) as info:
        notifier(dest).post(lambda url: summary())
    text = str(info.value)
    assert text.startswith("1 notification failed:\n  ops ("), text
    assert fake.base_url not in text  # the URL carries the credential: never shown
    for secret in (dest.url, dest.secret, *dest.headers.values()):
        assert not secret or secret not in text
    return text


# -- DingTalk ------------------------------------------------------------------------------


def test_dingtalk_gets_one_signed_markdown_message() -> None:
    out = io.StringIO()
    with serving(DingTalk(secret="SECa1b2c3d4e5f6", keywords=("erpsync",))) as fake:
        dest = Destination(kind="dingtalk", url=fake.url, secret="SECa1b2c3d4e5f6")
        notifier(dest, out).post(lambda url: summary())
    (message,) = fake.messages
    (seen,) = fake.requests
    assert seen.headers["content-type"] == "application/json; charset=utf-8"
    assert set(seen.query) == {"access_token", "timestamp", "sign"}
    assert message["markdown"]["title"] == "erpsync drift · prod: 8 to look at"
    text = message["markdown"]["text"]
    assert text.startswith("### erpsync drift · prod: 8 to look at\n\n**Drift: 1 changed,")
    assert "- changed user li.na (李娜): department (out of band: ui-admin)" in text
    assert "- 2 dormant account(s): no sign-in for 90+ days" in text
    assert "- … and 3 more" in text  # 8 items, 5 listed
    assert f"[Full report]({REPORT_URL})" in text
    assert out.getvalue() == "Notified ops (DingTalk (钉钉)).\n"


def test_dingtalk_wrong_secret_rate_limit_and_unknown_token() -> None:
    with serving(DingTalk(secret="SECright")) as fake:
        wrong = Destination(kind="dingtalk", url=fake.url, secret="SECwrong")
        assert "errcode 310000" in refused(wrong, fake)
        assert "加签 secret" in refused(wrong, fake)
        unsigned = Destination(kind="dingtalk", url=fake.url)  # 加签 on, no secret given
        assert "errcode 310000" in refused(unsigned, fake)
        assert fake.messages == []
        fake.per_minute = 0
        right = Destination(kind="dingtalk", url=fake.url, secret="SECright")
        text = refused(right, fake)
        assert "DingTalk rate limit (errcode 130101" in text
        assert "20 messages a minute" in text
        other = Destination(kind="dingtalk", url=fake.url.replace(fake.token, "nope12345"))
        assert "errcode 300001" in refused(other, fake)
        assert "access_token" in refused(other, fake)


def test_dingtalk_keyword_check() -> None:
    with serving(DingTalk(keywords=("审计",))) as fake:
        text = refused(Destination(kind="dingtalk", url=fake.url), fake)
    assert "keywords not in content" in text
    assert "keywords (the message contains 'erpsync')" in text


# -- WeCom ---------------------------------------------------------------------------------


def test_wecom_gets_markdown_within_4096_bytes() -> None:
    many = dict(DOC, extra=[{"kind": "user", "key": "x" * 900, "name": "长" * 300}] * 40)
    with serving(WeCom()) as fake:
        dest = Destination(kind="wecom", url=fake.url)
        notifier(dest).post(lambda url: drift_summary(many, url))
    (message,) = fake.messages
    content = message["markdown"]["content"]
    assert message["msgtype"] == "markdown"
    assert len(content.encode("utf-8")) <= 4096
    assert "- … and " in content
    assert "Full report" not in content  # no report_url set: no link


def test_wecom_invalid_key_and_rate_limit() -> None:
    with serving(WeCom()) as fake:
        bad = Destination(kind="wecom", url=fake.url.replace(fake.key, "0000-bad-key"))
        text = refused(bad, fake)
        assert "errcode 93000" in text
        assert "check the webhook URL's key" in text
        assert "0000-bad-key" not in text
        fake.per_minute = 0
        text = refused(Destination(kind="wecom", url=fake.url), fake)
        assert "WeCom rate limit (errcode 45009: api freq out of limit)" in text


# -- Feishu --------------------------------------------------------------------------------


def test_feishu_gets_one_signed_card() -> None:
    with serving(Feishu(secret="fs-secret-42")) as fake:
        dest = Destination(kind="feishu", url=fake.url, secret="fs-secret-42")
        notifier(dest).post(lambda url: summary())
    (message,) = fake.messages
    assert message["msg_type"] == "interactive"
    assert message["timestamp"].isdigit()
    assert message["sign"]
    header = message["card"]["header"]
    assert header == {
        "title": {"tag": "plain_text", "content": "erpsync drift · prod: 8 to look at"},
        "template": "red",
    }
    content = message["card"]["elements"][0]["content"]
    assert content.startswith("**Drift: 1 changed")  # the title is in the header
    assert "- SoD violation SOD-P2P-01 (high): user zhang.wei2" in content


def test_feishu_wrong_secret_rate_limit_and_unknown_hook() -> None:
    with serving(Feishu(secret="fs-right")) as fake:
        text = refused(Destination(kind="feishu", url=fake.url, secret="fs-wrong"), fake)
        assert "Feishu refused the signature (code 19021" in text
        fake.per_minute = 0
        text = refused(Destination(kind="feishu", url=fake.url, secret="fs-right"), fake)
        assert "Feishu rate limit (code 11232" in text
        gone = Destination(kind="feishu", url=fake.url.replace(fake.token, "deadbeef-0000"))
        text = refused(gone, fake)
        assert "code 19001" in text
        assert "deadbeef-0000" not in text


# -- generic webhook -----------------------------------------------------------------------


def test_webhook_gets_the_counts_as_json_with_its_headers() -> None:
    with serving(Webhook()) as fake:
        dest = Destination(
            kind="webhook", url=fake.url, headers={"Authorization": fake.authorization}
        )
        notifier(dest).post(lambda url: summary())
        (message,) = fake.messages
        assert message["event"] == "drift"
        assert message["target"] == "prod"
        assert message["report_url"] == REPORT_URL
        assert message["counts"]["extra"] == 4
        assert message["counts"]["dormant"] == 2
        assert message["summary"].startswith("Drift: 1 changed")
        wrong = Destination(
            kind="webhook", url=fake.url, headers={"Authorization": "Bearer x0x0x0x0"}
        )
        text = refused(wrong, fake)
        assert "the webhook answered HTTP 401" in text


class Slow(Webhook):
    def answer(self, seen: Any) -> Any:
        time.sleep(1)
        return super().answer(seen)


def test_a_server_that_does_not_answer_in_time_is_a_clear_error() -> None:
    with serving(Slow()) as fake:
        settings = NotifySettings(
            destinations={"hook": Destination(kind="webhook", url=fake.url)}, timeout=0.2
        )
        with pytest.raises(NotifyError, match=r"hook \(webhook\): no answer within 0.2 s"):
            Notifier(settings, ["hook"], Console(file=io.StringIO())).post(lambda url: summary())


def test_no_server_is_a_clear_error() -> None:
    with serving(Webhook()) as fake:
        url = fake.url
    text = refused(Destination(kind="webhook", url=url), fake)
    assert "could not reach the server" in text


# -- resolving names, and what is said -----------------------------------------------------


def test_unknown_names_and_non_http_urls_are_refused_before_any_work() -> None:
    settings = NotifySettings(destinations={"ops": Destination(kind="wecom", url="ftp://x/y")})
    with pytest.raises(
        UsageError, match=r"--notify opz: no such destination \(did you mean .ops.\?\); settings"
    ):
        Notifier(settings, ["opz"], Console(file=io.StringIO()))
    with pytest.raises(UsageError, match=r"--notify ops: its url is not an http\(s\) URL"):
        Notifier(settings, ["ops"], Console(file=io.StringIO()))


def test_every_destination_is_tried_and_each_failure_named() -> None:
    with serving(DingTalk(secret="SECok")) as ding, serving(WeCom()) as wecom:
        settings = NotifySettings(
            destinations={
                "ops": Destination(kind="dingtalk", url=ding.url, secret="SECbad"),
                "it-team": Destination(kind="wecom", url=wecom.url),
                "finance": Destination(kind="wecom", url=wecom.url + "x"),
            }
        )
        out = io.StringIO()
        with pytest.raises(NotifyError) as info:
            Notifier(settings, ["ops", "it-team", "finance"], Console(file=out)).post(
                lambda url: summary()
            )
    assert len(wecom.messages) == 1
    assert "Notified it-team (WeCom (企业微信))." in out.getvalue()
    lines = str(info.value).splitlines()
    assert lines[0] == "2 notifications failed:"
    assert lines[1].startswith("  ops (DingTalk (钉钉)): DingTalk refused")
    assert lines[2].startswith("  finance (WeCom (企业微信)): WeCom does not know this robot")


def test_names_from_the_erp_cannot_add_links_or_markup() -> None:
    doc = dict(DOC, changed=[dict(DOC["changed"][0], name="[点我](https://evil.example) <b>*")])
    text = drift_summary(doc, None).markdown()
    assert "](https://evil" not in text
    assert "<b>" not in text
    assert "［点我］(https://evil.example) ＜b＞＊" in text
    assert "Full report" not in text  # no report_url: no link


def test_review_progress_summary() -> None:
    found = review_summary(
        "demo",
        "2026-12-03-department-demo",
        "open, overdue",
        "2026-12-20",
        [
            ReviewerProgress("zhou.min", "周敏", 3, 3),
            ReviewerProgress("xie.ping", "谢萍", 0, 5),
            ReviewerProgress("zhao.lei", "赵磊", 2, 4),
        ],
        REPORT_URL,
    )
    assert found.title == "erpsync access review · demo: 5/12 decided"
    assert found.alert
    assert found.headline == (
        "Access review 2026-12-03-department-demo (open, overdue, due 2026-12-20): "
        "1 of 3 reviewer(s) done."
    )
    assert found.lines == (
        "xie.ping (谢萍): 0/5 decided, not started",
        "zhao.lei (赵磊): 2/4 decided",
    )
    assert dict(found.counts) == {"decided": 5, "lines": 12, "reviewers": 3, "reviewers_done": 1}


def test_a_destination_shows_neither_its_url_nor_its_secret() -> None:
    dest = Destination(
        kind="webhook",
        url="https://hooks.example.com/t/0a1b2c3d4e5f",
        headers={"Authorization": "Bearer 9z8y7x6w"},
    )
    shown = repr(NotifySettings(destinations={"hook": dest}))
    assert "hook" in shown
    assert "0a1b2c3d4e5f" not in shown
    assert "9z8y7x6w" not in shown
