"""The admin's list of workspaces and the list separators of admin pages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from workspaces.contract.findings import join_list
from workspaces.models import Workspace


@pytest.mark.parametrize(("desired", "linked"), [("active", True), ("deleting", False)])
def test_it_links_only_a_served_address(admin_client, desired, linked):
    Workspace.objects.create(
        username="alice", spec={"username": "alice"}, desired_state=desired, url="https://alice.gpu.example.com"
    )

    page = admin_client.get(reverse("approvals:workspaces")).content.decode()

    assert "https://alice.gpu.example.com" in page
    assert ('href="https://alice.gpu.example.com"' in page) is linked


def test_it_joins_lists_in_the_readers_language():
    with translation.override("zh-hant"):
        chinese = join_list(["big3", "big4"])
    with translation.override("en"):
        english = join_list(["big3", "big4"])

    assert chinese == "big3、big4"
    assert english == "big3, big4"
