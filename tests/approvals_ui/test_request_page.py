"""The request page: diff, findings with fixes, risks, heads, capacity and the decision forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import Request
from tests.approvals_ui.conftest import make_request
from tests.gitrepos import workspace_yaml

CUDA_ERROR = {
    "severity": "error",
    "code": "cuda.unknown",
    "field": "cuda.version",
    "params": {"value": "cuda12.9", "offered": "cuda12.8, cuda13.0", "line": 6},
    "suggestion": "version: cuda13.0",
}
EMAIL_RISK = {
    "severity": "warning",
    "code": "risk.email-changed",
    "field": "user.email",
    "params": {"old": "alice@example.com", "new": "alice@example.org"},
    "suggestion": None,
}


def fill_both_testbed_nodes(cluster):
    """Run three 32 GiB workspaces on each testbed node: 96 GiB, all of its GPU memory, with one GPU share free."""
    placements = {"carol": "spark-1", "dave": "spark-1", "erin": "spark-1"}
    placements |= {"frank": "spark-2", "grace": "spark-2", "heidi": "spark-2"}
    cluster.run_workspace_pods(placements, gpumem_mib=32768)


def page(client, request):
    return client.get(reverse("approvals:request", args=[request.pk]))


def test_it_shows_the_file_as_an_escaped_diff(admin_client, no_cluster):
    before = workspace_yaml("alice")
    after = before.replace("medium", "large") + "# <script>alert(1)</script>\n"
    request = make_request(1, change_kind="update", file_before=before, file_after=after)

    html = page(admin_client, request).content.decode()

    assert '<tr class="removed">' in html
    assert '<tr class="added">' in html
    assert "name: large" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_it_shows_each_finding_with_its_message_and_fix(admin_client, no_cluster):
    request = make_request(1, findings=[CUDA_ERROR], has_errors=True)

    html = page(admin_client, request).content.decode()

    assert "CUDA version cuda12.9 is not offered. Choose one of: cuda12.8, cuda13.0." in html
    assert "version: cuda13.0" in html
    assert "line 6" in html


def test_it_disables_approval_while_errors_exist(admin_client, no_cluster):
    request = make_request(1, findings=[CUDA_ERROR], has_errors=True)

    response = page(admin_client, request)

    assert response.context["blocker"] == "has-errors"
    assert 'data-testid="approve" disabled' in response.content.decode()


def test_it_flags_risks_and_asks_for_confirmation(admin_client, no_cluster):
    request = make_request(1, change_kind="update", findings=[EMAIL_RISK], risks=["risk.email-changed"])

    html = page(admin_client, request).content.decode()

    assert "Email change" in html
    assert "The credentials will be sent to the new address." in html
    assert 'name="confirm"' in html


def test_it_binds_the_decision_forms_to_the_head_commit(admin_client, no_cluster):
    request = make_request(1)

    html = page(admin_client, request).content.decode()

    assert html.count(f'name="head_sha" value="{request.head_sha}"') == 2


def test_it_lists_earlier_heads_and_force_pushes(admin_client, no_cluster):
    request = make_request(1)
    request.heads.create(sha="e" * 40, forced=True)
    Request.objects.filter(pk=request.pk).update(head_sha="e" * 40)
    request.heads.create(sha="f" * 40)
    Request.objects.filter(pk=request.pk).update(head_sha="f" * 40)

    response = page(admin_client, request)

    assert [head.sha for head in response.context["earlier_heads"]] == [f"{1:040x}", "e" * 40]
    assert "replaced by a force-push" in response.content.decode()


def test_it_shows_the_pull_request_link_and_author(admin_client, no_cluster):
    request = make_request(1, url="https://forge.example.com/users/pull/1", author="alice-gh")

    html = page(admin_client, request).content.decode()

    assert 'href="https://forge.example.com/users/pull/1"' in html
    assert "alice-gh" in html


def test_it_says_capacity_is_unknown_without_a_cluster(admin_client, no_cluster):
    request = make_request(1)

    html = page(admin_client, request).content.decode()

    assert "Capacity unknown." in html
    assert "The cluster cannot be read right now" in html


@pytest.mark.cluster
def test_it_draws_the_capacity_chart_and_table(admin_client, cluster):
    cluster.run_workspace_pods({"carol": "spark-1"}, gpumem_mib=32768)
    request = make_request(1)

    html = page(admin_client, request).content.decode()

    assert 'data-testid="capacity-chart"' in html
    assert 'data-testid="capacity-table"' in html
    assert "Fits, by this estimate. The scheduler would most likely run it on spark-2." in html
    assert 'data-node="spark-1"' in html


@pytest.mark.cluster
def test_it_says_a_request_does_not_fit_and_disables_approval(admin_client, cluster):
    fill_both_testbed_nodes(cluster)
    request = make_request(1)

    response = page(admin_client, request)

    html = response.content.decode()
    assert "Does not fit." in html
    assert "Not enough free GPU memory on any node" in html
    assert 'data-testid="approve" disabled' in html


@pytest.mark.cluster
def test_it_refuses_to_approve_a_request_that_does_not_fit(admin_client, cluster):
    fill_both_testbed_nodes(cluster)
    request = make_request(1)

    response = admin_client.post(
        reverse("approvals:approve", args=[request.pk]), {"head_sha": request.head_sha}, follow=True
    )

    request.refresh_from_db()
    assert request.state == Request.State.OPEN
    assert "does not fit on any node" in response.content.decode()


def test_it_refuses_to_approve_a_request_with_errors(admin_client, no_cluster):
    request = make_request(1, findings=[CUDA_ERROR], has_errors=True)

    response = admin_client.post(
        reverse("approvals:approve", args=[request.pk]), {"head_sha": request.head_sha}, follow=True
    )

    request.refresh_from_db()
    assert request.state == Request.State.OPEN
    assert "The request has errors." in response.content.decode()


def test_it_refuses_a_risky_approval_without_confirmation(admin_client, no_cluster):
    request = make_request(1, change_kind="update", findings=[EMAIL_RISK], risks=["risk.email-changed"])

    response = admin_client.post(
        reverse("approvals:approve", args=[request.pk]), {"head_sha": request.head_sha}, follow=True
    )

    request.refresh_from_db()
    assert request.state == Request.State.OPEN
    assert "Tick the confirmation to approve it." in response.content.decode()


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_requires_a_reason_to_reject(admin_client, no_cluster, reason):
    request = make_request(1)

    response = admin_client.post(
        reverse("approvals:reject", args=[request.pk]), {"head_sha": request.head_sha, "reason": reason}, follow=True
    )

    request.refresh_from_db()
    assert request.state == Request.State.OPEN
    assert "Write the reason for the requester." in response.content.decode()


def test_it_hides_the_decision_forms_once_decided(admin_client, no_cluster):
    request = make_request(1, state=Request.State.MERGED)

    html = page(admin_client, request).content.decode()

    assert 'data-testid="decide"' not in html
