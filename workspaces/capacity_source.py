"""Read what capacity planning needs: GPU nodes and their pods from the cluster, the rest from the database.

Two list calls per read (nodes, and pods in every namespace), whatever the number
of workspaces, and one query per kind of database row. When the cluster cannot be
read, ``read_cluster()`` returns None and the pages show that capacity is unknown
instead of failing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import urllib3
from django.conf import settings
from kubernetes import client
from kubernetes.client import ApiException
from kubernetes.config import ConfigException

from larr1.catalog import get_catalog
from workspaces import capacity, kube, names
from workspaces.contract.catalog import Catalog
from workspaces.contract.parsing import Mapping, Scalar, parse_yaml
from workspaces.contract.quantities import QuantityError, parse_bytes, parse_quantity

logger = logging.getLogger(__name__)

# Labels that NVIDIA's GPU feature discovery puts on nodes (gpu.memory is in MiB per GPU).
GFD_MEMORY_LABEL = "nvidia.com/gpu.memory"
GFD_COUNT_LABEL = "nvidia.com/gpu.count"
GFD_PRODUCT_LABEL = "nvidia.com/gpu.product"

# Taints that keep every new pod away. Other NoSchedule taints (such as
# nvidia.com/gpu) are usually tolerated by GPU pods, so they do not count here.
_BLOCKING_TAINT_PREFIXES = ("node.kubernetes.io/", "node.cloudprovider.kubernetes.io/")

# Amounts the scheduler's scoring counts for a container that requests no CPU or no memory
# (DefaultMilliCPURequest and DefaultMemoryRequest in k8s.io/kubernetes/pkg/scheduler/util).
_SCORED_DEFAULTS = {"cpu": 100, "memory": 200 * 2**20}


@dataclass(frozen=True)
class ClusterSnapshot:
    nodes: list[capacity.Node]
    pods: list[capacity.Pod]  # every pod bound to a GPU node, and GPU pods waiting for a node


@dataclass(frozen=True)
class WorkspaceFields:
    """The fields of a workspace file that capacity depends on."""

    username: str | None
    email: str | None
    profile: str | None
    storage_bytes: int | None  # None when absent (the catalog's default applies) or invalid


def read_cluster(catalog: Catalog | None = None) -> ClusterSnapshot | None:
    """List GPU nodes, the pods bound to them and the GPU pods waiting; return None when the cluster cannot be read.

    Every pod on a GPU node counts, Larr1's or not, because the scheduler subtracts
    the requests of all of them from the node's allocatable CPU and memory.
    """
    catalog = catalog or get_catalog()
    timeout = settings.LARR1_KUBE_TIMEOUT
    try:
        # The process-wide client has urllib3's retries off, so an unreachable API
        # server costs one attempt bounded by the timeout, not several.
        core = client.CoreV1Api(kube.api_client())
        node_list = core.list_node(_request_timeout=timeout)
        pod_list = core.list_pod_for_all_namespaces(
            field_selector="status.phase!=Succeeded,status.phase!=Failed", _request_timeout=timeout
        )
    except (ConfigException, OSError) as exc:
        logger.warning("Cannot read the cluster for capacity: %s", type(exc).__name__)
        return None
    except ApiException as exc:
        logger.warning("Kubernetes rejected the capacity read: status=%s reason=%s", exc.status, exc.reason)
        return None
    except urllib3.exceptions.HTTPError as exc:
        logger.warning("Cannot reach the Kubernetes API for capacity: %s", type(exc).__name__)
        return None

    nodes = [node for node in (_node(item, catalog) for item in node_list.items) if node.gpu_allocatable > 0]
    node_names = {node.name for node in nodes}
    profiles = approved_profiles()
    pods = [pod for pod in (_pod(item, catalog, profiles) for item in pod_list.items) if pod is not None]
    pods = [pod for pod in pods if pod.node in node_names or (not pod.node and pod.gpu_count > 0)]
    return ClusterSnapshot(nodes=nodes, pods=pods)


def _node(item, catalog: Catalog) -> capacity.Node:
    allocatable = item.status.allocatable or {}
    labels = item.metadata.labels or {}

    memory_allocatable = None
    if catalog.gpu.memory_resource in allocatable:
        memory_allocatable = _count(allocatable[catalog.gpu.memory_resource]) * catalog.gpu.memory_unit_mib

    reported = None
    if GFD_MEMORY_LABEL in labels:
        per_gpu = _count(labels[GFD_MEMORY_LABEL])
        reported = per_gpu * max(_count(labels.get(GFD_COUNT_LABEL, "1")), 1) if per_gpu else None

    return capacity.Node(
        name=item.metadata.name,
        gpu_allocatable=_count(allocatable.get(catalog.gpu.resource, "0")),
        reported_gpu_memory_mib=reported,
        gpu_memory_allocatable_mib=memory_allocatable,
        schedulable=_is_schedulable(item),
        product=labels.get(GFD_PRODUCT_LABEL, ""),
        cpu_allocatable_milli=capacity.cpu_milli(allocatable["cpu"]) if "cpu" in allocatable else None,
        memory_allocatable_bytes=capacity.quantity_int(allocatable["memory"]) if "memory" in allocatable else None,
        pods_allocatable=_count(allocatable["pods"]) if "pods" in allocatable else None,
    )


def _is_schedulable(item) -> bool:
    if item.spec.unschedulable:
        return False
    ready = any(c.type == "Ready" and c.status == "True" for c in item.status.conditions or [])
    if not ready:
        return False
    for taint in item.spec.taints or []:
        if taint.effect in ("NoSchedule", "NoExecute") and taint.key.startswith(_BLOCKING_TAINT_PREFIXES):
            return False
    return True


def _pod(item, catalog: Catalog, profiles: dict[str, str]) -> capacity.Pod | None:
    requests = _pod_requests(item)
    scored = _pod_requests(item, scored=True)
    gpu_count = requests.get(catalog.gpu.resource, 0)
    if gpu_count == 0 and not item.spec.node_name:
        return None  # waiting for a node without asking for a GPU: it cannot take a GPU node's share
    username = (item.metadata.labels or {}).get(names.WORKSPACE_LABEL, "")

    if gpu_count == 0:
        memory_mib = 0
    elif catalog.gpu.memory_resource in requests:
        memory_mib = requests[catalog.gpu.memory_resource] * catalog.gpu.memory_unit_mib
    else:
        # Only GPUs are counted (time-sliced): a workspace uses its profile's GPU memory,
        # another pod an undeclared amount, counted as zero.
        profile = catalog.profiles.get(profiles.get(username, ""))
        memory_mib = profile.gpu_memory_gib * capacity.GIB_IN_MIB if profile else 0

    return capacity.Pod(
        namespace=item.metadata.namespace,
        name=item.metadata.name,
        node=item.spec.node_name or "",
        gpu_count=gpu_count,
        gpu_memory_mib=memory_mib,
        username=username,
        cpu_milli=requests.get("cpu", 0),
        memory_bytes=requests.get("memory", 0),
        score_cpu_milli=scored.get("cpu", 0),
        score_memory_bytes=scored.get("memory", 0),
    )


def _pod_requests(item, *, scored: bool = False) -> dict[str, int]:
    """Return the pod's effective requests the way the scheduler sums them (CPU in thousandths).

    Containers and sidecars (init containers that keep running) add up; any other
    init container runs alone next to the sidecars started before it, so the pod
    needs at least that much. The pod's overhead comes on top.
    https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/#resource-sharing-within-containers

    ``scored`` counts a container without a CPU or memory request as the scheduler's
    scoring does (``_SCORED_DEFAULTS``).
    """
    totals: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for container in item.spec.init_containers or []:
        requests = _container_requests(container, scored)
        if container.restart_policy == "Always":
            _add_to(sidecars, requests)
            continue
        for name, value in requests.items():
            init_peak[name] = max(init_peak.get(name, 0), value + sidecars.get(name, 0))
    for container in item.spec.containers or []:
        _add_to(totals, _container_requests(container, scored))
    _add_to(totals, sidecars)
    for name, value in init_peak.items():
        totals[name] = max(totals.get(name, 0), value)
    overhead = {name: _amount(name, value) for name, value in (item.spec.overhead or {}).items()}
    _add_to(totals, overhead)
    return totals


def _add_to(totals: dict[str, int], requests: dict[str, int]) -> None:
    for name, value in requests.items():
        totals[name] = totals.get(name, 0) + value


def _container_requests(container, scored: bool = False) -> dict[str, int]:
    resources = container.resources
    if resources is None:
        return dict(_SCORED_DEFAULTS) if scored else {}
    # Extended resources such as nvidia.com/gpu are set as limits; requests default to them.
    # CPU and memory requests default to their limits too, when only limits are set.
    merged = {**(resources.limits or {}), **(resources.requests or {})}
    kept = {name: value for name, value in merged.items() if "/" in name or name in ("cpu", "memory")}
    requests = {name: _amount(name, value) for name, value in kept.items()}
    if scored:
        requests = {**_SCORED_DEFAULTS, **requests}
    return requests


def _amount(name: str, value) -> int:
    """Parse a request: CPU in thousandths, anything else in its own unit."""
    return capacity.cpu_milli(value) if name == "cpu" else capacity.quantity_int(value)


def _count(value) -> int:
    try:
        return int(parse_quantity(str(value)))
    except QuantityError:
        return 0


# --- the database side -------------------------------------------------------------


def read_workspace_fields(text: str) -> WorkspaceFields:
    """Read username, e-mail, profile and storage from a workspace file; a field that cannot be read is None."""
    parsed = parse_yaml(text or "")
    root = parsed.root
    if not isinstance(root, Mapping):
        return WorkspaceFields(None, None, None, None)
    username = _scalar_at(root, "user", "username")
    email = _scalar_at(root, "user", "email")
    profile = _scalar_at(root, "profile", "name")
    storage = _scalar_at(root, "storage", "size")
    storage_bytes = None
    if storage is not None:
        try:
            storage_bytes = parse_bytes(storage)
        except QuantityError:
            storage_bytes = None
    return WorkspaceFields(username, email, profile, storage_bytes)


def _scalar_at(root: Mapping, section: str, key: str) -> str | None:
    entry = root.items.get(section)
    if entry is None or not isinstance(entry[1], Mapping):
        return None
    value = entry[1].items.get(key)
    if value is None or not isinstance(value[1], Scalar):
        return None
    return value[1].text


def _approved_files():
    from approvals.models import ApprovedFile

    return ApprovedFile.objects.filter(removed_at__isnull=True, valid=True).only("username", "content")


def approved_profiles() -> dict[str, str]:
    """Map each approved workspace's username to its profile name."""
    profiles = {}
    for approved in _approved_files():
        fields = read_workspace_fields(approved.content)
        if fields.profile:
            profiles[approved.username] = fields.profile
    return profiles


def approved_storage(catalog: Catalog | None = None) -> dict[str, int]:
    """Map each approved workspace's username to its storage size in bytes (the default when absent)."""
    catalog = catalog or get_catalog()
    sizes = {}
    for approved in _approved_files():
        fields = read_workspace_fields(approved.content)
        sizes[approved.username] = fields.storage_bytes or catalog.storage.default_bytes
    return sizes


def request_demand(
    request, catalog: Catalog, storage: dict[str, int], profiles: dict[str, str] | None = None
) -> tuple[capacity.Demand | None, bool]:
    """Return the request's demand and whether it needs capacity at all.

    ``request`` is an approvals.models.Request; ``storage`` is ``approved_storage()``
    and ``profiles`` is ``approved_profiles()`` (read when None).
    """
    kind = request.change_kind
    if kind == "none":
        return None, False
    if kind == "delete":
        username = request.old_username or request.username
        return capacity.deletion_demand(username, storage.get(username, 0)), True

    after = read_workspace_fields(request.file_after)
    username = request.username or after.username or ""
    if kind == "rename":
        old = request.old_username
        releases = (old,) if old else ()
        current = storage.get(old, 0) if old else 0
    else:
        releases = (username,) if kind == "update" else ()
        current = storage.get(username, 0) if kind == "update" else 0
    current_profile = None
    if kind == "update":
        current_profile = (approved_profiles() if profiles is None else profiles).get(username)
    demand = capacity.workspace_demand(
        catalog,
        username,
        after.profile,
        after.storage_bytes,
        releases=releases,
        current_storage_bytes=current,
        current_profile_name=current_profile,
    )
    return demand, True


# Observed states of an approved workspace whose pod may not be bound to a node yet.
CLAIM_STATES = ("pending", "provisioning", "unschedulable")


def pending_claims(catalog: Catalog, pods: list[capacity.Pod]) -> list[capacity.Claim]:
    """Return the approved workspaces that do not run yet, oldest first, as claims on the cluster.

    A workspace counts from the moment its row exists, right after approval. Once
    its pod is bound to a node, the pod counts instead. Costs one query.
    """
    from workspaces.models import Workspace

    bound = {pod.username for pod in pods if pod.node and pod.username}
    rows = (
        Workspace.objects.filter(desired_state=Workspace.DesiredState.ACTIVE, observed_state__in=CLAIM_STATES)
        .order_by("created_at", "pk")
        .only("username", "spec")
    )
    claims = []
    for workspace in rows:
        if workspace.username in bound:
            continue
        spec = workspace.spec if isinstance(workspace.spec, dict) else {}
        claim = capacity.profile_claim(catalog, workspace.username, spec.get("profile"))
        if claim is not None:
            claims.append(claim)
    return claims


def plan_for_request(request, snapshot: ClusterSnapshot | None) -> capacity.CapacityPlan:
    """Estimate the request's effect on the cluster and on storage.

    A request that is no longer open is merged or will not be, so there is no
    effect to estimate. Its plan is the cluster as it is, like ``plan_for_cluster``.
    """
    if request.state != "open":
        return plan_for_cluster(snapshot)
    catalog = get_catalog()
    storage = approved_storage(catalog)
    demand, needs_capacity = request_demand(request, catalog, storage)
    return _plan(catalog, snapshot, demand, storage, needs_capacity=needs_capacity)


def plan_for_cluster(snapshot: ClusterSnapshot | None) -> capacity.CapacityPlan:
    """Describe the cluster's capacity and storage as they are, approved workspaces not yet running included."""
    catalog = get_catalog()
    storage = approved_storage(catalog)
    return _plan(catalog, snapshot, None, storage, needs_capacity=False)


def _plan(catalog, snapshot, demand, storage, *, needs_capacity: bool) -> capacity.CapacityPlan:
    if snapshot is None:
        return capacity.plan(catalog, None, [], demand, storage, needs_capacity=needs_capacity)
    claims = pending_claims(catalog, snapshot.pods)
    return capacity.plan(
        catalog, snapshot.nodes, snapshot.pods, demand, storage, needs_capacity=needs_capacity, claims=claims
    )
