"""The production manifests, applied to the real testbed API server."""

from pathlib import Path

import pytest
import yaml
from kubernetes import client, utils, watch

from workspaces.kube import KINDS

pytestmark = pytest.mark.cluster

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"

# Verbs each kind in workspaces.kube needs; read-only kinds are only listed and watched.
READ_ONLY = {"Pod", "Event"}
WRITE_VERBS = ("get", "list", "watch", "create", "patch", "delete")
READ_VERBS = ("get", "list", "watch")


def documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]


def retarget(doc: dict, namespace: str, prefix: str) -> dict:
    """Move a manifest into the test's namespace and give cluster-wide names the test's prefix."""
    doc = yaml.safe_load(yaml.safe_dump(doc))
    if doc["kind"] == "Namespace":
        doc["metadata"]["name"] = namespace
    elif doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
        doc["metadata"]["name"] = f"{prefix}larr1"
        if doc["kind"] == "ClusterRoleBinding":
            doc["roleRef"]["name"] = f"{prefix}larr1"
            doc["subjects"][0]["namespace"] = namespace
    else:
        doc["metadata"]["namespace"] = namespace
    return doc


@pytest.fixture
def deployed(testbed, kube_namespace_prefix):
    namespace = f"{kube_namespace_prefix}larr1"
    api = testbed.api_client()
    manifests = [retarget(doc, namespace, kube_namespace_prefix) for doc in documents("larr1.yaml")]
    rbac = [retarget(doc, namespace, kube_namespace_prefix) for doc in documents("rbac.yaml")]
    utils.create_from_yaml(api, yaml_objects=manifests[:1] + rbac + manifests[1:])
    yield api, namespace
    rbac_api = client.RbacAuthorizationV1Api(api)
    rbac_api.delete_cluster_role_binding(f"{kube_namespace_prefix}larr1")
    rbac_api.delete_cluster_role(f"{kube_namespace_prefix}larr1")


def test_pod_security_admits_the_server_pod(deployed):
    api, namespace = deployed
    apps = client.AppsV1Api(api)
    stream = watch.Watch().stream(
        apps.list_namespaced_deployment, namespace, field_selector="metadata.name=larr1", timeout_seconds=60
    )
    available = False
    for event in stream:
        conditions = {c.type: c for c in (event["object"].status.conditions or [])}
        failure = conditions.get("ReplicaFailure")
        assert failure is None or failure.status != "True", failure.message
        if conditions.get("Available") and conditions["Available"].status == "True":
            available = True
            break
    assert available


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_service_account_may_manage_each_kind(deployed, kind):
    api, namespace = deployed
    resource = KINDS[kind]
    plural = {"NetworkPolicy": "networkpolicies", "Ingress": "ingresses"}.get(kind, kind.lower() + "s")
    group = {"Deployment": "apps", "NetworkPolicy": "networking.k8s.io", "Ingress": "networking.k8s.io"}.get(kind, "")
    authorization = client.AuthorizationV1Api(api)
    for verb in READ_VERBS if kind in READ_ONLY else WRITE_VERBS:
        review = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=f"system:serviceaccount:{namespace}:larr1",
                resource_attributes=client.V1ResourceAttributes(
                    group=group,
                    resource=plural,
                    verb=verb,
                    namespace=None if not resource.namespaced else "ws-example",
                ),
            )
        )
        assert authorization.create_subject_access_review(review).status.allowed, f"{verb} {plural}"


def test_service_account_may_not_read_other_kinds(deployed):
    api, namespace = deployed
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{namespace}:larr1",
            resource_attributes=client.V1ResourceAttributes(group="", resource="configmaps", verb="list"),
        )
    )
    assert not client.AuthorizationV1Api(api).create_subject_access_review(review).status.allowed
