"""``erpsync drift --notify`` and ``erpsync review status --notify`` on the demo company
in the reference ERP (SQLite), against the local platform fakes: one correctly signed
message; a wrong secret, a rate limit or an invalid key exits 1 naming the destination
with the drift report still written; no secret (URL token, key, signing secret,
header) in stdout, stderr or the report; settings.notify errors at their line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync import secrets
from erpsync.adapters.reference.database import init_database
from tests.notify.fakes import DingTalk, Feishu, Webhook, WeCom, serving
from tests.test_dormant import erpsync, project

DING_SECRET = "SEC5d41402abc4b2a76b9719d911017c592"
FEISHU_SECRET = "fs-7c6a180b36896a0a8c02787eeafb0e4c"
WEBHOOK_TOKEN = "Bearer wh-1e4e888ac66f8dd41e00c5a7ac36a32a"
NOTIFY = """\
  notify:
    report_url: "https://ci.example.com/erp/-/jobs/${CI_JOB_ID:-0}/artifacts/file/drift.html"
    destinations:
      ops: {kind: dingtalk, url: "${ERPSYNC_DINGTALK_URL}", secret: "${ERPSYNC_DINGTALK_SECRET}"}
      it-team: {kind: wecom, url: "${ERPSYNC_WECOM_URL}"}
      finance: {kind: feishu, url: "${ERPSYNC_FEISHU_URL}", secret: "${ERPSYNC_FEISHU_SECRET}"}
      hook: {kind: webhook, url: "${HOOK_URL}", headers: {Authorization: "${HOOK_TOKEN}"}}
"""


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo company's repository with its ERP on SQLite and settings.notify, run in."""
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, sample=True)
    project(tmp_path, url)
    config = tmp_path / "erpsync.yaml"
    config.write_text(config.read_text("utf-8").rstrip("\n") + "\n" + NOTIFY, "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI_JOB_ID", "4242")
    for name in ("ERPSYNC_DINGTALK_URL", "ERPSYNC_WECOM_URL", "ERPSYNC_FEISHU_URL", "HOOK_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/unused")
    monkeypatch.setenv("ERPSYNC_DINGTALK_SECRET", DING_SECRET)
    monkeypatch.setenv("ERPSYNC_FEISHU_SECRET", FEISHU_SECRET)
    monkeypatch.setenv("HOOK_TOKEN", WEBHOOK_TOKEN)
    yield tmp_path
    secrets.forget()


def no_secrets(*texts: str, hidden: tuple[str, ...]) -> None:
    for text in texts:
        for secret in hidden:
            assert secret not in text


def test_drift_notify_dingtalk_posts_one_signed_message(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(DingTalk(secret=DING_SECRET, keywords=("erpsync",))) as fake:
        monkeypatch.setenv("ERPSYNC_DINGTALK_URL", fake.url)
        code, said = erpsync(
            capsys, "drift", "--format", "html", "--out", "drift.html", "--notify", "ops"
        )
    assert code == 2, said  # the sample company drifts; the post succeeded
    assert "Wrote the drift report (html) to drift.html." in said
    assert "Notified ops (DingTalk (钉钉))." in said
    (message,) = fake.messages  # one message, its signature checked by the fake
    assert len(fake.requests) == 1
    markdown = message["markdown"]
    assert markdown["title"].startswith("erpsync drift · demo: ")
    assert "dormant account(s): no sign-in for 90+ days" in markdown["text"]
    assert "- changed user deng.li (邓丽): department" in markdown["text"]  # the ERP's names
    link = "[Full report](https://ci.example.com/erp/-/jobs/4242/artifacts/file/drift.html)"
    assert link in markdown["text"]
    report = (demo / "drift.html").read_text("utf-8")
    no_secrets(said, report, hidden=(fake.token, DING_SECRET))


def test_drift_with_a_wrong_secret_exits_1_and_still_writes_the_report(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(DingTalk(secret="SEC-the-robots-real-secret")) as fake:
        monkeypatch.setenv("ERPSYNC_DINGTALK_URL", fake.url)
        code, said = erpsync(
            capsys, "drift", "--format", "markdown", "--out", "drift.md", "--notify", "ops"
        )
    assert code == 1, said
    assert fake.messages == []
    assert "Wrote the drift report (markdown) to drift.md." in said
    assert "error: 1 notification failed:" in said
    assert (
        "ops (DingTalk (钉钉)): DingTalk refused the robot's security check (errcode 310000" in said
    )
    assert (demo / "drift.md").read_text("utf-8").startswith("#")
    no_secrets(said, (demo / "drift.md").read_text("utf-8"), hidden=(fake.token, DING_SECRET))


@pytest.mark.parametrize("failure", ["rate limit", "invalid key"])
def test_drift_notify_wecom_failures(
    failure: str,
    demo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = WeCom(per_minute=0 if failure == "rate limit" else 20)
    with serving(fake):
        url = fake.url if failure == "rate limit" else fake.url.replace(fake.key, "k-0ld-r3m0v3d")
        monkeypatch.setenv("ERPSYNC_WECOM_URL", url)
        code, said = erpsync(
            capsys, "drift", "--format", "json", "--out", "d.json", "--notify", "it-team"
        )
    assert code == 1, said
    expected = "errcode 45009" if failure == "rate limit" else "errcode 93000"
    assert "it-team (WeCom (企业微信)): WeCom" in said
    assert expected in said
    assert json.loads((demo / "d.json").read_text("utf-8"))["report"] == "drift"
    no_secrets(said, hidden=(fake.key, "k-0ld-r3m0v3d", fake.base_url))


def test_drift_notify_feishu_and_webhook_together_with_json_on_stdout(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        serving(Feishu(secret=FEISHU_SECRET)) as feishu,
        serving(Webhook(authorization=WEBHOOK_TOKEN)) as hook,
    ):
        monkeypatch.setenv("ERPSYNC_FEISHU_URL", feishu.url)
        monkeypatch.setenv("HOOK_URL", hook.url)
        capsys.readouterr()
        from erpsync import cli

        code = cli.main(
            ["--no-color", "drift", "--format", "json", "--notify", "finance", "--notify", "hook"]
        )
        out = capsys.readouterr()
    assert code == 2, out.err
    doc = json.loads(out.out)  # stdout stays the report alone; the notes go to stderr
    assert "Notified finance (Feishu (飞书)).\nNotified hook (webhook).\n" in out.err
    (card,) = feishu.messages
    assert card["card"]["header"]["template"] == "red"
    (sent,) = hook.messages
    assert sent["event"] == "drift"
    assert sent["target"] == "demo"
    assert sent["counts"]["extra"] == doc["summary"]["extra"]
    assert sent["counts"]["dormant"] == doc["summary"]["dormant"] == 3
    no_secrets(out.out, out.err, hidden=(feishu.token, FEISHU_SECRET, WEBHOOK_TOKEN))


def test_review_status_notify_posts_the_progress(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert erpsync(capsys, "review", "start", "--format", "csv")[0] == 0
    with serving(WeCom()) as fake:
        monkeypatch.setenv("ERPSYNC_WECOM_URL", fake.url)
        code, said = erpsync(capsys, "review", "status", "--notify", "it-team")
    assert code == 0, said
    assert "Notified it-team (WeCom (企业微信))." in said
    (message,) = fake.messages
    content = message["markdown"]["content"]
    assert content.startswith("### erpsync access review · demo: 0/")
    assert "reviewer(s) done." in content
    assert "not started" in content
    no_secrets(said, hidden=(fake.key,))


def test_an_unknown_destination_is_refused_before_reading(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said = erpsync(capsys, "drift", "--out", "x.txt", "--notify", "opz")
    assert code == 1
    assert "--notify opz: no such destination (did you mean 'ops'?)" in said
    assert not (demo / "x.txt").exists()  # refused before any work
    code, said = erpsync(capsys, "drift", "--all-targets", "--out", "d", "--notify", "opz")
    assert code == 1
    assert "--notify opz: no such destination" in said
    assert not (demo / "d").exists()


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        (
            "x: {kind: slack, url: u}",
            "5:11",
            "invalid value 'slack': expected 'dingtalk', 'wecom', 'feishu' or 'webhook'",
        ),
        (
            "x: {kind: dingtalk}",
            "5:7",
            "settings.notify.destinations.x: missing required field 'url'",
        ),
        (
            "x: {kind: wecom, url: u, secret: s3cr3t-value}",
            "5:32",
            "notify x: a wecom robot is not signed; remove 'secret'",
        ),
        ("x: {kind: feishu, url: u, headers: {A: b}}", "5:33", "a feishu robot takes no headers"),
        ("x: {kind: webhook, url: u, token: t}", "5:34", "unknown field 'token'"),
    ],
)
def test_settings_notify_errors_at_their_line(
    entry: str,
    where: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "erpsync.yaml").write_text(
        f"settings:\n  notify:\n    report_url: https://r\n    destinations:\n      {entry}\n",
        "utf-8",
    )
    monkeypatch.chdir(tmp_path)
    code, said = erpsync(capsys, "drift")
    assert code == 1
    assert f"erpsync.yaml:{where}: error: " in said
    assert message in said
    assert "s3cr3t-value" not in said


def test_unset_robot_variables_fail_only_the_destination_that_needs_them(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A merge-request job without the robots' secrets still plans and reports drift."""
    monkeypatch.delenv("ERPSYNC_DINGTALK_URL")
    monkeypatch.delenv("ERPSYNC_DINGTALK_SECRET")
    monkeypatch.delenv("CI_JOB_ID")  # report_url has a default: still fine
    assert erpsync(capsys, "validate")[0] == 0
    code, said = erpsync(capsys, "drift", "--out", "drift.txt")
    assert code == 2, said
    code, said = erpsync(capsys, "drift", "--out", "again.txt", "--notify", "ops")
    assert code == 1
    assert "error: --notify ops: erpsync.yaml:" in said.replace(str(demo) + "/", "")
    unset = "environment variable ERPSYNC_DINGTALK_URL is not set"
    assert f"{unset} (settings.notify.destinations.ops.url)" in said
    assert "ERPSYNC_DINGTALK_SECRET is not set (settings.notify.destinations.ops.secret)" in said
    assert not (demo / "again.txt").exists()  # refused before the ERP is read
    with serving(WeCom()) as fake:  # another destination still works
        monkeypatch.setenv("ERPSYNC_WECOM_URL", fake.url)
        code, said = erpsync(capsys, "drift", "--out", "d.txt", "--notify", "it-team")
    assert code == 2, said
    assert len(fake.messages) == 1
