"""Audit rows for workspace files that changed on main without a Larr1 approval."""

from __future__ import annotations

import pytest

from approvals.merging import approve
from approvals.models import AuditEvent, Request
from approvals.sync import sync_repository
from tests.gitrepos import workspace_yaml

pytestmark = pytest.mark.usefixtures("mirror_settings")

KAI = workspace_yaml("kai", profile="small")
# A request deleting several files names the first in path order, user/kai.yaml, as its file.
EVERYTHING = {"user/kai.yaml": None, "user/zoe.yaml": None}


@pytest.fixture
def kai_on_main(db, remote):
    remote.commit_to_main({"user/kai.yaml": KAI, "user/zoe.yaml": workspace_yaml("zoe")})
    sync_repository()


def _outside_events():
    return AuditEvent.objects.filter(action=AuditEvent.Action.MERGED_OUTSIDE)


def test_it_records_no_outside_row_for_approved_rename(kai_on_main, remote, admin_user):
    remote.open_pr(3, {"user/kai.yaml": workspace_yaml("kai", storage="200Gi")}, message="Give kai more room")
    remote.open_pr(
        19,
        {"user/kai.yaml": None, "user/kai2.yaml": workspace_yaml("kai2", email="kai@example.com")},
        message="Rename kai",
    )
    sync_repository()
    update = Request.objects.get(number=3)
    assert approve(update.pk, update.head_sha, admin_user).code == "merged"
    rename = Request.objects.get(number=19)

    assert approve(rename.pk, rename.head_sha, admin_user).code == "merged"

    assert list(_outside_events()) == []


def test_it_records_no_outside_row_for_approved_deletion(kai_on_main, remote, admin_user):
    remote.open_pr(4, {"user/kai.yaml": None}, message="Remove kai")
    sync_repository()
    deletion = Request.objects.get(number=4)

    assert approve(deletion.pk, deletion.head_sha, admin_user).code == "merged"

    assert list(_outside_events()) == []


def test_it_links_no_request_that_did_not_land(kai_on_main, remote):
    remote.open_pr(30, EVERYTHING, message="Delete everything")
    sync_repository()
    outside = remote.commit_to_main({"user/kai.yaml": None}, message="Remove kai by hand")

    sync_repository()

    event = _outside_events().get()
    assert event.details["path"] == "user/kai.yaml"
    assert event.commit == outside
    assert event.request is None


def test_it_keeps_partly_landed_request_open(kai_on_main, remote):
    remote.open_pr(30, EVERYTHING, message="Delete everything")
    sync_repository()
    assert Request.objects.get(number=30).path == "user/kai.yaml"
    remote.commit_to_main({"user/kai.yaml": None}, message="Remove kai by hand")

    sync_repository()

    assert Request.objects.get(number=30).state == Request.State.OPEN
