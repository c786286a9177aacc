"""A small GitHub REST client, and the context of the GitHub Actions run erpsync is in.

Only what erpsync's workflows need: issue and pull-request comments, labels, issues,
the pull requests of a commit and a workflow run. Plain :mod:`urllib`, JSON in and out.

The token comes from the environment (``GITHUB_TOKEN``, else ``GH_TOKEN``). It is sent
only in the ``Authorization`` header, only to the API host (never along a redirect or
a pagination link that points elsewhere), only over HTTPS (plain HTTP is allowed to a
loopback address, for tests), and it appears in no message and no ``repr``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erpsync import __version__
from erpsync.errors import ErpsyncError, UsageError
from erpsync.i18n import N_

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
API_VERSION = "2022-11-28"
TIMEOUT_SECONDS = 30.0
PER_PAGE = 100
MAX_PAGES = 100  # 10,000 items: far more than one issue's comments
RETRY_STATUSES = frozenset({500, 502, 503, 504})
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubError(ErpsyncError):
    """A GitHub API call failed; ``status`` is the HTTP status (0: no response)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RunContext:
    """What GitHub Actions tells a step about its run, read from the environment."""

    repository: str = ""
    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    run_id: str = ""
    sha: str = ""
    event: Mapping[str, Any] = field(default_factory=dict)
    output_file: Path | None = None
    summary_file: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunContext:
        event: Mapping[str, Any] = {}
        if env.get("GITHUB_EVENT_PATH"):
            try:
                loaded = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(
                    N_("cannot read the GitHub event file: {error}").format(error=exc)
                ) from None
            event = loaded if isinstance(loaded, dict) else {}
        output, summary = env.get("GITHUB_OUTPUT"), env.get("GITHUB_STEP_SUMMARY")
        return cls(
            repository=env.get("GITHUB_REPOSITORY", ""),
            api_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL,
            server_url=env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL,
            run_id=env.get("GITHUB_RUN_ID", ""),
            sha=env.get("GITHUB_SHA", ""),
            event=event,
            output_file=Path(output) if output else None,
            summary_file=Path(summary) if summary else None,
        )

    @property
    def run_url(self) -> str:
        """The web page of this run ('' outside GitHub Actions)."""
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    def pull_request(self) -> tuple[int, str] | None:
        """``(number, head sha)`` of the pull request the run is for, if it is for one."""
        pull = self.event.get("pull_request")
        if not isinstance(pull, Mapping) or not isinstance(pull.get("number"), int):
            return None
        head = pull.get("head")
        sha = head.get("sha") if isinstance(head, Mapping) else None
        return pull["number"], sha if isinstance(sha, str) else ""


def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Append ``name=value`` lines to the step's ``GITHUB_OUTPUT`` file (one-line values)."""
    for name, value in values.items():
        if "\n" in value or "\r" in value or "=" in name:
            raise ValueError(f"step output {name!r} must be a single line")
    with path.open("a", encoding="utf-8") as out:
        out.writelines(f"{name}={value}\n" for name, value in values.items())


def token_from_env(env: Mapping[str, str]) -> str:
    token = (env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or "").strip()
    if not token:
        raise UsageError(
            N_(
                "no GitHub token: set GITHUB_TOKEN (in a workflow: `env: GITHUB_TOKEN: "
                "${{ github.token }}` on the step)"
            )
        )
    return token


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class GitHub:
    """Calls to the GitHub REST API for one repository."""

    def __init__(
        self,
        token: str,
        repository: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = TIMEOUT_SECONDS,
        retry_delay: float = 1.0,
    ) -> None:
        if not _REPOSITORY.match(repository):
            raise UsageError(
                N_("not a GitHub repository (owner/name): {repository}").format(
                    repository=repr(repository)
                )
            )
        parts = urllib.parse.urlsplit(api_url.rstrip("/"))
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise UsageError(
                N_("refusing to send the GitHub token to {url}: not https").format(
                    url=repr(api_url)
                )
            )
        self._token = token
        self.repository = repository
        self.api_url = urllib.parse.urlunsplit(parts)
        self._origin = (parts.scheme, parts.netloc)
        self.timeout = timeout
        self.retry_delay = retry_delay
        handlers = [urllib.request.ProxyHandler({})] if _loopback(parts.hostname) else []
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def from_env(cls, env: Mapping[str, str], context: RunContext) -> GitHub:
        if not context.repository:
            raise UsageError(N_("GITHUB_REPOSITORY is not set: run this inside GitHub Actions"))
        return cls(token_from_env(env), context.repository, context.api_url)

    def __repr__(self) -> str:
        return f"GitHub(repository={self.repository!r}, api_url={self.api_url!r})"

    # -- transport ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | int] | None = None,
    ) -> Any:
        """One call; the decoded JSON answer (None for an empty one)."""
        url = self._url(path, query)
        return self._send(method, url, body)[0]

    def paginate(self, path: str, query: Mapping[str, str | int] | None = None) -> list[Any]:
        """Every item of a list endpoint, following ``Link: rel="next"`` on the API host."""
        url: str | None = self._url(path, {**(query or {}), "per_page": PER_PAGE})
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            page, link = self._send("GET", url, None)
            if not isinstance(page, list):
                raise GitHubError(N_("GitHub API GET {path}: expected a list").format(path=path))
            items.extend(page)
            url = self._next(link)
        raise GitHubError(
            N_("GitHub API GET {path}: more than {pages} pages").format(path=path, pages=MAX_PAGES)
        )

    def _url(self, path: str, query: Mapping[str, str | int] | None) -> str:
        url = self.api_url + "/" + path.lstrip("/")
        if query:
            url += "?" + urllib.parse.urlencode({k: str(v) for k, v in query.items()})
        return url

    def _next(self, link: str) -> str | None:
        match = _NEXT_LINK.search(link)
        if not match:
            return None
        parts = urllib.parse.urlsplit(match.group(1))
        if (parts.scheme, parts.netloc) != self._origin:
            raise GitHubError(
                N_("GitHub API: a pagination link points to another host; not followed")
            )
        return match.group(1)

    def _send(self, method: str, url: str, body: Any) -> tuple[Any, str]:
        shown = f"GitHub API {method} {urllib.parse.urlsplit(url).path}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempts = 3 if method == "GET" else 1
        for attempt in range(attempts):
            request = urllib.request.Request(url, data=data, method=method)
            request.add_header("Accept", "application/vnd.github+json")
            request.add_header("X-GitHub-Api-Version", API_VERSION)
            request.add_header("User-Agent", f"erpsync/{__version__}")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            # Unredirected: a redirect to another host never carries the token.
            request.add_unredirected_header("Authorization", f"Bearer {self._token}")
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    raw = response.read()
                    link = response.headers.get("Link", "")
                break
            except urllib.error.HTTPError as exc:
                if exc.code in RETRY_STATUSES and attempt + 1 < attempts:
                    time.sleep(self.retry_delay * (attempt + 1))
                    continue
                raise GitHubError(_explain(shown, exc), exc.code) from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                if attempt + 1 < attempts:
                    time.sleep(self.retry_delay * (attempt + 1))
                    continue
                reason = getattr(exc, "reason", exc)
                raise GitHubError(
                    N_("{call}: no answer ({error})").format(call=shown, error=reason)
                ) from None
        if not raw.strip():
            return None, link
        try:
            return json.loads(raw), link
        except ValueError:
            raise GitHubError(N_("{call}: the answer is not JSON").format(call=shown)) from None

    # -- endpoints ------------------------------------------------------------------------

    def _repo(self, path: str) -> str:
        return f"repos/{self.repository}/{path}"

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        """The comments of an issue or pull request, oldest first."""
        return self.paginate(self._repo(f"issues/{number}/comments"))

    def create_comment(self, number: int, body: str) -> dict[str, Any]:
        created: dict[str, Any] = self.request(
            "POST", self._repo(f"issues/{number}/comments"), {"body": body}
        )
        return created

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        updated: dict[str, Any] = self.request(
            "PATCH", self._repo(f"issues/comments/{comment_id}"), {"body": body}
        )
        return updated

    def issue_labels(self, number: int) -> list[str]:
        labels = self.paginate(self._repo(f"issues/{number}/labels"))
        return [str(label.get("name")) for label in labels if isinstance(label, Mapping)]

    def ensure_label(self, name: str, color: str, description: str) -> None:
        """Create the repository label ``name`` unless it exists."""
        try:
            self.request("GET", self._repo(f"labels/{urllib.parse.quote(name, safe='')}"))
        except GitHubError as exc:
            if exc.status != 404:
                raise
            body = {"name": name, "color": color, "description": description}
            self.request("POST", self._repo("labels"), body)

    def add_labels(self, number: int, names: list[str]) -> None:
        self.request("POST", self._repo(f"issues/{number}/labels"), {"labels": names})

    def remove_label(self, number: int, name: str) -> None:
        """Remove one label; a label the issue no longer has is not an error."""
        try:
            self.request(
                "DELETE", self._repo(f"issues/{number}/labels/{urllib.parse.quote(name, safe='')}")
            )
        except GitHubError as exc:
            if exc.status != 404:
                raise

    def issues(self, label: str, state: str = "open") -> list[dict[str, Any]]:
        """Issues (not pull requests) carrying ``label``, in ``state`` (open, closed, all)."""
        found = self.paginate(
            self._repo("issues"),
            {"labels": label, "state": state, "sort": "created", "direction": "asc"},
        )
        return [i for i in found if isinstance(i, dict) and "pull_request" not in i]

    def create_issue(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        created: dict[str, Any] = self.request(
            "POST", self._repo("issues"), {"title": title, "body": body, "labels": labels}
        )
        return created

    def update_issue(self, number: int, **fields: Any) -> dict[str, Any]:
        updated: dict[str, Any] = self.request("PATCH", self._repo(f"issues/{number}"), fields)
        return updated

    def commit_pulls(self, sha: str) -> list[dict[str, Any]]:
        """The pull requests a commit belongs to (for a merge commit: the merged one)."""
        return self.paginate(self._repo(f"commits/{sha}/pulls"))

    def pull(self, number: int) -> dict[str, Any]:
        found: dict[str, Any] = self.request("GET", self._repo(f"pulls/{number}"))
        return found

    def workflow_run(self, run_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.request("GET", self._repo(f"actions/runs/{run_id}"))
        return found


def _explain(call: str, exc: urllib.error.HTTPError) -> str:
    """``{call}: HTTP 403: Resource not accessible by integration`` and, for 401/403, a
    hint."""
    message = ""
    try:
        answer = json.loads(exc.read() or b"null")
        if isinstance(answer, Mapping):
            message = str(answer.get("message") or "")
    except (ValueError, OSError):
        pass
    hint = N_("check the token and the workflow's `permissions:`") if exc.code in (401, 403) else ""
    return http_failed(call, exc.code, message, hint)


# How a failed call is told (a GitHubError/GitLabError, English data said by the CLI):
# "{call}: HTTP {status}", with the platform's answer and a hint of what to check (a
# {detail}, said too) when there are.
HTTP_FAILED = (
    N_("{call}: HTTP {status}"),
    N_("{call}: HTTP {status}: {answer}"),
    N_("{call}: HTTP {status} ({detail})"),
    N_("{call}: HTTP {status}: {answer} ({detail})"),
)


def http_failed(call: str, status: int, answer: str, hint: str) -> str:
    """``GitHub API GET /x: HTTP 403: Forbidden (check the token …)`` from its parts."""
    if answer and hint:
        return HTTP_FAILED[3].format(call=call, status=status, answer=answer, detail=hint)
    if hint:
        return HTTP_FAILED[2].format(call=call, status=status, detail=hint)
    if answer:
        return HTTP_FAILED[1].format(call=call, status=status, answer=answer)
    return HTTP_FAILED[0].format(call=call, status=status)
