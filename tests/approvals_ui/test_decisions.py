"""Approving and rejecting from the request page, against a user repository on disk."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.emails import notify_new_requests
from approvals.models import Request
from approvals.sync import sync_repository
from tests.approvals_ui.conftest import signed_in
from tests.conftest import make_user
from tests.gitrepos import workspace_yaml

pytestmark = pytest.mark.usefixtures("mirror_settings", "no_cluster")


@pytest.fixture
def alice_request(db, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}, message="Add alice")
    sync_repository()
    return Request.objects.get(number=1)


def send_emails(callbacks) -> None:
    """Run the e-mail callbacks queued on commit, and not provisioning's, which needs a cluster."""
    for callback in callbacks:
        if callback.__module__ == "approvals.emails":
            callback()


def approve(client, request, **extra):
    return client.post(
        reverse("approvals:approve", args=[request.pk]), {"head_sha": request.head_sha, **extra}, follow=True
    )


def test_it_approves_and_merges_a_valid_request(admin_client, alice_request, remote):
    response = approve(admin_client, alice_request)

    alice_request.refresh_from_db()
    assert alice_request.state == Request.State.MERGED
    assert remote.show(remote.main, "user/alice.yaml") == workspace_yaml("alice").strip()
    assert "Approved: the pull request was merged into main." in response.content.decode()


def test_it_shows_the_new_state_in_the_live_fragment(admin_client, alice_request):
    approve(admin_client, alice_request)

    response = admin_client.get(reverse("approvals:request-state", args=[alice_request.pk]))

    html = response.content.decode()
    assert 'data-state="merged"' in html
    assert "Approved by admin@example.com" in html


def test_it_tells_the_second_admin_who_approved_first(admin_client, alice_request):
    second = signed_in(make_user("admin2@example.com", staff=True))
    approve(admin_client, alice_request)

    response = approve(second, alice_request)

    html = response.content.decode()
    assert "Someone already decided on this request" in html
    assert "Approved at " in html
    assert " by admin@example.com." in html


def test_it_refuses_an_approval_of_an_older_head(admin_client, alice_request, remote):
    remote.add_to_pr(1, {"user/alice.yaml": workspace_yaml("alice", profile="large")})
    sync_repository()

    response = approve(admin_client, alice_request)

    assert Request.objects.get(pk=alice_request.pk).state == Request.State.OPEN
    assert "The pull request changed since you looked at it" in response.content.decode()


def test_it_emails_the_requester_when_approved(
    admin_client, alice_request, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        approve(admin_client, alice_request)
    send_emails(callbacks)

    [message] = smtp_server.messages()
    assert message.recipients == "alice@example.com"
    assert "was approved" in message.subject
    assert "Your request #1 for the workspace alice was approved." in message.body("plain")
    assert 'lang="zh-hant"' in message.body("html")
    assert 'lang="en"' in message.body("html")


def test_it_emails_the_reason_when_rejected(
    admin_client, alice_request, smtp_server, django_capture_on_commit_callbacks
):
    reason = "Please use the small profile <for now> & ask again next month."

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("approvals:reject", args=[alice_request.pk]),
            {"head_sha": alice_request.head_sha, "reason": reason},
            follow=True,
        )
    send_emails(callbacks)

    alice_request.refresh_from_db()
    [message] = smtp_server.messages()
    assert alice_request.decision_reason == reason
    assert "Rejected." in response.content.decode()
    assert message.recipients == "alice@example.com"
    assert reason in message.body("plain")
    assert "Please use the small profile &lt;for now&gt; &amp; ask again next month." in message.body("html")


def test_it_dismisses_without_emailing(admin_client, alice_request, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(
            reverse("approvals:dismiss", args=[alice_request.pk]),
            {"head_sha": alice_request.head_sha, "reason": "Duplicate of #2."},
        )
    send_emails(callbacks)

    alice_request.refresh_from_db()
    assert alice_request.state == Request.State.DISMISSED
    assert smtp_server.messages() == []


def test_it_emails_every_admin_about_new_requests(
    alice_request, admin_user, bob, smtp_server, django_capture_on_commit_callbacks
):
    make_user("admin2@example.com", staff=True)

    with django_capture_on_commit_callbacks() as callbacks:
        notify_new_requests([alice_request.pk])
    send_emails(callbacks)

    [message] = smtp_server.messages()
    assert sorted(message.recipients.split(", ")) == ["admin2@example.com", "admin@example.com"]
    assert "1 new workspace request" in message.subject
    assert "http://127.0.0.1:8000" + reverse("approvals:request", args=[alice_request.pk]) in message.body("plain")
    assert 'lang="zh-hant"' in message.body("html")


def reject_with(client, request, reason="Please use the small profile."):
    return client.post(
        reverse("approvals:reject", args=[request.pk]), {"head_sha": request.head_sha, "reason": reason}, follow=True
    )


def test_it_shows_a_rejected_request_as_rejected(admin_client, alice_request):
    reject_with(admin_client, alice_request)

    fragment = admin_client.get(reverse("approvals:request-state", args=[alice_request.pk])).content.decode()
    listed = admin_client.get(reverse("approvals:queue"), {"state": "all"}).content.decode()

    assert 'data-state="rejected"' in fragment
    assert ">Rejected</span>" in fragment
    assert "Dismissed" not in fragment
    assert ">Rejected</span>" in listed
    assert ">Dismissed</span>" not in listed


def test_it_filters_rejected_apart_from_dismissed(admin_client, alice_request, remote):
    remote.open_pr(2, {"user/bob.yaml": workspace_yaml("bob")}, message="Add bob")
    sync_repository()
    bob_request = Request.objects.get(number=2)
    reject_with(admin_client, alice_request)
    admin_client.post(reverse("approvals:dismiss", args=[bob_request.pk]), {"head_sha": bob_request.head_sha})

    rejected = admin_client.get(reverse("approvals:queue"), {"state": "rejected"})
    dismissed = admin_client.get(reverse("approvals:queue"), {"state": "dismissed"})

    assert [row["request"].number for row in rejected.context["rows"]] == [1]
    assert [row["request"].number for row in dismissed.context["rows"]] == [2]


def test_it_rejects_a_file_with_no_usable_address(
    admin_client, remote, smtp_server, django_capture_on_commit_callbacks
):
    remote.open_pr(3, {"user/dave.yaml": workspace_yaml("dave", email="dave@gmail.con")}, message="Add dave")
    sync_repository()
    dave_request = Request.objects.get(number=3)

    with django_capture_on_commit_callbacks() as callbacks:
        response = reject_with(admin_client, dave_request, reason="Fix the email address.")
    send_emails(callbacks)

    audit = admin_client.get(reverse("approvals:audit"))
    assert response.status_code == 200
    assert "Rejected." in response.content.decode()
    assert smtp_server.messages() == []
    assert audit.status_code == 200
    assert "Rejected" in audit.content.decode()


def test_it_shows_audit_details_in_the_readers_language(admin_client, alice_request, settings):
    approve(admin_client, alice_request)

    english = admin_client.get(reverse("approvals:audit")).content.decode()
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    chinese = admin_client.get(reverse("approvals:audit")).content.decode()

    assert "Merged by:</span> a push to main" in english
    assert "Change:</span> Create workspace" in english
    assert "via:" not in english
    assert "a push to main" not in chinese, "the value is translated too"
    assert "Create workspace" not in chinese
