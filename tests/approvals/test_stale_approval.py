"""Approving a request whose workspace file main changed after the request was evaluated."""

from __future__ import annotations

import pytest

from approvals.merging import approve
from approvals.models import Request
from approvals.sync import sync_repository
from tests.gitrepos import workspace_yaml

pytestmark = pytest.mark.usefixtures("mirror_settings")

SMALL = workspace_yaml("kai", profile="small")
MEDIUM = workspace_yaml("kai", profile="medium", storage="200Gi")
RENAMED_SMALL = workspace_yaml("kai2", email="kai@example.com", profile="small")
RENAMED_MEDIUM = workspace_yaml("kai2", email="kai@example.com", profile="medium", storage="200Gi")


@pytest.fixture
def update_and_rename(db, remote):
    """Main has kai (small); #19 renames kai to kai2 from that main, then #3 updates kai to medium."""
    remote.commit_to_main({"user/kai.yaml": SMALL})
    remote.open_pr(19, {"user/kai.yaml": None, "user/kai2.yaml": RENAMED_SMALL}, message="Rename kai")
    remote.open_pr(3, {"user/kai.yaml": MEDIUM}, message="Give kai more room")
    sync_repository()
    return Request.objects.get(number=3), Request.objects.get(number=19)


def test_it_refuses_rename_after_main_moved(update_and_rename, admin_user, remote):
    update, rename = update_and_rename
    assert approve(update.pk, update.head_sha, admin_user).code == "merged"
    rename = Request.objects.get(pk=rename.pk)
    Request.objects.filter(pk=rename.pk).update(
        file_before=SMALL, file_after=RENAMED_SMALL, base_sha=update.base_sha, findings=[]
    )
    main_before = remote.main

    outcome = approve(rename.pk, rename.head_sha, admin_user)

    assert outcome.code == "main-moved"
    assert "sync and review it again" in outcome.message
    assert remote.main == main_before
    assert Request.objects.get(pk=rename.pk).state == Request.State.OPEN


def test_it_reevaluates_request_when_main_changes_its_file(update_and_rename, admin_user):
    update, rename = update_and_rename

    approve(update.pk, update.head_sha, admin_user)

    rename.refresh_from_db()
    assert rename.change_kind == "rename"
    assert rename.file_before == MEDIUM
    assert rename.file_after == RENAMED_MEDIUM


def test_it_approves_the_reevaluated_rename(update_and_rename, admin_user, remote):
    update, rename = update_and_rename
    approve(update.pk, update.head_sha, admin_user)
    rename.refresh_from_db()

    outcome = approve(rename.pk, rename.head_sha, admin_user)

    assert outcome.code == "merged"
    assert remote.show(remote.main, "user/kai2.yaml") == rename.file_after.strip()


def test_it_stores_the_current_review_when_refusing(update_and_rename, admin_user, remote):
    update, rename = update_and_rename
    approve(update.pk, update.head_sha, admin_user)
    Request.objects.filter(pk=rename.pk).update(
        file_before=SMALL, file_after=RENAMED_SMALL, base_sha=update.base_sha, findings=[]
    )

    refused = approve(rename.pk, rename.head_sha, admin_user)
    rename.refresh_from_db()
    approved = approve(rename.pk, rename.head_sha, admin_user)

    assert refused.code == "main-moved"
    assert rename.file_after == RENAMED_MEDIUM
    assert approved.code == "merged"
