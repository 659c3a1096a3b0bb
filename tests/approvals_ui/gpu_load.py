"""GPU load for the capacity tests: real pods and nodes on the local testbed.

Capacity is read from the whole cluster, so each test starts from the testbed's
own GPU nodes with no GPU pods anywhere (``wait_until_idle``), adds pods and nodes
under its namespace prefix, and deletes them again when it ends.
"""

from __future__ import annotations

import time

from kubernetes import client, watch

from workspaces import names

# The testbed's simulated DGX Spark nodes and what each one advertises (testbed/lib.sh).
TESTBED_GPU_NODES = ("spark-1", "spark-2")
GPU_RESOURCE = "nvidia.com/gpu"
GPU_MEMORY_RESOURCE = "nvidia.com/gpumem"  # in MiB
TESTBED_NODE_GPU_MEMORY_MIB = 98304  # 96 GiB of nvidia.com/gpumem on each testbed node

SCHEDULE_TIMEOUT = 60  # seconds for the scheduler to decide about one pod
IDLE_TIMEOUT = 60  # seconds for an earlier test's pods and nodes to go away
IDLE_POLL_INTERVAL = 0.5
LOAD_LABEL = "larr1.test/load"  # on the pods of run_other_pods, which request CPU and memory but no GPU


class GpuLoad:
    """Creates GPU pods and nodes through the Kubernetes API and deletes them in ``delete_all``."""

    def __init__(self, core: client.CoreV1Api, prefix: str):
        self.core = core
        self.prefix = prefix
        self.pods: list[tuple[str, str]] = []  # (namespace, name)
        self.nodes: list[str] = []

    # -- pods --------------------------------------------------------------------

    def run_workspace_pods(self, placements: dict[str, str], *, gpus: int = 1, gpumem_mib: int | None = None) -> None:
        """Start a workspace pod for each username on the node it maps to, and wait until each is bound there.

        The pods go through the scheduler (a node selector, not ``nodeName``), so a
        pod that does not fit fails the wait instead of overcommitting the node.
        """
        for username, node in placements.items():
            self._create_workspace_pod(username, {"kubernetes.io/hostname": node}, gpus, gpumem_mib)
        for username, node in placements.items():
            self._wait_for_pod(
                self._namespace(username),
                lambda pod, node=node: pod.spec.node_name == node,
                f"scheduled on {node}",
            )

    def add_pending_workspace_pod(self, username: str, *, gpus: int = 1) -> None:
        """Create a workspace pod that no node can take, and wait until the scheduler marks it unschedulable."""
        selector = {"kubernetes.io/hostname": f"{self.prefix}absent-node"}
        self._create_workspace_pod(username, selector, gpus, None)
        self._wait_for_pod(self._namespace(username), _is_unschedulable, "marked unschedulable")

    def run_other_pods(self, placements: dict[str, str], *, cpu: str, memory: str) -> None:
        """Start a pod outside Larr1 (no Larr1 labels, no GPU) with CPU and memory requests on each node named.

        ``placements`` maps a namespace suffix to a node; each pod must be bound there.
        """
        for suffix, node in placements.items():
            namespace = self._namespace(suffix)
            self.core.create_namespace({"metadata": {"name": namespace}})
            self.core.create_namespaced_pod(
                namespace,
                {
                    "metadata": {"name": names.DEPLOYMENT, "labels": {LOAD_LABEL: "true"}},
                    "spec": {
                        "nodeSelector": {"kubernetes.io/hostname": node},
                        "automountServiceAccountToken": False,
                        "containers": [
                            {
                                "name": "load",
                                "image": "registry.example.com/other/batch:test",
                                "resources": {"requests": {"cpu": cpu, "memory": memory}},
                            }
                        ],
                    },
                },
            )
            self.pods.append((namespace, names.DEPLOYMENT))
        for suffix, node in placements.items():
            self._wait_for_pod(
                self._namespace(suffix), lambda pod, node=node: pod.spec.node_name == node, f"scheduled on {node}"
            )

    def scheduler_verdict(self, username: str, resources: dict[str, str]) -> str:
        """Ask the real scheduler about a workspace pod with ``resources``: return its node, or why none fits."""
        namespace = self._namespace(username)
        self.core.create_namespace({"metadata": {"name": namespace}})
        self.core.create_namespaced_pod(
            namespace,
            {
                "metadata": {"name": names.DEPLOYMENT, "labels": {names.WORKSPACE_LABEL: username}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": names.CONTAINER,
                            "image": "registry.example.com/larr1/code-server:test",
                            "resources": {"requests": resources, "limits": resources},
                        }
                    ],
                },
            },
        )
        self.pods.append((namespace, names.DEPLOYMENT))
        self._wait_for_pod(namespace, lambda pod: bool(pod.spec.node_name) or _is_unschedulable(pod), "decided")
        pod = self.core.read_namespaced_pod(names.DEPLOYMENT, namespace)
        return pod.spec.node_name or _scheduling(pod)

    def _namespace(self, username: str) -> str:
        return f"{self.prefix}{username}"

    def _create_workspace_pod(self, username: str, node_selector: dict, gpus: int, gpumem_mib: int | None) -> None:
        namespace = self._namespace(username)
        limits = {GPU_RESOURCE: str(gpus)}
        if gpumem_mib is not None:
            limits[GPU_MEMORY_RESOURCE] = str(gpumem_mib)
        self.core.create_namespace({"metadata": {"name": namespace}})
        self.core.create_namespaced_pod(
            namespace,
            {
                "metadata": {
                    "name": names.DEPLOYMENT,
                    "labels": {names.MANAGED_BY_LABEL: names.MANAGED_BY, names.WORKSPACE_LABEL: username},
                },
                "spec": {
                    "nodeSelector": node_selector,
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": names.CONTAINER,
                            "image": "registry.example.com/larr1/code-server:test",
                            "resources": {"limits": limits},
                        }
                    ],
                },
            },
        )
        self.pods.append((namespace, names.DEPLOYMENT))

    def _wait_for_pod(self, namespace: str, done, expected: str) -> None:
        watcher = watch.Watch()
        last = None
        stream = watcher.stream(
            self.core.list_namespaced_pod,
            namespace,
            field_selector=f"metadata.name={names.DEPLOYMENT}",
            timeout_seconds=SCHEDULE_TIMEOUT,
            _request_timeout=SCHEDULE_TIMEOUT + 5,
        )
        for event in stream:
            last = event["object"]
            if done(last):
                watcher.stop()
                return
        raise AssertionError(
            f"pod {namespace}/{names.DEPLOYMENT} was not {expected} within {SCHEDULE_TIMEOUT}s: {_scheduling(last)}"
        )

    # -- nodes -------------------------------------------------------------------

    def add_node(self, suffix: str, *, gpus: int, gpumem_mib: int | None = None, ready: bool = True) -> str:
        """Register a node with the given allocatable GPUs and Ready condition, and return its name.

        kwok simulates only nodes labelled ``type=kwok``, so nothing changes this node's
        status afterwards except the node lifecycle controller, which adds the
        not-ready taints to a node that is not Ready.
        """
        name = f"{self.prefix}{suffix}"
        resources = {"cpu": "20", "memory": "128Gi", "pods": "110"}
        if gpus:
            resources[GPU_RESOURCE] = str(gpus)
        if gpumem_mib is not None:
            resources[GPU_MEMORY_RESOURCE] = str(gpumem_mib)
        self.core.create_node({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})
        self.nodes.append(name)
        condition = {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "TestNode",
            "message": "set by the capacity tests",
        }
        self.core.patch_node_status(
            name, {"status": {"capacity": resources, "allocatable": resources, "conditions": [condition]}}
        )
        return name

    # -- the whole cluster -------------------------------------------------------

    def wait_until_idle(self) -> None:
        """Wait until the only GPU nodes are the testbed's, all Ready, and no pod requests a GPU.

        Pods of an earlier test may still be terminating with their namespace. A
        cluster that stays busy fails the test with what keeps it busy.
        """
        deadline = time.monotonic() + IDLE_TIMEOUT
        while True:
            busy = self._gpu_load()
            if not busy:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the testbed still has GPU load after {IDLE_TIMEOUT}s: {'; '.join(busy)}. The capacity "
                    "tests need the testbed's GPU nodes with no GPU pods: wait for other test runs to finish, "
                    "or start a testbed of your own with LARR1_TESTBED_DIR and the LARR1_TESTBED_*_PORT variables."
                )
            time.sleep(IDLE_POLL_INTERVAL)

    def _gpu_load(self) -> list[str]:
        """List what keeps the testbed from being idle: extra or unready GPU nodes, and pods requesting GPUs."""
        busy = []
        gpu_nodes = {}
        for node in self.core.list_node().items:
            if int((node.status.allocatable or {}).get(GPU_RESOURCE, "0")) > 0:
                gpu_nodes[node.metadata.name] = node
        for name in sorted(set(gpu_nodes) - set(TESTBED_GPU_NODES)):
            busy.append(f"extra GPU node {name}")
        for name in TESTBED_GPU_NODES:
            node = gpu_nodes.get(name)
            if node is None:
                busy.append(f"node {name} is missing")
            elif not any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or []):
                busy.append(f"node {name} is not Ready")
        pods = self.core.list_pod_for_all_namespaces(field_selector="status.phase!=Succeeded,status.phase!=Failed")
        for pod in pods.items:
            limits = [container.resources.limits or {} for container in pod.spec.containers if container.resources]
            requests = [container.resources.requests or {} for container in pod.spec.containers if container.resources]
            if any(GPU_RESOURCE in resources for resources in limits + requests):
                busy.append(f"GPU pod {pod.metadata.namespace}/{pod.metadata.name}")
            elif LOAD_LABEL in (pod.metadata.labels or {}):
                busy.append(f"CPU load pod {pod.metadata.namespace}/{pod.metadata.name}")
        return busy

    def delete_all(self) -> None:
        """Delete this test's pods at once (grace period 0) and its nodes.

        The namespaces are deleted by the ``kube_namespace_prefix`` fixture.
        """
        for namespace, name in self.pods:
            _ignore_not_found(self.core.delete_namespaced_pod, name, namespace, grace_period_seconds=0)
        for name in self.nodes:
            _ignore_not_found(self.core.delete_node, name)
        self.pods.clear()
        self.nodes.clear()


def _is_unschedulable(pod) -> bool:
    return any(
        c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
        for c in pod.status.conditions or []
    )


def _scheduling(pod) -> str:
    if pod is None:
        return "no pod was seen"
    for condition in pod.status.conditions or []:
        if condition.type == "PodScheduled":
            return f"PodScheduled={condition.status} {condition.reason or ''} {condition.message or ''}".strip()
    return f"node {pod.spec.node_name or '(none)'}, phase {pod.status.phase}"


def _ignore_not_found(method, *args, **kwargs) -> None:
    try:
        method(*args, **kwargs)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
