"""Pure builders of a workspace's Kubernetes objects, as whole-object dicts.

Nothing here calls the API server, so each builder is tested by comparing the
whole object it returns. ``workspaces.kube`` sends them with server-side apply.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from larr1.catalog import Catalog, CudaVersion, Profile
from workspaces import names

# code-server runs as this user in the workspace image, and its home is the volume.
WORKSPACE_UID = 1000
HOME = "/home/coder"
# code-server's own config.yaml lives on an emptyDir, not on the volume: a config file
# a user edits (or an old one with a password in it) must not outlive a rotation.
CONFIG_DIR = "/var/lib/code-server"
PASSWORD_KEY = "HASHED_PASSWORD"
HTTP_PORT_NAME = "http"
# The cloud metadata service; a workspace must not reach it (it hands out node credentials).
METADATA_CIDRS = ("169.254.169.254/32", "fd00:ec2::254/128")
CERT_MANAGER_SOLVER_LABEL = "acme.cert-manager.io/http01-solver"
CERT_MANAGER_SOLVER_PORT = 8089
# ingress-nginx closes idle connections after 60 s by default, which drops the
# WebSocket code-server's editor runs on; one hour keeps a quiet editor open.
WEBSOCKET_TIMEOUT_SECONDS = "3600"
POD_SECURITY_LEVEL = "restricted"


@dataclass(frozen=True)
class WorkspaceTarget:
    """What to build for one workspace: its identity, the approved choices and the catalog."""

    username: str
    uid: str
    profile: Profile
    cuda: CudaVersion
    storage: str  # Kubernetes quantity of the volume, e.g. "100Gi"
    catalog: Catalog

    @property
    def namespace(self) -> str:
        return names.namespace_name(self.username, self.uid)

    @property
    def host(self) -> str:
        return names.host_name(self.username, self.catalog.domain)

    def labels(self, component: str | None = None) -> dict[str, str]:
        return names.labels(self.username, self.uid, component)

    def metadata(self, name: str, component: str | None = None) -> dict:
        return {"name": name, "namespace": self.namespace, "labels": self.labels(component)}


def namespace(target: WorkspaceTarget) -> dict:
    """Build the namespace, with Pod Security Admission enforcing the restricted level.

    See https://kubernetes.io/docs/concepts/security/pod-security-admission/.
    """
    labels = target.labels()
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = POD_SECURITY_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": target.namespace, "labels": labels},
    }


def resource_quota(target: WorkspaceTarget) -> dict:
    """Build the quota: one workspace pod of the profile's size, one volume of the approved size."""
    profile = target.profile
    hard = {
        "pods": "1",
        "requests.cpu": profile.cpu,
        "limits.cpu": profile.cpu,
        "requests.memory": profile.memory,
        "limits.memory": profile.memory,
        "persistentvolumeclaims": "1",
        "requests.storage": target.storage,
        "services": "1",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    # Kubernetes quotas extended resources such as nvidia.com/gpu by their request only.
    for resource, amount in target.catalog.gpu_resources(profile).items():
        hard[f"requests.{resource}"] = amount
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": target.metadata(names.QUOTA),
        "spec": {"hard": hard},
    }


def limit_range(target: WorkspaceTarget) -> dict:
    """Build the limit range: no container larger than the profile, no volume above the catalog's maximum."""
    profile = target.profile
    container_max = {"cpu": profile.cpu, "memory": profile.memory, **target.catalog.gpu_resources(profile)}
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": target.metadata(names.LIMIT_RANGE),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "max": container_max,
                    # Defaults apply only to containers that state no resources (never Larr1's own).
                    "default": {"cpu": "1", "memory": "1Gi"},
                    "defaultRequest": {"cpu": "100m", "memory": "256Mi"},
                },
                {
                    "type": "PersistentVolumeClaim",
                    "max": {"storage": target.catalog.storage.maximum},
                },
            ]
        },
    }


def network_policies(target: WorkspaceTarget) -> list[dict]:
    """Build the network policies: deny ingress but from the ingress controller, limit egress.

    Egress is allowed to DNS, to pods in namespaces Larr1 does not manage, to the
    workspace's own namespace and to any address outside the cluster except the
    cloud metadata service. Other workspaces' namespaces carry the managed-by
    label, so no rule admits them.
    """
    ingress_namespace = {"kubernetes.io/metadata.name": target.catalog.ingress_namespace}
    deny_ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": target.metadata(names.POLICY_DENY_INGRESS),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    allow_ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": target.metadata(names.POLICY_ALLOW_INGRESS),
        "spec": {
            "podSelector": {"matchLabels": names.selector(target.username, target.uid)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": ingress_namespace}}],
                    "ports": [{"protocol": "TCP", "port": target.catalog.workspace_port}],
                }
            ],
        },
    }
    # cert-manager runs its HTTP-01 solver pod in the Ingress's namespace, behind the same
    # ingress controller: https://cert-manager.io/docs/configuration/acme/http01/
    allow_acme_solver = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": target.metadata(names.POLICY_ALLOW_ACME_SOLVER),
        "spec": {
            "podSelector": {"matchLabels": {CERT_MANAGER_SOLVER_LABEL: "true"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": ingress_namespace}}],
                    "ports": [{"protocol": "TCP", "port": CERT_MANAGER_SOLVER_PORT}],
                }
            ],
        },
    }
    egress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": target.metadata(names.POLICY_EGRESS),
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
                                    {"key": names.MANAGED_BY_LABEL, "operator": "NotIn", "values": [names.MANAGED_BY]}
                                ]
                            }
                        }
                    ]
                },
                {
                    # NOTE: how ipBlock treats pod addresses is up to the network plugin
                    # (https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource).
                    # With a plugin that matches pod IPs here, the cluster's pod CIDR must
                    # be added to "except" to keep workspaces apart; the catalog has no
                    # field for it yet.
                    "to": [
                        {"ipBlock": {"cidr": "0.0.0.0/0", "except": [METADATA_CIDRS[0]]}},
                        {"ipBlock": {"cidr": "::/0", "except": [METADATA_CIDRS[1]]}},
                    ]
                },
            ],
        },
    }
    return [deny_ingress, allow_ingress, allow_acme_solver, egress]


def credentials_secret(target: WorkspaceTarget, password_hash: str) -> dict:
    """Build the Secret holding code-server's argon2 password hash (never the password)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": target.metadata(names.CREDENTIALS_SECRET),
        "type": "Opaque",
        "data": {PASSWORD_KEY: _b64(password_hash)},
    }


def credentials_patch(password_hash: str) -> dict:
    """Build the merge patch that puts a new password hash into the credentials Secret."""
    return {"data": {PASSWORD_KEY: _b64(password_hash)}}


def persistent_volume_claim(target: WorkspaceTarget) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": target.metadata(names.PVC),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": target.catalog.storage.storage_class,
            "resources": {"requests": {"storage": target.storage}},
        },
    }


def deployment(target: WorkspaceTarget, *, replicas: int = 1, credentials_delivery: str | None = None) -> dict:
    """Build the code-server Deployment.

    ``Recreate`` because the volume (ReadWriteOnce) and the GPU share cannot be held by
    two pods during a rolling update. ``credentials_delivery`` goes into a pod-template
    annotation so that a new password hash restarts the pod, which reads the hash only
    at start. Provisioning leaves it out: ``workspaces.credentials`` sets it with a
    merge patch, so that applying the Deployment never takes it back.
    """
    profile = target.profile
    resources = {"cpu": profile.cpu, "memory": profile.memory, **target.catalog.gpu_resources(profile)}
    port = target.catalog.workspace_port
    template_metadata: dict = {"labels": {**target.labels("workspace"), **names.selector(target.username, target.uid)}}
    if credentials_delivery is not None:
        template_metadata["annotations"] = {names.CREDENTIALS_ANNOTATION: credentials_delivery}
    probe_get = {"path": "/healthz", "port": HTTP_PORT_NAME}
    container = {
        "name": names.CONTAINER,
        "image": target.cuda.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "--bind-addr",
            f"0.0.0.0:{port}",
            "--auth",
            "password",
            "--config",
            f"{CONFIG_DIR}/config.yaml",
            "--disable-telemetry",
            HOME,
        ],
        "env": [
            {"name": "HOME", "value": HOME},
            {
                "name": PASSWORD_KEY,
                "valueFrom": {"secretKeyRef": {"name": names.CREDENTIALS_SECRET, "key": PASSWORD_KEY}},
            },
        ],
        "ports": [{"name": HTTP_PORT_NAME, "containerPort": port, "protocol": "TCP"}],
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "readinessProbe": {"httpGet": probe_get, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "httpGet": probe_get,
            "initialDelaySeconds": 30,
            "periodSeconds": 20,
            "failureThreshold": 6,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": WORKSPACE_UID,
            "runAsGroup": WORKSPACE_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "home", "mountPath": HOME},
            {"name": "code-server-config", "mountPath": CONFIG_DIR},
            {"name": "dshm", "mountPath": "/dev/shm"},  # noqa: S108 - a volume mount, not a temporary file
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": target.metadata(names.DEPLOYMENT, "workspace"),
        "spec": {
            "replicas": replicas,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": names.selector(target.username, target.uid)},
            "template": {
                "metadata": template_metadata,
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": WORKSPACE_UID,
                        "runAsGroup": WORKSPACE_UID,
                        "fsGroup": WORKSPACE_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "home", "persistentVolumeClaim": {"claimName": names.PVC}},
                        {"name": "code-server-config", "emptyDir": {"sizeLimit": "16Mi"}},
                        # PyTorch's DataLoader workers share tensors through /dev/shm; the
                        # container runtime's default of 64 MiB is far too small.
                        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": profile.shared_memory}},
                    ],
                },
            },
        },
    }


def service(target: WorkspaceTarget) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": target.metadata(names.SERVICE, "workspace"),
        "spec": {
            "type": "ClusterIP",
            "selector": names.selector(target.username, target.uid),
            "ports": [{"name": HTTP_PORT_NAME, "port": 80, "targetPort": HTTP_PORT_NAME, "protocol": "TCP"}],
        },
    }


def ingress(target: WorkspaceTarget) -> dict:
    """Build the Ingress for ``https://<username>.<domain>`` with a cert-manager certificate."""
    catalog = target.catalog
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            **target.metadata(names.INGRESS, "workspace"),
            "annotations": {
                "cert-manager.io/cluster-issuer": catalog.tls_issuer,
                "nginx.ingress.kubernetes.io/proxy-read-timeout": WEBSOCKET_TIMEOUT_SECONDS,
                "nginx.ingress.kubernetes.io/proxy-send-timeout": WEBSOCKET_TIMEOUT_SECONDS,
                # Uploading a data set through the editor must not hit the 1 MiB default.
                "nginx.ingress.kubernetes.io/proxy-body-size": "0",
            },
        },
        "spec": {
            "ingressClassName": catalog.ingress_class,
            "tls": [{"hosts": [target.host], "secretName": names.TLS_SECRET}],
            "rules": [
                {
                    "host": target.host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": names.SERVICE, "port": {"name": HTTP_PORT_NAME}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
