"""The GitLab side of the CI flows: the client against a fake GitLab on 127.0.0.1 that
checks method, path, headers and JSON body as GitLab's REST API v4 documents them and
answers as GitLab does (errors included), the ``erpsync ci …`` steps end to end with
``--platform gitlab``, and the ``.gitlab-ci.yml`` that ``erpsync init --ci gitlab`` writes
(its rules and scripts, and ``gitlab-ci-local --list``).

No test reaches the network.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from erpsync import cli
from erpsync.ci import drift_issue, plan_compare
from erpsync.ci import gitlab_flow as flow
from erpsync.ci.gitlab import GitLab, GitLabError, JobContext, token_from_env
from erpsync.ci.reviewed import NotReviewed
from erpsync.ci.sticky_comment import Metadata, Outcome, render_body
from erpsync.commands import ci_cmd
from erpsync.config import load_project
from erpsync.errors import UsageError
from erpsync.plan import Plan
from erpsync.scaffold import GITLAB_FILES, scaffold
from tests.render import change, plan_dict, small_plan
from tests.test_ci import report

TOKEN = "glpat-fake-Token-Zq8x"
JOB_TOKEN = "glcbt-64_fake-job-token"
PROJECT = "42"
BOT = "project_42_bot_5d1e"
PREFIX = f"/api/v4/projects/{PROJECT}/"

# The body keys each write accepts (GitLab answers 400 for a missing required one).
REQUIRED = {
    "POST notes": {"body"},
    "PUT notes": {"body"},
    "POST issues": {"title"},
    "POST labels": {"name", "color"},
}
ALLOWED = {
    "POST notes": {"body", "internal", "created_at", "merge_request_diff_head_sha"},
    "PUT notes": {"body", "confidential"},
    "POST issues": {"title", "description", "labels", "assignee_ids", "confidential"},
    "PUT issue": {"title", "description", "labels", "add_labels", "remove_labels", "state_event"},
    "PUT mr": {"title", "description", "labels", "add_labels", "remove_labels", "state_event"},
    "POST labels": {"name", "color", "description", "priority"},
}


def quiet() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, no_color=True, soft_wrap=True), out


class FakeGitLab:
    """An in-memory slice of GitLab's REST API v4 for project 42, on 127.0.0.1."""

    def __init__(self) -> None:
        self.notes: dict[int, list[dict[str, Any]]] = {}  # merge request iid -> notes
        self.issue_notes: dict[int, list[dict[str, Any]]] = {}
        self.mr_labels: dict[int, list[str]] = {}
        self.issues: dict[int, dict[str, Any]] = {}
        self.mrs_of: dict[str, list[dict[str, Any]]] = {}
        self.jobs: dict[int, dict[str, Any]] = {}
        self.artifacts: dict[tuple[int, str], bytes] = {}
        self.pipelines: list[dict[str, Any]] = []
        self.pipeline_jobs: dict[int, list[dict[str, Any]]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.fail_next: list[tuple[int, dict[str, str]]] = []  # (status, headers) to answer
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.page_size = 2
        self.next_id = 500
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v4"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, answer, headers = fake.handle(self.command, self.path, raw, self.headers)
                if isinstance(answer, bytes):
                    data, kind = answer, "application/octet-stream"
                else:
                    data, kind = json.dumps(answer).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler

    def handle(
        self, method: str, target: str, raw: bytes, headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(parts.query))
        lowered = {k.lower(): v for k, v in headers.items()}
        body = None
        if raw:
            if lowered.get("content-type") != "application/json":
                return 415, {"error": "415 Unsupported Media Type"}, {}
            body = json.loads(raw)
        self.requests.append((method, parts.path, lowered, body))
        job_token = lowered.get("job-token")
        if lowered.get("private-token") != TOKEN and job_token != JOB_TOKEN:
            return 401, {"message": "401 Unauthorized"}, {}
        if self.fail_next:
            status, extra = self.fail_next.pop(0)
            message = {
                403: "403 Forbidden",
                404: "404 Not found",
                429: "Retry later",
                502: "502 Bad Gateway",
            }[status]
            return status, {"message": message}, extra
        if parts.path == "/api/v4/user":
            if job_token:
                return 401, {"message": "401 Unauthorized"}, {}
            return 200, {"id": 7, "username": BOT}, {}
        if not parts.path.startswith(PREFIX):
            return 404, {"message": "404 Project Not Found"}, {}
        route = parts.path.removeprefix(PREFIX)
        if job_token and not re.fullmatch(r"jobs/\d+/artifacts(/.*)?", route):
            # The job token reaches only a few endpoints (job artifacts among them).
            return 403, {"message": "403 Forbidden"}, {}
        for pattern, action in self.routes():
            match = re.fullmatch(pattern, f"{method} {route}")
            if match:
                return action(match, body, query, parts.path)
        return 404, {"error": "404 Not Found"}, {}

    def routes(self) -> list[tuple[str, Any]]:
        return [
            (r"GET merge_requests/(\d+)/notes", self.list_notes),
            (r"POST merge_requests/(\d+)/notes", self.create_note),
            (r"PUT merge_requests/(\d+)/notes/(\d+)", self.update_note),
            (r"GET merge_requests/(\d+)", self.get_mr),
            (r"PUT merge_requests/(\d+)", self.update_mr),
            (r"GET labels/(.+)", self.get_label),
            (r"POST labels", self.create_label),
            (r"GET issues", self.list_issues),
            (r"POST issues", self.create_issue),
            (r"PUT issues/(\d+)", self.update_issue),
            (r"POST issues/(\d+)/notes", self.create_issue_note),
            (r"GET repository/commits/(\w+)/merge_requests", self.commit_mrs),
            (r"GET jobs/(\d+)", self.get_job),
            (r"GET jobs/(\d+)/artifacts/(.+)", self.get_artifact),
            (r"GET pipelines", self.list_pipelines),
            (r"GET pipelines/(\d+)/jobs", self.list_pipeline_jobs),
        ]

    @staticmethod
    def check(kind: str, body: Any) -> tuple[int, Any, dict[str, str]] | None:
        """GitLab's 400 for a body without a required key or with an unknown one."""
        if not isinstance(body, dict):
            return 400, {"error": "body is missing"}, {}
        missing = REQUIRED.get(kind, set()) - set(body)
        if missing:
            return 400, {"error": f"{sorted(missing)[0]} is missing"}, {}
        unknown = set(body) - ALLOWED[kind]
        if unknown:
            return 400, {"error": f"unknown parameter {sorted(unknown)[0]}"}, {}
        return None

    def page(self, items: list[Any], query: dict[str, str]) -> Any:
        size = min(int(query.get("per_page", 20)), self.page_size)
        number = int(query.get("page", 1))
        chunk = items[(number - 1) * size : number * size]
        following = str(number + 1) if number * size < len(items) else ""
        headers = {
            "X-Page": str(number),
            "X-Per-Page": str(size),
            "X-Next-Page": following,
            "X-Total": str(len(items)),
        }
        return 200, chunk, headers

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def list_notes(self, m: Any, body: Any, query: dict[str, str], path: str) -> Any:
        assert (query.get("sort"), query.get("order_by")) == ("asc", "created_at")
        return self.page(self.notes.get(int(m[1]), []), query)

    def create_note(self, m: Any, body: Any, *_: Any) -> Any:
        if bad := self.check("POST notes", body):
            return bad
        note = {"id": self.new_id(), "body": body["body"], "author": {"username": BOT}}
        note["system"] = False
        self.notes.setdefault(int(m[1]), []).append(note)
        return 201, note, {}

    def update_note(self, m: Any, body: Any, *_: Any) -> Any:
        if bad := self.check("PUT notes", body):
            return bad
        for note in self.notes.get(int(m[1]), []):
            if note["id"] == int(m[2]):
                if note["author"]["username"] != BOT:
                    return 403, {"message": "403 Forbidden"}, {}
                note["body"] = body["body"]
                return 200, note, {}
        return 404, {"message": "404 Not found"}, {}

    def get_mr(self, m: Any, *_: Any) -> Any:
        iid = int(m[1])
        return 200, {"iid": iid, "labels": list(self.mr_labels.get(iid, []))}, {}

    def update_mr(self, m: Any, body: Any, *_: Any) -> Any:
        if bad := self.check("PUT mr", body):
            return bad
        if any(body.get(key) == "" for key in ("add_labels", "remove_labels")):
            return 400, {"error": "labels are empty"}, {}  # strict: send only what changes
        labels = self.mr_labels.setdefault(int(m[1]), [])
        for name in filter(None, body.get("add_labels", "").split(",")):
            if name not in labels:
                labels.append(name)
        for name in filter(None, body.get("remove_labels", "").split(",")):
            if name in labels:
                labels.remove(name)
        return 200, {"iid": int(m[1]), "labels": labels}, {}

    def get_label(self, m: Any, *_: Any) -> Any:
        found = self.labels.get(urllib.parse.unquote(m[1]))
        return (200, found, {}) if found else (404, {"message": "404 Label Not Found"}, {})

    def create_label(self, m: Any, body: Any, *_: Any) -> Any:
        if bad := self.check("POST labels", body):
            return bad
        if not re.fullmatch(r"#[0-9a-f]{6}", body["color"]):
            return 400, {"message": {"color": ["must be a valid color code"]}}, {}
        if body["name"] in self.labels:
            return 409, {"message": "Label already exists"}, {}
        self.labels[body["name"]] = {"id": self.new_id(), **body}
        return 201, self.labels[body["name"]], {}

    def list_issues(self, m: Any, body: Any, query: dict[str, str], path: str) -> Any:
        state = query.get("state", "all")
        assert state in ("opened", "closed", "all")
        found = [
            i
            for i in self.issues.values()
            if state in ("all", i["state"]) and query.get("labels", "") in i["labels"]
        ]
        return self.page(found, query)

    def create_issue(self, m: Any, body: Any, *_: Any) -> Any:
        if bad := self.check("POST issues", body):
            return bad
        iid = self.new_id()
        self.issues[iid] = {
            "id": iid + 9000,
            "iid": iid,
            "title": body["title"],
            "description": body.get("description"),
            "state": "opened",
            "labels": [n for n in body.get("labels", "").split(",") if n],
            "author": {"username": BOT},
        }
        return 201, self.issues[iid], {}

    def update_issue(self, m: Any, body: Any, *_: Any) -> Any:
        if bad := self.check("PUT issue", body):
            return bad
        found = self.issues.get(int(m[1]))
        if found is None:
            return 404, {"message": "404 Issue Not Found"}, {}
        found.update({k: v for k, v in body.items() if k in ("title", "description")})
        if body.get("state_event") == "close":
            found["state"] = "closed"
        return 200, found, {}

    def create_issue_note(self, m: Any, body: Any, *_: Any) -> Any:
        if bad := self.check("POST notes", body):
            return bad
        note = {"id": self.new_id(), "body": body["body"], "author": {"username": BOT}}
        self.issue_notes.setdefault(int(m[1]), []).append(note)
        return 201, note, {}

    def commit_mrs(self, m: Any, body: Any, query: dict[str, str], path: str) -> Any:
        return self.page(self.mrs_of.get(m[1], []), query)

    def get_job(self, m: Any, *_: Any) -> Any:
        job = self.jobs.get(int(m[1]))
        return (200, job, {}) if job else (404, {"message": "404 Not found"}, {})

    def get_artifact(self, m: Any, *_: Any) -> Any:
        data = self.artifacts.get((int(m[1]), urllib.parse.unquote(m[2])))
        return (200, data, {}) if data is not None else (404, {"message": "404 Not found"}, {})

    def list_pipelines(self, m: Any, body: Any, query: dict[str, str], path: str) -> Any:
        assert (query["order_by"], query["sort"]) == ("id", "desc")
        found = [
            p
            for p in sorted(self.pipelines, key=lambda p: -int(p["id"]))
            if all(p[k] == query[k] for k in ("ref", "source", "status"))
        ]
        return 200, found[: int(query["per_page"])], {}

    def list_pipeline_jobs(self, m: Any, body: Any, query: dict[str, str], path: str) -> Any:
        jobs = self.pipeline_jobs.get(int(m[1]), [])
        return self.page([j for j in jobs if j["status"] == query.get("scope[]")], query)

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _, _ in self.requests if method != "GET"]


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    fake = FakeGitLab()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def client(fake: FakeGitLab, token: str = TOKEN, header: Any = "PRIVATE-TOKEN") -> GitLab:
    return GitLab(token, PROJECT, fake.url, header, timeout=5, retry_delay=0)


def job_env(fake: FakeGitLab, **more: str) -> dict[str, str]:
    env = {
        "GITLAB_CI": "true",
        "ERPSYNC_GITLAB_TOKEN": TOKEN,
        "CI_JOB_TOKEN": JOB_TOKEN,
        "CI_API_V4_URL": fake.url,
        "CI_PROJECT_ID": PROJECT,
        "CI_JOB_ID": "9001",
        "CI_JOB_URL": "https://gitlab.example/acme/policies/-/jobs/9001",
        "CI_COMMIT_SHA": "m1",
        "CI_DEFAULT_BRANCH": "main",
    }
    return {**env, **more}


# -- the client ----------------------------------------------------------------------------


def test_the_client_pages_with_x_next_page_and_sends_the_token_only_in_its_header(
    gitlab: FakeGitLab,
) -> None:
    gitlab.notes[3] = [
        {"id": n, "body": f"n{n}", "author": {"username": "x"}, "system": False} for n in range(5)
    ]
    found = client(gitlab).merge_request_notes(3)
    assert [n["id"] for n in found] == [0, 1, 2, 3, 4]
    assert len(gitlab.requests) == 3  # pages of 2, 2 and 1
    for method, path, headers, _ in gitlab.requests:
        assert (method, path) == ("GET", "/api/v4/projects/42/merge_requests/3/notes")
        assert headers["private-token"] == TOKEN
        assert "authorization" not in headers
        assert "job-token" not in headers
        assert headers["user-agent"].startswith("erpsync/")
        assert TOKEN not in path


def test_a_project_path_is_url_encoded_as_gitlab_wants(gitlab: FakeGitLab) -> None:
    lab = GitLab(TOKEN, "acme/erp/policies", gitlab.url, retry_delay=0)
    with pytest.raises(GitLabError, match="404"):
        lab.merge_request(1)
    assert gitlab.requests[-1][1] == "/api/v4/projects/acme%2Ferp%2Fpolicies/merge_requests/1"


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (403, {}, "HTTP 403: 403 Forbidden (the token in ERPSYNC_GITLAB_TOKEN needs the api"),
        (404, {}, "HTTP 404: 404 Not found (not found, or not visible to the token"),
        (
            429,
            {"Retry-After": "30"},
            "HTTP 429: Retry later (GitLab's rate limit; retry after 30 s)",
        ),
    ],
)
def test_errors_name_the_call_status_and_what_to_check(
    gitlab: FakeGitLab, status: int, headers: dict[str, str], expected: str
) -> None:
    gitlab.fail_next = [(status, headers)] * 3
    with pytest.raises(GitLabError) as caught:
        client(gitlab).create_merge_request_note(3, "x")
    assert caught.value.status == status
    assert str(caught.value).startswith(
        "GitLab API POST /api/v4/projects/42/merge_requests/3/notes"
    )
    assert expected in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_wrong_token_is_a_clear_401_that_never_shows_it(gitlab: FakeGitLab) -> None:
    bad = client(gitlab, token="glpat-wrong-token")
    with pytest.raises(GitLabError) as caught:
        bad.issues("erpsync drift")
    message = str(caught.value)
    assert caught.value.status == 401
    assert "GET /api/v4/projects/42/issues: HTTP 401: 401 Unauthorized" in message
    assert "ERPSYNC_GITLAB_TOKEN" in message
    assert "glpat-wrong-token" not in message
    assert "glpat-wrong-token" not in repr(bad)
    assert TOKEN not in repr(client(gitlab))


def test_the_job_token_reaches_artifacts_but_not_notes_and_says_what_to_set(
    gitlab: FakeGitLab,
) -> None:
    gitlab.artifacts[(77, "plan.json")] = b"{}"
    lab = client(gitlab, JOB_TOKEN, "JOB-TOKEN")
    assert lab.job_artifact(77, "plan.json") == b"{}"
    assert gitlab.requests[-1][2]["job-token"] == JOB_TOKEN
    assert "private-token" not in gitlab.requests[-1][2]
    with pytest.raises(GitLabError, match="CI_JOB_TOKEN may not call this endpoint") as caught:
        lab.create_merge_request_note(3, "x")
    assert JOB_TOKEN not in str(caught.value)


def test_a_get_is_retried_after_a_server_error_a_post_is_not(gitlab: FakeGitLab) -> None:
    gitlab.fail_next = [(502, {})]
    assert client(gitlab).issues("x") == []
    gitlab.fail_next = [(502, {})]
    with pytest.raises(GitLabError, match="HTTP 502"):
        client(gitlab).create_issue("t", "d", ["x"])
    assert gitlab.issues == {}


def test_the_token_goes_only_to_https_or_loopback() -> None:
    with pytest.raises(UsageError, match="not https"):
        GitLab(TOKEN, PROJECT, "http://gitlab.example.com/api/v4")
    with pytest.raises(UsageError, match="not a GitLab project"):
        GitLab(TOKEN, "/acme/", "https://gitlab.example.com/api/v4")
    GitLab(TOKEN, PROJECT, "https://gitlab.example.com/api/v4")
    GitLab(TOKEN, PROJECT, "http://[::1]:8080/api/v4", "JOB-TOKEN")


def test_an_artifact_redirected_to_object_storage_is_fetched_without_the_token() -> None:
    seen: dict[str, str | None] = {}

    class Storage(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen["private-token"] = self.headers.get("PRIVATE-TOKEN")
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"PLAN")

    storage = ThreadingHTTPServer(("127.0.0.1", 0), Storage)
    port = storage.server_address[1]

    class Redirector(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/bucket/plan.json")
            self.send_header("Content-Length", "0")
            self.end_headers()

    api = ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (storage, api)]
    for thread in threads:
        thread.start()
    try:
        lab = GitLab(TOKEN, PROJECT, f"http://127.0.0.1:{api.server_address[1]}/api/v4")
        assert lab.job_artifact(5, "plan.json") == b"PLAN"
        assert "private-token" in seen
        assert seen["private-token"] is None
    finally:
        for server in (storage, api):
            server.shutdown()
            server.server_close()


def test_the_job_context_and_the_token_come_from_the_environment() -> None:
    context = JobContext.from_env(
        {
            "CI_API_V4_URL": "https://git.example.cn/api/v4",
            "CI_PROJECT_ID": "42",
            "CI_MERGE_REQUEST_IID": "12",
            "CI_COMMIT_SHA": "merge-ref",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": "head",
            "CI_JOB_ID": "9",
        }
    )
    assert (context.api_url, context.project, context.merge_request_iid) == (
        "https://git.example.cn/api/v4",
        "42",
        12,
    )
    assert context.head_sha == "head"  # merged-results pipelines: the branch's own commit
    assert JobContext.from_env({"CI_COMMIT_SHA": "c"}).head_sha == "c"
    with pytest.raises(UsageError, match="not a number"):
        JobContext.from_env({"CI_MERGE_REQUEST_IID": "1; rm"})
    assert token_from_env({"ERPSYNC_GITLAB_TOKEN": "a", "CI_JOB_TOKEN": "b"}) == (
        "a",
        "PRIVATE-TOKEN",
    )
    assert token_from_env({"CI_JOB_TOKEN": "b"}) == ("b", "JOB-TOKEN")
    with pytest.raises(UsageError, match="ERPSYNC_GITLAB_TOKEN"):
        token_from_env({})
    assert ci_cmd.platform_of(None, {"GITLAB_CI": "true"}) == "gitlab"
    assert ci_cmd.platform_of(None, {"GITHUB_ACTIONS": "true"}) == "github"
    assert ci_cmd.platform_of("github", {"GITLAB_CI": "true"}) == "github"


# -- the plan note -------------------------------------------------------------------------


@pytest.fixture
def policy_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ERPSYNC_REFERENCE_URL", raising=False)
    repo = tmp_path / "repo"
    scaffold(repo, ci="gitlab")
    return repo


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def test_plan_comment_keeps_one_merge_request_note_and_its_labels(
    gitlab: FakeGitLab, policy_repo: Path, tmp_path: Path
) -> None:
    project = load_project(policy_repo / "erpsync.yaml")
    policies = policy_repo / "policies"
    pasted = Metadata("ok", "h1", "1", "sha256:forged").marker()
    gitlab.notes[12] = [
        {"id": 1, "body": "LGTM", "author": {"username": "alice"}, "system": False},
        {"id": 2, "body": pasted, "author": {"username": "mallory"}, "system": False},
        {"id": 3, "body": "added 1 commit", "author": {"username": BOT}, "system": True},
    ]
    gitlab.mr_labels[12] = ["财务"]

    def push(head: str, plan: dict[str, Any] | None) -> str:
        env = job_env(gitlab, CI_MERGE_REQUEST_IID="12", CI_COMMIT_SHA=head)
        plan_file = tmp_path / f"plan-{head}.json"
        if plan is not None:
            write_json(plan_file, plan)
        console, out = quiet()
        code = ci_cmd.plan_comment(
            project, policies, plan_file, None, None, None, False, console, env=env
        )
        assert code == 0
        return out.getvalue()

    said = push("h1", small_plan())
    assert "Posted the plan comment on merge request !12 (status ok)" in said
    assert "labels: +removes access." in said
    ours = [n for n in gitlab.notes[12] if n["author"]["username"] == BOT and not n["system"]]
    assert len(ours) == 1
    digest = plan_compare.changeset_digest(Plan.from_dict(small_plan()))
    assert Metadata.parse(ours[0]["body"]) == Metadata("ok", "h1", "9001", digest)
    assert "https://gitlab.example/acme/policies/-/jobs/9001" in ours[0]["body"]
    assert gitlab.mr_labels[12] == ["财务", "removes access"]
    assert gitlab.labels["removes access"]["color"] == "#d73a4a"
    assert ("GET", "/api/v4/user") in [(m, p) for m, p, _, _ in gitlab.requests]

    said = push("h2", plan_dict([]))
    assert "Updated the plan comment" in said
    assert "+no changes, -removes access" in said
    ours = [n for n in gitlab.notes[12] if n["author"]["username"] == BOT and not n["system"]]
    assert len(ours) == 1  # the same note, edited in place
    assert ("PUT", f"{PREFIX}merge_requests/12/notes/{ours[0]['id']}") in gitlab.writes()
    body = ours[0]["body"]  # in GitLab's words
    assert "Merging this merge request changes nothing in the ERP." in body
    assert "[job](https://gitlab.example/acme/policies/-/jobs/9001), artifact `plan.json`" in body
    assert "this note is updated in place on every push" in body
    assert "pull request" not in body
    assert "workflow run" not in body
    assert gitlab.mr_labels[12] == ["财务", "no changes"]

    writes = len(gitlab.writes())
    assert "Kept (unchanged)" in push("h2", plan_dict([]))
    assert len(gitlab.writes()) == writes  # nothing changed: nothing written

    push("h3", None)  # the plan failed
    assert Metadata.parse(ours[0]["body"]) == Metadata("failed", "h3", "9001")
    assert gitlab.mr_labels[12] == ["财务"]
    assert gitlab.notes[12][1]["body"] == pasted  # somebody else's note: untouched


def test_plan_comment_without_a_merge_request_or_a_token_is_a_clear_error(
    gitlab: FakeGitLab, policy_repo: Path, tmp_path: Path
) -> None:
    project = load_project(policy_repo / "erpsync.yaml")
    plan_file = write_json(tmp_path / "plan.json", small_plan())
    args = (project, policy_repo / "policies", plan_file, None, None, None, False, quiet()[0])
    with pytest.raises(UsageError, match="no merge request"):
        ci_cmd.plan_comment(*args, env=job_env(gitlab))
    env = job_env(gitlab, CI_MERGE_REQUEST_IID="12")
    del env["ERPSYNC_GITLAB_TOKEN"]
    with pytest.raises(UsageError, match="set the CI/CD variable ERPSYNC_GITLAB_TOKEN"):
        ci_cmd.plan_comment(*args, env=env)
    assert JOB_TOKEN not in str(gitlab.requests)  # refused before anything was sent


def test_the_cli_step_exits_1_with_gitlab_s_answer_and_no_token(
    gitlab: FakeGitLab,
    policy_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_json(tmp_path / "plan.json", small_plan())
    for name, value in job_env(gitlab, CI_MERGE_REQUEST_IID="12").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    gitlab.fail_next = [(429, {"Retry-After": "60"})]
    config = str(policy_repo / "erpsync.yaml")
    code = cli.main(["--no-color", "--config", config, "ci", "plan-comment", "--plan", "plan.json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "HTTP 429" in captured.err + captured.out
    assert "retry after 60 s" in captured.err + captured.out
    assert TOKEN not in captured.err + captured.out


# -- the reviewed plan ---------------------------------------------------------------------


def merged_mr(iid: int, merge_sha: str | None, head: str, squash: str | None = None) -> Any:
    return {
        "iid": iid,
        "state": "merged",
        "merged_at": "2026-11-28T10:00:00Z",
        "sha": head,
        "merge_commit_sha": merge_sha,
        "squash_commit_sha": squash,
    }


def reviewed_setup(gitlab: FakeGitLab, plan: dict[str, Any], head: str = "h5") -> str:
    body = render_body(Outcome(plan=Plan.from_dict(plan)), head, "41", "https://job/41")
    gitlab.mrs_of["m1"] = [
        {"iid": 4, "state": "opened", "sha": "x", "merge_commit_sha": None},
        merged_mr(5, "m1", head),
    ]
    gitlab.notes[5] = [
        {
            "id": 1,
            "body": Metadata("ok", head, "666", "sha256:x").marker(),
            "author": {"username": "mallory"},
        },
        {"id": 2, "body": body, "author": {"username": BOT}, "system": False},
    ]
    gitlab.jobs[41] = {"id": 41, "status": "success", "commit": {"id": head}}
    gitlab.artifacts[(41, "plan.json")] = json.dumps(plan).encode()
    return plan_compare.changeset_digest(Plan.from_dict(plan))


def test_reviewed_plan_downloads_the_reviewed_plan_and_compare_plans_accepts_only_it(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    plan = small_plan()
    digest = reviewed_setup(gitlab, plan)
    reviewed, dotenv = tmp_path / "reviewed" / "plan.json", tmp_path / "reviewed.env"
    console, said = quiet()
    assert ci_cmd.reviewed(None, console, None, job_env(gitlab), None, reviewed, dotenv) == 0
    assert "merge request !5" in said.getvalue()
    assert json.loads(reviewed.read_text()) == plan
    assert dotenv.read_text().splitlines() == [
        "ERPSYNC_REVIEWED_MR=5",
        "ERPSYNC_REVIEWED_HEAD_SHA=h5",
        "ERPSYNC_REVIEWED_JOB=41",
        f"ERPSYNC_REVIEWED_CHANGESET={digest}",
    ]
    paths = [p for _, p, _, _ in gitlab.requests]
    assert f"{PREFIX}repository/commits/m1/merge_requests" in paths
    assert f"{PREFIX}jobs/41/artifacts/plan.json" in paths

    again = write_json(tmp_path / "again.json", {**plan, "created_at": "2026-12-01T00:00:00Z"})
    console, said = quiet()
    assert ci_cmd.compare_plans(reviewed, again, digest, console, "gitlab") == 0
    more = write_json(
        tmp_path / "more.json", plan_dict([*plan["changes"], change("deactivate", "user", "eve")])
    )
    console, said = quiet()
    assert ci_cmd.compare_plans(reviewed, more, digest, console, "gitlab") == 1
    assert "ERROR erpsync: the new plan differs from the reviewed one" in said.getvalue()
    assert "::error" not in said.getvalue()  # GitHub's workflow commands mean nothing here


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        ("pushed again", "note of merge request !5 is for commit h5, but its last commit is h6"),
        ("foreign job", "job 41 ran for commit zzz, not for h5, the last commit of !5"),
        ("failed job", "did not succeed"),
        ("expired", "kept no plan.json"),
        ("swapped plan", "refusing to apply"),
        ("direct push", "not the merge of a merge request"),
    ],
)
def test_reviewed_plan_refuses_anything_but_the_reviewed_plan(
    gitlab: FakeGitLab, tmp_path: Path, breaks: str, message: str
) -> None:
    reviewed_setup(gitlab, small_plan())
    if breaks == "pushed again":
        gitlab.mrs_of["m1"] = [merged_mr(5, "m1", "h6")]
    elif breaks == "foreign job":
        gitlab.jobs[41]["commit"] = {"id": "zzz"}
    elif breaks == "failed job":
        gitlab.jobs[41]["status"] = "failed"
    elif breaks == "expired":
        del gitlab.artifacts[(41, "plan.json")]
    elif breaks == "swapped plan":
        gitlab.artifacts[(41, "plan.json")] = json.dumps(plan_dict([])).encode()
    else:
        gitlab.mrs_of["m1"] = []
    dotenv = tmp_path / "reviewed.env"
    with pytest.raises(NotReviewed, match=message):
        ci_cmd.reviewed(
            None, quiet()[0], None, job_env(gitlab), None, tmp_path / "plan.json", dotenv
        )
    assert not dotenv.exists()


def test_a_merge_request_lands_as_its_merge_squash_or_own_commit() -> None:
    assert flow.as_pull(merged_mr(5, "m", "h", "s"))["merge_commit_sha"] == "m"
    assert flow.as_pull(merged_mr(5, None, "h", "s"))["merge_commit_sha"] == "s"
    assert flow.as_pull(merged_mr(5, None, "h"))["merge_commit_sha"] == "h"  # fast-forward
    opened = flow.as_pull({"iid": 5, "state": "opened", "sha": "h"})
    assert (opened["merged_at"], opened["merge_commit_sha"]) == (None, None)
    with pytest.raises(ValueError, match="unsafe"):
        flow.write_dotenv(Path("unused.env"), {"ERPSYNC_X": "a; rm -rf /"})


# -- the audit anchor ----------------------------------------------------------------------


def test_the_audit_anchor_comes_only_from_a_push_pipeline_s_apply_job(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    gitlab.pipelines = [
        {"id": 30, "ref": "main", "source": "merge_request_event", "status": "success"},
        {"id": 20, "ref": "main", "source": "push", "status": "success"},
        {"id": 10, "ref": "main", "source": "push", "status": "success"},
    ]
    gitlab.pipeline_jobs[30] = [{"id": 300, "name": "erpsync-apply", "status": "success"}]
    gitlab.pipeline_jobs[20] = [{"id": 201, "name": "lint", "status": "success"}]  # no apply
    gitlab.pipeline_jobs[10] = [{"id": 100, "name": "erpsync-apply", "status": "success"}]
    gitlab.artifacts[(300, "audit/audit-anchor.txt")] = b"99:forged\n"
    gitlab.artifacts[(100, "audit/audit-anchor.txt")] = b"7:4f2a9c\n"
    out = tmp_path / "previous-audit" / "audit-anchor.txt"
    console, said = quiet()
    assert ci_cmd.audit_anchor(out, None, "erpsync-apply", console, job_env(gitlab)) == 0
    assert out.read_text() == "7:4f2a9c\n"
    assert "audit anchor of job 100: 7:4f2a9c" in said.getvalue()

    del gitlab.artifacts[(100, "audit/audit-anchor.txt")]  # expired
    out.unlink()
    console, said = quiet()
    assert ci_cmd.audit_anchor(out, None, "erpsync-apply", console, job_env(gitlab)) == 0
    assert not out.exists()
    assert "verifying the hash chain only" in said.getvalue()
    with pytest.raises(UsageError, match="for GitLab CI"):
        ci_cmd.audit_anchor(out, None, "erpsync-apply", console, {}, "github")


# -- the drift issue -----------------------------------------------------------------------


def test_drift_issue_opens_updates_and_closes_one_gitlab_issue_per_target(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    env = job_env(gitlab)
    gitlab.issues[1] = {  # somebody else's issue with the label and marker: left alone
        "iid": 1,
        "title": "x",
        "description": drift_issue.marker("prod"),
        "state": "opened",
        "labels": [drift_issue.LABEL],
        "author": {"username": "mallory"},
    }

    def run(doc: dict[str, Any], name: str) -> str:
        path = write_json(tmp_path / name, doc)
        console, said = quiet()
        assert ci_cmd.drift_issue(path, None, None, False, console, env=env) == 0
        return said.getvalue()

    said = run(report(True), "d1.json")
    opened = [i for i in gitlab.issues.values() if i["author"]["username"] == BOT]
    assert len(opened) == 1
    issue = opened[0]
    assert f"Drift: opened issue #{issue['iid']}." in said
    assert issue["title"].startswith("ERP drift on prod:")
    assert issue["description"].startswith(drift_issue.marker("prod"))
    assert issue["labels"] == [drift_issue.LABEL]
    assert gitlab.labels[drift_issue.LABEL]["color"] == "#fbca04"
    assert "https://gitlab.example/acme/policies/-/jobs/9001" in issue["description"]
    assert "change the policy in a merge request" in issue["description"]

    writes = len(gitlab.writes())
    assert "is up to date" in run(report(True), "d1.json")
    assert len(gitlab.writes()) == writes

    assert "Drift: updated issue" in run(report(True, when="2030-01-01T00:00:00Z"), "d2.json")
    assert "2030-01-01" in issue["description"]

    said = run(report(False), "d3.json")
    assert f"No drift: closed issue #{issue['iid']}." in said
    assert issue["state"] == "closed"
    assert "No drift on target `prod`" in gitlab.issue_notes[issue["iid"]][0]["body"]
    assert gitlab.issues[1]["state"] == "opened"
    assert "no drift issue is open" in run(report(False), "d3.json")


# -- the scaffolded .gitlab-ci.yml ---------------------------------------------------------

JOBS = ("erpsync-plan", "erpsync-apply", "erpsync-drift")


def gitlab_ci(tmp_path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((tmp_path / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def script_of(job: dict[str, Any]) -> str:
    return "\n".join(job["script"])


def test_init_ci_gitlab_writes_gitlab_s_files_and_not_github_s(tmp_path: Path) -> None:
    from erpsync.commands import init_cmd

    out = io.StringIO()
    console = Console(file=out, width=200, no_color=True)
    assert init_cmd.run(tmp_path, False, console, None, None, "gitlab") == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(relative for _, relative in GITLAB_FILES)
    assert ".gitlab-ci.yml" in written
    assert not (tmp_path / ".github").exists()
    assert "merge request" in (tmp_path / "README.md").read_text()
    assert "CI/CD variables" in out.getvalue()
    with pytest.raises(UsageError, match="unknown"):
        init_cmd.run(tmp_path, False, console, None, None, "jenkins")


def test_the_gitlab_jobs_run_in_the_right_pipelines_with_the_right_steps(tmp_path: Path) -> None:
    scaffold(tmp_path, ci="gitlab")
    doc = gitlab_ci(tmp_path)
    plan, apply, drift = (doc[name] for name in JOBS)
    assert plan["rules"] == [
        {
            "if": '$CI_PIPELINE_SOURCE == "merge_request_event"',
            "changes": ["policies/**/*", "erpsync.yaml"],
        }
    ]
    assert apply["rules"][0]["if"] == (
        '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'
    )
    assert [r["if"] for r in drift["rules"]] == [
        '$CI_PIPELINE_SOURCE == "schedule"',
        '$CI_PIPELINE_SOURCE == "web"',
    ]
    assert apply["resource_group"] == "erpsync-apply"
    assert apply["interruptible"] is False
    assert plan["interruptible"] is True
    assert "plan.json" in plan["artifacts"]["paths"]
    assert plan["artifacts"]["when"] == "always"
    assert "audit/" in apply["artifacts"]["paths"]
    assert plan["variables"] == {"ERPSYNC_DB_URL": "$ERPSYNC_READ_URL"}
    assert drift["variables"] == {"ERPSYNC_DB_URL": "$ERPSYNC_READ_URL"}
    assert apply["variables"] == {"ERPSYNC_DB_URL": "$ERPSYNC_WRITE_URL"}

    plan_script, apply_script = script_of(plan), script_of(apply)
    assert "erpsync validate" in plan_script
    assert "plan --format markdown --out plan.json > plan.md" in plan_script
    assert "ci guards --platform gitlab plan.json --report guards.json" in plan_script
    assert "erpsync ci plan-comment --platform gitlab" in plan_script
    order = [
        "ci reviewed-plan --platform gitlab",
        "ci audit-anchor --platform gitlab",
        "audit verify",
        "plan --format markdown --out plan.json",
        "ci compare-plans --platform gitlab reviewed/plan.json plan.json "
        '--expect-changeset "$ERPSYNC_REVIEWED_CHANGESET"',
        "apply plan.json --auto-approve",
        "audit head > audit/audit-anchor.txt",
        "erpsync audit anchor: the head of the audit trail after this run is $anchor",
    ]
    positions = [apply_script.index(step) for step in order]
    assert positions == sorted(positions), "the apply steps run in this order"
    assert "ci drift-issue --platform gitlab drift.json" in script_of(drift)
    assert "==@@" not in (tmp_path / ".gitlab-ci.yml").read_text()


def test_the_gitlab_jobs_never_print_a_secret(tmp_path: Path) -> None:
    """Database URLs only through ``--db "$ERPSYNC_DB_URL"`` (or a test for emptiness); the
    token only in erpsync's own header; no shell tracing."""
    scaffold(tmp_path, ci="gitlab")
    text = (tmp_path / ".gitlab-ci.yml").read_text()
    doc = gitlab_ci(tmp_path)
    for name in JOBS:
        script = script_of(doc[name]) + "\n".join(doc[".erpsync"]["before_script"])
        for use in re.findall(r"[^\n]*ERPSYNC_DB_URL[^\n]*", script):
            allowed = ('--db "$ERPSYNC_DB_URL"', '-z "$ERPSYNC_DB_URL"')
            assert any(a in use for a in allowed), f"{name}: {use.strip()}"
            assert "echo" not in use
        for secret in ("ERPSYNC_READ_URL", "ERPSYNC_WRITE_URL", "TOKEN"):
            assert not re.search(rf"\${{?{secret}", script), f"{name} uses {secret} itself"
        assert "set -x" not in script
    assert "CI_DEBUG_TRACE" not in text


def gitlab_ci_local() -> str:
    """gitlab-ci-local: ``ERPSYNC_GITLAB_CI_LOCAL`` (make test sets it to
    scripts/gitlab-ci-local.sh, which installs the npm package under .tools/), else on
    PATH. Skip without it, but fail in CI (``CI=true``)."""
    found = os.environ.get("ERPSYNC_GITLAB_CI_LOCAL") or shutil.which("gitlab-ci-local")
    if found:
        return found
    reason = (
        "gitlab-ci-local is not installed (set ERPSYNC_GITLAB_CI_LOCAL=scripts/gitlab-ci-local.sh)"
    )
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


def policy_git_repo(tmp_path: Path) -> Path:
    """A scaffolded repository whose branch ``main`` is one policy commit ahead of
    ``origin/main``, as in a merge request, or on the default branch right after a merge."""
    repo = tmp_path / "repo"
    scaffold(repo, ci="gitlab")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://gitlab.example.com/acme/policies.git")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    roles = repo / "policies" / "roles.yaml"
    roles.write_text(roles.read_text() + "\n# a reviewed change\n")
    git(repo, "commit", "-qam", "change a role")
    return repo


def listed(binary: str, repo: Path, source: str) -> list[str]:
    done = subprocess.run(
        [
            binary,
            "--list",
            "--variable",
            f"CI_PIPELINE_SOURCE={source}",
            "--ignore-predefined-vars",
            "CI_PIPELINE_SOURCE",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "HOME": str(repo.parent)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "json schema validated" in done.stdout + done.stderr
    table = done.stdout.split("name ", 1)[1].splitlines()[1:]
    return [line.split()[0] for line in table if line.strip()]


def test_gitlab_ci_local_lists_each_job_in_its_own_pipeline(tmp_path: Path) -> None:
    binary = gitlab_ci_local()
    repo = policy_git_repo(tmp_path)
    assert listed(binary, repo, "merge_request_event") == ["erpsync-plan"]
    assert listed(binary, repo, "push") == ["erpsync-apply"]  # main, after the merge
    assert listed(binary, repo, "schedule") == ["erpsync-drift"]
    git(repo, "checkout", "-qb", "feature")
    assert listed(binary, repo, "push") == []  # a push to another branch applies nothing


def test_gitlab_ci_local_rejects_a_broken_file(tmp_path: Path) -> None:
    """The schema check the test above relies on really does fail (no no-op)."""
    binary = gitlab_ci_local()
    repo = policy_git_repo(tmp_path)
    ci_file = repo / ".gitlab-ci.yml"
    text = ci_file.read_text()
    ci_file.write_text(text.replace("  stage: plan\n", "  stage: plan\n  rulez: []\n", 1))
    done = subprocess.run(
        [binary, "--list"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert done.returncode != 0
    assert "'rulez' property is not expected" in done.stdout + done.stderr


# -- the jobs' scripts, run for real against the fake GitLab and a reference ERP -------------


def run_job(repo: Path, doc: dict[str, Any], name: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the ``script`` of job ``name`` as GitLab's runner does (bash, -eo pipefail),
    with erpsync from this virtualenv instead of the job's ``pip install``."""
    import sys

    script = "\n".join(doc[name]["script"])
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=repo,
        env={"PATH": path, "HOME": str(repo), "NO_COLOR": "1", "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def plan_and_merge(
    gitlab: FakeGitLab, repo: Path, doc: dict[str, Any], url: str, iid: int, n: int
) -> str:
    """Run the plan job of merge request ``iid`` (head ``h<n>``, job ``4<n>``), keep its
    plan.json as GitLab would, and merge it as commit ``m<n>``; the note's body."""
    env = job_env(
        gitlab,
        CI_MERGE_REQUEST_IID=str(iid),
        CI_COMMIT_SHA=f"h{n}",
        CI_JOB_ID=f"4{n}",
        ERPSYNC_DB_URL=url,
    )
    code, log = run_job(repo, doc, "erpsync-plan", env)
    assert code == 0, log
    assert f"Posted the plan comment on merge request !{iid} (status ok)" in log
    assert "validate: 0, plan: 0, guards: 0" in log
    assert TOKEN not in log
    assert url not in log
    (note,) = gitlab.notes[iid]
    meta = Metadata.parse(note["body"])
    assert meta is not None
    assert (meta.status, meta.head_sha, meta.run_id) == ("ok", f"h{n}", f"4{n}")
    job = 40 + n
    gitlab.jobs[job] = {"id": job, "status": "success", "commit": {"id": f"h{n}"}}
    gitlab.artifacts[(job, "plan.json")] = (repo / "plan.json").read_bytes()  # the upload
    for name in ("plan.json", "plan.md", "guards.json", "comment.md"):
        (repo / name).unlink()
    gitlab.mrs_of[f"m{n}"] = [merged_mr(iid, f"m{n}", f"h{n}")]
    return str(note["body"])


def test_the_three_jobs_scripts_plan_apply_and_check_drift_end_to_end(
    gitlab: FakeGitLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from erpsync.adapters.reference.database import init_database

    monkeypatch.delenv("ERPSYNC_REFERENCE_URL", raising=False)
    repo = tmp_path / "repo"
    scaffold(repo, ci="gitlab")
    doc = gitlab_ci(repo)
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, False)  # an empty ERP: the example policy creates everything

    # The scheduled drift check: everything is missing, so one issue is opened.
    drift_env = job_env(gitlab, CI_JOB_ID="30", ERPSYNC_DB_URL=url)
    code, log = run_job(repo, doc, "erpsync-drift", drift_env)
    assert code == 0, log
    assert "Drift: opened issue" in log
    (opened,) = gitlab.issues.values()
    assert url not in log

    # Merged as m1: the apply job applies exactly the reviewed plan and prints the anchor.
    plan_and_merge(gitlab, repo, doc, url, 12, 1)
    apply_env = job_env(gitlab, CI_COMMIT_SHA="m1", CI_JOB_ID="50", ERPSYNC_DB_URL=url)
    code, log = run_job(repo, doc, "erpsync-apply", apply_env)
    assert code == 0, log
    assert "Reviewed: merge request !12" in log
    assert "no audit anchor from an earlier successful apply" in log
    assert "The new plan makes exactly the reviewed change set" in log
    anchor = (repo / "audit" / "audit-anchor.txt").read_text().strip()
    assert re.fullmatch(r"\d+:[0-9a-f]+", anchor)
    assert f"erpsync audit anchor: the head of the audit trail after this run is {anchor}" in log
    assert url not in log

    # The next drift check finds none and closes the issue.
    code, log = run_job(repo, doc, "erpsync-drift", drift_env)
    assert code == 0, log
    assert f"No drift: closed issue #{opened['iid']}." in log
    assert opened["state"] == "closed"

    # The next merge request changes nothing; its apply verifies the trail against the
    # anchor the last apply job (of a push pipeline) kept.
    gitlab.pipelines = [{"id": 60, "ref": "main", "source": "push", "status": "success"}]
    gitlab.pipeline_jobs[60] = [{"id": 50, "name": "erpsync-apply", "status": "success"}]
    gitlab.artifacts[(50, "audit/audit-anchor.txt")] = (anchor + "\n").encode()
    body = plan_and_merge(gitlab, repo, doc, url, 13, 2)
    assert "Merging this merge request changes nothing in the ERP." in body
    code, log = run_job(repo, doc, "erpsync-apply", {**apply_env, "CI_COMMIT_SHA": "m2"})
    assert code == 0, log
    assert f"audit anchor of job 50: {anchor}" in log

    # A direct push (m3, no merge request) is refused before anything is planned.
    code, log = run_job(repo, doc, "erpsync-apply", {**apply_env, "CI_COMMIT_SHA": "m3"})
    assert code == 1, log
    assert "commit m3 is not the merge of a merge request" in log

    # An anchor the trail does not have (records rewritten) stops the apply before it plans.
    gitlab.artifacts[(50, "audit/audit-anchor.txt")] = b"1:" + b"0" * 64 + b"\n"
    code, log = run_job(repo, doc, "erpsync-apply", {**apply_env, "CI_COMMIT_SHA": "m2"})
    assert code == 1, log
    assert "the audit trail does not verify" in log
    assert "The new plan makes exactly" not in log
