"""Why a workspace is not ready, read from pod and Deployment objects as the API server returns them."""

from workspaces.diagnosis import diagnose, rollout_complete


def pod(status: dict, **metadata) -> dict:
    return {"metadata": {"name": "workspace-5d8f-abcde", **metadata}, "status": status}


def test_it_reports_missing_gpus_as_unschedulable():
    pending = pod(
        {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
                }
            ],
        }
    )

    found = diagnose(None, [pending])

    assert found.state == "unschedulable"
    assert found.code == "workspace.unschedulable-gpu"
    assert "Insufficient nvidia.com/gpu" in found.detail


def test_it_reports_missing_memory_as_unschedulable():
    pending = pod(
        {
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/2 nodes are available: 2 Insufficient memory.",
                }
            ]
        }
    )

    assert diagnose(None, [pending]).code == "workspace.unschedulable"


def test_it_reports_an_image_pull_failure():
    waiting = pod(
        {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "code-server",
                    "ready": False,
                    "state": {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": 'Back-off pulling image "ghcr.io/example/larr1-code-server:cuda13.0"',
                        }
                    },
                }
            ],
        }
    )

    found = diagnose(None, [waiting])

    assert found.state == "image-pull-failure"
    assert "Back-off pulling image" in found.detail


def test_it_reports_a_crash_loop():
    crashing = pod(
        {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "code-server",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
                }
            ],
        }
    )

    assert diagnose(None, [crashing]).state == "crash-loop"


def test_it_reports_an_exceeded_quota_from_the_deployment():
    deployment = {
        "status": {
            "conditions": [
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": "FailedCreate",
                    "message": 'pods "workspace-5d8f-abcde" is forbidden: exceeded quota: workspace',
                }
            ]
        }
    }

    found = diagnose(deployment, [])

    assert found.code == "workspace.quota-exceeded"
    assert "exceeded quota" in found.detail


def test_it_ignores_a_pod_being_deleted():
    leaving = pod(
        {"containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
        deletionTimestamp="2026-01-01T00:00:00Z",
    )

    assert diagnose(None, [leaving]).code == "workspace.not-ready"


def test_it_waits_for_the_controller_to_see_a_new_generation():
    deployment = {
        "metadata": {"generation": 3},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
    }

    assert not rollout_complete(deployment)


def test_it_waits_while_an_old_pod_remains():
    deployment = {
        "metadata": {"generation": 3},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1},
    }

    assert not rollout_complete(deployment)


def test_it_sees_a_finished_rollout():
    deployment = {
        "metadata": {"generation": 3},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 3, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
    }

    assert rollout_complete(deployment)


def test_it_sees_a_deployment_scaled_to_zero_as_finished():
    deployment = {"metadata": {"generation": 4}, "spec": {"replicas": 0}, "status": {"observedGeneration": 4}}

    assert rollout_complete(deployment)
