"""The forge webhook: signatures for each forge, pings, bad bodies, and the sync it queues.

The test profile runs Celery tasks eagerly, so a queued sync runs when the
request's transaction commits and its effect (a new request) is visible here.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from approvals.models import Request, SyncRun
from tests.gitrepos import workspace_yaml

SECRET = "webhook-secret-for-tests-41d7"
BODY = json.dumps({"action": "opened", "number": 1}).encode()


@pytest.fixture
def hook(mirror_settings, remote, client, django_capture_on_commit_callbacks):
    mirror_settings.LARR1_WEBHOOK_SECRET = SECRET
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})

    def post(headers: dict, body: bytes = BODY):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/hooks/forge", data=body, content_type="application/json", headers=headers)

    return post


def _hex(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


GOOD = {
    "github": {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": f"sha256={_hex(BODY)}"},
    "gitea": {"X-Gitea-Event": "pull_request", "X-Gitea-Signature": _hex(BODY)},
    "gitlab": {"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": SECRET},
}
BAD = {
    "github": {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": f"sha256={_hex(BODY, 'wrong')}"},
    "gitea": {"X-Gitea-Event": "pull_request", "X-Gitea-Signature": _hex(BODY, "wrong")},
    "gitlab": {"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": "wrong"},
}
MISSING = {
    "github": {"X-GitHub-Event": "pull_request"},
    "gitea": {"X-Gitea-Event": "pull_request"},
    "gitlab": {"X-Gitlab-Event": "Merge Request Hook"},
}


@pytest.mark.parametrize("forge", ["github", "gitea", "gitlab"])
def test_it_queues_a_sync_for_a_good_signature(db, hook, forge):
    response = hook(GOOD[forge])

    assert response.status_code == 202
    assert Request.objects.filter(number=1).exists()


@pytest.mark.parametrize("forge", ["github", "gitea", "gitlab"])
def test_it_rejects_a_bad_signature(db, hook, forge):
    response = hook(BAD[forge])

    assert response.status_code == 403
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("forge", ["github", "gitea", "gitlab"])
def test_it_rejects_a_missing_signature(db, hook, forge):
    response = hook(MISSING[forge])

    assert response.status_code == 403
    assert not SyncRun.objects.exists()


def test_it_rejects_a_body_signed_for_another_body(db, hook):
    other = json.dumps({"action": "closed"}).encode()

    response = hook(GOOD["github"], body=other)

    assert response.status_code == 403


def test_it_answers_a_ping_without_syncing(db, hook):
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": f"sha256={_hex(BODY)}"}

    response = hook(headers)

    assert response.status_code == 200
    assert not SyncRun.objects.exists()


def test_it_rejects_a_body_that_is_not_json(db, hook):
    body = b"not json {"
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={_hex(body)}"}

    response = hook(headers, body=body)

    assert response.status_code == 400


def test_it_rejects_json_nested_too_deep(db, hook):
    body = b"[" * 100_000 + b"]" * 100_000
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={_hex(body)}"}

    response = hook(headers, body=body)

    assert response.status_code == 400
    assert not SyncRun.objects.exists()


def test_it_rejects_everything_without_a_configured_secret(db, hook, mirror_settings):
    mirror_settings.LARR1_WEBHOOK_SECRET = None

    response = hook(GOOD["github"])

    assert response.status_code == 403


def test_it_accepts_only_post(db, client, mirror_settings):
    response = client.get("/hooks/forge")

    assert response.status_code == 405


def test_it_answers_413_as_json_for_an_oversized_body(client, settings):
    settings.LARR1_WEBHOOK_SECRET = "example-webhook-secret"
    body = b"{" + b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b"}"
    response = client.post("/hooks/forge", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"error": "The body is too large."}
