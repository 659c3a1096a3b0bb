"""Capacity before and after a request: pure functions, no API calls.

``capacity_source`` reads the cluster and the database and builds the inputs
(``Node``, ``Pod``, ``Claim``). ``plan()`` estimates where a request would run if
approved, and whether it fits.

Where a workspace lands is an estimate of the kube-scheduler's choice, not a
reservation. The estimate follows the default scheduler:

1. Filter, as NodeResourcesFit does: a node must have room for every resource the
   pod requests (GPU shares, the GPU memory resource when the cluster slices
   memory, CPU, memory and one more pod), counted as allocatable minus the
   requests of every pod already bound to the node, Larr1's or not.
   https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/#kube-scheduler-implementation
2. Score the nodes left with the default plugins that depend on requests:
   NodeResourcesFit's LeastAllocated and NodeResourcesBalancedAllocation, both over
   CPU and memory with weight 1, as kube-scheduler 1.36 computes them. GPU resources
   are not scored by default.
   https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/
3. Among the nodes with the best score the scheduler picks one at random, so a tie
   is reported as a tie.

Scoring counts a container without a CPU or memory request as 0.1 CPU and 200 MiB,
as the scheduler does. The scheduler also weighs affinity, spreading and image
locality, which the estimate takes as equal on every node.

Approved workspaces that do not run yet (their pod is pending or not created) are
claims on the cluster: they are placed first, oldest first, so that approving
several requests in a row does not make each look like the only one.

GPU memory is also checked against each node's budget when the cluster only
counts GPUs (time-sliced sharing): the scheduler would accept the pod, but the
workspaces would then share more GPU memory than the node has.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from workspaces.contract.catalog import Catalog
from workspaces.contract.quantities import QuantityError, parse_quantity

MIB = 2**20
GIB = 2**30
GIB_IN_MIB = 1024
MAX_NODE_SCORE = 100


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


class Resource(enum.StrEnum):
    """Resource a node can run short of, in the order the verdict lists them."""

    GPU = "gpu"  # GPU shares (the catalog's GPU resource)
    GPU_MEMORY = "gpu-memory"
    CPU = "cpu"
    MEMORY = "memory"
    PODS = "pods"


# The reason code of a request that no node can take because every node lacks this resource.
SHORT_REASONS = {
    Resource.GPU: "no-free-gpu",
    Resource.GPU_MEMORY: "no-gpu-memory",
    Resource.CPU: "no-cpu",
    Resource.MEMORY: "no-memory",
    Resource.PODS: "no-pods",
}


@dataclass(frozen=True)
class Node:
    """A node as read from the cluster, reduced to what placement needs."""

    name: str
    gpu_allocatable: int  # allocatable count of the catalog's GPU resource
    reported_gpu_memory_mib: int | None = None  # None when the node reports no GPU memory
    gpu_memory_allocatable_mib: int | None = None  # the memory resource the scheduler counts, when there is one
    schedulable: bool = True  # Ready, not cordoned and without a NoSchedule or NoExecute taint
    product: str = ""  # GPU product label, for the table
    cpu_allocatable_milli: int | None = None  # None when unknown, and then not checked
    memory_allocatable_bytes: int | None = None
    pods_allocatable: int | None = None


@dataclass(frozen=True)
class Pod:
    """A pod bound to a node (any pod: its requests count there) or a GPU pod waiting for one (node empty)."""

    namespace: str
    name: str
    node: str  # "" while pending
    gpu_count: int
    gpu_memory_mib: int  # requested or, for a workspace without a memory resource, its profile's
    username: str = ""  # the Larr1 workspace it belongs to, "" for other pods
    cpu_milli: int = 0  # CPU requested, in thousandths of a CPU
    memory_bytes: int = 0  # memory requested
    # What the scheduler's scoring counts: a container without a CPU or memory request
    # as 0.1 CPU and 200 MiB. None when the same as the requests.
    score_cpu_milli: int | None = None
    score_memory_bytes: int | None = None


@dataclass(frozen=True)
class Claim:
    """An approved workspace that does not run yet: its pod is pending or not created."""

    username: str
    gpu_count: int
    gpu_memory_mib: int
    cpu_milli: int
    memory_bytes: int


@dataclass(frozen=True)
class Demand:
    """Change that approving a request makes to GPU use and storage."""

    username: str
    gpu_count: int = 0
    gpu_memory_mib: int = 0
    storage_bytes: int = 0
    releases: tuple[str, ...] = ()  # workspaces whose pods go away (the one updated, renamed or deleted)
    deletes: bool = False
    cpu_milli: int = 0
    memory_bytes: int = 0


@dataclass
class Amount:
    """One resource on one node: allocatable, and requested by each kind of pod."""

    allocatable: int | None  # None when the node does not say
    used: int = 0  # requested by the pods bound to the node
    released: int = 0  # freed by the request (a workspace it updates or deletes runs here)
    claimed: int = 0  # approved workspaces that do not run yet, estimated to land here
    added: int = 0  # the request, if it lands here
    scored: int = 0  # what the scheduler's scoring counts for the pods bound to the node (see Pod)

    @property
    def free_before(self) -> int | None:
        return None if self.allocatable is None else self.allocatable - self.used - self.claimed

    @property
    def used_after(self) -> int:
        return self.used - self.released + self.claimed + self.added

    @property
    def free_after(self) -> int | None:
        return None if self.allocatable is None else self.allocatable - self.used_after

    def free_for(self) -> int | None:
        """Return what is free for the request: allocatable less everything kept and claimed."""
        return None if self.allocatable is None else self.allocatable - self.used - self.claimed + self.released


@dataclass(frozen=True)
class Shortfall:
    """A node that lacks one resource for the request: needed and free, in the resource's unit."""

    node: str
    resource: Resource
    needed: int
    free: int

    @property
    def needed_text(self) -> str:
        return display_number(self.resource, self.needed)

    @property
    def free_text(self) -> str:
        return display_number(self.resource, max(self.free, 0))

    @property
    def needed_count(self) -> int:
        return plural_count(self.resource, self.needed)

    @property
    def free_count(self) -> int:
        return plural_count(self.resource, max(self.free, 0))


@dataclass(frozen=True)
class Shortage:
    """A resource that some nodes lack for the request, summed up for the verdict."""

    resource: Resource
    needed_text: str  # in the resource's display unit: GPU shares, GiB, CPUs or pods
    free_text: str  # the largest amount free on any of those nodes
    node: str  # the node with that amount
    nodes_short: int
    nodes_total: int
    needed_count: int = 0  # picks the plural form of needed_text
    free_count: int = 0

    @property
    def on_every_node(self) -> bool:
        return self.nodes_short == self.nodes_total


@dataclass
class NodeCapacity:
    """One node's capacity, before and after the request."""

    name: str
    product: str
    schedulable: bool
    budget_source: BudgetSource
    budget_mib: int | None
    used_mib: int  # GPU memory requested by the pods already on the node
    released_mib: int = 0  # freed by the request (a workspace it updates or deletes runs here)
    claimed_mib: int = 0  # approved workspaces that do not run yet, estimated to land here
    added_mib: int = 0  # what the request would add if it lands here
    gpu_allocatable: int = 0
    gpu_used: int = 0
    gpu_released: int = 0
    gpu_claimed: int = 0
    gpu_added: int = 0
    cpu: Amount = field(default_factory=lambda: Amount(None))  # in thousandths of a CPU
    memory: Amount = field(default_factory=lambda: Amount(None))  # in bytes
    pods: Amount = field(default_factory=lambda: Amount(None))
    workspaces: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)  # usernames of the claims estimated to land here
    other_pods: int = 0  # pods outside Larr1 that use the GPU
    chosen: bool = False
    shortfalls: list[Shortfall] = field(default_factory=list)  # why the request cannot land here

    @property
    def free_before_mib(self) -> int | None:
        return None if self.budget_mib is None else self.budget_mib - self.used_mib - self.claimed_mib

    @property
    def used_after_mib(self) -> int:
        return self.used_mib - self.released_mib + self.claimed_mib + self.added_mib

    @property
    def free_after_mib(self) -> int | None:
        return None if self.budget_mib is None else self.budget_mib - self.used_after_mib

    @property
    def gpu_free_before(self) -> int:
        return self.gpu_allocatable - self.gpu_used - self.gpu_claimed

    @property
    def gpu_free_after(self) -> int:
        return self.gpu_allocatable - self.gpu_used - self.gpu_claimed + self.gpu_released - self.gpu_added

    @property
    def gpu_requested(self) -> int:
        """GPU shares taken now: by the pods on the node and by the claims estimated to land here."""
        return self.gpu_used + self.gpu_claimed

    @property
    def gpu_used_after(self) -> int:
        return self.gpu_used - self.gpu_released + self.gpu_claimed + self.gpu_added

    @property
    def over_budget(self) -> bool:
        return self.budget_mib is not None and self.used_after_mib > self.budget_mib

    @property
    def cpu_text(self) -> dict[str, str]:
        """CPUs requested now (claims included), after the request, and allocatable, for the table."""
        return _amount_text(Resource.CPU, self.cpu)

    @property
    def memory_text(self) -> dict[str, str]:
        """Memory requested now (claims included), after the request, and allocatable, in GiB, for the table."""
        return _amount_text(Resource.MEMORY, self.memory)

    def bar(self) -> dict[str, float]:
        """Percentages of the budget for the chart: running, claimed, freed, this request, free (each 0..100)."""
        kept = self.used_mib - self.released_mib
        scale = max(self.budget_mib or 0, self.used_after_mib, 1)
        kept_pct = 100 * kept / scale
        claimed_pct = 100 * self.claimed_mib / scale
        added_pct = 100 * self.added_mib / scale
        released_pct = 100 * self.released_mib / scale
        free_pct = max(0.0, 100 - kept_pct - claimed_pct - added_pct - released_pct)
        return {
            "used": round(kept_pct, 2),
            "claimed": round(claimed_pct, 2),
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
    pending: list[Pod]  # GPU pods waiting for a node
    storage: StorageTotals
    chosen_node: str = ""
    demand: Demand | None = None
    tied_nodes: list[str] = field(default_factory=list)  # nodes that score as well as chosen_node, itself included
    claims: list[Claim] = field(default_factory=list)  # approved workspaces that do not run yet
    unplaced_claims: list[str] = field(default_factory=list)  # of those, the ones no node can take now
    shortages: list[Shortage] = field(default_factory=list)  # why the request fits nowhere

    @property
    def tie(self) -> bool:
        return len(self.tied_nodes) > 1

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


def display_number(resource: Resource, value: int) -> str:
    """Format an amount in the unit the verdict names: GiB for (GPU) memory, CPUs, else a count."""
    if resource == Resource.GPU_MEMORY:
        number = value / GIB_IN_MIB
    elif resource == Resource.MEMORY:
        number = value / GIB
    elif resource == Resource.CPU:
        number = value / 1000
    else:
        return str(value)
    return f"{number:.1f}".rstrip("0").rstrip(".")


def plural_count(resource: Resource, value: int) -> int:
    """Return the whole number that picks the plural form of an amount ("1 CPU", "0.5 CPUs", "2 CPUs")."""
    if resource == Resource.CPU:
        return value // 1000 if value % 1000 == 0 else 2
    if resource in (Resource.GPU, Resource.PODS):
        return value
    return 2  # GiB take no plural form


def _amount_text(resource: Resource, amount: Amount) -> dict[str, str]:
    allocatable = "?" if amount.allocatable is None else display_number(resource, amount.allocatable)
    return {
        "before": display_number(resource, amount.used + amount.claimed),
        "after": display_number(resource, amount.used_after),
        "allocatable": allocatable,
        "over": amount.allocatable is not None and amount.used_after > amount.allocatable,
    }


def cpu_milli(text: str) -> int:
    """Parse a CPU quantity ("12", "3500m") into thousandths of a CPU; 0 when it is not a quantity."""
    try:
        return int((parse_quantity(str(text)) * 1000).to_integral_value(rounding="ROUND_CEILING"))
    except QuantityError:
        return 0


def quantity_int(text: str) -> int:
    """Parse a quantity of bytes or of a countable resource, rounding up as the API server does."""
    try:
        return int(parse_quantity(str(text)).to_integral_value(rounding="ROUND_CEILING"))
    except QuantityError:
        return 0


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


def profile_claim(catalog: Catalog, username: str, profile_name: str | None) -> Claim | None:
    """Build the claim of an approved workspace that runs ``profile_name``; None when the profile is unknown."""
    profile = catalog.profiles.get(profile_name or "")
    if profile is None:
        return None
    return Claim(
        username=username,
        gpu_count=profile.gpus,
        gpu_memory_mib=profile.gpu_memory_gib * GIB_IN_MIB,
        cpu_milli=cpu_milli(profile.cpu),
        memory_bytes=quantity_int(profile.memory),
    )


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
    keeps its pod where it is, so the demand changes storage only.
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
        cpu_milli=cpu_milli(profile.cpu),
        memory_bytes=quantity_int(profile.memory),
    )


def deletion_demand(username: str, current_storage_bytes: int) -> Demand:
    """Build the demand of a deletion: the workspace's pods go and its storage is freed later."""
    return Demand(username=username, storage_bytes=-current_storage_bytes, releases=(username,), deletes=True)


def plan(
    catalog: Catalog,
    nodes: list[Node] | None,
    pods: list[Pod],
    demand: Demand | None,
    approved_storage: dict[str, int],
    *,
    needs_capacity: bool = True,
    claims: list[Claim] = (),
) -> CapacityPlan:
    """Estimate where ``demand`` would land and whether it fits; ``nodes`` None means the cluster is unreadable.

    ``approved_storage`` maps each approved workspace to its storage size in bytes.
    ``needs_capacity`` False marks a request that changes no workspace. ``claims``
    are approved workspaces that do not run yet, oldest first; they are placed
    before the request.
    """
    storage = StorageTotals(
        approved_bytes=sum(approved_storage.values()),
        change_bytes=demand.storage_bytes if demand else 0,
        workspaces=len(approved_storage),
    )
    if nodes is None:
        return CapacityPlan(Verdict.UNKNOWN, "cluster-unreachable", [], [], storage, demand=demand)

    released = set(demand.releases) if demand else set()
    rows = _node_rows(catalog, nodes, pods, released)
    pending = [pod for pod in pods if not pod.node and pod.gpu_count > 0]
    claims = [claim for claim in claims if claim.username not in released]
    result = CapacityPlan(Verdict.FITS, "", rows, pending, storage, demand=demand, claims=claims)
    _place_claims(catalog, rows, claims, result)

    if not needs_capacity:
        result.verdict = Verdict.NO_GPU
        return result
    if demand is None:
        result.verdict, result.reason = Verdict.UNKNOWN, "profile-unknown"
        return result
    if demand.deletes:
        result.verdict = Verdict.FREES
        return result
    if demand.gpu_count == 0 and demand.gpu_memory_mib == 0 and demand.cpu_milli == 0 and demand.memory_bytes == 0:
        result.verdict = Verdict.NO_GPU
        return result

    best, reason = _best_nodes(catalog, rows, demand, record=True)
    if not best:
        result.verdict, result.reason = Verdict.DOES_NOT_FIT, reason
        result.shortages = _shortages(rows)
        return result
    chosen = best[0]
    _add(chosen, demand)
    chosen.chosen = True
    result.chosen_node = chosen.name
    result.tied_nodes = [row.name for row in best]
    if chosen.budget_mib is None:
        # The scheduler would place it, but the node's GPU memory is unknown.
        result.verdict, result.reason = Verdict.UNKNOWN, "budget-unknown"
    return result


def _node_rows(catalog: Catalog, nodes: list[Node], pods: list[Pod], released: set[str]) -> list[NodeCapacity]:
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
            cpu=Amount(node.cpu_allocatable_milli),
            memory=Amount(node.memory_allocatable_bytes),
            pods=Amount(node.pods_allocatable),
        )
    for pod in pods:
        row = rows.get(pod.node)
        if row is None:
            continue  # pending, or on a node without GPUs
        frees = bool(pod.username) and pod.username in released
        for amount, value in ((row.cpu, pod.cpu_milli), (row.memory, pod.memory_bytes), (row.pods, 1)):
            amount.used += value
            if frees:
                amount.released += value
        if not frees:
            row.cpu.scored += pod.cpu_milli if pod.score_cpu_milli is None else pod.score_cpu_milli
            row.memory.scored += pod.memory_bytes if pod.score_memory_bytes is None else pod.score_memory_bytes
        if pod.gpu_count == 0:
            continue
        row.used_mib += pod.gpu_memory_mib
        row.gpu_used += pod.gpu_count
        if pod.username:
            row.workspaces.append(pod.username)
        else:
            row.other_pods += 1
        if frees:
            row.released_mib += pod.gpu_memory_mib
            row.gpu_released += pod.gpu_count
    for row in rows.values():
        row.workspaces.sort()
    return list(rows.values())


def _place_claims(catalog: Catalog, rows: list[NodeCapacity], claims: list[Claim], result: CapacityPlan) -> None:
    """Place each claim where the scheduler would most likely put it; one that fits nowhere stays unplaced."""
    for claim in claims:
        best, _reason = _best_nodes(catalog, rows, claim)
        if not best:
            result.unplaced_claims.append(claim.username)
            continue
        row = best[0]
        row.claimed_mib += claim.gpu_memory_mib
        row.gpu_claimed += claim.gpu_count
        row.cpu.claimed += claim.cpu_milli
        row.memory.claimed += claim.memory_bytes
        row.pods.claimed += 1
        row.claims.append(claim.username)


def _add(row: NodeCapacity, demand: Demand) -> None:
    row.added_mib = demand.gpu_memory_mib
    row.gpu_added = demand.gpu_count
    row.cpu.added = demand.cpu_milli
    row.memory.added = demand.memory_bytes
    row.pods.added = 1


def _best_nodes(
    catalog: Catalog, rows: list[NodeCapacity], need: Demand | Claim, *, record: bool = False
) -> tuple[list[NodeCapacity], str]:
    """Return the nodes the scheduler would choose among (best score, ties included), or why none fits.

    ``record`` keeps each node's shortfalls on its row, for the verdict.
    """
    schedulable = [row for row in rows if row.schedulable and row.gpu_allocatable > 0]
    if not schedulable:
        return [], "no-gpu-nodes"

    candidates = []
    for row in schedulable:
        shortfalls = _shortfalls(row, need)
        if record:
            row.shortfalls = shortfalls
        if not shortfalls:
            candidates.append(row)
    if not candidates:
        return [], _short_reason(schedulable)

    scores = {row.name: _score(row, need) for row in candidates}
    top = max(scores.values())
    return [row for row in candidates if scores[row.name] == top], ""


def _shortfalls(row: NodeCapacity, need: Demand | Claim) -> list[Shortfall]:
    """List what the node lacks for ``need``: the scheduler's resource filter, plus Larr1's GPU memory budget.

    The GPU memory budget applies even when the cluster only counts GPUs: the
    scheduler would accept the pod, but Larr1 never promises more GPU memory than a
    node has.
    """
    checks = [
        (Resource.GPU, need.gpu_count, row.gpu_allocatable - row.gpu_used - row.gpu_claimed + row.gpu_released),
        (Resource.GPU_MEMORY, need.gpu_memory_mib, _memory_free(row)),
        (Resource.CPU, need.cpu_milli, row.cpu.free_for()),
        (Resource.MEMORY, need.memory_bytes, row.memory.free_for()),
        (Resource.PODS, 1, row.pods.free_for()),
    ]
    return [
        Shortfall(row.name, resource, needed, free)
        for resource, needed, free in checks
        if free is not None and needed > 0 and free < needed
    ]


def _short_reason(rows: list[NodeCapacity]) -> str:
    """Return the reason code of the first resource that every node lacks, else "no-single-node"."""
    for resource in Resource:
        if all(any(s.resource == resource for s in row.shortfalls) for row in rows):
            return SHORT_REASONS[resource]
    return "no-single-node"


def _shortages(rows: list[NodeCapacity]) -> list[Shortage]:
    """Sum up the nodes' shortfalls per resource, for the verdict."""
    schedulable = [row for row in rows if row.schedulable and row.gpu_allocatable > 0]
    shortages = []
    for resource in Resource:
        short = [s for row in schedulable for s in row.shortfalls if s.resource == resource]
        if not short:
            continue
        most = max(short, key=lambda s: (s.free, s.node))
        shortages.append(
            Shortage(
                resource=resource,
                needed_text=most.needed_text,
                free_text=most.free_text,
                needed_count=most.needed_count,
                free_count=most.free_count,
                node=most.node,
                nodes_short=len(short),
                nodes_total=len(schedulable),
            )
        )
    return shortages


def _score(row: NodeCapacity, need: Demand | Claim) -> int:
    """Score a node as the default scheduler's LeastAllocated plus BalancedAllocation over CPU and memory.

    Integer arithmetic as in kube-scheduler 1.36 (the testbed's), so that nodes it
    would tie on tie here too. A node whose CPU or memory is unknown scores 0 for that part.
    NOTE: older kube-scheduler releases score the balance after placement only, so on
    them a near-tie may go the other way.
    """
    least = []
    before = []
    after = []
    for amount, value in ((row.cpu, need.cpu_milli), (row.memory, need.memory_bytes)):
        if not amount.allocatable:
            continue
        allocated = amount.scored + amount.claimed
        requested = allocated + value
        least.append(max(amount.allocatable - requested, 0) * MAX_NODE_SCORE // amount.allocatable)
        before.append(min(allocated / amount.allocatable, 1.0))
        after.append(min(requested / amount.allocatable, 1.0))
    if not least:
        return 0
    least_allocated = sum(least) // len(least)
    # BalancedAllocation rewards the change in balance that the pod brings, in 50..100.
    change = MAX_NODE_SCORE // 2 + _balance(after) - _balance(before)
    balanced = MAX_NODE_SCORE // 2 + change // 2
    return least_allocated + balanced


def _balance(fractions: list[float]) -> int:
    """Return BalancedAllocation's score for the used fractions of CPU and memory: 100 when equal."""
    deviation = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
    return int((1 - deviation) * MAX_NODE_SCORE)


def _memory_free(row: NodeCapacity) -> int | None:
    """GPU memory free on the node for the request: the budget less what runs and what is claimed."""
    if row.budget_mib is None:
        return None
    return row.budget_mib - row.used_mib - row.claimed_mib + row.released_mib
