"""The local test cluster behaves like the real one where Larr1 depends on it.

Real: etcd, kube-apiserver (admission included), kube-scheduler, kube-controller-manager.
Simulated: the kubelets of the GPU nodes (kwok) and the storage backend (testbed-storage).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from kubernetes import client, watch
from kubernetes.client import ApiException

STORAGE_CLASS = "larr1-testbed"
IMAGE = "registry.invalid/larr1/code-server:test"  # never pulled: kubelets are simulated
WAIT_SECONDS = 90


@pytest.fixture
def api(testbed):
    with testbed.api_client() as api_client:
        yield api_client


@pytest.fixture
def core(api) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture
def namespace(core, kube_namespace_prefix) -> Iterator[Callable[..., str]]:
    """Creates namespaces that are deleted after the test; waits for their default SA."""
    created: list[str] = []

    def make(suffix: str = "ns", labels: dict[str, str] | None = None) -> str:
        name = f"{kube_namespace_prefix}{suffix}"
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels or {})))
        created.append(name)
        wait_until(
            lambda: _exists(lambda: core.read_namespaced_service_account("default", name)),
            f"the default service account in {name}",
        )
        return name

    yield make
    for name in created:
        try:
            core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


def wait_until(predicate: Callable[[], object], what: str, timeout: float = WAIT_SECONDS):
    """Polls until predicate() is truthy and returns its value; fails after timeout."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _exists(read: Callable[[], object]) -> bool:
    try:
        read()
        return True
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise


def pvc(name: str, size: str) -> client.V1PersistentVolumeClaim:
    return client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            storage_class_name=STORAGE_CLASS,
            resources=client.V1VolumeResourceRequirements(requests={"storage": size}),
        ),
    )


def gpu_container(gpus: int, **extra) -> client.V1Container:
    resources = {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": str(gpus)}
    return client.V1Container(
        name="workspace",
        image=IMAGE,
        resources=client.V1ResourceRequirements(requests=resources, limits=resources),
        **extra,
    )


def pvc_bound(core, ns, name):
    claim = core.read_namespaced_persistent_volume_claim(name, ns)
    return claim if claim.status.phase == "Bound" else None


@contextmanager
def pod_watch(core, ns, name, timeout=WAIT_SECONDS):
    w = watch.Watch()
    try:
        yield w.stream(
            core.list_namespaced_pod,
            ns,
            field_selector=f"metadata.name={name}",
            timeout_seconds=timeout,
        )
    finally:
        w.stop()


def test_it_runs_a_gpu_deployment_with_volume(core, apps, namespace):
    ns = namespace("gpu")
    core.create_namespaced_persistent_volume_claim(ns, pvc("home", "10Gi"))
    labels = {"app": "workspace"}
    container = gpu_container(1, volume_mounts=[client.V1VolumeMount(name="home", mount_path="/home/coder")])
    apps.create_namespaced_deployment(
        ns,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="workspace"),
            spec=client.V1DeploymentSpec(
                replicas=1,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        containers=[container],
                        volumes=[
                            client.V1Volume(
                                name="home",
                                persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name="home"),
                            )
                        ],
                    ),
                ),
            ),
        ),
    )

    def available():
        status = apps.read_namespaced_deployment("workspace", ns).status
        return (
            any(c.type == "Available" and c.status == "True" for c in status.conditions or [])
            and status.ready_replicas == 1
        )

    wait_until(available, "the Deployment to become Available")
    claim = wait_until(lambda: pvc_bound(core, ns, "home"), "the PVC to be Bound")
    assert claim.status.capacity["storage"] == "10Gi"
    volume = core.read_persistent_volume(claim.spec.volume_name)
    assert volume.spec.claim_ref.name == "home"
    assert volume.spec.capacity["storage"] == "10Gi"

    (pod,) = core.list_namespaced_pod(ns, label_selector="app=workspace").items
    assert pod.status.phase == "Running"
    node = core.read_node(pod.spec.node_name)
    assert node.metadata.labels["type"] == "kwok"
    assert node.metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-GB10"
    assert int(node.status.allocatable["nvidia.com/gpu"]) >= 1


def test_it_keeps_a_pod_pending_without_gpus(core, namespace):
    ns = namespace("big")
    most = max(int(n.status.allocatable.get("nvidia.com/gpu", "0")) for n in core.list_node().items)
    core.create_namespaced_pod(
        ns,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name="too-big"),
            spec=client.V1PodSpec(containers=[gpu_container(most + 1)]),
        ),
    )

    reason = None
    with pod_watch(core, ns, "too-big") as events:
        for event in events:
            pod = event["object"]
            for cond in pod.status.conditions or []:
                if cond.type == "PodScheduled" and cond.status == "False" and cond.message:
                    reason = cond
                    break
            if reason:
                break
    assert reason is not None, "the scheduler never reported why the pod is unschedulable"
    assert reason.reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in reason.message
    assert core.read_namespaced_pod("too-big", ns).status.phase == "Pending"


def test_it_rejects_a_privileged_pod_in_a_restricted_namespace(core, namespace):
    ns = namespace("restricted", labels={"pod-security.kubernetes.io/enforce": "restricted"})
    privileged = client.V1Pod(
        metadata=client.V1ObjectMeta(name="root"),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="root",
                    image=IMAGE,
                    security_context=client.V1SecurityContext(privileged=True),
                )
            ]
        ),
    )
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod(ns, privileged)
    assert caught.value.status == 403
    assert "violates PodSecurity" in caught.value.body
    assert "privileged" in caught.value.body


def test_it_reports_resource_quota_usage_and_enforces_it(core, namespace):
    ns = namespace("quota")
    core.create_namespaced_resource_quota(
        ns,
        client.V1ResourceQuota(
            metadata=client.V1ObjectMeta(name="workspace"),
            spec=client.V1ResourceQuotaSpec(
                hard={
                    "requests.nvidia.com/gpu": "1",
                    "requests.storage": "50Gi",
                    "persistentvolumeclaims": "2",
                }
            ),
        ),
    )
    # Admission needs the quota's first usage report before it admits objects.
    wait_until(
        lambda: core.read_namespaced_resource_quota("workspace", ns).status.used,
        "the quota's first usage report",
    )
    core.create_namespaced_persistent_volume_claim(ns, pvc("home", "10Gi"))

    def used():
        status = core.read_namespaced_resource_quota("workspace", ns).status
        usage = status.used or {}
        return usage if usage.get("requests.storage") == "10Gi" else None

    usage = wait_until(used, "the quota to report the claim")
    assert usage["persistentvolumeclaims"] == "1"

    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod(
            ns,
            client.V1Pod(
                metadata=client.V1ObjectMeta(name="greedy"),
                spec=client.V1PodSpec(containers=[gpu_container(2)]),
            ),
        )
    assert caught.value.status == 403
    assert "exceeded quota" in caught.value.body


def test_it_expands_a_bound_volume(core, namespace):
    ns = namespace("grow")
    core.create_namespaced_persistent_volume_claim(ns, pvc("home", "1Gi"))
    claim = wait_until(lambda: pvc_bound(core, ns, "home"), "the PVC to be Bound")
    assert claim.status.capacity["storage"] == "1Gi"

    core.patch_namespaced_persistent_volume_claim("home", ns, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})

    def grown():
        claim = core.read_namespaced_persistent_volume_claim("home", ns)
        return claim if (claim.status.capacity or {}).get("storage") == "2Gi" else None

    claim = wait_until(grown, "the PVC's status.capacity to grow")
    assert core.read_persistent_volume(claim.spec.volume_name).spec.capacity["storage"] == "2Gi"
    assert not [c for c in claim.status.conditions or [] if c.type in ("Resizing", "FileSystemResizePending")]

    with pytest.raises(ApiException) as caught:  # storage never shrinks
        core.patch_namespaced_persistent_volume_claim(
            "home", ns, {"spec": {"resources": {"requests": {"storage": "1Gi"}}}}
        )
    assert caught.value.status == 422


def test_it_deletes_a_busy_namespace(core, apps, namespace):
    ns = namespace("gone")
    core.create_namespaced_persistent_volume_claim(ns, pvc("home", "1Gi"))
    claim = wait_until(lambda: pvc_bound(core, ns, "home"), "the PVC to be Bound")
    labels = {"app": "sleeper"}
    apps.create_namespaced_deployment(
        ns,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="sleeper"),
            spec=client.V1DeploymentSpec(
                replicas=2,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(containers=[client.V1Container(name="sleeper", image=IMAGE)]),
                ),
            ),
        ),
    )
    wait_until(
        lambda: apps.read_namespaced_deployment("sleeper", ns).status.ready_replicas == 2,
        "two running replicas",
    )

    core.delete_namespace(ns)

    wait_until(lambda: not _exists(lambda: core.read_namespace(ns)), "the namespace to be gone")
    wait_until(
        lambda: not _exists(lambda: core.read_persistent_volume(claim.spec.volume_name)),
        "the released volume to be deleted",
    )


def test_it_renews_node_leases(testbed):
    # The node lifecycle controller marks a node NotReady, and its pods not Ready, when its
    # Lease is not renewed within the grace period. So kwok must renew it.
    coordination = client.CoordinationV1Api(testbed.api_client())
    first = {
        lease.metadata.name: lease.spec.renew_time
        for lease in coordination.list_namespaced_lease("kube-node-lease").items
    }
    assert {"spark-1", "spark-2"} <= set(first)

    stream = watch.Watch().stream(coordination.list_namespaced_lease, "kube-node-lease", timeout_seconds=40)
    renewed = set()
    for event in stream:
        lease = event["object"]
        if lease.metadata.name in first and lease.spec.renew_time > first[lease.metadata.name]:
            renewed.add(lease.metadata.name)
        if renewed >= {"spark-1", "spark-2"}:
            break

    assert renewed >= {"spark-1", "spark-2"}
