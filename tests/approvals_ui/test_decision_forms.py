"""The decision forms on the request page: dismissing without a reason, and unique element ids."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.urls import reverse

from approvals.models import Request
from tests.gitrepos import workspace_yaml

pytestmark = pytest.mark.usefixtures("no_cluster")


@pytest.fixture
def open_request(db) -> Request:
    return Request.objects.create(
        forge="git",
        number=7,
        ref="refs/pull/7/head",
        head_sha=f"{7:040x}",
        change_kind="create",
        path="user/alice.yaml",
        username="alice",
        file_after=workspace_yaml("alice"),
    )


def test_dismiss_needs_no_reason(admin_client, open_request):
    admin_client.post(reverse("approvals:dismiss", args=[open_request.pk]), {"head_sha": open_request.head_sha})

    open_request.refresh_from_db()
    assert open_request.state == Request.State.DISMISSED
    assert open_request.decision_reason == ""


def test_dismiss_button_skips_reason_check(admin_client, open_request):
    page = admin_client.get(reverse("approvals:request", args=[open_request.pk])).content.decode()

    [button] = re.findall(r'<button\b[^>]*data-testid="dismiss"[^>]*>', page)
    assert f'formaction="{reverse("approvals:dismiss", args=[open_request.pk])}"' in button
    assert "formnovalidate" in button


def test_request_page_ids_are_unique(admin_client, open_request):
    page = admin_client.get(reverse("approvals:request", args=[open_request.pk])).content.decode()

    ids = Counter(re.findall(r'\bid="([^"]+)"', page))
    assert [element_id for element_id, count in ids.items() if count > 1] == []
