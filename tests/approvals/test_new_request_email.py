"""Admins hear about new pull requests once, when the sync first sees them."""

import pytest
from django.core import mail

from approvals.sync import sync_repository
from tests.gitrepos import workspace_yaml

pytestmark = pytest.mark.usefixtures("mirror_settings")


def test_sync_emails_admins_about_new_requests(db, remote, admin_user, django_capture_on_commit_callbacks):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}, message="Add alice", author="Alice")

    with django_capture_on_commit_callbacks(execute=True):
        sync_repository()

    (message,) = mail.outbox
    assert message.to == ["admin@example.com"]
    assert "#1" in message.body


def test_sync_stays_quiet_when_nothing_is_new(db, remote, admin_user, django_capture_on_commit_callbacks):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}, message="Add alice", author="Alice")
    with django_capture_on_commit_callbacks(execute=True):
        sync_repository()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        sync_repository()

    assert mail.outbox == []
