"""The builders return whole Kubernetes objects; each test compares one whole object."""

from __future__ import annotations

import base64

import pytest

from workspaces import objects
from workspaces.objects import WorkspaceTarget

LABELS = {
    "app.kubernetes.io/managed-by": "larr1",
    "larr1.io/workspace": "alice",
    "larr1.io/workspace-uid": "abc123",
}
WORKLOAD_LABELS = {**LABELS, "app.kubernetes.io/component": "workspace"}
NAMESPACE = "ws-alice-abc123"
SELECTOR = {"larr1.io/workspace": "alice", "larr1.io/workspace-uid": "abc123"}


@pytest.fixture
def target(testbed_catalog) -> WorkspaceTarget:
    return WorkspaceTarget(
        username="alice",
        uid="abc123",
        profile=testbed_catalog.profiles["small"],
        cuda=testbed_catalog.cuda_versions["cuda13.0"],
        storage="20Gi",
        catalog=testbed_catalog,
    )


def test_it_builds_the_namespace_with_restricted_pod_security(target):
    assert objects.namespace(target) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                **LABELS,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/audit-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/warn-version": "latest",
            },
        },
    }


def test_it_builds_a_quota_for_one_small_workspace(target):
    assert objects.resource_quota(target) == {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "workspace", "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "hard": {
                "pods": "1",
                "requests.cpu": "4",
                "limits.cpu": "4",
                "requests.memory": "32Gi",
                "limits.memory": "32Gi",
                "persistentvolumeclaims": "1",
                "requests.storage": "20Gi",
                "services": "1",
                "services.loadbalancers": "0",
                "services.nodeports": "0",
                "requests.nvidia.com/gpu": "1",
            }
        },
    }


def test_it_quotas_gpu_memory_in_memory_sliced_mode(target):
    from dataclasses import replace

    from larr1.catalog import GpuPolicy

    sliced = replace(target, catalog=replace(target.catalog, gpu=GpuPolicy(mode="memory-sliced")))

    hard = objects.resource_quota(sliced)["spec"]["hard"]

    assert hard["requests.nvidia.com/gpu"] == "1"
    assert hard["requests.nvidia.com/gpumem"] == str(16 * 1024)


def test_it_builds_the_limit_range(target):
    assert objects.limit_range(target) == {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "workspace", "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "max": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "1"},
                    "default": {"cpu": "1", "memory": "1Gi"},
                    "defaultRequest": {"cpu": "100m", "memory": "256Mi"},
                },
                {"type": "PersistentVolumeClaim", "max": {"storage": "1Ti"}},
            ]
        },
    }


def test_it_builds_network_policies(target):
    from_ingress = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]

    assert objects.network_policies(target) == [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny-ingress", "namespace": NAMESPACE, "labels": LABELS},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-ingress-controller", "namespace": NAMESPACE, "labels": LABELS},
            "spec": {
                "podSelector": {"matchLabels": SELECTOR},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": from_ingress, "ports": [{"protocol": "TCP", "port": 8080}]}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-acme-http01-solver", "namespace": NAMESPACE, "labels": LABELS},
            "spec": {
                "podSelector": {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": from_ingress, "ports": [{"protocol": "TCP", "port": 8089}]}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "egress", "namespace": NAMESPACE, "labels": LABELS},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    },
                    {"to": [{"podSelector": {}}]},
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [
                                        {
                                            "key": "app.kubernetes.io/managed-by",
                                            "operator": "NotIn",
                                            "values": ["larr1"],
                                        }
                                    ]
                                }
                            }
                        ]
                    },
                    {
                        "to": [
                            {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}},
                            {"ipBlock": {"cidr": "::/0", "except": ["fd00:ec2::254/128"]}},
                        ]
                    },
                ],
            },
        },
    ]


def test_it_builds_the_secret_with_the_hash_only(target):
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"

    assert objects.credentials_secret(target, password_hash) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "workspace-credentials", "namespace": NAMESPACE, "labels": LABELS},
        "type": "Opaque",
        "data": {"HASHED_PASSWORD": base64.b64encode(password_hash.encode()).decode()},
    }


def test_it_builds_the_volume_claim(target):
    assert objects.persistent_volume_claim(target) == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "home", "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "larr1-testbed",
            "resources": {"requests": {"storage": "20Gi"}},
        },
    }


def test_it_builds_the_deployment(target):
    resources = {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "1"}
    probe = {"path": "/healthz", "port": "http"}

    assert objects.deployment(target, credentials_delivery="7-0a1b2c3d") == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "workspace", "namespace": NAMESPACE, "labels": WORKLOAD_LABELS},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": SELECTOR},
            "template": {
                "metadata": {
                    "labels": WORKLOAD_LABELS,
                    "annotations": {"larr1.io/credentials-delivery": "7-0a1b2c3d"},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "runAsGroup": 1000,
                        "fsGroup": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "code-server",
                            "image": "ghcr.io/example/larr1-code-server:cuda13.0",
                            "imagePullPolicy": "IfNotPresent",
                            "args": [
                                "--bind-addr",
                                "0.0.0.0:8080",
                                "--auth",
                                "password",
                                "--config",
                                "/var/lib/code-server/config.yaml",
                                "--disable-telemetry",
                                "/home/coder",
                            ],
                            "env": [
                                {"name": "HOME", "value": "/home/coder"},
                                {
                                    "name": "HASHED_PASSWORD",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": "workspace-credentials", "key": "HASHED_PASSWORD"}
                                    },
                                },
                            ],
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"requests": resources, "limits": resources},
                            "readinessProbe": {"httpGet": probe, "periodSeconds": 5, "failureThreshold": 3},
                            "livenessProbe": {
                                "httpGet": probe,
                                "initialDelaySeconds": 30,
                                "periodSeconds": 20,
                                "failureThreshold": 6,
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                                "runAsNonRoot": True,
                                "runAsUser": 1000,
                                "runAsGroup": 1000,
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "volumeMounts": [
                                {"name": "home", "mountPath": "/home/coder"},
                                {"name": "code-server-config", "mountPath": "/var/lib/code-server"},
                                {"name": "dshm", "mountPath": "/dev/shm"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "home", "persistentVolumeClaim": {"claimName": "home"}},
                        {"name": "code-server-config", "emptyDir": {"sizeLimit": "16Mi"}},
                        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}},
                    ],
                },
            },
        },
    }


def test_it_leaves_the_credentials_annotation_out_by_default(target):
    template = objects.deployment(target)["spec"]["template"]

    assert "annotations" not in template["metadata"]


def test_it_scales_a_stopped_workspace_to_zero(target):
    assert objects.deployment(target, replicas=0)["spec"]["replicas"] == 0


def test_it_builds_the_service(target):
    assert objects.service(target) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "workspace", "namespace": NAMESPACE, "labels": WORKLOAD_LABELS},
        "spec": {
            "type": "ClusterIP",
            "selector": SELECTOR,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def test_it_builds_the_ingress_with_tls(target):
    assert objects.ingress(target) == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "workspace",
            "namespace": NAMESPACE,
            "labels": WORKLOAD_LABELS,
            "annotations": {
                "cert-manager.io/cluster-issuer": "letsencrypt",
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
                "nginx.ingress.kubernetes.io/proxy-body-size": "0",
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["alice.gpu.example.com"], "secretName": "workspace-tls"}],
            "rules": [
                {
                    "host": "alice.gpu.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "workspace", "port": {"name": "http"}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
