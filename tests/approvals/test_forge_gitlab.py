"""Merge-request state, merging and closing through the GitLab REST API v4.

GitLab cannot run here, so these tests serve recorded, realistic responses from
a loopback HTTP server. The JSON follows the shapes that GitLab's merge requests
and notes APIs document, shortened to the fields Larr1 reads plus a few around
them. Error bodies are GitLab's ``{"message": ...}``. The instance is
https://gitlab.example.com, a name that appears only inside the answers.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from approvals.exceptions import ForgeError
from approvals.forge import GitLabClient
from approvals.merging import approve, reject
from approvals.models import AuditEvent, Request
from approvals.sync import sync_repository
from tests.approvals.servers import HangingServer, RecordedHTTPServer
from tests.gitrepos import RemoteRepo, workspace_yaml

TOKEN = "glpat-recordedTestToken0000"
REPOSITORY = "lab/users"
PROJECT = "lab%2Fusers"
INSTANCE = "https://gitlab.example.com"


def _author(username, user_id):
    return {
        "id": user_id,
        "username": username,
        "name": username.title(),
        "state": "active",
        "locked": False,
        "avatar_url": f"{INSTANCE}/uploads/-/system/user/avatar/{user_id}/avatar.png",
        "web_url": f"{INSTANCE}/{username}",
    }


def _merge_request(iid, *, state, title, username, sha, created_at, merge_commit_sha=None, squash_commit_sha=None):
    # Shape of one item of GET /projects/:id/merge_requests.
    merged = state == "merged"
    return {
        "id": 270000 + iid,
        "iid": iid,
        "project_id": 4242,
        "title": title,
        "description": "",
        "state": state,
        "created_at": created_at,
        "updated_at": created_at,
        "merged_by": _author("maintainer", 2) if merged else None,
        "merge_user": _author("maintainer", 2) if merged else None,
        "merged_at": "2026-03-03T10:00:00.000Z" if merged else None,
        "closed_by": _author("maintainer", 2) if state == "closed" else None,
        "closed_at": "2026-03-03T10:00:00.000Z" if state == "closed" else None,
        "target_branch": "main",
        "source_branch": f"add-{username}",
        "user_notes_count": 0,
        "upvotes": 0,
        "downvotes": 0,
        "author": _author(username, 100 + iid),
        "assignees": [],
        "assignee": None,
        "reviewers": [],
        "source_project_id": 4300 + iid,
        "target_project_id": 4242,
        "labels": [],
        "draft": False,
        "work_in_progress": False,
        "milestone": None,
        "merge_when_pipeline_succeeds": False,
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable" if state == "opened" else "not_open",
        "sha": sha,
        "merge_commit_sha": merge_commit_sha,
        "squash_commit_sha": squash_commit_sha,
        "discussion_locked": None,
        "should_remove_source_branch": None,
        "force_remove_source_branch": True,
        "reference": f"!{iid}",
        "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": f"{REPOSITORY}!{iid}"},
        "web_url": f"{INSTANCE}/{REPOSITORY}/-/merge_requests/{iid}",
        "squash": squash_commit_sha is not None,
        "squash_on_merge": squash_commit_sha is not None,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": False,
        "blocking_discussions_resolved": True,
    }


@pytest.fixture
def remote(tmp_path):
    """The user repository as GitLab keeps it: merge-request heads under refs/merge-requests/."""
    repo = RemoteRepo(tmp_path / "remote.git", pull_prefix="refs/merge-requests/")
    repo.commit_to_main({"README.md": "# Users\n", "user/.gitkeep": "", "user/carol.yaml": workspace_yaml("carol")})
    return repo


@pytest.fixture
def gitlab(mirror_settings, remote):
    heads = {
        1: remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}),
        2: remote.open_pr(2, {"user/bob.yaml": workspace_yaml("bob", cuda="cuda12.9")}),
        3: remote.open_pr(3, {"user/dave.yaml": workspace_yaml("dave")}),
        4: remote.open_pr(4, {"user/erin.yaml": workspace_yaml("erin")}),
    }
    squash_commit = remote.squash_pr(3)
    merge_requests = [
        _merge_request(
            1, state="opened", title="Add alice", username="alice", sha=heads[1], created_at="2026-03-01T09:00:00.123Z"
        ),
        _merge_request(
            2, state="closed", title="Add bob", username="bob", sha=heads[2], created_at="2026-03-01T10:00:00.000Z"
        ),
        _merge_request(
            3,
            state="merged",
            title="Add dave",
            username="dave",
            sha=heads[3],
            created_at="2026-03-02T09:00:00.000Z",
            squash_commit_sha=squash_commit,
        ),
        # "locked": GitLab is merging it right now.
        _merge_request(
            4, state="locked", title="Add erin", username="erin", sha=heads[4], created_at="2026-03-02T10:00:00.000Z"
        ),
    ]
    per_page = 2
    replies = {}

    def list_merge_requests(handler):
        query = parse_qs(urlsplit(handler.path).query)
        page = int(query["page"][0])
        pages = (len(merge_requests) + per_page - 1) // per_page
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "X-Total": str(len(merge_requests)),
            "X-Total-Pages": str(pages),
        }
        return 200, headers, merge_requests[(page - 1) * per_page : page * per_page]

    def merge(handler):
        if "merge" in replies:
            return replies["merge"]
        sha = remote.merge_pr(1)
        merge_requests[0] = {**merge_requests[0], "state": "merged", "merge_commit_sha": sha}
        return 200, {}, merge_requests[0]

    def get_merge_request(handler):
        return replies.get("get") or (200, {}, merge_requests[0])

    def note(handler):
        if "note" in replies:
            return replies["note"]
        body = json.loads(server.requests[-1]["body"])["body"]
        return (
            201,
            {},
            {
                "id": 3020001,
                "type": None,
                "body": body,
                "attachment": None,
                "author": _author("larr1-bot", 9),
                "created_at": "2026-03-04T08:00:00.000Z",
                "updated_at": "2026-03-04T08:00:00.000Z",
                "system": False,
                "noteable_id": 270001,
                "noteable_type": "MergeRequest",
                "project_id": 4242,
                "resolvable": False,
                "confidential": False,
                "internal": False,
                "noteable_iid": 1,
            },
        )

    def update(handler):
        return replies.get("update") or (200, {}, {**merge_requests[0], "state": "closed"})

    routes = {
        f"GET /api/v4/projects/{PROJECT}/merge_requests": list_merge_requests,
        f"PUT /api/v4/projects/{PROJECT}/merge_requests/1/merge": merge,
        f"GET /api/v4/projects/{PROJECT}/merge_requests/1": get_merge_request,
        f"POST /api/v4/projects/{PROJECT}/merge_requests/1/notes": note,
        f"PUT /api/v4/projects/{PROJECT}/merge_requests/1": update,
    }
    with RecordedHTTPServer(routes) as server:
        mirror_settings.LARR1_FORGE = "gitlab"
        mirror_settings.LARR1_FORGE_API_URL = f"{server.url}/api/v4"
        mirror_settings.LARR1_FORGE_REPOSITORY = REPOSITORY
        mirror_settings.LARR1_FORGE_TOKEN = TOKEN
        server.replies = replies
        yield server


# --- listing -------------------------------------------------------------------------------


def test_it_takes_state_from_the_api(db, gitlab):
    sync_repository()

    states = dict(Request.objects.values_list("number", "state"))
    assert states == {1: "open", 2: "closed", 3: "merged", 4: "open"}


def test_it_takes_squash_commit_of_merge(db, gitlab, remote):
    sync_repository()

    assert Request.objects.get(number=3).merged_commit == remote.main


def test_it_reads_merge_request_details_from_api(db, gitlab):
    sync_repository()

    request = Request.objects.get(number=1)
    assert request.title == "Add alice"
    assert request.author == "alice"
    assert request.url == f"{INSTANCE}/{REPOSITORY}/-/merge_requests/1"
    assert request.opened_at.isoformat() == "2026-03-01T09:00:00.123000+00:00"


def test_it_follows_pagination_and_sends_the_token(db, gitlab):
    sync_repository()

    pages = gitlab.calls("GET", f"/api/v4/projects/{PROJECT}/merge_requests?")
    assert [parse_qs(urlsplit(call["path"]).query)["page"] for call in pages] == [["1"], ["2"]]
    assert all(call["headers"]["Authorization"] == f"Bearer {TOKEN}" for call in pages)
    assert all("PRIVATE-TOKEN" not in call["headers"] for call in pages)


# --- merging -----------------------------------------------------------------------------------


def test_it_merges_seen_head_through_api(db, gitlab, admin_user, remote):
    sync_repository()
    request = Request.objects.get(number=1)

    outcome = approve(request.pk, request.head_sha, admin_user)

    [merge] = gitlab.calls("PUT", f"/api/v4/projects/{PROJECT}/merge_requests/1/merge")
    assert outcome.code == "merged"
    assert json.loads(merge["body"])["sha"] == request.head_sha
    assert outcome.commit == remote.main
    assert Request.objects.get(number=1).state == Request.State.MERGED


@pytest.mark.parametrize(
    ("status", "message", "code"),
    [
        (409, "SHA does not match HEAD of source branch: 0123456789abcdef0123456789abcdef01234567", "head-moved"),
        (406, "Branch cannot be merged", "conflict"),
        (422, "Branch cannot be merged", "conflict"),
        (405, "405 Method Not Allowed", "merge-refused"),
    ],
)
def test_it_reports_each_merge_refusal(db, gitlab, admin_user, status, message, code):
    sync_repository()
    request = Request.objects.get(number=1)
    gitlab.replies["merge"] = (status, {}, {"message": message})

    outcome = approve(request.pk, request.head_sha, admin_user)

    assert outcome.code == code
    assert Request.objects.get(number=1).state == Request.State.OPEN


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "body", "code", "permanent"),
    [
        (401, {}, {"message": "401 Unauthorized"}, "forge-auth-failed", True),
        (404, {}, {"message": "404 Project Not Found"}, "forge-not-found", True),
        (429, {"Retry-After": "60", "RateLimit-Remaining": "0"}, "Retry later\n", "forge-rate-limited", False),
        (
            503,
            {"Content-Type": "text/html"},
            "<html><body>GitLab is not responding</body></html>",
            "forge-unavailable",
            False,
        ),
    ],
)
def test_it_raises_listing_errors_with_codes(status, headers, body, code, permanent):
    route = f"GET /api/v4/projects/{PROJECT}/merge_requests"
    with RecordedHTTPServer({route: (status, headers, body)}) as forge, pytest.raises(ForgeError) as raised:
        GitLabClient(f"{forge.url}/api/v4", REPOSITORY, TOKEN).list_pulls()

    assert raised.value.code == code
    assert raised.value.permanent is permanent
    assert f"GET {forge.url}/api/v4/projects/{PROJECT}/merge_requests returned {status}" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_it_times_out_a_silent_gitlab():
    with HangingServer() as hanging:
        client = GitLabClient(f"http://127.0.0.1:{hanging.port}/api/v4", REPOSITORY, TOKEN, timeout=0.5)

        with pytest.raises(ForgeError) as raised:
            client.list_pulls()

    assert raised.value.code == "forge-timeout"


def test_it_reports_an_unreachable_gitlab():
    with RecordedHTTPServer({}) as gone:
        url = gone.url
    client = GitLabClient(f"{url}/api/v4", REPOSITORY, TOKEN, timeout=2)

    with pytest.raises(ForgeError) as raised:
        client.list_pulls()

    assert raised.value.code == "forge-unreachable"
    assert TOKEN not in str(raised.value)


# --- rejecting closes the merge request --------------------------------------------------------


def test_it_closes_rejected_merge_request_with_reason(db, gitlab, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")

    [note] = gitlab.calls("POST", f"/api/v4/projects/{PROJECT}/merge_requests/1/notes")
    [update] = [call for call in gitlab.calls("PUT") if call["path"] == f"/api/v4/projects/{PROJECT}/merge_requests/1"]
    assert outcome.forge == "closed"
    assert "> Please use the small profile." in json.loads(note["body"])["body"]
    assert json.loads(update["body"]) == {"state_event": "close"}
    assert AuditEvent.objects.get(action=AuditEvent.Action.REJECTED).details["forge"] == "closed"


def test_it_keeps_rejection_for_unknown_merge_request(db, gitlab, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)
    gitlab.replies["get"] = (404, {}, {"message": "404 Not found"})

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")

    assert outcome.code == "rejected"
    assert outcome.forge == "forge-not-found"
    assert outcome.forge_failed
    assert gitlab.calls("POST") == []
    assert Request.objects.get(number=1).state == Request.State.REJECTED
