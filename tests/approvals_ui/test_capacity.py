"""GPU capacity what-if as a pure calculation: where a request would land, and whether it fits.

The reading of nodes and pods from a real API server is in test_capacity_source.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from larr1.catalog import get_catalog
from workspaces.capacity import GpuPod, Node, Verdict, deletion_demand, plan, workspace_demand

GIB = 1024  # MiB


@pytest.fixture
def catalog():
    return get_catalog()


def pod(username, node, memory_gib, gpus=1):
    return GpuPod(f"ws-{username}", "workspace", node, gpus, memory_gib * GIB, username)


def test_it_places_a_request_on_the_node_with_most_free_gpu_memory(catalog):
    nodes = [Node("spark-1", 4), Node("spark-2", 4)]
    pods = [pod("carol", "spark-1", 32), pod("dave", "spark-2", 16)]
    demand = workspace_demand(catalog, "alice", "medium", None)

    result = plan(catalog, nodes, pods, demand, {})

    assert result.verdict == Verdict.FITS
    assert result.chosen_node == "spark-2"
    spark2 = next(node for node in result.nodes if node.name == "spark-2")
    assert spark2.free_before_mib == 80 * GIB
    assert spark2.free_after_mib == 56 * GIB


def test_it_says_a_request_does_not_fit_without_gpu_memory(catalog):
    nodes = [Node("spark-1", 8)]
    pods = [pod("carol", "spark-1", 32), pod("dave", "spark-1", 32), pod("erin", "spark-1", 16)]
    demand = workspace_demand(catalog, "alice", "medium", None)

    result = plan(catalog, nodes, pods, demand, {})

    assert result.verdict == Verdict.DOES_NOT_FIT
    assert result.reason == "no-gpu-memory"
    assert result.chosen_node == ""


def test_it_says_a_request_does_not_fit_without_a_free_gpu_share(catalog):
    nodes = [Node("spark-1", 1)]
    pods = [pod("carol", "spark-1", 16)]
    demand = workspace_demand(catalog, "alice", "small", None)

    result = plan(catalog, nodes, pods, demand, {})

    assert result.verdict == Verdict.DOES_NOT_FIT
    assert result.reason == "no-free-gpu"


def test_it_skips_nodes_that_are_not_schedulable(catalog):
    nodes = [Node("spark-1", 4, schedulable=False), Node("spark-2", 4)]
    pods = [pod("carol", "spark-2", 32)]
    demand = workspace_demand(catalog, "alice", "small", None)

    result = plan(catalog, nodes, pods, demand, {})

    assert result.chosen_node == "spark-2"


def test_it_counts_an_update_without_the_workspace_it_replaces(catalog):
    nodes = [Node("spark-1", 4)]
    pods = [pod("carol", "spark-1", 32), pod("dave", "spark-1", 32), pod("alice", "spark-1", 24)]
    demand = workspace_demand(catalog, "alice", "large", None, releases=("alice",))

    result = plan(catalog, nodes, pods, demand, {})

    node = result.nodes[0]
    assert result.verdict == Verdict.FITS
    assert node.used_after_mib == 96 * GIB
    assert node.free_after_mib == 0


def test_it_frees_gpu_memory_for_a_deletion(catalog):
    nodes = [Node("spark-1", 4)]
    pods = [pod("alice", "spark-1", 24)]

    result = plan(catalog, nodes, pods, deletion_demand("alice", 100 * 2**30), {"alice": 100 * 2**30})

    assert result.verdict == Verdict.FREES
    assert result.nodes[0].free_after_mib == 96 * GIB
    assert result.storage.after_bytes == 0


def test_it_prefers_the_gpu_memory_the_cluster_reports(catalog):
    nodes = [Node("spark-1", 4, gpu_memory_allocatable_mib=40 * GIB)]

    result = plan(catalog, nodes, [], workspace_demand(catalog, "alice", "medium", None), {})

    assert result.nodes[0].budget_mib == 40 * GIB
    assert result.nodes[0].budget_source == "cluster"


def test_it_says_capacity_is_unknown_when_the_cluster_is_unreachable(catalog):
    result = plan(catalog, None, [], workspace_demand(catalog, "alice", "medium", None), {})

    assert result.verdict == Verdict.UNKNOWN
    assert result.reason == "cluster-unreachable"


def test_it_says_capacity_is_unknown_without_any_gpu_memory_figure(catalog):
    no_figures = dataclasses.replace(
        catalog, node_gpu_memory=dataclasses.replace(catalog.node_gpu_memory, default_gib=None, per_node={})
    )

    result = plan(no_figures, [Node("spark-1", 4)], [], workspace_demand(no_figures, "alice", "small", None), {})

    assert result.verdict == Verdict.UNKNOWN
    assert result.reason == "budget-unknown"
    assert result.chosen_node == "spark-1"


def test_it_adds_the_storage_of_a_new_workspace(catalog):
    demand = workspace_demand(catalog, "alice", "small", 200 * 2**30)

    result = plan(catalog, [Node("spark-1", 4)], [], demand, {"carol": 100 * 2**30})

    assert result.storage.approved_bytes == 100 * 2**30
    assert result.storage.after_bytes == 300 * 2**30
