"""A workspace file added again after its workspace was removed: a risk that names the empty volume."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from approvals.models import Request
from approvals.sync import sync_repository
from tests.gitrepos import workspace_yaml
from workspaces.contract.findings import Finding
from workspaces.models import Workspace

pytestmark = pytest.mark.usefixtures("mirror_settings")


@pytest.fixture
def carol_removed(db, remote):
    """Carol's file, approved on main, then removed from main."""
    sync_repository()
    remote.commit_to_main({"user/carol.yaml": None}, message="Remove carol")
    sync_repository()


def readded_finding(request: Request) -> Finding:
    [finding] = [Finding.from_dict(data) for data in request.findings if data["code"] == "risk.readded"]
    return finding


def test_readded_file_is_a_risk(carol_removed, remote):
    remote.open_pr(1, {"user/carol.yaml": workspace_yaml("carol")}, message="Add carol again")

    sync_repository()

    request = Request.objects.get(number=1)
    finding = readded_finding(request)
    assert request.change_kind == "create"
    assert "risk.readded" in request.risks
    assert finding.field == "user.username"
    assert finding.severity == "warning"
    assert finding.message == (
        "The workspace carol was removed earlier. Approving creates a new workspace with an empty volume, "
        "and the old workspace's files are not restored."
    )


def test_readded_file_names_grace_period(carol_removed, remote):
    delete_after = timezone.now() + datetime.timedelta(days=5)
    Workspace.objects.create(
        username="carol", spec={"username": "carol"}, desired_state="deleting", delete_after=delete_after
    )
    remote.open_pr(1, {"user/carol.yaml": workspace_yaml("carol")}, message="Add carol again")

    sync_repository()

    message = readded_finding(Request.objects.get(number=1)).message
    assert "a new workspace with an empty volume" in message
    assert f"The old files are kept until {delete_after.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC" in message


def test_file_removed_between_syncs_counts(db, remote):
    sync_repository()
    remote.commit_to_main({"user/dave.yaml": workspace_yaml("dave")}, message="Add dave")
    remote.commit_to_main({"user/dave.yaml": None}, message="Remove dave")
    remote.open_pr(1, {"user/dave.yaml": workspace_yaml("dave")}, message="Add dave again")

    sync_repository()

    assert Request.objects.get(number=1).risks == ["risk.readded"]


def test_new_file_is_no_readded_risk(db, remote):
    sync_repository()
    remote.open_pr(1, {"user/dave.yaml": workspace_yaml("dave")}, message="Add dave")

    sync_repository()

    request = Request.objects.get(number=1)
    assert request.risks == []
    assert all(data["code"] != "risk.readded" for data in request.findings)
