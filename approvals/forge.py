"""REST clients for the forges that host the user repository: pull-request state, merging, closing.

Each client lists every pull request with its state (open, closed or merged),
merges one at an exact head commit, and closes one with a comment. Every HTTP
call has a timeout and goes through ``_call``, which maps the status code to
done or a ForgeError with a stable code (see ``approvals.exceptions``):
permanent for 4xx, transient for 5xx, rate limits and network failures.

A merge the forge refuses is classified per forge in ``merge``, because the
forges use the same status codes for different things (a 409 is a moved head
on GitHub but also a conflict on Gitea).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode, urlsplit

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


@dataclass(frozen=True)
class CachedPage:
    """One page of a pull-request listing, kept with the ETag the forge sent for it."""

    etag: str
    pulls: tuple[PullState, ...]
    next_url: str
    full: bool  # the page held as many items as asked for


class PageCache:
    """Pages of earlier listings by URL, for conditional requests; the least recently used go first.

    A sync passes one cache that outlives its client, so the next sync can send
    If-None-Match and reuse a page when the forge returns 304 Not Modified.
    """

    def __init__(self, max_entries: int = 200):
        self.max_entries = max_entries
        self._pages: OrderedDict[str, CachedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> CachedPage | None:
        with self._lock:
            page = self._pages.get(url)
            if page is not None:
                self._pages.move_to_end(url)
            return page

    def put(self, url: str, page: CachedPage) -> None:
        with self._lock:
            self._pages[url] = page
            self._pages.move_to_end(url)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


def _status_code(status: int, headers) -> tuple[str, bool]:
    """Return (code, permanent) for an HTTP error status."""
    rate_limited = status == 429 or (
        status == 403 and (headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in headers)
    )
    if rate_limited:
        return "forge-rate-limited", False
    if status in (401, 403):
        return "forge-auth-failed", True
    if status == 404:
        return "forge-not-found", True
    if status == 408 or status >= 500:
        return "forge-unavailable", False
    return "forge-error", 400 <= status < 500


class ForgeClient:
    forge = "forge"
    page_size = 100

    def __init__(
        self,
        api_url: str,
        repository: str,
        token: str,
        *,
        timeout: float = 15,
        page_cache: PageCache | None = None,
    ):
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.timeout = timeout
        self.page_cache = page_cache if page_cache is not None else PageCache()
        self._token = token
        self.session = requests.Session()
        self.session.headers.update(self.auth_headers(token))
        self.session.headers["User-Agent"] = "Larr1"

    def auth_headers(self, token: str) -> dict[str, str]:
        raise NotImplementedError

    def _url(self, path: str) -> str:
        """Return the absolute URL of an API path, or check that an absolute URL stays on the API's origin.

        Pagination links come from the forge's responses, and following one to
        another host would send the token there.
        """
        if not path.startswith(("http://", "https://")):
            return f"{self.api_url}{path}"
        ours, theirs = urlsplit(self.api_url), urlsplit(path)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise ForgeError(redact(f"the forge linked to another origin: {theirs.scheme}://{theirs.netloc}"))
        return path

    def _call(self, method: str, path: str, *, expected: tuple[int, ...] = (200,), **kwargs) -> requests.Response:
        url = self._url(path)
        where = redact(f"{method} {url.split('?')[0]}", (self._token,))
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise ForgeError(f"{where} timed out after {self.timeout:g} s", code="forge-timeout") from None
        except requests.RequestException as exc:
            detail = redact(f"{where} failed: {exc}", (self._token,))
            raise ForgeError(detail, code="forge-unreachable") from None
        if response.status_code in expected:
            return response
        code, permanent = _status_code(response.status_code, response.headers)
        detail = redact(f"{where} returned {response.status_code}: {response.text[:300]}", (self._token,))
        raise ForgeError(detail, status=response.status_code, code=code, permanent=permanent)

    def _json(self, response: requests.Response, kind: type = dict):
        """Return the response's JSON body, which must be a ``kind``."""
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, kind):
            where = f"{response.request.method} {response.url.split('?')[0]}"
            detail = redact(f"{where} returned a body that is not a JSON {kind.__name__}", (self._token,))
            raise ForgeError(detail, status=response.status_code)
        return data

    def list_pulls(self) -> dict[int, PullState]:
        raise NotImplementedError

    def get_pull(self, number: int) -> PullState:
        raise NotImplementedError

    def merge(self, number: int, head_sha: str, message: str) -> str:
        """Merge the pull request if its head is still ``head_sha``; return the merge commit ("" if unknown).

        A refusal raises ForgeError with code "head-moved", "conflict",
        "remote-moved" or "merge-refused".
        """
        raise NotImplementedError

    def close_pull(self, number: int, head_sha: str, comment: str) -> bool:
        """Comment on the pull request and close it, if it is open at ``head_sha``.

        Returns False when it is no longer open on the forge (nothing is done).
        Raises ForgeError with code "head-moved" when its head is not ``head_sha``,
        so a commit no admin has seen is not closed with another commit's reason.
        """
        pull = self.get_pull(number)
        if pull.state != "open":
            return False
        if pull.head_sha != head_sha:
            raise ForgeError(
                f"pull request {number} is at {pull.head_sha} on the forge, not {head_sha}",
                code="head-moved",
                permanent=True,
            )
        self._comment(number, comment)
        self._close_pull(number)
        logger.info("Closed pull request %s on %s with a comment", number, self.forge)
        return True

    def _comment(self, number: int, body: str) -> None:
        raise NotImplementedError

    def _close_pull(self, number: int) -> None:
        raise NotImplementedError

    @staticmethod
    def _refusal(exc: ForgeError, code: str) -> ForgeError:
        return ForgeError(exc.detail, status=exc.status, code=code, permanent=True)

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
        # Each page is requested with the ETag of its previous response. A 304 does not
        # count against the rate limit, and the cached page is reused
        # (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
        pulls: dict[int, PullState] = {}
        query = {"state": "all", "per_page": self.page_size, "sort": "created", "direction": "asc"}
        url = f"{self.api_url}/repos/{self.repository}/pulls?{urlencode(query)}"
        for _ in range(MAX_PAGES):
            page = self._list_page(url)
            for pull in page.pulls:
                pulls[pull.number] = pull
            if not page.next_url:
                return pulls
            url = page.next_url
        logger.warning("Stopped listing pull requests after %s pages", MAX_PAGES)
        return pulls

    def _list_page(self, url: str) -> CachedPage:
        cached = self.page_cache.get(url)
        headers = {}
        # A full last page keeps its ETag when a new pull request starts the next page.
        # A 304 may lack the Link header, so such a page is requested without If-None-Match.
        if cached is not None and cached.etag and (cached.next_url or not cached.full):
            headers["If-None-Match"] = cached.etag
        response = self._call("GET", url, expected=(200, 304), headers=headers)
        if response.status_code == 304 and cached is not None:
            next_url = response.links.get("next", {}).get("url") or cached.next_url
            return CachedPage(cached.etag, cached.pulls, self._url(next_url) if next_url else "", cached.full)
        if response.status_code == 304:
            raise ForgeError(f"GET {url.split('?')[0]} returned 304 to a request without If-None-Match")
        items = self._json(response, list)
        next_url = response.links.get("next", {}).get("url") or ""
        page = CachedPage(
            etag=response.headers.get("ETag", ""),
            pulls=tuple(self._parse(item) for item in items),
            next_url=self._url(next_url) if next_url else "",
            full=len(items) >= self.page_size,
        )
        if page.etag:
            self.page_cache.put(url, page)
        return page

    def get_pull(self, number: int) -> PullState:
        return self._parse(self._json(self._call("GET", f"/repos/{self.repository}/pulls/{number}")))

    @staticmethod
    def _parse(item: dict) -> PullState:
        return _pull_state(item, merged=bool(item.get("merged_at")))

    def merge(self, number: int, head_sha: str, message: str) -> str:
        # https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request
        # 409: the head is no longer head_sha. 405: GitHub does not merge it because of a
        # branch protection rule, a required check or review, or a conflict ("not mergeable").
        try:
            response = self._call(
                "PUT",
                f"/repos/{self.repository}/pulls/{number}/merge",
                json={"sha": head_sha, "merge_method": "merge", "commit_title": message},
            )
        except ForgeError as exc:
            if exc.status == 409:
                raise self._refusal(exc, "head-moved") from None
            if exc.status == 405:
                code = "conflict" if "not mergeable" in exc.detail.lower() else "merge-refused"
                raise self._refusal(exc, code) from None
            raise
        return self._json(response).get("sha") or ""

    def _comment(self, number: int, body: str) -> None:
        # Pull requests are issues for comments: https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
        self._call("POST", f"/repos/{self.repository}/issues/{number}/comments", expected=(201,), json={"body": body})

    def _close_pull(self, number: int) -> None:
        self._call("PATCH", f"/repos/{self.repository}/pulls/{number}", json={"state": "closed"})


def _pull_state(item: dict, *, merged: bool) -> PullState:
    """Read a pull request in the JSON shape GitHub and Gitea share."""
    if merged:
        state = "merged"
    elif item.get("state") == "open":
        state = "open"
    else:
        state = "closed"
    return PullState(
        number=int(item["number"]),
        state=state,
        title=item.get("title") or "",
        author=(item.get("user") or {}).get("login") or "",
        url=item.get("html_url") or "",
        created_at=parse_datetime(item["created_at"]) if item.get("created_at") else None,
        head_sha=(item.get("head") or {}).get("sha") or "",
        # An open pull request's merge_commit_sha is a test merge, not a commit on main.
        merge_commit=(item.get("merge_commit_sha") or "") if merged else "",
    )


class GiteaClient(ForgeClient):
    """Gitea API v1 (https://docs.gitea.com/api/)."""

    forge = "gitea"
    # Gitea caps ``limit`` at its MAX_RESPONSE_ITEMS setting (50 by default), so a page
    # may have fewer items than requested. The Link header shows whether another page follows.
    page_size = 50

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}", "Accept": "application/json"}

    def list_pulls(self) -> dict[int, PullState]:
        pulls: dict[int, PullState] = {}
        for page in range(1, MAX_PAGES + 1):
            # Oldest first, so a pull request opened meanwhile lands on the last page
            # instead of pushing one from page to page.
            response = self._call(
                "GET",
                f"/repos/{self.repository}/pulls",
                params={"state": "all", "sort": "oldest", "limit": self.page_size, "page": page},
            )
            items = self._json(response, list)
            for item in items:
                pull = self._parse(item)
                pulls[pull.number] = pull
            # The Link header's URLs are built from Gitea's ROOT_URL, which may not be the
            # address Larr1 reaches it at, so only its rel="next" is used. Without a Link
            # header (a proxy may drop it), a full page may have a successor.
            more = "next" in response.links if "Link" in response.headers else len(items) >= self.page_size
            if not more or not items:
                return pulls
        logger.warning("Stopped listing pull requests after %s pages", MAX_PAGES)
        return pulls

    def get_pull(self, number: int) -> PullState:
        return self._parse(self._json(self._call("GET", f"/repos/{self.repository}/pulls/{number}")))

    @staticmethod
    def _parse(item: dict) -> PullState:
        return _pull_state(item, merged=bool(item.get("merged")))

    def merge(self, number: int, head_sha: str, message: str) -> str:
        # Gitea returns 200 with an empty body. It returns 405 when the pull request cannot
        # be merged now (permissions, work in progress, checks, mergeability not yet checked).
        # It returns 409 for a moved head ("head out of date"), for a main that moved during
        # the merge ("merge push out of date") and for a conflict (ErrMergeConflicts as JSON).
        try:
            self._call(
                "POST",
                f"/repos/{self.repository}/pulls/{number}/merge",
                json={"Do": "merge", "head_commit_id": head_sha, "MergeTitleField": message},
            )
        except ForgeError as exc:
            if exc.status == 405:
                raise self._refusal(exc, "merge-refused") from None
            if exc.status == 409:
                text = exc.detail.lower()
                if "head out of date" in text:
                    raise self._refusal(exc, "head-moved") from None
                if "push out of date" in text:
                    raise ForgeError(exc.detail, status=409, code="remote-moved") from None
                raise self._refusal(exc, "conflict") from None
            raise
        # The merge response has no commit, so it is read from the merged pull request.
        try:
            return self.get_pull(number).merge_commit
        except ForgeError as exc:
            logger.warning("Merged pull request %s on Gitea but could not read its merge commit: %s", number, exc)
            return ""

    def _comment(self, number: int, body: str) -> None:
        self._call("POST", f"/repos/{self.repository}/issues/{number}/comments", expected=(201,), json={"body": body})

    def _close_pull(self, number: int) -> None:
        # Gitea returns 201 Created for an edit.
        self._call("PATCH", f"/repos/{self.repository}/pulls/{number}", expected=(200, 201), json={"state": "closed"})


class GitLabClient(ForgeClient):
    """GitLab REST API v4 merge requests (https://docs.gitlab.com/api/merge_requests/).

    ``api_url`` includes ``/api/v4``.
    """

    forge = "gitlab"

    def auth_headers(self, token: str) -> dict[str, str]:
        # GitLab takes a personal, project or group access token as a Bearer token too.
        # requests drops Authorization on a redirect to another host, but not PRIVATE-TOKEN.
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

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
                params={
                    "state": "all",
                    "order_by": "created_at",
                    "sort": "asc",
                    "per_page": self.page_size,
                    "page": page,
                },
            )
            for item in self._json(response, list):
                pull = self._parse(item)
                pulls[pull.number] = pull
            page = response.headers.get("X-Next-Page", "")
            if not page:
                return pulls
        logger.warning("Stopped listing merge requests after %s pages", MAX_PAGES)
        return pulls

    def get_pull(self, number: int) -> PullState:
        return self._parse(self._json(self._call("GET", f"/projects/{self._project}/merge_requests/{number}")))

    @staticmethod
    def _parse(item: dict) -> PullState:
        # "locked" is GitLab's state while a merge is under way: still open.
        state = {"opened": "open", "locked": "open", "merged": "merged"}.get(item.get("state"), "closed")
        merge_commit = ""
        if state == "merged":
            # A squash merge into a fast-forward-only project leaves merge_commit_sha empty.
            merge_commit = item.get("merge_commit_sha") or item.get("squash_commit_sha") or ""
        return PullState(
            number=int(item["iid"]),
            state=state,
            title=item.get("title") or "",
            author=(item.get("author") or {}).get("username") or "",
            url=item.get("web_url") or "",
            created_at=parse_datetime(item["created_at"]) if item.get("created_at") else None,
            head_sha=item.get("sha") or "",
            merge_commit=merge_commit,
        )

    def merge(self, number: int, head_sha: str, message: str) -> str:
        # https://docs.gitlab.com/api/merge_requests/#merge-a-merge-request
        # 409: sha is not the source branch's head. 406 (older GitLab) and 422: the
        # branch cannot be merged. 405: not mergeable now (draft, closed, pipeline,
        # approvals, unresolved threads; GitLab also reports some conflicts so).
        try:
            response = self._call(
                "PUT",
                f"/projects/{self._project}/merge_requests/{number}/merge",
                json={"sha": head_sha, "merge_commit_message": message},
            )
        except ForgeError as exc:
            code = {409: "head-moved", 406: "conflict", 422: "conflict", 405: "merge-refused"}.get(exc.status)
            if code:
                raise self._refusal(exc, code) from None
            raise
        item = self._json(response)
        return item.get("merge_commit_sha") or item.get("squash_commit_sha") or ""

    def _comment(self, number: int, body: str) -> None:
        self._call(
            "POST", f"/projects/{self._project}/merge_requests/{number}/notes", expected=(201,), json={"body": body}
        )

    def _close_pull(self, number: int) -> None:
        self._call("PUT", f"/projects/{self._project}/merge_requests/{number}", json={"state_event": "close"})


CLIENTS = {"github": GitHubClient, "gitea": GiteaClient, "gitlab": GitLabClient}


def client_from_settings(*, page_cache: PageCache | None = None) -> ForgeClient | None:
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
    return CLIENTS[forge](api_url, repository, token, timeout=settings.LARR1_FORGE_TIMEOUT, page_cache=page_cache)
