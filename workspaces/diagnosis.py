"""Read a workspace's state from its live Deployment and pods (pure functions over object dicts)."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
CRASH_REASONS = {"CrashLoopBackOff"}


@dataclass(frozen=True)
class Diagnosis:
    """Why a workspace is not ready: an observed state, an error code and the cluster's own words."""

    state: str  # a Workspace.ObservedState value
    code: str  # a code from workspaces.exceptions.MESSAGES
    detail: str


def rollout_complete(deployment: dict) -> bool:
    """Return True when the Deployment's current template runs on all its replicas and no old pod is left.

    These are the checks ``kubectl rollout status`` makes:
    https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status
    """
    metadata = deployment.get("metadata", {})
    spec = deployment.get("spec", {})
    status = deployment.get("status", {})
    wanted = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < metadata.get("generation", 1):
        return False
    return (
        status.get("updatedReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted
        and status.get("availableReplicas", 0) >= wanted
    )


def diagnose(deployment: dict | None, pods: list[dict]) -> Diagnosis:
    """Explain why the workspace is not ready, from what its pods and Deployment report."""
    for pod in pods:
        if pod.get("metadata", {}).get("deletionTimestamp"):
            continue
        status = pod.get("status", {})
        for condition in status.get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
                message = condition.get("message", "")
                code = (
                    "workspace.unschedulable-gpu"
                    if "Insufficient nvidia.com/" in message
                    else "workspace.unschedulable"
                )
                return Diagnosis("unschedulable", code, message)
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason", "")
            if reason in IMAGE_PULL_REASONS:
                return Diagnosis("image-pull-failure", "workspace.image-pull-failure", waiting.get("message", reason))
            if reason in CRASH_REASONS:
                return Diagnosis("crash-loop", "workspace.crash-loop", waiting.get("message", reason))
    for condition in (deployment or {}).get("status", {}).get("conditions") or []:
        message = condition.get("message", "")
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            code = "workspace.quota-exceeded" if "exceeded quota" in message else "workspace.not-ready"
            return Diagnosis("failed", code, message)
    return Diagnosis("pending", "workspace.not-ready", "")
