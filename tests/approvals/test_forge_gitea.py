"""Pull-request state, merging and closing through the Gitea API.

A Gitea server cannot run here, so these tests serve recorded, realistic
responses from a loopback HTTP server. The JSON follows the shapes of Gitea's
API v1 (``PullRequest``, ``Comment``, ``APIError``, the conflict body of a
refused merge), shortened to the fields Larr1 reads plus a few around them.
Gitea's ROOT_URL is https://gitea.example.com, a name that is never contacted:
it appears only inside the answers, as a real Gitea behind a proxy would send it.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from approvals.exceptions import ForgeError
from approvals.forge import GiteaClient
from approvals.merging import approve, reject
from approvals.models import AuditEvent, Request
from approvals.sync import sync_repository
from tests.approvals.servers import HangingServer, RecordedHTTPServer
from tests.gitrepos import workspace_yaml

TOKEN = "5f0c8e3a9b1d4c7e2a6f8b0d3c5e7a9b1d2f4c6e"
REPOSITORY = "lab/users"
ROOT_URL = "https://gitea.example.com"


def _user(login, user_id):
    return {
        "id": user_id,
        "login": login,
        "login_name": "",
        "full_name": "",
        "email": f"{login}@noreply.gitea.example.com",
        "avatar_url": f"{ROOT_URL}/avatars/{user_id:032x}",
        "html_url": f"{ROOT_URL}/{login}",
        "language": "",
        "is_admin": False,
        "active": False,
        "prohibit_login": False,
        "visibility": "public",
        "username": login,
    }


def _branch(ref, sha, repo_id):
    return {"label": ref, "ref": ref, "sha": sha, "repo_id": repo_id}


def _pull(number, *, state, title, login, head_sha, created_at, merged=False, merge_commit_sha=None):
    # Shape of one item of GET /api/v1/repos/{owner}/{repo}/pulls.
    closed_at = "2026-02-03T11:00:00+08:00" if state == "closed" else None
    return {
        "id": 8800 + number,
        "url": f"{ROOT_URL}/{REPOSITORY}/pulls/{number}",
        "number": number,
        "user": _user(login, 40 + number),
        "title": title,
        "body": "",
        "labels": [],
        "milestone": None,
        "assignee": None,
        "assignees": None,
        "requested_reviewers": None,
        "state": state,
        "draft": False,
        "is_locked": False,
        "comments": 0,
        "html_url": f"{ROOT_URL}/{REPOSITORY}/pulls/{number}",
        "diff_url": f"{ROOT_URL}/{REPOSITORY}/pulls/{number}.diff",
        "patch_url": f"{ROOT_URL}/{REPOSITORY}/pulls/{number}.patch",
        "mergeable": state == "open",
        "merged": merged,
        "merged_at": closed_at if merged else None,
        "merge_commit_sha": merge_commit_sha,
        "merged_by": _user("admin", 1) if merged else None,
        "allow_maintainer_edit": False,
        "base": _branch("main", "0" * 40, 7),
        "head": _branch(f"add-{login}", head_sha, 7),
        "merge_base": "0" * 40,
        "due_date": None,
        "created_at": created_at,
        "updated_at": created_at,
        "closed_at": closed_at,
        "pin_order": 0,
    }


def _api_error(message):
    # Gitea's APIError body.
    return {"message": message, "url": f"{ROOT_URL}/api/swagger"}


@pytest.fixture
def gitea(mirror_settings, remote):
    heads = {
        1: remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}),
        2: remote.open_pr(2, {"user/bob.yaml": workspace_yaml("bob", cuda="cuda12.9")}),
        3: remote.open_pr(3, {"user/dave.yaml": workspace_yaml("dave")}),
    }
    merge_commit = remote.merge_pr(3)
    pulls = [
        _pull(
            1, state="open", title="Add alice", login="alice", head_sha=heads[1], created_at="2026-02-01T09:00:00+08:00"
        ),
        _pull(
            2, state="closed", title="Add bob", login="bob", head_sha=heads[2], created_at="2026-02-02T09:00:00+08:00"
        ),
        _pull(
            3,
            state="closed",
            title="Add dave",
            login="dave",
            head_sha=heads[3],
            created_at="2026-02-03T09:00:00+08:00",
            merged=True,
            merge_commit_sha=merge_commit,
        ),
    ]
    # This Gitea has MAX_RESPONSE_ITEMS = 2, so it returns at most 2 items whatever the limit.
    per_page = 2
    replies = {}

    def list_pulls(handler):
        query = parse_qs(urlsplit(handler.path).query)
        page = int(query["page"][0])
        items = pulls[(page - 1) * per_page : page * per_page]
        last = (len(pulls) + per_page - 1) // per_page
        base = f"{ROOT_URL}/api/v1/repos/{REPOSITORY}/pulls?limit={per_page}&sort=oldest&state=all"
        links = [f'<{base}&page={page + 1}>; rel="next"'] if page < last else []
        links.append(f'<{base}&page={last}>; rel="last"')
        return 200, {"Link": ",".join(links), "X-Total-Count": str(len(pulls))}, items

    def merge_pull(handler):
        if "merge" in replies:
            return replies["merge"]
        sha = remote.merge_pr(1)
        pulls[0] = {**pulls[0], "state": "closed", "merged": True, "merge_commit_sha": sha}
        return 200, {}, b""

    def get_pull(handler):
        return replies.get("pull") or (200, {}, pulls[0])

    def comment(handler):
        if "comment" in replies:
            return replies["comment"]
        body = json.loads(server.requests[-1]["body"])["body"]
        return (
            201,
            {},
            {
                "id": 990,
                "html_url": f"{ROOT_URL}/{REPOSITORY}/pulls/1#issuecomment-990",
                "pull_request_url": f"{ROOT_URL}/{REPOSITORY}/pulls/1",
                "issue_url": "",
                "user": _user("larr1-bot", 9),
                "original_author": "",
                "original_author_id": 0,
                "body": body,
                "assets": [],
                "created_at": "2026-02-04T10:00:00+08:00",
                "updated_at": "2026-02-04T10:00:00+08:00",
            },
        )

    def close_pull(handler):
        return replies.get("close") or (201, {}, {**pulls[0], "state": "closed"})

    routes = {
        f"GET /api/v1/repos/{REPOSITORY}/pulls": list_pulls,
        f"POST /api/v1/repos/{REPOSITORY}/pulls/1/merge": merge_pull,
        f"GET /api/v1/repos/{REPOSITORY}/pulls/1": get_pull,
        f"POST /api/v1/repos/{REPOSITORY}/issues/1/comments": comment,
        f"PATCH /api/v1/repos/{REPOSITORY}/pulls/1": close_pull,
    }
    with RecordedHTTPServer(routes) as server:
        mirror_settings.LARR1_FORGE = "gitea"
        mirror_settings.LARR1_FORGE_API_URL = f"{server.url}/api/v1"
        mirror_settings.LARR1_FORGE_REPOSITORY = REPOSITORY
        mirror_settings.LARR1_FORGE_TOKEN = TOKEN
        server.replies = replies
        server.pulls = pulls
        yield server


# --- listing -------------------------------------------------------------------------------


def test_it_takes_state_from_the_api(db, gitea):
    sync_repository()

    assert dict(Request.objects.values_list("number", "state")) == {1: "open", 2: "closed", 3: "merged"}


def test_it_reads_pull_details_from_api(db, gitea):
    sync_repository()

    request = Request.objects.get(number=3)
    assert request.title == "Add dave"
    assert request.author == "dave"
    assert request.url == f"{ROOT_URL}/{REPOSITORY}/pulls/3"
    assert request.opened_at.isoformat() == "2026-02-03T01:00:00+00:00"


def test_it_follows_pages_shorter_than_asked_for(db, gitea):
    sync_repository()

    pages = [parse_qs(urlsplit(call["path"]).query)["page"] for call in gitea.calls("GET")]
    assert pages == [["1"], ["2"]]
    assert Request.objects.get(number=3).state == Request.State.MERGED


def test_it_sends_token_and_lists_oldest_first(db, gitea):
    sync_repository()

    [first, _second] = gitea.calls("GET")
    query = parse_qs(urlsplit(first["path"]).query)
    assert first["headers"]["Authorization"] == f"token {TOKEN}"
    assert query["state"] == ["all"]
    assert query["sort"] == ["oldest"]


def test_it_stops_at_short_page_without_link():
    items = [
        _pull(
            1, state="open", title="Add alice", login="alice", head_sha="a" * 40, created_at="2026-02-01T09:00:00+08:00"
        )
    ]
    with RecordedHTTPServer({f"GET /api/v1/repos/{REPOSITORY}/pulls": (200, {}, items)}) as forge:
        pulls = GiteaClient(f"{forge.url}/api/v1", REPOSITORY, TOKEN).list_pulls()

    assert list(pulls) == [1]
    assert len(forge.requests) == 1


# --- merging -----------------------------------------------------------------------------------


def test_it_merges_and_reads_merge_commit(db, gitea, admin_user, remote):
    sync_repository()
    request = Request.objects.get(number=1)

    outcome = approve(request.pk, request.head_sha, admin_user)

    [merge] = gitea.calls("POST", f"/api/v1/repos/{REPOSITORY}/pulls/1/merge")
    assert outcome.code == "merged"
    assert json.loads(merge["body"])["Do"] == "merge"
    assert json.loads(merge["body"])["head_commit_id"] == request.head_sha
    assert outcome.commit == remote.main
    assert Request.objects.get(number=1).merged_commit == remote.main


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (409, _api_error("head out of date"), "head-moved"),
        (
            409,
            {
                "Style": "merge",
                "StdOut": "",
                "StdErr": "CONFLICT (content): Merge conflict in user/alice.yaml\n",
                "Err": {},
            },
            "conflict",
        ),
        (409, _api_error("merge push out of date"), "remote-moved"),
        (405, _api_error("Please try again later"), "merge-refused"),
        (405, _api_error("User not allowed to merge PR"), "merge-refused"),
    ],
)
def test_it_reports_each_merge_refusal(db, gitea, admin_user, status, body, code):
    sync_repository()
    request = Request.objects.get(number=1)
    gitea.replies["merge"] = (status, {}, body)

    outcome = approve(request.pk, request.head_sha, admin_user)

    assert outcome.code == code
    assert Request.objects.get(number=1).state == Request.State.OPEN
    assert AuditEvent.objects.get(action=AuditEvent.Action.APPROVAL_FAILED).details["code"] == code


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "code", "permanent"),
    [
        (401, _api_error("user does not exist [uid: 0, name: ]"), "forge-auth-failed", True),
        (
            404,
            {"errors": None, "message": "The target couldn't be found.", "url": f"{ROOT_URL}/api/swagger"},
            "forge-not-found",
            True,
        ),
        (500, _api_error("Internal Server Error"), "forge-unavailable", False),
    ],
)
def test_it_raises_listing_errors_with_codes(status, body, code, permanent):
    route = f"GET /api/v1/repos/{REPOSITORY}/pulls"
    with RecordedHTTPServer({route: (status, {}, body)}) as forge, pytest.raises(ForgeError) as raised:
        GiteaClient(f"{forge.url}/api/v1", REPOSITORY, TOKEN).list_pulls()

    assert raised.value.code == code
    assert raised.value.permanent is permanent
    assert f"returned {status}: " in str(raised.value)
    assert body["message"] in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_it_times_out_a_silent_gitea():
    with HangingServer() as hanging:
        client = GiteaClient(f"http://127.0.0.1:{hanging.port}/api/v1", REPOSITORY, TOKEN, timeout=0.5)

        with pytest.raises(ForgeError) as raised:
            client.list_pulls()

    assert raised.value.code == "forge-timeout"
    assert raised.value.permanent is False
    assert "timed out after 0.5 s" in str(raised.value)


def test_it_rejects_a_response_that_is_not_json():
    routes = {f"GET /api/v1/repos/{REPOSITORY}/pulls": (200, {"Content-Type": "text/html"}, "<html>Sign in</html>")}
    with RecordedHTTPServer(routes) as forge, pytest.raises(ForgeError, match="not a JSON list"):
        GiteaClient(f"{forge.url}/api/v1", REPOSITORY, TOKEN).list_pulls()


def test_it_keeps_git_states_when_the_api_fails(db, gitea, mirror_settings):
    mirror_settings.LARR1_FORGE_TOKEN = "wrong-token"
    gitea.routes[f"GET /api/v1/repos/{REPOSITORY}/pulls"] = (401, {}, _api_error("invalid username, password or token"))

    report = sync_repository()

    assert report.forge_error == "forge-auth-failed"
    assert Request.objects.get(number=3).state == Request.State.MERGED


# --- rejecting closes the pull request ---------------------------------------------------------


def test_it_closes_rejected_pull_with_reason(db, gitea, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")

    [comment] = gitea.calls("POST", f"/api/v1/repos/{REPOSITORY}/issues/1/comments")
    [close] = gitea.calls("PATCH", f"/api/v1/repos/{REPOSITORY}/pulls/1")
    assert outcome.forge == "closed"
    assert "> Please use the small profile." in json.loads(comment["body"])["body"]
    assert json.loads(close["body"]) == {"state": "closed"}
    assert Request.objects.get(number=1).state == Request.State.REJECTED


def test_it_keeps_rejection_when_comment_fails(db, gitea, admin_user):
    sync_repository()
    request = Request.objects.get(number=1)
    gitea.replies["comment"] = (403, {}, _api_error("user should have permission to write issue"))

    outcome = reject(request.pk, request.head_sha, admin_user, "Please use the small profile.")

    assert outcome.code == "rejected"
    assert outcome.forge == "forge-auth-failed"
    assert "LARR1_FORGE_TOKEN" in outcome.forge_message
    assert gitea.calls("PATCH") == []
    assert Request.objects.get(number=1).state == Request.State.REJECTED
    assert AuditEvent.objects.get(action=AuditEvent.Action.REJECTED).details["forge"] == "forge-auth-failed"
