"""The request page of a workspace file added again after its workspace was removed."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.approvals_ui.conftest import make_request
from workspaces.models import Workspace

pytestmark = pytest.mark.usefixtures("no_cluster")

READDED = {
    "severity": "warning",
    "code": "risk.readded",
    "field": "user.username",
    "params": {"username": "alice"},
    "suggestion": None,
}


def test_page_asks_to_confirm_readded_workspace(admin_client, db):
    request = make_request(1, findings=[READDED], risks=["risk.readded"])

    html = admin_client.get(reverse("approvals:request", args=[request.pk])).content.decode()

    assert "Removed earlier" in html
    assert "Approving creates a new workspace with an empty volume" in html
    assert 'name="confirm"' in html


def test_page_shows_current_grace_period(admin_client, db):
    delete_after = timezone.now() + datetime.timedelta(days=2)
    Workspace.objects.create(
        username="alice", spec={"username": "alice"}, desired_state="deleting", delete_after=delete_after
    )
    request = make_request(1, findings=[READDED], risks=["risk.readded"])

    html = admin_client.get(reverse("approvals:request", args=[request.pk])).content.decode()

    assert f"kept until {delete_after.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC" in html
