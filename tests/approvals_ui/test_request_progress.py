"""The request page's workspace part: the file as changed, and the provisioning run the request started."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import AuditEvent, Request
from approvals.sync import sync_repository
from tests.approvals_ui.conftest import make_request
from tests.gitrepos import workspace_yaml
from workspaces.models import ProvisioningRun, Workspace


def state_fragment(client, request) -> str:
    return client.get(reverse("approvals:request-state", args=[request.pk])).content.decode()


def add_run(workspace, kind, started_at, step_name):
    run = ProvisioningRun.objects.create(
        workspace=workspace, kind=kind, state=ProvisioningRun.State.SUCCEEDED, started_at=started_at
    )
    run.steps.create(position=1, name=step_name, state="done")
    return run


@pytest.fixture
def approved_alice(db, admin_user):
    """Request #1 that created alice's workspace, and the workspace with its create run."""
    approved_at = timezone.now() - datetime.timedelta(days=3)
    request = make_request(1, state=Request.State.MERGED, merged_commit="b" * 40)
    AuditEvent.objects.create(actor=admin_user, action=AuditEvent.Action.APPROVED, request=request, at=approved_at)
    workspace = Workspace.objects.create(username="alice", spec={"username": "alice"})
    add_run(workspace, ProvisioningRun.Kind.CREATE, approved_at + datetime.timedelta(seconds=5), "apply-volume")
    return request, workspace


def test_create_request_shows_its_create_run(admin_client, approved_alice):
    request, workspace = approved_alice
    add_run(workspace, ProvisioningRun.Kind.ROTATE, timezone.now(), "set-password")

    html = state_fragment(admin_client, request)

    assert "Create the volume" in html
    assert "Set a new password" not in html


def test_create_request_ignores_a_later_update(admin_client, approved_alice):
    request, workspace = approved_alice
    add_run(workspace, ProvisioningRun.Kind.UPDATE, timezone.now(), "wait-until-ready")

    html = state_fragment(admin_client, request)

    assert "Create the volume" in html
    assert "Wait until the workspace is ready" not in html


def test_create_request_shows_the_retry_of_its_run(admin_client, approved_alice):
    request, workspace = approved_alice
    workspace.runs.update(state=ProvisioningRun.State.FAILED)
    add_run(workspace, ProvisioningRun.Kind.CREATE, timezone.now(), "wait-until-ready")

    html = state_fragment(admin_client, request)

    assert "Wait until the workspace is ready" in html
    assert "Create the volume" not in html


def test_request_ignores_runs_after_the_next_approval(admin_client, approved_alice, admin_user):
    request, workspace = approved_alice
    later = make_request(5, state=Request.State.MERGED, merged_commit="d" * 40)
    AuditEvent.objects.create(
        actor=admin_user, action=AuditEvent.Action.APPROVED, request=later, username="alice", at=timezone.now()
    )
    add_run(workspace, ProvisioningRun.Kind.CREATE, timezone.now(), "wait-until-ready")

    html = state_fragment(admin_client, request)

    assert "Create the volume" in html
    assert "Wait until the workspace is ready" not in html


def test_request_without_decision_shows_no_rotation(admin_client, db):
    request = make_request(2, state=Request.State.MERGED, merged_commit="c" * 40)
    workspace = Workspace.objects.create(username="alice", spec={"username": "alice"})
    add_run(workspace, ProvisioningRun.Kind.UPDATE, timezone.now() - datetime.timedelta(hours=1), "apply-deployment")
    add_run(workspace, ProvisioningRun.Kind.ROTATE, timezone.now(), "set-password")

    html = state_fragment(admin_client, request)

    assert "Start code-server" in html
    assert "Set a new password" not in html


@pytest.mark.usefixtures("mirror_settings", "no_cluster")
def test_oversized_file_is_too_large_to_show(admin_client, remote):
    huge = workspace_yaml("dave") + "#" * (6 * 1024 * 1024) + "\n"
    remote.open_pr(4, {"user/dave.yaml": huge}, message="Add dave")
    sync_repository()
    request = Request.objects.get(number=4)

    html = admin_client.get(reverse("approvals:request", args=[request.pk])).content.decode()

    assert "The workspace file is too large to show." in html
    assert "The workspace file does not change." not in html
