"""REST clients for the forges that host the user repository: pull-request state and merging.

Each client lists every pull request with its state (open, closed or merged)
and merges one at an exact head commit. Every HTTP call has a timeout and goes
through ``_call``, which maps the status code to done or ForgeError (permanent
for 4xx, transient for 5xx and network failures).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils.dateparse import parse_datetime

from approvals.exceptions import ForgeError
from larr1.logging import redact

logger = logging.getLogger(__name__)

# A repository with more pull requests than this many pages is truncated, with a warning.
MAX_PAGES = 50
DEFAULT_API_URLS = {"github": "https://api.github.com"}


@dataclass(frozen=True)
class PullState:
    """A pull request as the forge reports it."""

    number: int
    state: str  # "open", "closed" or "merged"
    title: str
    author: str
    url: str
    created_at: datetime | None
    head_sha: str
    merge_commit: str


class ForgeClient:
    forge = "forge"
    page_size = 100

    def __init__(self, api_url: str, repository: str, token: str, *, timeout: float = 15):
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.timeout = timeout
        self._token = token
        self.session = requests.Session()
        self.session.headers.update(self.auth_headers(token))
        self.session.headers["User-Agent"] = "Larr1"

    def auth_headers(self, token: str) -> dict[str, str]:
        raise NotImplementedError

    def _call(self, method: str, path: str, *, expected: tuple[int, ...] = (200,), **kwargs) -> requests.Response:
        url = path if path.startswith("http") else f"{self.api_url}{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ForgeError(redact(f"{method} {url} failed: {exc}", (self._token,))) from None
        if response.status_code in expected:
            return response
        detail = redact(f"{method} {url} returned {response.status_code}: {response.text[:300]}", (self._token,))
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        raise ForgeError(detail, status=response.status_code, permanent=permanent)

    def list_pulls(self) -> dict[int, PullState]:
        raise NotImplementedError

    def merge(self, number: int, head_sha: str, message: str) -> str:
        """Merge the pull request if its head is still ``head_sha``; return the merge commit ("" if unknown)."""
        raise NotImplementedError

    def close(self) -> None:
        self.session.close()


class GitHubClient(ForgeClient):
    """GitHub REST API v3 (https://docs.github.com/en/rest/pulls/pulls)."""

    forge = "github"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def list_pulls(self) -> dict[int, PullState]:
        # TODO: send If-None-Match with the previous page's ETag once sync keeps
        # state between runs; a 304 does not count against GitHub's rate limit.
        pulls: dict[int, PullState] = {}
        url = f"/repos/{self.repository}/pulls"
        params: dict | None = {"state": "all", "per_page": self.page_size, "sort": "created", "direction": "asc"}
        for _ in range(MAX_PAGES):
            response = self._call("GET", url, params=params)
            for item in response.json():
                pull = self._parse(item)
                pulls[pull.number] = pull
            next_link = response.links.get("next", {}).get("url")
            if not next_link:
                return pulls
            url, params = next_link, None
        logger.warning("Stopped listing pull requests after %s pages", MAX_PAGES)
        return pulls

    @staticmethod
    def _parse(item: dict) -> PullState:
        state = "open" if item.get("state") == "open" else "closed"
        if item.get("merged_at"):
            state = "merged"
        return PullState(
            number=int(item["number"]),
            state=state,
            title=item.get("title") or "",
            author=(item.get("user") or {}).get("login") or "",
            url=item.get("html_url") or "",
            created_at=parse_datetime(item["created_at"]) if item.get("created_at") else None,
            head_sha=(item.get("head") or {}).get("sha") or "",
            merge_commit=(item.get("merge_commit_sha") or "") if state == "merged" else "",
        )

    def merge(self, number: int, head_sha: str, message: str) -> str:
        # 405: not mergeable (conflict, checks); 409: head is no longer head_sha.
        response = self._call(
            "PUT",
            f"/repos/{self.repository}/pulls/{number}/merge",
            json={"sha": head_sha, "merge_method": "merge", "commit_title": message},
        )
        return response.json().get("sha") or ""


class GiteaClient(ForgeClient):
    """Gitea API v1 (https://docs.gitea.com/api/)."""

    forge = "gitea"
    page_size = 50

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}", "Accept": "application/json"}

    def list_pulls(self) -> dict[int, PullState]:
        pulls: dict[int, PullState] = {}
        for page in range(1, MAX_PAGES + 1):
            response = self._call(
                "GET",
                f"/repos/{self.repository}/pulls",
                params={"state": "all", "limit": self.page_size, "page": page},
            )
            items = response.json()
            for item in items:
                state = "merged" if item.get("merged") else ("open" if item.get("state") == "open" else "closed")
                pulls[int(item["number"])] = PullState(
                    number=int(item["number"]),
                    state=state,
                    title=item.get("title") or "",
                    author=(item.get("user") or {}).get("login") or "",
                    url=item.get("html_url") or "",
                    created_at=parse_datetime(item["created_at"]) if item.get("created_at") else None,
                    head_sha=(item.get("head") or {}).get("sha") or "",
                    merge_commit=item.get("merge_commit_sha") or "",
                )
            if len(items) < self.page_size:
                return pulls
        logger.warning("Stopped listing pull requests after %s pages", MAX_PAGES)
        return pulls

    def merge(self, number: int, head_sha: str, message: str) -> str:
        self._call(
            "POST",
            f"/repos/{self.repository}/pulls/{number}/merge",
            json={"Do": "merge", "head_commit_id": head_sha, "MergeTitleField": message},
        )
        return ""


class GitLabClient(ForgeClient):
    """GitLab REST API v4 merge requests (https://docs.gitlab.com/api/merge_requests/)."""

    forge = "gitlab"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token}

    @property
    def _project(self) -> str:
        return quote(self.repository, safe="")

    def list_pulls(self) -> dict[int, PullState]:
        pulls: dict[int, PullState] = {}
        page = "1"
        for _ in range(MAX_PAGES):
            response = self._call(
                "GET",
                f"/projects/{self._project}/merge_requests",
                params={"state": "all", "per_page": self.page_size, "page": page},
            )
            for item in response.json():
                state = {"opened": "open", "merged": "merged"}.get(item.get("state"), "closed")
                pulls[int(item["iid"])] = PullState(
                    number=int(item["iid"]),
                    state=state,
                    title=item.get("title") or "",
                    author=(item.get("author") or {}).get("username") or "",
                    url=item.get("web_url") or "",
                    created_at=parse_datetime(item["created_at"]) if item.get("created_at") else None,
                    head_sha=item.get("sha") or "",
                    merge_commit=item.get("merge_commit_sha") or "",
                )
            page = response.headers.get("X-Next-Page", "")
            if not page:
                return pulls
        logger.warning("Stopped listing merge requests after %s pages", MAX_PAGES)
        return pulls

    def merge(self, number: int, head_sha: str, message: str) -> str:
        response = self._call(
            "PUT",
            f"/projects/{self._project}/merge_requests/{number}/merge",
            json={"sha": head_sha, "merge_commit_message": message},
        )
        return response.json().get("merge_commit_sha") or ""


CLIENTS = {"github": GitHubClient, "gitea": GiteaClient, "gitlab": GitLabClient}


def client_from_settings() -> ForgeClient | None:
    """Return the configured forge client, or None for plain git or when no token is set."""
    forge = settings.LARR1_FORGE
    token = settings.LARR1_FORGE_TOKEN
    repository = settings.LARR1_FORGE_REPOSITORY
    if forge not in CLIENTS or not token or not repository:
        return None
    api_url = settings.LARR1_FORGE_API_URL or DEFAULT_API_URLS.get(forge)
    if not api_url:
        logger.warning("LARR1_FORGE_API_URL is not set for forge %s; using plain git", forge)
        return None
    return CLIENTS[forge](api_url, repository, token, timeout=settings.LARR1_FORGE_TIMEOUT)
