"""The request page against the real scheduler: CPU and memory of every pod, and workspaces approved but not running.

Several large requests approved in a row each looked like they fit. The estimate
counted neither the CPU and memory already requested on the nodes nor the
workspaces approved just before.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from larr1.catalog import get_catalog
from tests.approvals_ui.conftest import make_request
from tests.gitrepos import workspace_yaml
from workspaces.models import Workspace


def _page(admin_client, request) -> str:
    return admin_client.get(reverse("approvals:request", args=[request.pk])).content.decode()


def _large_resources() -> dict[str, str]:
    profile = get_catalog().profiles["large"]
    return {"cpu": profile.cpu, "memory": profile.memory, "nvidia.com/gpu": str(profile.gpus)}


@pytest.mark.cluster
def test_other_pods_cpu_blocks_a_request(admin_client, cluster):
    # Pods outside Larr1, without GPUs, hold 10 of each node's 20 CPUs; a large workspace needs 12.
    cluster.run_other_pods({"batch-1": "spark-1", "batch-2": "spark-2"}, cpu="10", memory="8Gi")
    request = make_request(1, file_after=workspace_yaml("alice", profile="large"))

    html = _page(admin_client, request)

    assert "Does not fit." in html
    assert (
        "Not enough free CPU on any node: the workspace needs 12 CPUs, "
        "and the most free on one node is 10 CPUs (on spark-2)." in html
    )
    assert 'data-testid="approve" disabled' in html
    # The real scheduler agrees.
    assert "Insufficient cpu" in cluster.scheduler_verdict("check", _large_resources())


@pytest.mark.cluster
def test_other_pods_memory_blocks_a_request(admin_client, cluster):
    cluster.run_other_pods({"batch-1": "spark-1", "batch-2": "spark-2"}, cpu="1", memory="80Gi")
    request = make_request(1, file_after=workspace_yaml("alice", profile="large"))

    html = _page(admin_client, request)

    assert "Not enough free memory on any node: the workspace needs 64 GiB" in html
    assert "Insufficient memory" in cluster.scheduler_verdict("check", _large_resources())


@pytest.mark.cluster
def test_pending_claims_block_a_request(admin_client, cluster):
    # Earlier approvals in a row: their rows exist, their pods do not run yet.
    for username in ("carol", "dave"):
        Workspace.objects.create(username=username, spec={"username": username, "profile": "large"})
    cluster.run_other_pods({"batch-1": "spark-1", "batch-2": "spark-2"}, cpu="2", memory="8Gi")
    request = make_request(1, file_after=workspace_yaml("alice", profile="large"))

    html = _page(admin_client, request)

    assert "2 approved workspaces do not run yet" in html
    assert "Does not fit." in html
    assert "Not enough free CPU on any node: the workspace needs 12 CPUs" in html


@pytest.mark.cluster
def test_capacity_now_counts_a_new_workspace(admin_client, cluster):
    from approvals.models import Request

    Workspace.objects.create(username="alice", spec={"username": "alice", "profile": "large"})
    request = make_request(1, state=Request.State.MERGED, file_after=workspace_yaml("alice", profile="large"))

    html = _page(admin_client, request)

    assert "1 approved workspace does not run yet" in html
    assert 'data-testid="claimed">32 GiB<br><span class="hint">alice</span>' in html
