"""GPU memory and storage capacity, before and after a request: pure functions, no API calls.

``capacity_source`` reads the cluster and builds the inputs (``Node``, ``GpuPod``).
``plan()`` computes where a request would run if approved, and whether it fits.

Where a workspace lands is an estimate of the kube-scheduler's choice, not a
reservation. The scheduler filters nodes with its NodeResourcesFit plugin (the
GPU resource count, and the GPU memory resource when the cluster slices memory)
and then scores them. This module scores the remaining nodes by the share of GPU
memory left free after placement, as NodeResourcesFit's LeastAllocated strategy
does for the resources it is configured to weigh. The real scheduler also weighs
CPU, memory, spreading and affinity, so a tie or a near-tie here may go either
way there.

GPU memory is also checked against each node's budget when the cluster only
counts GPUs (time-sliced sharing): the scheduler would accept the pod, but the
workspaces would then share more GPU memory than the node has.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from workspaces.contract.catalog import Catalog

MIB = 2**20
GIB_IN_MIB = 1024


class BudgetSource(enum.StrEnum):
    """Source of a node's GPU memory budget."""

    CLUSTER = "cluster"  # the node reports it (HAMi's memory resource, or GPU feature discovery labels)
    CATALOG = "catalog"  # the node reports none; the platform catalog states it (unified-memory nodes)
    UNKNOWN = "unknown"


class Verdict(enum.StrEnum):
    """Outcome of the capacity check for a request."""

    FITS = "fits"
    DOES_NOT_FIT = "does-not-fit"
    FREES = "frees"  # a deletion: nothing to place, GPU memory is freed
    NO_GPU = "no-gpu"  # the request changes no workspace, or changes nothing that uses the GPU
    UNKNOWN = "unknown"  # the cluster could not be read, or the request's profile is unknown


@dataclass(frozen=True)
class Node:
    """A node as read from the cluster, reduced to what placement needs."""

    name: str
    gpu_allocatable: int  # allocatable count of the catalog's GPU resource
    reported_gpu_memory_mib: int | None = None  # None when the node reports no GPU memory
    gpu_memory_allocatable_mib: int | None = None  # the memory resource the scheduler counts, when there is one
    schedulable: bool = True  # Ready, not cordoned and without a NoSchedule or NoExecute taint
    product: str = ""  # GPU product label, for the table


@dataclass(frozen=True)
class GpuPod:
    """A pod that requests GPU resources, scheduled (node set) or pending (node empty)."""

    namespace: str
    name: str
    node: str  # "" while pending
    gpu_count: int
    gpu_memory_mib: int  # requested or, for a workspace without a memory resource, its profile's
    username: str = ""  # the Larr1 workspace it belongs to, "" for other pods


@dataclass(frozen=True)
class Demand:
    """Change that approving a request makes to GPU use and storage."""

    username: str
    gpu_count: int = 0
    gpu_memory_mib: int = 0
    storage_bytes: int = 0
    releases: tuple[str, ...] = ()  # workspaces whose pods go away (the one updated, renamed or deleted)
    deletes: bool = False


@dataclass
class NodeCapacity:
    """One node's GPU budget, before and after the request."""

    name: str
    product: str
    schedulable: bool
    budget_source: BudgetSource
    budget_mib: int | None
    used_mib: int  # GPU memory requested by the pods already on the node
    released_mib: int = 0  # freed by the request (a workspace it updates or deletes runs here)
    added_mib: int = 0  # what the request would add if it lands here
    gpu_allocatable: int = 0
    gpu_used: int = 0
    gpu_released: int = 0
    gpu_added: int = 0
    workspaces: list[str] = field(default_factory=list)
    other_pods: int = 0  # pods outside Larr1 that use the GPU
    chosen: bool = False

    @property
    def free_before_mib(self) -> int | None:
        return None if self.budget_mib is None else self.budget_mib - self.used_mib

    @property
    def used_after_mib(self) -> int:
        return self.used_mib - self.released_mib + self.added_mib

    @property
    def free_after_mib(self) -> int | None:
        return None if self.budget_mib is None else self.budget_mib - self.used_after_mib

    @property
    def gpu_free_before(self) -> int:
        return self.gpu_allocatable - self.gpu_used

    @property
    def gpu_free_after(self) -> int:
        return self.gpu_allocatable - self.gpu_used + self.gpu_released - self.gpu_added

    @property
    def over_budget(self) -> bool:
        return self.budget_mib is not None and self.used_after_mib > self.budget_mib

    def bar(self) -> dict[str, float]:
        """Percentages of the budget for the chart: kept usage, this request, free (each 0..100)."""
        kept = self.used_mib - self.released_mib
        scale = max(self.budget_mib or 0, self.used_after_mib, 1)
        kept_pct = 100 * kept / scale
        added_pct = 100 * self.added_mib / scale
        released_pct = 100 * self.released_mib / scale
        free_pct = max(0.0, 100 - kept_pct - added_pct - released_pct)
        return {
            "used": round(kept_pct, 2),
            "released": round(released_pct, 2),
            "added": round(added_pct, 2),
            "free": round(free_pct, 2),
        }


@dataclass
class StorageTotals:
    """Storage asked by every approved workspace, before and after the request."""

    approved_bytes: int
    change_bytes: int
    workspaces: int

    @property
    def after_bytes(self) -> int:
        return self.approved_bytes + self.change_bytes


@dataclass
class CapacityPlan:
    """The what-if for one request (or for none: ``demand`` is None on the capacity page)."""

    verdict: Verdict
    reason: str  # a stable code, explained by CAPACITY_REASONS in approvals.views; "" when it fits
    nodes: list[NodeCapacity]
    pending: list[GpuPod]
    storage: StorageTotals
    chosen_node: str = ""
    demand: Demand | None = None

    @property
    def total_budget_mib(self) -> int | None:
        budgets = [node.budget_mib for node in self.nodes]
        if not budgets or None in budgets:
            return None
        return sum(budgets)

    @property
    def total_used_mib(self) -> int:
        return sum(node.used_mib for node in self.nodes)

    @property
    def total_used_after_mib(self) -> int:
        return sum(node.used_after_mib for node in self.nodes)


def node_budget(node: Node, catalog: Catalog) -> tuple[int | None, BudgetSource]:
    """Return a node's GPU memory budget in MiB and where it comes from, the cluster's figure first."""
    if node.gpu_memory_allocatable_mib is not None:
        return node.gpu_memory_allocatable_mib, BudgetSource.CLUSTER
    if node.reported_gpu_memory_mib is not None:
        return node.reported_gpu_memory_mib, BudgetSource.CLUSTER
    gib = catalog.node_gpu_memory.for_node(node.name)
    if gib is not None:
        return gib * GIB_IN_MIB, BudgetSource.CATALOG
    return None, BudgetSource.UNKNOWN


def workspace_demand(
    catalog: Catalog,
    username: str,
    profile_name: str | None,
    storage_bytes: int | None,
    *,
    releases: tuple[str, ...] = (),
    current_storage_bytes: int = 0,
    current_profile_name: str | None = None,
) -> Demand | None:
    """Build the demand of a workspace that would run ``profile_name``; None when the profile is unknown.

    ``current_storage_bytes`` is what the workspace has now (0 for a new one), so the
    storage change of an update counts only the growth. ``current_profile_name`` is the
    profile the updated workspace runs now. When it is ``profile_name``, the update
    keeps its GPU share where it is, so the demand changes storage only.
    """
    profile = catalog.profiles.get(profile_name or "")
    if profile is None:
        return None
    size = storage_bytes if storage_bytes is not None else catalog.storage.default_bytes
    if releases and current_profile_name == profile_name:
        return Demand(username=username, storage_bytes=size - current_storage_bytes)
    return Demand(
        username=username,
        gpu_count=profile.gpus,
        gpu_memory_mib=profile.gpu_memory_gib * GIB_IN_MIB,
        storage_bytes=size - current_storage_bytes,
        releases=releases,
    )


def deletion_demand(username: str, current_storage_bytes: int) -> Demand:
    """Build the demand of a deletion: the workspace's pods go and its storage is freed later."""
    return Demand(username=username, storage_bytes=-current_storage_bytes, releases=(username,), deletes=True)


def plan(
    catalog: Catalog,
    nodes: list[Node] | None,
    pods: list[GpuPod],
    demand: Demand | None,
    approved_storage: dict[str, int],
    *,
    needs_capacity: bool = True,
) -> CapacityPlan:
    """Estimate where ``demand`` would land and whether it fits; ``nodes`` None means the cluster is unreadable.

    ``approved_storage`` maps each approved workspace to its storage size in bytes.
    ``needs_capacity`` False marks a request that changes no workspace.
    """
    storage = StorageTotals(
        approved_bytes=sum(approved_storage.values()),
        change_bytes=demand.storage_bytes if demand else 0,
        workspaces=len(approved_storage),
    )
    if nodes is None:
        return CapacityPlan(Verdict.UNKNOWN, "cluster-unreachable", [], [], storage, demand=demand)

    rows = _node_rows(catalog, nodes, pods, demand)
    pending = [pod for pod in pods if not pod.node]
    result = CapacityPlan(Verdict.FITS, "", rows, pending, storage, demand=demand)

    if not needs_capacity:
        result.verdict = Verdict.NO_GPU
        return result
    if demand is None:
        result.verdict, result.reason = Verdict.UNKNOWN, "profile-unknown"
        return result
    if demand.deletes:
        result.verdict = Verdict.FREES
        return result
    if demand.gpu_count == 0 and demand.gpu_memory_mib == 0:
        result.verdict = Verdict.NO_GPU
        return result

    chosen, reason = _choose_node(catalog, rows, demand)
    if chosen is None:
        result.verdict, result.reason = Verdict.DOES_NOT_FIT, reason
        return result
    chosen.added_mib = demand.gpu_memory_mib
    chosen.gpu_added = demand.gpu_count
    chosen.chosen = True
    result.chosen_node = chosen.name
    if chosen.budget_mib is None:
        # The scheduler would place it, but the node's GPU memory is unknown.
        result.verdict, result.reason = Verdict.UNKNOWN, "budget-unknown"
    return result


def _node_rows(catalog: Catalog, nodes: list[Node], pods: list[GpuPod], demand: Demand | None) -> list[NodeCapacity]:
    released = set(demand.releases) if demand else set()
    rows = {}
    for node in sorted(nodes, key=lambda n: n.name):
        budget, source = node_budget(node, catalog)
        rows[node.name] = NodeCapacity(
            name=node.name,
            product=node.product,
            schedulable=node.schedulable,
            budget_source=source,
            budget_mib=budget,
            used_mib=0,
            gpu_allocatable=node.gpu_allocatable,
        )
    for pod in pods:
        row = rows.get(pod.node)
        if row is None:
            continue  # pending, or on a node without GPUs
        row.used_mib += pod.gpu_memory_mib
        row.gpu_used += pod.gpu_count
        if pod.username:
            row.workspaces.append(pod.username)
        else:
            row.other_pods += 1
        if pod.username and pod.username in released:
            row.released_mib += pod.gpu_memory_mib
            row.gpu_released += pod.gpu_count
    for row in rows.values():
        row.workspaces.sort()
    return list(rows.values())


def _choose_node(catalog: Catalog, rows: list[NodeCapacity], demand: Demand) -> tuple[NodeCapacity | None, str]:
    """Pick the node the scheduler would most likely use, or return why none fits."""
    memory_sliced = catalog.gpu.mode == "memory-sliced"
    schedulable = [row for row in rows if row.schedulable and row.gpu_allocatable > 0]
    if not schedulable:
        return None, "no-gpu-nodes"

    # 1. The scheduler's filter: the GPU count, and the memory resource when the cluster has one.
    by_count = [row for row in schedulable if row.gpu_allocatable - row.gpu_used + row.gpu_released >= demand.gpu_count]
    if not by_count:
        return None, "no-free-gpu"
    if memory_sliced:
        by_count = [row for row in by_count if _memory_free(row) is None or _memory_free(row) >= demand.gpu_memory_mib]
        if not by_count:
            return None, "no-gpu-memory"

    # 2. Larr1's budget: never promise more GPU memory than a node has, even when only GPUs are counted.
    candidates = [row for row in by_count if _memory_free(row) is None or _memory_free(row) >= demand.gpu_memory_mib]
    if not candidates:
        return None, "no-gpu-memory"

    # 3. Score: the most GPU memory left free after placement, as a share of the node's budget.
    def score(row: NodeCapacity) -> tuple[float, str]:
        if not row.budget_mib:
            return (1.0, row.name)  # nodes with an unknown budget go last
        share = (_memory_free(row) - demand.gpu_memory_mib) / row.budget_mib
        return (-share, row.name)

    return min(candidates, key=score), ""


def _memory_free(row: NodeCapacity) -> int | None:
    """GPU memory free on the node once the request's released workspaces are gone."""
    if row.budget_mib is None:
        return None
    return row.budget_mib - row.used_mib + row.released_mib
