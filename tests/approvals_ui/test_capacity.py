"""GPU capacity what-if as a pure calculation: where a request would land, and whether it fits.

The reading of nodes and pods from a real API server is in test_capacity_source.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from larr1.catalog import get_catalog
from workspaces.capacity import Claim, Node, Pod, Verdict, deletion_demand, plan, profile_claim, workspace_demand

GIB = 1024  # MiB


@pytest.fixture
def catalog():
    return get_catalog()


def pod(username, node, gpu_memory_gib, gpus=1, *, cpu=0, ram_gib=0):
    """A workspace pod bound to ``node`` (pending when "") with GPU memory, CPUs and memory (GiB) requested."""
    return Pod(f"ws-{username}", "workspace", node, gpus, gpu_memory_gib * GIB, username, cpu * 1000, ram_gib * 2**30)


def spark(name, **kwargs):
    """A node like the testbed's: 4 GPU shares, 20 CPUs, 128 GiB of memory, 110 pods."""
    return Node(
        name,
        4,
        cpu_allocatable_milli=20_000,
        memory_allocatable_bytes=128 * 2**30,
        pods_allocatable=110,
        **kwargs,
    )


def test_it_prefers_the_least_allocated_node(catalog):
    nodes = [spark("spark-1"), spark("spark-2")]
    pods = [pod("carol", "spark-1", 32, cpu=8, ram_gib=48), pod("dave", "spark-2", 16, cpu=4, ram_gib=32)]
    demand = workspace_demand(catalog, "alice", "medium", None)

    result = plan(catalog, nodes, pods, demand, {})

    assert result.verdict == Verdict.FITS
    assert result.chosen_node == "spark-2"
    assert result.tied_nodes == ["spark-2"]
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


# --- every resource the scheduler checks, claims, and ties ------------------------


def test_it_reports_a_cpu_shortage(catalog):
    nodes = [spark("spark-1"), spark("spark-2")]
    pods = [pod("carol", "spark-1", 16, cpu=12, ram_gib=16), pod("dave", "spark-2", 16, cpu=10, ram_gib=16)]

    result = plan(catalog, nodes, pods, workspace_demand(catalog, "alice", "large", None), {})

    assert result.verdict == Verdict.DOES_NOT_FIT
    assert result.reason == "no-cpu"
    [short] = result.shortages
    assert (short.resource, short.needed_text, short.free_text, short.node) == ("cpu", "12", "10", "spark-2")
    assert short.on_every_node


def test_it_reports_a_memory_shortage(catalog):
    nodes = [spark("spark-1"), spark("spark-2")]
    pods = [pod("carol", "spark-1", 16, cpu=2, ram_gib=80), pod("dave", "spark-2", 16, cpu=2, ram_gib=100)]

    result = plan(catalog, nodes, pods, workspace_demand(catalog, "alice", "large", None), {})

    assert result.verdict == Verdict.DOES_NOT_FIT
    assert result.reason == "no-memory"
    [short] = result.shortages
    assert (short.resource, short.needed_text, short.free_text, short.node) == ("memory", "64", "48", "spark-1")


def test_it_counts_pods_outside_larr1_on_the_node(catalog):
    nodes = [spark("spark-1")]
    other = Pod("monitoring", "exporter", "spark-1", 0, 0, "", 10_000, 8 * 2**30)

    result = plan(catalog, nodes, [other], workspace_demand(catalog, "alice", "large", None), {})

    assert result.reason == "no-cpu"
    assert result.nodes[0].cpu.used == 10_000


def test_it_reports_a_gpu_memory_shortage(catalog):
    nodes = [spark("spark-1")]
    pods = [pod("carol", "spark-1", 80, cpu=1, ram_gib=1)]

    result = plan(catalog, nodes, pods, workspace_demand(catalog, "alice", "large", None), {})

    assert result.reason == "no-gpu-memory"
    [short] = result.shortages
    assert (short.resource, short.needed_text, short.free_text) == ("gpu-memory", "32", "16")


def test_it_reports_shortages_on_different_nodes(catalog):
    nodes = [spark("spark-1"), spark("spark-2")]
    pods = [pod("carol", "spark-1", 16, cpu=16, ram_gib=8), pod("dave", "spark-2", 80, cpu=1, ram_gib=8)]

    result = plan(catalog, nodes, pods, workspace_demand(catalog, "alice", "large", None), {})

    assert result.verdict == Verdict.DOES_NOT_FIT
    assert result.reason == "no-single-node"
    assert [(s.resource, s.node, s.nodes_short, s.nodes_total) for s in result.shortages] == [
        ("gpu-memory", "spark-2", 1, 2),
        ("cpu", "spark-1", 1, 2),
    ]


def test_it_counts_pending_claims(catalog):
    nodes = [spark("spark-1"), spark("spark-2")]
    claims = [profile_claim(catalog, "carol", "large"), profile_claim(catalog, "dave", "large")]

    result = plan(catalog, nodes, [], workspace_demand(catalog, "alice", "large", None), {}, claims=claims)

    assert result.verdict == Verdict.DOES_NOT_FIT
    assert result.reason == "no-cpu"
    assert [node.claims for node in result.nodes] == [["carol"], ["dave"]]
    assert [node.cpu.claimed for node in result.nodes] == [12_000, 12_000]
    assert [node.free_before_mib for node in result.nodes] == [64 * GIB, 64 * GIB]


def test_it_shows_claims_without_a_request(catalog):
    claims = [profile_claim(catalog, "carol", "small")]

    result = plan(catalog, [spark("spark-1")], [], None, {}, needs_capacity=False, claims=claims)

    assert result.verdict == Verdict.NO_GPU
    assert result.nodes[0].claimed_mib == 16 * GIB
    assert result.nodes[0].bar()["claimed"] > 0


def test_it_drops_an_unplaceable_claim(catalog):
    huge = Claim("zed", gpu_count=1, gpu_memory_mib=16 * GIB, cpu_milli=64_000, memory_bytes=2**30)

    result = plan(catalog, [spark("spark-1")], [], workspace_demand(catalog, "alice", "small", None), {}, claims=[huge])

    assert result.unplaced_claims == ["zed"]
    assert result.verdict == Verdict.FITS


def test_it_skips_the_updated_workspace_claim(catalog):
    claims = [profile_claim(catalog, "alice", "large")]
    demand = workspace_demand(catalog, "alice", "small", None, releases=("alice",), current_profile_name="large")

    result = plan(catalog, [spark("spark-1")], [], demand, {}, claims=claims)

    assert result.claims == []
    assert result.nodes[0].cpu.claimed == 0


def test_it_reports_a_tie_between_equal_nodes(catalog):
    result = plan(
        catalog, [spark("spark-1"), spark("spark-2")], [], workspace_demand(catalog, "alice", "small", None), {}
    )

    assert result.verdict == Verdict.FITS
    assert result.tie
    assert result.tied_nodes == ["spark-1", "spark-2"]


def test_it_rewards_a_better_balance(catalog):
    # Both nodes keep as much free on average, but the pod evens out spark-1's CPU and memory use.
    nodes = [spark("spark-1"), spark("spark-2")]
    pods = [pod("carol", "spark-1", 0, cpu=10, ram_gib=0), pod("dave", "spark-2", 0, cpu=5, ram_gib=32)]

    result = plan(catalog, nodes, pods, workspace_demand(catalog, "alice", "small", None), {})

    assert result.chosen_node == "spark-1"
    assert not result.tie


def test_it_scores_unset_requests_as_defaults(catalog):
    nodes = [spark("spark-1"), spark("spark-2")]
    unset = Pod("batch", "job", "spark-1", 0, 0, "", 0, 0, score_cpu_milli=100, score_memory_bytes=200 * 2**20)

    result = plan(catalog, nodes, [unset], workspace_demand(catalog, "alice", "large", None), {})

    assert result.tied_nodes == ["spark-2"]


def test_it_checks_the_pod_limit(catalog):
    nodes = [Node("spark-1", 4, pods_allocatable=1)]
    other = Pod("kube-system", "agent", "spark-1", 0, 0)

    result = plan(catalog, nodes, [other], workspace_demand(catalog, "alice", "small", None), {})

    assert result.reason == "no-pods"
