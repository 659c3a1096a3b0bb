"""The capacity effect shown on a request page: what a request changes, and for which requests."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import ApprovedFile, Request
from larr1.catalog import get_catalog
from tests.gitrepos import workspace_yaml
from workspaces import capacity_source
from workspaces.capacity import Node, Pod, Verdict, plan, workspace_demand

GIB = 1024  # MiB
GIB_BYTES = 2**30


@pytest.fixture
def catalog():
    return get_catalog()


def _approve_file(username: str, **fields) -> None:
    content = workspace_yaml(username, **fields)
    ApprovedFile.objects.create(path=f"user/{username}.yaml", username=username, content=content, valid=True)


def _request(number: int, username: str, *, kind: str, state: str, file_after: str) -> Request:
    return Request.objects.create(
        forge="git",
        number=number,
        ref=f"refs/pull/{number}/head",
        head_sha=f"{number:040x}",
        change_kind=kind,
        path=f"user/{username}.yaml",
        username=username,
        file_after=file_after,
        state=state,
    )


def test_email_only_update_keeps_gpu_use(catalog):
    nodes = [Node("spark-1", 4), Node("spark-2", 4)]
    pods = [Pod("ws-kai", "workspace", "spark-1", 1, 24 * GIB, "kai")]
    demand = workspace_demand(catalog, "kai", "medium", None, releases=("kai",), current_profile_name="medium")

    result = plan(catalog, nodes, pods, demand, {"kai": 100 * GIB_BYTES})

    assert result.verdict == Verdict.NO_GPU
    assert result.chosen_node == ""
    assert [node.used_after_mib for node in result.nodes] == [24 * GIB, 0]


def test_profile_change_still_moves_gpu_use(catalog):
    nodes = [Node("spark-1", 4)]
    pods = [Pod("ws-kai", "workspace", "spark-1", 1, 24 * GIB, "kai")]
    demand = workspace_demand(catalog, "kai", "small", None, releases=("kai",), current_profile_name="medium")

    result = plan(catalog, nodes, pods, demand, {"kai": 100 * GIB_BYTES})

    assert result.verdict == Verdict.FITS


def test_email_only_request_says_no_gpu_change(db, catalog):
    _approve_file("kai")
    after = workspace_yaml("kai", email="kai.new@example.com")
    request = _request(5, "kai", kind="update", state=Request.State.OPEN, file_after=after)
    snapshot = capacity_source.ClusterSnapshot(nodes=[Node("spark-1", 4), Node("spark-2", 4)], pods=[])

    result = capacity_source.plan_for_request(request, snapshot)

    assert result.verdict == Verdict.NO_GPU
    assert result.storage.change_bytes == 0


def test_merged_request_shows_current_totals(db):
    for username in ("carol", "dave", "alice"):
        _approve_file(username)
    request = _request(1, "alice", kind="create", state=Request.State.MERGED, file_after=workspace_yaml("alice"))

    result = capacity_source.plan_for_request(request, None)

    assert result.storage.workspaces == 3
    assert result.storage.approved_bytes == 300 * GIB_BYTES
    assert result.storage.after_bytes == 300 * GIB_BYTES
    assert result.demand is None


@pytest.mark.usefixtures("no_cluster")
def test_merged_request_page_shows_no_pending_change(db, admin_client):
    for username in ("carol", "dave", "alice"):
        _approve_file(username)
    request = _request(1, "alice", kind="create", state=Request.State.MERGED, file_after=workspace_yaml("alice"))

    page = admin_client.get(reverse("approvals:request", args=[request.pk])).content.decode()

    assert 'data-testid="capacity-not-pending"' in page
    assert "Change by this request" not in page
    assert "Total after approval" not in page
