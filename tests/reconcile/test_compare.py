"""The pure parts of reconcile: comparing built objects with listed ones, and reading a workspace's state."""

from __future__ import annotations

import copy

import pytest

from larr1.catalog import get_catalog
from workspaces import names, objects
from workspaces.objects import WorkspaceTarget
from workspaces.reconcile import ObjectKey, compare, drifted_fields, observe

UID = "abc123"
OTHER_UID = "zzz999"


@pytest.fixture
def target(testbed_catalog) -> WorkspaceTarget:
    catalog = get_catalog()
    return WorkspaceTarget(
        username="alice",
        uid=UID,
        profile=catalog.profiles["small"],
        cuda=catalog.cuda_versions["cuda13.0"],
        storage="20Gi",
        catalog=catalog,
    )


def listed(*objs: dict) -> dict[str, list[dict]]:
    """Group objects by kind and drop kind and apiVersion, as items of a list response come."""
    result: dict[str, list[dict]] = {}
    for obj in objs:
        item = copy.deepcopy(obj)
        kind = item.pop("kind")
        item.pop("apiVersion")
        result.setdefault(kind, []).append(item)
    return result


def test_it_ignores_fields_the_api_server_adds(target):
    built = objects.service(target)
    live = copy.deepcopy(built)
    live["metadata"]["uid"] = "6b1c"
    live["spec"]["clusterIP"] = "10.0.0.12"
    live["spec"]["ports"][0]["targetPort"] = "http"
    live["spec"]["sessionAffinity"] = "None"
    live["status"] = {"loadBalancer": {}}

    assert drifted_fields(built, live) == []


def test_it_treats_an_equal_quantity_as_unchanged(target):
    built = objects.persistent_volume_claim(target)
    live = copy.deepcopy(built)
    live["spec"]["resources"]["requests"]["storage"] = "20480Mi"

    assert drifted_fields(built, live) == []


def test_it_accepts_a_volume_larger_than_requested(target):
    built = objects.persistent_volume_claim(target)
    live = copy.deepcopy(built)
    live["spec"]["resources"]["requests"]["storage"] = "50Gi"

    assert drifted_fields(built, live) == []


def test_it_names_a_changed_label(target):
    built = objects.namespace(target)
    live = copy.deepcopy(built)
    live["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"

    assert drifted_fields(built, live) == ["metadata.labels.pod-security.kubernetes.io/enforce"]


def test_it_compares_a_secret_by_presence_only(target):
    built = objects.credentials_secret(target, "")
    live = objects.credentials_secret(target, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")

    assert drifted_fields(built, live) == []


def test_it_repairs_a_missing_object(target):
    desired = {UID: [objects.namespace(target), objects.service(target)]}

    result = compare(desired, listed(objects.namespace(target)))

    assert [(repair.key, repair.missing) for repair in result.repairs] == [
        (ObjectKey("Service", target.namespace, names.SERVICE), True)
    ]


def test_it_waits_while_the_namespace_terminates(target):
    namespace = objects.namespace(target)
    namespace["metadata"]["deletionTimestamp"] = "2026-12-04T10:00:00Z"

    result = compare({UID: [objects.namespace(target), objects.service(target)]}, listed(namespace))

    assert result.repairs == []
    assert result.waiting == {UID}


def test_it_names_the_reason_of_each_orphan(target):
    stranger = objects.service(target)
    stranger["metadata"]["name"] = "stranger"
    of_deleted = copy.deepcopy(stranger)
    of_deleted["metadata"]["namespace"] = "ws-bob-zzz999"
    of_deleted["metadata"]["labels"][names.WORKSPACE_UID_LABEL] = OTHER_UID
    unknown = copy.deepcopy(of_deleted)
    unknown["metadata"]["namespace"] = "ws-carol-qqq111"
    unknown["metadata"]["labels"][names.WORKSPACE_UID_LABEL] = "qqq111"
    desired = {UID: [objects.namespace(target), objects.service(target)]}

    result = compare(
        desired,
        listed(objects.namespace(target), objects.service(target), stranger, of_deleted, unknown),
        deleted={OTHER_UID},
    )

    reasons = {(orphan.key.namespace, orphan.key.name): orphan.reason for orphan in result.orphans}
    assert reasons == {
        (target.namespace, "stranger"): "unexpected-object",
        ("ws-bob-zzz999", "stranger"): "deleted-workspace",
        ("ws-carol-qqq111", "stranger"): "unknown-workspace",
    }


def test_it_skips_objects_of_unchecked_owners(target):
    result = compare({}, listed(objects.namespace(target), objects.service(target)), owners={UID})

    assert result.orphans == []
    assert result.repairs == []


# Pod statuses in the shape a kubelet reports them, trimmed to the fields diagnosis reads.
ACTIVE_NAMESPACE = {"metadata": {"name": "ws-alice-abc123"}}
ROLLING_DEPLOYMENT = {
    "metadata": {"generation": 1},
    "spec": {"replicas": 1},
    "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1},
}


def pod_waiting(reason: str, message: str) -> dict:
    return {
        "metadata": {"name": "workspace-7d9f-x2"},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {"name": "code-server", "ready": False, "state": {"waiting": {"reason": reason, "message": message}}}
            ],
        },
    }


def test_it_reports_an_image_pull_failure():
    pod = pod_waiting("ImagePullBackOff", 'Back-off pulling image "ghcr.io/example/larr1-code-server:cuda13.0"')

    found = observe("active", ACTIVE_NAMESPACE, ROLLING_DEPLOYMENT, [pod])

    assert (found.state, found.code) == ("image-pull-failure", "workspace.image-pull-failure")


def test_it_reports_a_crash_loop():
    pod = pod_waiting("CrashLoopBackOff", "back-off 5m0s restarting failed container=code-server")

    found = observe("active", ACTIVE_NAMESPACE, ROLLING_DEPLOYMENT, [pod])

    assert (found.state, found.code) == ("crash-loop", "workspace.crash-loop")


def test_it_reports_scaled_down_as_stopped():
    deployment = {**ROLLING_DEPLOYMENT, "spec": {"replicas": 0}}

    found = observe("active", ACTIVE_NAMESPACE, deployment, [])

    assert (found.state, found.code) == ("stopped", "workspace.scaled-down")


def test_it_reports_terminating_namespace_as_deleting():
    namespace = {"metadata": {"name": "ws-alice-abc123", "deletionTimestamp": "2026-12-04T10:00:00Z"}}

    found = observe("deleting", namespace, None, [])

    assert (found.state, found.code) == ("deleting", "workspace.deleting")
