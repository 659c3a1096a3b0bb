"""Provisioning against the testbed's real API server: ready workspace, one credentials email."""

from __future__ import annotations

import threading
import time

import pytest
from argon2 import PasswordHasher
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from approvals.models import ApprovedFile, AuditEvent
from approvals.signals import approved_state_changed
from tests.workspaces.conftest import password_from, password_hash_in_cluster, spec_for
from workspaces import names, provisioning
from workspaces.diagnosis import rollout_complete
from workspaces.models import CredentialDelivery, ProvisioningRun, ProvisioningStep, Workspace

pytestmark = pytest.mark.cluster

STEPS = [
    "apply-namespace",
    "apply-resource-quota",
    "apply-limit-range",
    "apply-network-policies",
    "prepare-credentials",
    "apply-volume",
    "apply-deployment",
    "apply-service",
    "apply-ingress",
    "wait-until-ready",
    "send-credentials",
]


def approve(username: str, **spec_changes) -> None:
    """Record the file as approved on main and send the signal the mirror sends after a sync."""
    spec = spec_for(username, **spec_changes)
    ApprovedFile.objects.update_or_create(
        path=f"user/{username}.yaml",
        defaults={"username": username, "valid": True, "spec": spec, "removed_at": None},
    )
    approved_state_changed.send(sender=None, usernames={username})


@pytest.fixture
def approved(db, cluster, smtp_server, username, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        approve(username)
    return Workspace.objects.get(username=username, desired_state="active")


def test_it_makes_an_approved_workspace_ready(approved, cluster):
    deployment = cluster.read("Deployment", names.DEPLOYMENT, approved.namespace)

    assert rollout_complete(deployment)
    assert deployment["status"]["availableReplicas"] == 1


def test_it_records_the_workspace_as_running(approved):
    approved.refresh_from_db()

    assert approved.observed_state == Workspace.ObservedState.RUNNING
    assert approved.url == f"https://{approved.username}.gpu.example.com"
    assert approved.applied_spec == approved.spec


def test_it_records_every_step_as_done(approved):
    run = ProvisioningRun.objects.get(workspace=approved)
    steps = list(run.steps.values_list("name", "state"))

    assert run.state == ProvisioningRun.State.SUCCEEDED
    assert steps == [(name, ProvisioningStep.State.DONE) for name in STEPS]


def test_it_emails_credentials_that_open_the_workspace(approved, cluster, smtp_server):
    [message] = smtp_server.messages()
    password = password_from(message)

    assert message.message["To"] == f"{approved.username}@example.com"
    assert f"https://{approved.username}.gpu.example.com" in message.body("plain")
    assert PasswordHasher().verify(password_hash_in_cluster(cluster, approved.namespace), password)


def test_it_audits_provisioning_and_the_credentials_email(approved):
    oldest_first = AuditEvent.objects.filter(username=approved.username).order_by("at", "pk")
    actions = list(oldest_first.values_list("action", flat=True))
    assert actions.count(AuditEvent.Action.PROVISIONED) == 1
    assert actions.count(AuditEvent.Action.CREDENTIALS_SENT) == 1
    assert actions.index(AuditEvent.Action.PROVISIONED) < actions.index(AuditEvent.Action.CREDENTIALS_SENT)


def test_it_marks_the_first_delivery_sent(approved):
    delivery = CredentialDelivery.objects.get(workspace=approved)

    assert delivery.state == CredentialDelivery.State.SENT
    assert delivery.reason == CredentialDelivery.Reason.FIRST
    assert delivery.sent_at is not None


def test_it_keeps_the_password_out_of_the_database(approved, smtp_server):
    from django.core import serializers

    password = password_from(smtp_server.messages()[0])
    dump = serializers.serialize(
        "json",
        [
            *Workspace.objects.all(),
            *ProvisioningRun.objects.all(),
            *ProvisioningStep.objects.all(),
            *CredentialDelivery.objects.all(),
        ],
    )

    assert password not in dump


def test_it_enforces_restricted_pod_security_on_the_namespace(approved, cluster, testbed):
    namespace = cluster.read("Namespace", approved.namespace)
    privileged = client.V1Pod(
        metadata=client.V1ObjectMeta(name="privileged"),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="c",
                    image="registry.invalid/busybox",
                    security_context=client.V1SecurityContext(privileged=True),
                )
            ]
        ),
    )

    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    with testbed.api_client() as api, pytest.raises(ApiException) as rejected:
        client.CoreV1Api(api).create_namespaced_pod(approved.namespace, privileged)
    assert rejected.value.status == 403
    assert "violates PodSecurity" in rejected.value.body


def test_it_runs_the_pod_under_restricted_security(approved, cluster):
    selector = names.label_selector(names.selector(approved.username, approved.uid))

    [pod] = cluster.list("Pod", approved.namespace, label_selector=selector)

    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] is True


def test_it_labels_every_object_it_applies(approved, cluster):
    expected = names.labels(approved.username, approved.uid)
    kinds = [
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "Secret",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "Ingress",
    ]

    for kind in kinds:
        for obj in cluster.list(kind, approved.namespace, label_selector=names.label_selector(expected)):
            assert obj["metadata"]["labels"].items() >= expected.items(), kind
        assert cluster.list(kind, approved.namespace, label_selector=names.label_selector(expected)), kind


def test_it_ignores_a_repeated_approval(approved, cluster, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        approved_state_changed.send(sender=None, usernames={approved.username})

    assert Workspace.objects.filter(username=approved.username).count() == 1
    assert len(smtp_server.messages()) == 1


def test_it_provisions_again_without_a_second_email(approved, smtp_server):
    provisioning.provision(approved.pk)

    assert ProvisioningRun.objects.filter(workspace=approved, state="succeeded").count() == 2
    assert len(smtp_server.messages()) == 1


@pytest.fixture
def catalog_with_huge_profile(settings, tmp_path):
    """The testbed catalog plus a profile asking for more GPUs than any node has."""
    import yaml

    from larr1.catalog import clear_catalog_cache
    from tests.workspaces.conftest import TESTBED_CATALOG

    data = yaml.safe_load(TESTBED_CATALOG.read_text())
    data["profiles"]["huge"] = {**data["profiles"]["small"], "gpus": 5}
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(data))
    settings.LARR1_CATALOG_PATH = path
    clear_catalog_cache()
    yield
    clear_catalog_cache()


def test_it_reports_a_gpu_shortage(db, cluster, smtp_server, username, settings, catalog_with_huge_profile):
    from workspaces.exceptions import WorkspaceNotReady

    settings.LARR1_READY_TIMEOUT = 5
    workspace = Workspace.objects.create(username=username, spec=spec_for(username, profile="huge"))

    with pytest.raises(WorkspaceNotReady):
        provisioning.provision(workspace.pk)

    workspace.refresh_from_db()
    run = ProvisioningRun.objects.get(workspace=workspace)
    assert workspace.observed_state == Workspace.ObservedState.UNSCHEDULABLE
    assert workspace.state_reason.startswith("Not enough free GPU")
    assert "Insufficient nvidia.com/gpu" in workspace.state_reason
    assert run.error_code == "workspace.unschedulable-gpu"
    assert smtp_server.messages() == []


def test_it_frees_the_worker_when_stuck(db, cluster, smtp_server, username, settings, catalog_with_huge_profile):
    from workspaces.exceptions import WorkspaceNotReady

    settings.LARR1_READY_TIMEOUT = 600
    settings.LARR1_READY_CHECK_INTERVAL = 1
    settings.LARR1_READY_STUCK_SECONDS = 3
    workspace = Workspace.objects.create(username=username, spec=spec_for(username, profile="huge"))

    with pytest.raises(WorkspaceNotReady) as raised:
        provisioning.provision(workspace.pk)

    run = ProvisioningRun.objects.get(workspace=workspace)
    assert raised.value.code == "workspace.unschedulable-gpu"
    assert not raised.value.permanent, "the task retries a stuck workspace later"
    assert (run.finished_at - run.started_at).total_seconds() < 60, "the run stopped long before the timeout"


def test_it_retries_a_stuck_workspace_without_restarting_it(
    db, cluster, smtp_server, username, settings, catalog_with_huge_profile
):
    from workspaces.exceptions import WorkspaceNotReady

    settings.LARR1_READY_TIMEOUT = 600
    settings.LARR1_READY_CHECK_INTERVAL = 1
    settings.LARR1_READY_STUCK_SECONDS = 20
    workspace = Workspace.objects.create(username=username, spec=spec_for(username, profile="huge"))
    with pytest.raises(WorkspaceNotReady):
        provisioning.provision(workspace.pk)
    workspace.refresh_from_db()
    generation = cluster.read("Deployment", names.DEPLOYMENT, workspace.namespace)["metadata"]["generation"]

    with pytest.raises(WorkspaceNotReady):
        provisioning.provision(workspace.pk)

    retry = ProvisioningRun.objects.filter(workspace=workspace).order_by("-started_at", "-pk").first()
    deployment = cluster.read("Deployment", names.DEPLOYMENT, workspace.namespace)
    assert deployment["metadata"]["generation"] == generation, "the waiting pod keeps its place in the queue"
    assert (retry.finished_at - retry.started_at).total_seconds() < 15, "a retry only looks and leaves"
    assert smtp_server.messages() == []


def test_it_reports_the_wait_reason_early(
    transactional_db, cluster, smtp_server, username, settings, catalog_with_huge_profile
):
    from django.db import connection

    settings.LARR1_READY_TIMEOUT = 20
    settings.LARR1_READY_CHECK_INTERVAL = 1
    workspace = Workspace.objects.create(username=username, spec=spec_for(username, profile="huge"))
    failures = []

    def provision_in_a_worker():
        try:
            provisioning.provision(workspace.pk)
        except Exception as exc:
            failures.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=provision_in_a_worker)
    worker.start()
    waiting_message, deadline = "", time.monotonic() + 15
    while not waiting_message and time.monotonic() < deadline:
        step = ProvisioningStep.objects.filter(
            run__workspace=workspace, name="wait-until-ready", state="running"
        ).first()
        waiting_message = step.message if step else ""
        time.sleep(0.2)
    observed_while_waiting = Workspace.objects.get(pk=workspace.pk).observed_state
    worker.join(timeout=60)

    assert waiting_message.startswith("Not enough free GPU"), "the reason shows while the run still waits"
    assert "Insufficient nvidia.com/gpu" in waiting_message
    assert observed_while_waiting == Workspace.ObservedState.UNSCHEDULABLE
    assert [type(failure).__name__ for failure in failures] == ["WorkspaceNotReady"]
