"""Reading capacity from the local testbed's API server: nodes, GPU pods, and a request's estimate."""

from __future__ import annotations

import pytest

from approvals.models import ApprovedFile
from larr1.catalog import get_catalog
from tests.approvals_ui.conftest import make_request
from tests.approvals_ui.gpu_load import TESTBED_NODE_GPU_MEMORY_MIB
from tests.gitrepos import workspace_yaml
from workspaces import capacity_source, kube
from workspaces.capacity import Verdict

GIB = 1024  # MiB


@pytest.fixture
def catalog():
    return get_catalog()


@pytest.mark.cluster
def test_it_reads_nodes_and_workspace_pods_from_the_api(cluster, catalog, db):
    unready = cluster.add_node("unready", gpus=4, ready=False)
    cluster.run_workspace_pods({"carol": "spark-1"}, gpumem_mib=32 * GIB)
    cluster.add_pending_workspace_pod("dave")

    snapshot = capacity_source.read_cluster(catalog)

    assert [node.name for node in snapshot.nodes] == ["spark-1", "spark-2", unready]
    spark1, spark2, unready_node = snapshot.nodes
    assert spark1.gpu_memory_allocatable_mib == TESTBED_NODE_GPU_MEMORY_MIB
    assert spark1.gpu_allocatable == 4
    assert spark1.product == "NVIDIA-GB10"
    assert spark2.schedulable is True
    assert unready_node.gpu_memory_allocatable_mib is None
    assert unready_node.schedulable is False
    gpu_pods = [p for p in snapshot.pods if p.gpu_count]
    assert [(p.username, p.node, p.gpu_count, p.gpu_memory_mib) for p in gpu_pods] == [
        ("carol", "spark-1", 1, 32 * GIB),
        ("dave", "", 1, 0),
    ]


@pytest.mark.cluster
def test_it_leaves_out_nodes_without_gpus(cluster, catalog, db):
    cluster.add_node("cpu-only", gpus=0)

    snapshot = capacity_source.read_cluster(catalog)

    assert [node.name for node in snapshot.nodes] == ["spark-1", "spark-2"]


@pytest.mark.cluster
def test_it_counts_a_time_sliced_workspace_by_its_profile(cluster, catalog, db):
    ApprovedFile.objects.create(
        path="user/erin.yaml", username="erin", content=workspace_yaml("erin", profile="large"), valid=True
    )
    # A time-sliced workspace requests only GPU shares, no GPU memory resource.
    cluster.run_workspace_pods({"erin": "spark-2"})

    snapshot = capacity_source.read_cluster(catalog)

    gpu_pods = [p for p in snapshot.pods if p.gpu_count]
    assert [(p.username, p.node, p.gpu_memory_mib) for p in gpu_pods] == [("erin", "spark-2", 32 * GIB)]


def test_it_returns_no_snapshot_when_the_api_is_unreachable(no_cluster, catalog, db):
    assert capacity_source.read_cluster(catalog) is None


def test_it_returns_no_snapshot_without_a_kubeconfig(settings, tmp_path, catalog, db):
    settings.LARR1_KUBECONFIG = tmp_path / "missing-kubeconfig"
    settings.LARR1_KUBE_CONTEXT = None
    settings.LARR1_KUBE_IN_CLUSTER = False
    kube._api_client.cache_clear()
    try:
        snapshot = capacity_source.read_cluster(catalog)
    finally:
        kube._api_client.cache_clear()

    assert snapshot is None


@pytest.mark.cluster
def test_it_estimates_a_request_from_its_workspace_file(cluster, db):
    cluster.run_workspace_pods({"carol": "spark-1"}, gpumem_mib=32 * GIB)
    request = make_request(5, username="alice", file_after=workspace_yaml("alice", profile="large", storage="300Gi"))

    result = capacity_source.plan_for_request(request, capacity_source.read_cluster())

    # carol's pod requests no CPU or memory, which the scheduler scores as 0.1 CPU and 200 MiB.
    assert result.verdict == Verdict.FITS
    assert result.chosen_node == "spark-2"
    assert result.tied_nodes == ["spark-2"]
    assert result.demand.gpu_memory_mib == 32 * GIB
    assert result.storage.change_bytes == 300 * 2**30
    spark1 = next(node for node in result.nodes if node.name == "spark-1")
    assert spark1.free_before_mib == TESTBED_NODE_GPU_MEMORY_MIB - 32 * GIB


@pytest.mark.cluster
def test_it_reads_requests_of_every_pod(cluster, catalog, db):
    cluster.run_other_pods({"batch": "spark-1"}, cpu="2500m", memory="3Gi")

    snapshot = capacity_source.read_cluster(catalog)

    spark1 = snapshot.nodes[0]
    assert (spark1.cpu_allocatable_milli, spark1.memory_allocatable_bytes, spark1.pods_allocatable) == (
        20_000,
        128 * 2**30,
        110,
    )
    batch = [p for p in snapshot.pods if p.namespace.endswith("batch")]
    assert [(p.node, p.gpu_count, p.cpu_milli, p.memory_bytes) for p in batch] == [("spark-1", 0, 2500, 3 * 2**30)]
