"""Reconcile rounds against the testbed cluster: drift is repaired, orphans are reported and kept."""

from __future__ import annotations

import time

import pytest

from workspaces import names, objects
from workspaces.models import CredentialDelivery, Workspace
from workspaces.models_reconcile import OrphanObject, ReconcileRun, WorkspaceEvent
from workspaces.provisioning import target_for
from workspaces.reconcile import run_round

pytestmark = pytest.mark.cluster


def wait_until(condition, *, timeout: float = 60.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def test_it_recreates_a_deleted_service(provisioned, cluster):
    workspace = provisioned()
    cluster.delete("Service", names.SERVICE, workspace.namespace)
    wait_until(lambda: cluster.read("Service", names.SERVICE, workspace.namespace) is None, what="the deletion")

    run = run_round(cluster)

    assert run.state == ReconcileRun.State.SUCCEEDED
    service = cluster.read("Service", names.SERVICE, workspace.namespace)
    assert service is not None
    assert service["spec"]["selector"] == names.selector(workspace.username, workspace.uid)
    assert {
        "workspace": workspace.username,
        "kind": "Service",
        "namespace": workspace.namespace,
        "name": names.SERVICE,
        "fields": [],
    } in run.repairs
    assert WorkspaceEvent.objects.filter(workspace=workspace, reason="Recreated", object="Service/workspace").exists()


def test_it_restores_a_changed_image(provisioned, cluster):
    workspace = provisioned()
    changed = {"spec": {"template": {"spec": {"containers": [{"name": names.CONTAINER, "image": "busybox:latest"}]}}}}
    # A strategic merge patch, as `kubectl set image` sends, under another field manager.
    from kubernetes import client

    client.AppsV1Api(cluster.api).patch_namespaced_deployment(
        names.DEPLOYMENT, workspace.namespace, changed, field_manager="kubectl-set"
    )

    run = run_round(cluster)

    deployment = cluster.read("Deployment", names.DEPLOYMENT, workspace.namespace)
    expected_image = target_for(workspace).cuda.image
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == expected_image
    repaired = [entry for entry in run.repairs if entry["kind"] == "Deployment"]
    assert repaired[0]["fields"] == ["spec.template.spec.containers[0].image"]


def test_it_leaves_an_unchanged_workspace_alone(provisioned, cluster):
    workspace = provisioned()

    run = run_round(cluster)

    assert [entry for entry in run.repairs if entry["workspace"] == workspace.username] == []
    workspace.refresh_from_db()
    assert workspace.observed_state == Workspace.ObservedState.RUNNING


def test_it_recreates_a_deleted_namespace_and_sends_new_credentials(provisioned, cluster, smtp_server, settings):
    workspace = provisioned()
    first_emails = len(smtp_server.messages())
    cluster.delete("Namespace", workspace.namespace)

    def namespace_recreated():
        run_round(cluster)
        namespace = cluster.read("Namespace", workspace.namespace)
        return namespace is not None and not namespace["metadata"].get("deletionTimestamp")

    wait_until(namespace_recreated, timeout=90, what="the namespace to be re-created")

    for kind, name in [
        ("ResourceQuota", names.QUOTA),
        ("PersistentVolumeClaim", names.PVC),
        ("Deployment", names.DEPLOYMENT),
        ("Service", names.SERVICE),
        ("Ingress", names.INGRESS),
        ("Secret", names.CREDENTIALS_SECRET),
    ]:
        assert cluster.read(kind, name, workspace.namespace) is not None, f"{kind} {name} was not re-created"
    rotation = CredentialDelivery.objects.get(workspace=workspace, reason=CredentialDelivery.Reason.ROTATION)
    assert rotation.state == CredentialDelivery.State.SENT
    assert len(smtp_server.messages()) == first_emails + 1


def test_it_reports_but_keeps_a_foreign_object_with_larr1_labels(provisioned, cluster):
    workspace = provisioned()
    target = target_for(workspace)
    # A NetworkPolicy, because the workspace's quota admits no second Service.
    foreign = objects.network_policies(target)[0]
    foreign["metadata"]["name"] = "someone-elses"
    cluster.apply(foreign)

    run = run_round(cluster)

    orphan = OrphanObject.objects.get(kind="NetworkPolicy", namespace=workspace.namespace, name="someone-elses")
    assert orphan.reason == "unexpected-object"
    assert orphan.gone_at is None
    assert run.orphans >= 1
    assert cluster.read("NetworkPolicy", "someone-elses", workspace.namespace) is not None


def test_it_reports_a_namespace_no_workspace_owns(cluster, kube_namespace_prefix):
    stray = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": f"{kube_namespace_prefix}stray", "labels": names.labels("stray", "zzzzzz")},
    }
    cluster.apply(stray)

    run_round(cluster)

    orphan = OrphanObject.objects.get(kind="Namespace", name=f"{kube_namespace_prefix}stray")
    assert orphan.reason == "unknown-workspace"
    assert cluster.read("Namespace", f"{kube_namespace_prefix}stray") is not None


def test_it_marks_an_orphan_gone_once_deleted(cluster, kube_namespace_prefix):
    name = f"{kube_namespace_prefix}stray"
    cluster.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": names.labels("stray", "zzzzzz")}}
    )
    run_round(cluster)
    cluster.delete("Namespace", name)
    wait_until(lambda: cluster.read("Namespace", name) is None, what="the namespace to go")

    run_round(cluster)

    assert OrphanObject.objects.get(kind="Namespace", name=name).gone_at is not None


def test_it_records_why_a_workspace_cannot_be_scheduled(cluster, kube_namespace_prefix, testbed_catalog):
    import dataclasses

    username = f"{kube_namespace_prefix}greedy"
    workspace = Workspace.objects.create(
        username=username,
        spec={
            "username": username,
            "email": f"{username}@example.com",
            "profile": "small",
            "cuda": "cuda13.0",
            "storage": "20Gi",
        },
    )
    target = target_for(workspace)
    # More GPUs than any testbed node has, as if the catalog promised too much.
    greedy = dataclasses.replace(target, profile=dataclasses.replace(target.profile, gpus=64))
    cluster.apply(objects.namespace(greedy))
    cluster.apply(objects.persistent_volume_claim(greedy))
    cluster.create_if_absent(objects.credentials_secret(greedy, "x"))
    cluster.apply(objects.deployment(greedy))

    def unschedulable():
        run_round(cluster)
        workspace.refresh_from_db()
        return workspace.observed_state == Workspace.ObservedState.UNSCHEDULABLE

    wait_until(unschedulable, timeout=60, what="the pod to be reported unschedulable")
    assert workspace.state_reason.startswith("Not enough free GPU on the cluster")
    assert "Insufficient nvidia.com/gpu" in workspace.state_reason
    assert workspace.observation.reason_code == "workspace.unschedulable-gpu"
    assert WorkspaceEvent.objects.filter(workspace=workspace, reason="FailedScheduling").exists()
