"""Pull-request state and merging through the GitHub REST API.

GitHub is a third-party service, so these tests serve recorded responses from a
loopback HTTP server. The JSON below is recorded from the GitHub REST API
(version 2022-11-28) and shortened to the fields Larr1 reads plus a few around
them. Owner, users and repository are replaced by placeholders.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from approvals.merging import approve
from approvals.models import AuditEvent, Request
from approvals.sync import sync_repository
from tests.approvals.servers import RecordedHTTPServer
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

    def list_pulls(handler):
        query = parse_qs(urlsplit(handler.path).query)
        if query.get("page") == ["2"]:
            return 200, {}, page_two
        link = f'<{server.url}/repos/{REPOSITORY}/pulls?state=all&per_page=100&page=2>; rel="next"'
        return 200, {"Link": link, "ETag": 'W/"recorded-etag-1"'}, page_one

    def merge_pull(handler):
        status, body = merge_replies.get("reply", (200, None))
        if status == 200:
            sha = remote.merge_pr(1)
            body = {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
        return status, {}, body

    routes = {
        f"GET /repos/{REPOSITORY}/pulls": list_pulls,
        f"PUT /repos/{REPOSITORY}/pulls/1/merge": merge_pull,
    }
    with RecordedHTTPServer(routes) as server:
        mirror_settings.LARR1_FORGE = "github"
        mirror_settings.LARR1_FORGE_API_URL = server.url
        mirror_settings.LARR1_FORGE_REPOSITORY = REPOSITORY
        mirror_settings.LARR1_FORGE_TOKEN = TOKEN
        server.merge_replies = merge_replies
        yield server


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

    assert report.forge_error == "forge-error"
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
