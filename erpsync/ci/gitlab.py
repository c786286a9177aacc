"""A small GitLab REST (v4) client, and the context of the GitLab CI job erpsync is in.

Only what erpsync's ``.gitlab-ci.yml`` needs: merge-request notes and labels, issues and
their notes, project labels, the merge requests of a commit, jobs, pipelines and single
files of a job's artifacts. Plain :mod:`urllib`, JSON in and out, like
:mod:`erpsync.ci.github`: python-gitlab would add a dependency (and requests) to every
install for a dozen calls, and it could not give the guarantees below, which the tests
check.

The token comes from the environment: ``ERPSYNC_GITLAB_TOKEN`` (a project or personal
access token, sent as ``PRIVATE-TOKEN``), else the job's own ``CI_JOB_TOKEN`` (sent as
``JOB-TOKEN``; GitLab accepts it only on a few endpoints, such as job artifacts, and not
for notes or issues). It is sent only in that header, only to the API host (never along a
redirect), only over HTTPS (plain HTTP is allowed to a loopback address, for tests), and
it appears in no message and no ``repr``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from erpsync import __version__
from erpsync.ci.github import _loopback, http_failed
from erpsync.errors import ErpsyncError, UsageError
from erpsync.i18n import N_

DEFAULT_API_URL = "https://gitlab.com/api/v4"
TOKEN_VARIABLE = "ERPSYNC_GITLAB_TOKEN"
TIMEOUT_SECONDS = 30.0
PER_PAGE = 100
MAX_PAGES = 100
MAX_DOWNLOAD = 256 * 1024 * 1024  # the limit of erpsync.planfile
RETRY_STATUSES = frozenset({500, 502, 503, 504})
MESSAGE_CHARS = 300

TokenHeader = Literal["PRIVATE-TOKEN", "JOB-TOKEN"]


class GitLabError(ErpsyncError):
    """A GitLab API call failed; ``status`` is the HTTP status (0: no response)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class JobContext:
    """What GitLab CI tells a job about itself, read from its predefined variables."""

    api_url: str = DEFAULT_API_URL
    project: str = ""  # CI_PROJECT_ID (numeric), or a path such as group/policies
    job_id: str = ""
    job_url: str = ""
    sha: str = ""  # CI_COMMIT_SHA
    merge_request_iid: int | None = None
    source_branch_sha: str = ""  # set in merged-results pipelines only
    default_branch: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> JobContext:
        iid = env.get("CI_MERGE_REQUEST_IID", "").strip()
        if iid and not iid.isdigit():
            raise UsageError(
                N_("CI_MERGE_REQUEST_IID is not a number: {value}").format(value=repr(iid))
            )
        return cls(
            api_url=env.get("CI_API_V4_URL") or DEFAULT_API_URL,
            project=env.get("CI_PROJECT_ID") or env.get("CI_PROJECT_PATH") or "",
            job_id=env.get("CI_JOB_ID", ""),
            job_url=env.get("CI_JOB_URL", ""),
            sha=env.get("CI_COMMIT_SHA", ""),
            merge_request_iid=int(iid) if iid else None,
            source_branch_sha=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", ""),
            default_branch=env.get("CI_DEFAULT_BRANCH", ""),
        )

    @property
    def head_sha(self) -> str:
        """The merge request's last commit: what the plan was made for."""
        return self.source_branch_sha or self.sha


def token_from_env(env: Mapping[str, str]) -> tuple[str, TokenHeader]:
    """``ERPSYNC_GITLAB_TOKEN`` as a ``PRIVATE-TOKEN``, else ``CI_JOB_TOKEN`` as a ``JOB-TOKEN``."""
    token = env.get(TOKEN_VARIABLE, "").strip()
    if token:
        return token, "PRIVATE-TOKEN"
    token = env.get("CI_JOB_TOKEN", "").strip()
    if token:
        return token, "JOB-TOKEN"
    raise UsageError(
        N_(
            "no GitLab token: set the CI/CD variable {variable} (a project access token with "
            "the api scope and the Reporter role), or run inside GitLab CI (CI_JOB_TOKEN)"
        ).format(variable=TOKEN_VARIABLE)
    )


class GitLab:
    """Calls to the GitLab REST API v4 for one project."""

    def __init__(
        self,
        token: str,
        project: str,
        api_url: str = DEFAULT_API_URL,
        header: TokenHeader = "PRIVATE-TOKEN",
        timeout: float = TIMEOUT_SECONDS,
        retry_delay: float = 1.0,
    ) -> None:
        if not project or any(c.isspace() for c in project) or project.strip("/") != project:
            raise UsageError(
                N_("not a GitLab project id or path: {project}").format(project=repr(project))
            )
        parts = urllib.parse.urlsplit(api_url.rstrip("/"))
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise UsageError(
                N_("refusing to send the GitLab token to {url}: not https").format(
                    url=repr(api_url)
                )
            )
        if header not in ("PRIVATE-TOKEN", "JOB-TOKEN"):
            raise UsageError(N_("not a GitLab token header: {header}").format(header=repr(header)))
        self._token = token
        self.header: TokenHeader = header
        self.project = project
        self.api_url = urllib.parse.urlunsplit(parts)
        self.timeout = timeout
        self.retry_delay = retry_delay
        handlers = [urllib.request.ProxyHandler({})] if _loopback(parts.hostname) else []
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def from_env(cls, env: Mapping[str, str], context: JobContext) -> GitLab:
        if not context.project:
            raise UsageError(N_("CI_PROJECT_ID is not set: run this inside GitLab CI"))
        token, header = token_from_env(env)
        return cls(token, context.project, context.api_url, header)

    def __repr__(self) -> str:
        return f"GitLab(project={self.project!r}, api_url={self.api_url!r})"

    # -- transport ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | int] | None = None,
    ) -> Any:
        """One call; the decoded JSON answer (None for an empty one)."""
        raw, _ = self._send(method, self._url(path, query), body)
        return self._json(raw, method, path)

    def download(self, path: str, limit: int = MAX_DOWNLOAD) -> bytes:
        """The raw bytes an endpoint answers (a file of a job's artifacts), at most ``limit``."""
        raw, _ = self._send("GET", self._url(path, None), None, limit)
        return raw

    def paginate(self, path: str, query: Mapping[str, str | int] | None = None) -> list[Any]:
        """Every item of a list endpoint, following ``X-Next-Page`` (offset pagination)."""
        items: list[Any] = []
        page = "1"
        for _ in range(MAX_PAGES):
            url = self._url(path, {**(query or {}), "per_page": PER_PAGE, "page": page})
            raw, headers = self._send("GET", url, None)
            answer = self._json(raw, "GET", path)
            if not isinstance(answer, list):
                raise GitLabError(
                    N_("GitLab API GET {path}: expected a list").format(path=self._shown(path))
                )
            items.extend(answer)
            page = (headers.get("X-Next-Page") or "").strip()
            if not page:
                return items
            if not page.isdigit():
                raise GitLabError(
                    N_("GitLab API GET {path}: bad X-Next-Page").format(path=self._shown(path))
                )
        raise GitLabError(
            N_("GitLab API GET {path}: more than {pages} pages").format(
                path=self._shown(path), pages=MAX_PAGES
            )
        )

    def _url(self, path: str, query: Mapping[str, str | int] | None) -> str:
        url = self.api_url + "/" + path.lstrip("/")
        if query:
            url += "?" + urllib.parse.urlencode({k: str(v) for k, v in query.items()})
        return url

    def _shown(self, path: str) -> str:
        return urllib.parse.urlsplit(self._url(path, None)).path

    def _json(self, raw: bytes, method: str, path: str) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise GitLabError(
                N_("{call}: the answer is not JSON").format(
                    call=f"GitLab API {method} {self._shown(path)}"
                )
            ) from None

    def _send(
        self, method: str, url: str, body: Any, limit: int = MAX_DOWNLOAD
    ) -> tuple[bytes, Mapping[str, str]]:
        shown = f"GitLab API {method} {urllib.parse.urlsplit(url).path}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempts = 3 if method == "GET" else 1
        for attempt in range(attempts):
            request = urllib.request.Request(url, data=data, method=method)
            request.add_header("Accept", "application/json")
            request.add_header("User-Agent", f"erpsync/{__version__}")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            # Unredirected: a redirect (artifacts in object storage) never carries the token.
            request.add_unredirected_header(self.header, self._token)
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    raw = response.read(limit + 1)
                    headers = dict(response.headers.items())
                break
            except urllib.error.HTTPError as exc:
                if exc.code in RETRY_STATUSES and attempt + 1 < attempts:
                    time.sleep(self.retry_delay * (attempt + 1))
                    continue
                raise GitLabError(self._explain(shown, exc), exc.code) from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                if attempt + 1 < attempts:
                    time.sleep(self.retry_delay * (attempt + 1))
                    continue
                reason = str(getattr(exc, "reason", exc)).replace(self._token, "***")
                raise GitLabError(
                    N_("{call}: no answer ({error})").format(call=shown, error=reason)
                ) from None
        if len(raw) > limit:
            raise GitLabError(
                N_("{call}: the answer is larger than {mib} MiB").format(
                    call=shown, mib=limit // 1048576
                )
            )
        return raw, headers

    def _explain(self, call: str, exc: urllib.error.HTTPError) -> str:
        """``{call}: HTTP 403: 403 Forbidden`` and what to check; the token never appears."""
        message = ""
        try:
            answer = json.loads(exc.read() or b"null")
            if isinstance(answer, Mapping):
                found = answer.get("message") or answer.get("error_description")
                found = found or answer.get("error")
                message = found if isinstance(found, str) else json.dumps(found or "")
        except (ValueError, OSError):
            pass
        message = message.replace(self._token, "***")[:MESSAGE_CHARS].strip('"')
        hint = _hint(exc.code, self.header, exc.headers.get("Retry-After"))
        return http_failed(call, exc.code, message, hint)

    # -- endpoints ------------------------------------------------------------------------

    def _project(self, path: str) -> str:
        return f"projects/{urllib.parse.quote(self.project, safe='')}/{path}"

    def current_user(self) -> dict[str, Any]:
        """The user the token acts as (a project access token's bot user)."""
        found: dict[str, Any] = self.request("GET", "user")
        return found

    def merge_request(self, iid: int) -> dict[str, Any]:
        found: dict[str, Any] = self.request("GET", self._project(f"merge_requests/{iid}"))
        return found

    def merge_request_notes(self, iid: int) -> list[dict[str, Any]]:
        """The notes of a merge request, oldest first (system notes included)."""
        return self.paginate(
            self._project(f"merge_requests/{iid}/notes"),
            {"sort": "asc", "order_by": "created_at"},
        )

    def create_merge_request_note(self, iid: int, body: str) -> dict[str, Any]:
        created: dict[str, Any] = self.request(
            "POST", self._project(f"merge_requests/{iid}/notes"), {"body": body}
        )
        return created

    def update_merge_request_note(self, iid: int, note_id: int, body: str) -> dict[str, Any]:
        updated: dict[str, Any] = self.request(
            "PUT", self._project(f"merge_requests/{iid}/notes/{note_id}"), {"body": body}
        )
        return updated

    def edit_merge_request_labels(self, iid: int, add: list[str], remove: list[str]) -> None:
        body = {"add_labels": ",".join(add), "remove_labels": ",".join(remove)}
        body = {key: value for key, value in body.items() if value}
        if body:
            self.request("PUT", self._project(f"merge_requests/{iid}"), body)

    def ensure_label(self, name: str, color: str, description: str) -> None:
        """Create the project label ``name`` unless it exists (``color`` without ``#``)."""
        try:
            self.request("GET", self._project(f"labels/{urllib.parse.quote(name, safe='')}"))
        except GitLabError as exc:
            if exc.status != 404:
                raise
            body = {"name": name, "color": f"#{color}", "description": description}
            self.request("POST", self._project("labels"), body)

    def issues(self, label: str, state: str = "opened") -> list[dict[str, Any]]:
        """The project's issues carrying ``label`` in ``state`` (opened, closed, all)."""
        return self.paginate(
            self._project("issues"),
            {"labels": label, "state": state, "order_by": "created_at", "sort": "asc"},
        )

    def create_issue(self, title: str, description: str, labels: list[str]) -> dict[str, Any]:
        body = {"title": title, "description": description, "labels": ",".join(labels)}
        created: dict[str, Any] = self.request("POST", self._project("issues"), body)
        return created

    def update_issue(self, iid: int, **fields: Any) -> dict[str, Any]:
        updated: dict[str, Any] = self.request("PUT", self._project(f"issues/{iid}"), fields)
        return updated

    def create_issue_note(self, iid: int, body: str) -> dict[str, Any]:
        created: dict[str, Any] = self.request(
            "POST", self._project(f"issues/{iid}/notes"), {"body": body}
        )
        return created

    def commit_merge_requests(self, sha: str) -> list[dict[str, Any]]:
        """The merge requests a commit belongs to."""
        return self.paginate(
            self._project(f"repository/commits/{urllib.parse.quote(sha, safe='')}/merge_requests")
        )

    def job(self, job_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.request("GET", self._project(f"jobs/{job_id}"))
        return found

    def job_artifact(self, job_id: int, path: str) -> bytes:
        """One file of a job's artifacts archive, by its path in the archive."""
        quoted = "/".join(urllib.parse.quote(part, safe="") for part in path.split("/"))
        return self.download(self._project(f"jobs/{job_id}/artifacts/{quoted}"))

    def pipelines(self, ref: str, source: str, status: str, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` pipelines of ``ref`` started by ``source`` in ``status``."""
        found = self.request(
            "GET",
            self._project("pipelines"),
            query={
                "ref": ref,
                "source": source,
                "status": status,
                "order_by": "id",
                "sort": "desc",
                "per_page": limit,
            },
        )
        return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []

    def pipeline_jobs(self, pipeline_id: int, scope: str) -> list[dict[str, Any]]:
        return self.paginate(self._project(f"pipelines/{pipeline_id}/jobs"), {"scope[]": scope})


def _hint(status: int, header: TokenHeader, retry_after: str | None) -> str:
    """What to check after an HTTP error (a message of its own), or ""."""
    if status == 401:
        return N_(
            "the token is missing, expired or revoked: check the CI/CD variable {variable}"
        ).format(variable=TOKEN_VARIABLE)
    if status in (403, 404) and header == "JOB-TOKEN":
        return N_(
            "CI_JOB_TOKEN may not call this endpoint: set the CI/CD variable {variable} to a "
            "project access token with the api scope"
        ).format(variable=TOKEN_VARIABLE)
    if status == 403:
        return N_("the token in {variable} needs the api scope and the Reporter role").format(
            variable=TOKEN_VARIABLE
        )
    if status == 404:
        return N_("not found, or not visible to the token: check CI_PROJECT_ID and the token")
    if status == 429:
        if retry_after and retry_after.isdigit():
            return N_("GitLab's rate limit; retry after {seconds} s").format(seconds=retry_after)
        return N_("GitLab's rate limit")
    return ""
