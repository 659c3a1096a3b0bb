"""Approving (merging), rejecting and dismissing requests against a remote on disk."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from approvals.merging import approve, dismiss, reject
from approvals.models import ApprovedFile, AuditEvent, Request
from approvals.sync import sync_repository
from tests.gitrepos import workspace_yaml

pytestmark = pytest.mark.usefixtures("mirror_settings")


@pytest.fixture
def alice_request(db, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}, message="Add alice")
    sync_repository()
    return Request.objects.get(number=1)


def test_it_merges_an_approved_request_into_main(alice_request, admin_user, remote):
    outcome = approve(alice_request.pk, alice_request.head_sha, admin_user)

    alice_request.refresh_from_db()
    assert outcome.code == "merged"
    assert remote.main == outcome.commit
    assert remote.show(remote.main, "user/alice.yaml") == workspace_yaml("alice").strip()
    assert alice_request.state == Request.State.MERGED
    assert alice_request.merged_commit == outcome.commit


def test_it_records_who_approved_which_commit(alice_request, admin_user):
    outcome = approve(alice_request.pk, alice_request.head_sha, admin_user)

    event = AuditEvent.objects.get(action=AuditEvent.Action.APPROVED)
    assert event.actor == admin_user
    assert event.request == alice_request
    assert event.commit == outcome.commit
    assert event.username == "alice"
    assert event.details["head"] == alice_request.head_sha


def test_it_updates_the_approved_state_after_merging(alice_request, admin_user):
    approve(alice_request.pk, alice_request.head_sha, admin_user)

    assert ApprovedFile.objects.get(path="user/alice.yaml").valid is True
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MERGED_OUTSIDE).exists()


def test_it_refuses_when_the_head_moved(alice_request, admin_user, remote):
    seen = alice_request.head_sha
    remote.add_to_pr(1, {"user/alice.yaml": workspace_yaml("alice", profile="large")})

    outcome = approve(alice_request.pk, seen, admin_user)

    assert outcome.code == "head-moved"
    assert Request.objects.get(pk=alice_request.pk).state == Request.State.OPEN
    assert "changed since you looked" in outcome.message


def test_it_refuses_a_request_with_errors(db, remote, admin_user):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("Alice")})
    sync_repository()
    request = Request.objects.get(number=1)
    main_before = remote.main

    outcome = approve(request.pk, request.head_sha, admin_user)

    assert outcome.code == "has-errors"
    assert remote.main == main_before


def test_it_reports_a_conflict(db, remote, admin_user):
    remote.open_pr(1, {"user/carol.yaml": workspace_yaml("carol", profile="large")})
    sync_repository()
    remote.commit_to_main({"user/carol.yaml": workspace_yaml("carol", profile="small")})
    request = Request.objects.get(number=1)

    outcome = approve(request.pk, request.head_sha, admin_user)

    assert outcome.code == "conflict"
    assert Request.objects.get(pk=request.pk).state == Request.State.OPEN
    assert AuditEvent.objects.get(action=AuditEvent.Action.APPROVAL_FAILED).details["code"] == "conflict"


def test_it_refuses_a_decided_request(alice_request, admin_user):
    approve(alice_request.pk, alice_request.head_sha, admin_user)

    outcome = approve(alice_request.pk, alice_request.head_sha, admin_user)

    assert outcome.code == "already-decided"


@pytest.mark.django_db(transaction=True)
def test_it_lets_one_of_two_concurrent_approvals_win(remote, mirror_settings):
    from tests.conftest import make_user

    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    sync_repository()
    request = Request.objects.get(number=1)
    admins = [make_user("admin1@example.com", staff=True), make_user("admin2@example.com", staff=True)]
    barrier = threading.Barrier(2)
    outcomes = []

    def approve_as(admin):
        try:
            barrier.wait()
            outcomes.append(approve(request.pk, request.head_sha, admin))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve_as, args=(admin,)) for admin in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcome.code for outcome in outcomes) == ["already-decided", "merged"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.APPROVED).count() == 1
    assert remote.git("rev-list", "--count", "--merges", "main") == "1"


def test_it_rejects_with_a_reason(alice_request, admin_user, remote):
    main_before = remote.main

    outcome = reject(alice_request.pk, alice_request.head_sha, admin_user, "Please use the small profile.")

    alice_request.refresh_from_db()
    event = AuditEvent.objects.get(action=AuditEvent.Action.REJECTED)
    assert outcome.code == "rejected"
    assert alice_request.state == Request.State.REJECTED
    assert alice_request.decision_reason == "Please use the small profile."
    assert event.actor == admin_user
    assert remote.main == main_before


def test_it_reopens_dismissed_request_on_push(alice_request, admin_user, remote):
    dismiss(alice_request.pk, alice_request.head_sha, admin_user, "Duplicate")
    remote.add_to_pr(1, {"user/alice.yaml": workspace_yaml("alice", profile="small")})

    report = sync_repository()

    assert report.reopened == [1]
    assert Request.objects.get(pk=alice_request.pk).state == Request.State.OPEN


def test_it_reopens_a_rejected_request_on_push(alice_request, admin_user, remote):
    reject(alice_request.pk, alice_request.head_sha, admin_user, "Please use the small profile.")
    remote.add_to_pr(1, {"user/alice.yaml": workspace_yaml("alice", profile="small")})

    report = sync_repository()

    assert report.reopened == [1]
    assert Request.objects.get(pk=alice_request.pk).state == Request.State.OPEN
