"""A pull request that also changes files outside user/: flagged as a risk the admin must confirm."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import Request
from approvals.sync import sync_repository
from tests.gitrepos import workspace_yaml

pytestmark = pytest.mark.usefixtures("mirror_settings", "no_cluster")


@pytest.fixture
def dave_request(db, remote):
    files = {
        "user/dave.yaml": workspace_yaml("dave"),
        "README.md": "# Users, edited by dave\n",
        ".github/workflows/x.yml": "on: push\n",
    }
    remote.open_pr(5, files, message="Add dave")
    sync_repository()
    return Request.objects.get(number=5)


def approve(client, request, **extra):
    return client.post(
        reverse("approvals:approve", args=[request.pk]), {"head_sha": request.head_sha, **extra}, follow=True
    )


def test_page_flags_outside_files(admin_client, dave_request):
    html = admin_client.get(reverse("approvals:request", args=[dave_request.pk])).content.decode()

    assert "Files outside user/" in html
    assert "these files outside user/ reach main too: .github/workflows/x.yml, README.md." in html
    assert 'name="confirm"' in html


def test_queue_flags_outside_files(admin_client, dave_request):
    html = admin_client.get(reverse("approvals:queue")).content.decode()

    assert '<span class="badge risk">Files outside user/</span>' in html


def test_approval_needs_confirmation(admin_client, dave_request, remote):
    main_before = remote.main

    response = approve(admin_client, dave_request)

    dave_request.refresh_from_db()
    assert dave_request.state == Request.State.OPEN
    assert remote.main == main_before
    assert "This request has risks. Tick the confirmation to approve it." in response.content.decode()


def test_confirmed_approval_merges_outside_files(admin_client, dave_request, remote):
    approve(admin_client, dave_request, confirm="on")

    dave_request.refresh_from_db()
    assert dave_request.state == Request.State.MERGED
    assert remote.show(remote.main, "README.md") == "# Users, edited by dave"
