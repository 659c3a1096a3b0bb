"""Pull-request state, merging and closing through the GitHub REST API.

GitHub is a third-party service that cannot run here, so these tests serve
recorded responses from a loopback HTTP server. The JSON below is recorded from
the GitHub REST API (version 2022-11-28) and shortened to the fields Larr1 reads
plus a few around them. Owner, users and repository are replaced by placeholders.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from approvals.exceptions import ForgeError
from approvals.forge import GitHubClient, PageCache
from approvals.merging import approve, dismiss, reject
from approvals.models import AuditEvent, Request
from approvals.sync import sync_repository
from tests.approvals.servers import HangingServer, RecordedHTTPServer
from tests.gitrepos import workspace_yaml

TOKEN = "ghp_recordedTestToken0000000000000000000"
REPOSITORY = "octo-org/users"


def _pull(number, *, state, title, login, head_sha, created_at, merged_at=None, merge_commit_sha=None):
    # Shape of one item of GET /repos/{owner}/{repo}/pulls, as recorded.
    return {
        "url": f"https://api.github.com/repos/{REPOSITORY}/pulls/{number}",
        "id": 1900000000 + number,
        "node_id": f"PR_kwDOLrecorded{number:04d}",
        "html_url": f"https://github.com/{REPOSITORY}/pull/{number}",
        "number": number,
        "state": state,
        "locked": False,
        "title": title,
        "user": {"login": login, "id": 100000 + number, "type": "User", "site_admin": False},
        "body": None,
        "created_at": created_at,
        "updated_at": created_at,
        "closed_at": merged_at if state == "closed" else None,
        "merged_at": merged_at,
        "merge_commit_sha": merge_commit_sha,
        "draft": False,
        "head": {"label": f"{login}:main", "ref": "main", "sha": head_sha},
        "base": {"label": "octo-org:main", "ref": "main"},
        "author_association": "CONTRIBUTOR",
        "auto_merge": None,
        "active_lock_reason": None,
    }


@pytest.fixture
def github(mirror_settings, remote):
    heads = {
        1: remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}),
        2: remote.open_pr(2, {"user/bob.yaml": workspace_yaml("bob", cuda="cuda12.9")}),
        3: remote.open_pr(3, {"user/dave.yaml": workspace_yaml("dave")}),
    }
    merge_commit = remote.merge_pr(3)
    page_one = [
        _pull(
            1, state="open", title="Add alice", login="alice-gh", head_sha=heads[1], created_at="2026-01-23T10:11:41Z"
        ),
        _pull(2, state="closed", title="Add bob", login="bob-gh", head_sha=heads[2], created_at="2026-01-24T08:00:00Z"),
    ]
    page_two = [
        _pull(
            3,
            state="closed",
            title="Add dave",
            login="dave-gh",
            head_sha=heads[3],
            created_at="2026-01-25T09:30:00Z",
            merged_at="2026-01-25T10:00:00Z",
            merge_commit_sha=merge_commit,
        ),
    ]
    merge_replies = {}
    # Responses a test can replace: "pull" (GET one pull request), "comment", "close".
    replies = {}
    # GitHub's ETag changes with the page's content; a test that changes a page changes its ETag.
    etags = {"1": 'W/"recorded-etag-1"', "2": 'W/"recorded-etag-2"'}

    def list_pulls(handler):
        query = parse_qs(urlsplit(handler.path).query)
        page = (query.get("page") or ["1"])[0]
        headers = {"ETag": etags[page]}
        if page == "1":
            headers["Link"] = (
                f'<{server.url}/repos/{REPOSITORY}/pulls?state=all&per_page=100&page=2>; rel="next", '
                f'<{server.url}/repos/{REPOSITORY}/pulls?state=all&per_page=100&page=2>; rel="last"'
            )
        if handler.headers.get("If-None-Match") == etags[page]:
            return 304, headers, b""
        return 200, headers, page_one if page == "1" else page_two

    def merge_pull(handler):
        status, body = merge_replies.get("reply", (200, None))
        if status == 200:
            sha = remote.merge_pr(1)
            body = {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
        return status, {}, body

    def get_pull(handler):
        return replies.get("pull") or (200, {}, page_one[0])

    def comment(handler):
        return replies.get("comment") or (201, {}, _comment(json.loads(server.requests[-1]["body"])["body"]))

    def close_pull(handler):
        return replies.get("close") or (
            200,
            {},
            {**page_one[0], "state": "closed", "closed_at": "2026-01-26T08:00:00Z"},
        )

    routes = {
        f"GET /repos/{REPOSITORY}/pulls": list_pulls,
        f"PUT /repos/{REPOSITORY}/pulls/1/merge": merge_pull,
        f"GET /repos/{REPOSITORY}/pulls/1": get_pull,
        f"POST /repos/{REPOSITORY}/issues/1/comments": comment,
        f"PATCH /repos/{REPOSITORY}/pulls/1": close_pull,
    }
    with RecordedHTTPServer(routes) as server:
        mirror_settings.LARR1_FORGE = "github"
        mirror_settings.LARR1_FORGE_API_URL = server.url
        mirror_settings.LARR1_FORGE_REPOSITORY = REPOSITORY
        mirror_settings.LARR1_FORGE_TOKEN = TOKEN
        server.merge_replies = merge_replies
        server.replies = replies
        server.heads = heads
        server.page_one = page_one
        server.etags = etags
        yield server


def _comment(body):
    # Shape of POST /repos/{owner}/{repo}/issues/{number}/comments (201), as recorded.
    return {
        "id": 2600000001,
        "node_id": "IC_kwDOLrecorded0001",
        "url": f"https://api.github.com/repos/{REPOSITORY}/issues/comments/2600000001",
        "html_url": f"https://github.com/{REPOSITORY}/pull/1#issuecomment-2600000001",
        "body": body,
        "user": {"login": "larr1-bot", "id": 190000, "type": "User", "site_admin": False},
        "created_at": "2026-01-26T08:00:00Z",
        "updated_at": "2026-01-26T08:00:00Z",
        "issue_url": f"https://api.github.com/repos/{REPOSITORY}/issues/1",
        "author_association": "NONE",
    }


def test_it_takes_state_from_the_api(db, github):
    sync_repository()

    states = dict(Request.objects.values_list("number", "state"))
    assert states == {1: "open", 2: "closed", 3: "merged"}


def test_it_reads_pull_details_from_api(db, github):
    sync_repository()

    request = Request.objects.get(number=1)
    assert request.title == "Add alice"
    assert request.author == "alice-gh"
    assert request.url == f"https://github.com/{REPOSITORY}/pull/1"
    assert request.opened_at.isoformat() == "2026-01-23T10:11:41+00:00"


def test_it_follows_pagination_and_sends_the_token(db, github):
    sync_repository()

    pages = [request for request in github.requests if request["method"] == "GET"]
    assert len(pages) == 2
    assert all(request["headers"]["Authorization"] == f"Bearer {TOKEN}" for request in pages)


def test_it_keeps_git_states_when_the_api_fails(db, github, mirror_settings, caplog):
    caplog.set_level(logging.DEBUG)
    mirror_settings.LARR1_FORGE_REPOSITORY = "octo-org/missing"

    report = sync_repository()

    assert report.forge_error == "forge-not-found"
    assert Request.objects.get(number=3).state == Request.State.MERGED
    assert Request.objects.get(number=1).state == Request.State.OPEN
    assert TOKEN not in caplog.text


def test_it_merges_seen_head_through_api(db, github, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)

    outcome = approve(request.pk, request.head_sha, admin_user)

    merge_call = next(call for call in github.requests if call["method"] == "PUT")
    assert outcome.code == "merged"
    assert json.loads(merge_call["body"])["sha"] == request.head_sha
    assert Request.objects.get(number=1).state == Request.State.MERGED
    assert AuditEvent.objects.get(action=AuditEvent.Action.APPROVED).details["via"] == "forge-api"


def test_it_reports_a_head_moved_on_github(db, github, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)
    github.merge_replies["reply"] = (
        409,
        {
            "message": "Head branch was modified. Review and try the merge again.",
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request",
            "status": "409",
        },
    )

    outcome = approve(request.pk, request.head_sha, admin_user)

    assert outcome.code == "head-moved"
    assert Request.objects.get(number=1).state == Request.State.OPEN


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Pull Request is not mergeable", "conflict"),
        ("At least 1 approving review is required by reviewers with write access.", "merge-refused"),
    ],
)
def test_it_tells_a_conflict_from_other_refusals(db, github, admin_user, message, code):
    sync_repository()
    request = Request.objects.get(number=1)
    github.merge_replies["reply"] = (
        405,
        {"message": message, "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"},
    )

    outcome = approve(request.pk, request.head_sha, admin_user)

    assert outcome.code == code
    assert Request.objects.get(number=1).state == Request.State.OPEN
    assert message in AuditEvent.objects.get(action=AuditEvent.Action.APPROVAL_FAILED).details["detail"]


def test_it_reports_a_rejected_token_on_merge(db, github, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)
    github.merge_replies["reply"] = (
        401,
        {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"},
    )

    outcome = approve(request.pk, request.head_sha, admin_user)

    assert outcome.code == "forge-auth-failed"
    assert "LARR1_FORGE_TOKEN" in outcome.message
    assert TOKEN not in outcome.detail


# --- conditional requests --------------------------------------------------------------


def test_it_sends_each_page_etag_next_sync(db, github):
    sync_repository()
    first = github.calls("GET")

    report = sync_repository()

    second = github.calls("GET")[len(first) :]
    assert [call["headers"].get("If-None-Match") for call in first] == [None, None]
    assert [call["headers"].get("If-None-Match") for call in second] == ['W/"recorded-etag-1"', 'W/"recorded-etag-2"']
    assert report.forge_error == ""
    assert dict(Request.objects.values_list("number", "state")) == {1: "open", 2: "closed", 3: "merged"}


def test_it_reuses_a_not_modified_page(github):
    client = GitHubClient(github.url, REPOSITORY, TOKEN, page_cache=PageCache())

    before = client.list_pulls()
    after = client.list_pulls()

    assert [call["headers"].get("If-None-Match") for call in github.calls("GET")] == [
        None,
        None,
        'W/"recorded-etag-1"',
        'W/"recorded-etag-2"',
    ]
    assert after == before
    assert {number: pull.state for number, pull in after.items()} == {1: "open", 2: "closed", 3: "merged"}


def test_it_reads_a_changed_page_again(db, github):
    sync_repository()
    github.page_one[0] = {**github.page_one[0], "state": "closed", "closed_at": "2026-01-26T08:00:00Z"}
    github.etags["1"] = 'W/"recorded-etag-1-closed"'

    report = sync_repository()

    assert report.closed == [1]
    assert Request.objects.get(number=1).state == Request.State.CLOSED


def test_it_ignores_links_to_another_origin():
    with RecordedHTTPServer({}) as elsewhere:
        link = f'<{elsewhere.url}/repos/{REPOSITORY}/pulls?page=2>; rel="next"'
        routes = {f"GET /repos/{REPOSITORY}/pulls": (200, {"Link": link}, [])}
        with RecordedHTTPServer(routes) as forge:
            client = GitHubClient(forge.url, REPOSITORY, TOKEN)

            with pytest.raises(ForgeError, match="another origin"):
                client.list_pulls()

        assert elsewhere.requests == []


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "body", "code", "permanent"),
    [
        (
            401,
            {},
            {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            "forge-auth-failed",
            True,
        ),
        (
            404,
            {},
            {
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest/pulls/pulls#list-pull-requests",
            },
            "forge-not-found",
            True,
        ),
        (
            403,
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1769420000"},
            {
                "message": "API rate limit exceeded for user ID 190000.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            },
            "forge-rate-limited",
            False,
        ),
        (
            502,
            {"Content-Type": "text/html"},
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "forge-unavailable",
            False,
        ),
    ],
)
def test_it_raises_listing_errors_with_codes(status, headers, body, code, permanent):
    with RecordedHTTPServer({f"GET /repos/{REPOSITORY}/pulls": (status, headers, body)}) as forge:
        client = GitHubClient(forge.url, REPOSITORY, TOKEN)

        with pytest.raises(ForgeError) as raised:
            client.list_pulls()

    assert raised.value.code == code
    assert raised.value.status == status
    assert raised.value.permanent is permanent
    assert f"GET {forge.url}/repos/{REPOSITORY}/pulls returned {status}" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_it_times_out_a_silent_forge(db, github, mirror_settings):
    with HangingServer() as hanging:
        mirror_settings.LARR1_FORGE_API_URL = f"http://127.0.0.1:{hanging.port}"
        mirror_settings.LARR1_FORGE_TIMEOUT = 1

        report = sync_repository()

    assert report.forge_error == "forge-timeout"
    assert Request.objects.get(number=3).state == Request.State.MERGED


# --- rejecting closes the pull request ---------------------------------------------------


def test_it_closes_rejected_pull_with_reason(db, github, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.\nAsk again in March.")

    [comment] = github.calls("POST", f"/repos/{REPOSITORY}/issues/1/comments")
    [close] = github.calls("PATCH", f"/repos/{REPOSITORY}/pulls/1")
    body = json.loads(comment["body"])["body"]
    assert outcome.code == "rejected"
    assert outcome.forge == "closed"
    assert "> Please use the small profile.\n> Ask again in March." in body
    assert "rejected this pull request" in body
    assert "拒絕" in body
    assert json.loads(close["body"]) == {"state": "closed"}
    assert comment["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert github.requests.index(comment) < github.requests.index(close)
    assert AuditEvent.objects.get(action=AuditEvent.Action.REJECTED).details["forge"] == "closed"


def test_it_keeps_rejection_when_close_fails(db, github, admin_user, caplog):
    sync_repository()
    request = Request.objects.get(number=1)
    github.replies["close"] = (503, {}, {"message": "Service Unavailable"})

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")

    event = AuditEvent.objects.get(action=AuditEvent.Action.REJECTED)
    assert outcome.ok
    assert outcome.forge == "forge-unavailable"
    assert outcome.forge_failed
    assert "The rejection is recorded" in outcome.forge_message
    assert Request.objects.get(number=1).state == Request.State.REJECTED
    assert event.details["forge"] == "forge-unavailable"
    assert "503" in event.details["forge_detail"]
    assert TOKEN not in caplog.text


def test_it_leaves_a_moved_pull_open(db, github, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)
    github.replies["pull"] = (200, {}, {**github.page_one[0], "head": {"ref": "main", "sha": "f" * 40}})

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")

    assert outcome.forge == "head-moved"
    assert "new commit" in outcome.forge_message
    assert github.calls("POST") == []
    assert github.calls("PATCH") == []
    assert Request.objects.get(number=1).state == Request.State.REJECTED


def test_it_keeps_a_rejection_after_forge_close(db, github, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)
    reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")
    github.page_one[0] = {**github.page_one[0], "state": "closed", "closed_at": "2026-01-26T08:00:00Z"}
    github.etags["1"] = 'W/"recorded-etag-1-closed"'

    report = sync_repository()

    assert report.closed == []
    assert Request.objects.get(number=1).get_state_display() == "Rejected"


def test_it_skips_an_already_closed_pull(db, github, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)
    github.replies["pull"] = (200, {}, {**github.page_one[0], "state": "closed", "closed_at": "2026-01-26T08:00:00Z"})

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")

    assert outcome.forge == "already-closed"
    assert not outcome.forge_failed
    assert github.calls("POST") == []


def test_it_shows_close_failure_to_admin(db, github, admin_user, client):
    sync_repository()
    request = Request.objects.get(number=1)
    github.replies["comment"] = (
        401,
        {},
        {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
    )
    client.force_login(admin_user)

    response = client.post(
        reverse("approvals:reject", args=[request.pk]),
        {"head_sha": request.head_sha, "reason": "Please use the small profile."},
    )

    shown = [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]
    assert shown[0] == ("success", "Rejected. The request stays closed in Larr1 until its author pushes a new commit.")
    assert shown[1][0] == "warning"
    assert "Check LARR1_FORGE_TOKEN" in shown[1][1]
    assert Request.objects.get(number=1).state == Request.State.REJECTED


def test_it_does_not_close_a_dismissed_pull_request(db, github, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)

    outcome = dismiss(request.pk, request.head_sha, admin_user, "Duplicate of #4.")

    assert outcome.forge == ""
    assert [call["method"] for call in github.requests if call["method"] != "GET"] == []


def test_it_leaves_the_forge_alone_with_plain_git(db, github, mirror_settings, admin_user):
    mirror_settings.LARR1_FORGE = "git"
    sync_repository()
    request = Request.objects.get(number=1)

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")

    assert outcome.code == "rejected"
    assert outcome.forge == ""
    assert github.requests == []
