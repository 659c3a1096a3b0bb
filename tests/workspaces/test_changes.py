"""Changes to an approved workspace: profile, CUDA version, storage growth, new credentials, deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from django.utils import timezone

from approvals.models import ApprovedFile, AuditEvent
from approvals.signals import approved_state_changed
from tests.workspaces.conftest import password_from, password_hash_in_cluster, spec_for
from workspaces import names, provisioning
from workspaces.models import CredentialDelivery, Workspace

pytestmark = pytest.mark.cluster


@pytest.fixture
def sync(db, django_capture_on_commit_callbacks):
    """Record a file on main (or its removal) and run what the mirror's signal enqueues."""

    def sync_file(username: str, **spec_changes) -> Workspace | None:
        removed = spec_changes.pop("removed", False)
        ApprovedFile.objects.update_or_create(
            path=f"user/{username}.yaml",
            defaults={
                "username": username,
                "valid": True,
                "spec": spec_for(username, **spec_changes),
                "removed_at": timezone.now() if removed else None,
            },
        )
        with django_capture_on_commit_callbacks(execute=True):
            approved_state_changed.send(sender=None, usernames={username})
        return Workspace.objects.filter(username=username).order_by("-created_at").first()

    return sync_file


@pytest.fixture
def running(sync, cluster, smtp_server, username):
    return sync(username)


def container(cluster, workspace) -> dict:
    deployment = cluster.read("Deployment", names.DEPLOYMENT, workspace.namespace)
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_it_applies_a_new_profile(running, sync, cluster):
    sync(running.username, profile="medium")

    resources = container(cluster, running)["resources"]
    quota = cluster.read("ResourceQuota", names.QUOTA, running.namespace)
    assert resources["limits"]["cpu"] == "8"
    assert resources["limits"]["memory"] == "48Gi"
    assert quota["spec"]["hard"]["requests.cpu"] == "8"


def test_it_applies_a_new_cuda_version(running, sync, cluster):
    sync(running.username, cuda="cuda12.8")

    assert container(cluster, running)["image"] == "ghcr.io/example/larr1-code-server:cuda12.8"


def test_it_sends_no_email_for_a_change(running, sync, smtp_server):
    sync(running.username, profile="medium")

    assert len(smtp_server.messages()) == 1


def test_it_grows_the_volume(running, sync, cluster):
    sync(running.username, storage="30Gi")

    claim = cluster.wait_for(
        "PersistentVolumeClaim",
        names.PVC,
        running.namespace,
        lambda pvc: pvc.get("status", {}).get("capacity", {}).get("storage") == "30Gi",
        timeout=60,
    )
    assert claim is not None, "the volume did not grow to 30Gi"
    assert claim["spec"]["resources"]["requests"]["storage"] == "30Gi"


def test_it_never_shrinks_the_volume(running, sync, cluster):
    sync(running.username, storage="30Gi")
    sync(running.username, storage="25Gi")

    claim = cluster.read("PersistentVolumeClaim", names.PVC, running.namespace)
    assert claim["spec"]["resources"]["requests"]["storage"] == "30Gi"


def test_it_rotates_the_password(running, cluster, smtp_server, django_capture_on_commit_callbacks):
    [first] = smtp_server.messages()
    old_password = password_from(first)

    with django_capture_on_commit_callbacks(execute=True):
        provisioning.request_new_credentials(running)

    messages = smtp_server.messages()
    [rotated] = [message for message in messages if message.subject.startswith("New password")]
    new_password = password_from(rotated)
    stored_hash = password_hash_in_cluster(cluster, running.namespace)
    assert len(messages) == 2
    assert PasswordHasher().verify(stored_hash, new_password)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(stored_hash, old_password)


def test_it_records_who_asked_for_new_credentials(running, alice, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        provisioning.request_new_credentials(running, requested_by=alice)

    sent = AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIALS_SENT).order_by("-at", "-pk")
    assert sent[0].actor == alice, "the rotation is the owner's doing"
    assert sent[1].actor is None, "the first credentials are Larr1's own"


def test_it_restarts_the_pod_for_a_rotated_password(running, cluster, django_capture_on_commit_callbacks):
    before = container(cluster, running)
    template_before = cluster.read("Deployment", names.DEPLOYMENT, running.namespace)["spec"]["template"]

    with django_capture_on_commit_callbacks(execute=True):
        delivery = provisioning.request_new_credentials(running)

    template = cluster.read("Deployment", names.DEPLOYMENT, running.namespace)["spec"]["template"]
    annotation = template["metadata"]["annotations"][names.CREDENTIALS_ANNOTATION]
    assert annotation.startswith(f"{delivery.pk}-")
    assert template["metadata"].get("annotations") != template_before["metadata"].get("annotations")
    assert container(cluster, running) == before


def test_it_keeps_the_rotation_annotation_when_provisioning_again(
    running, sync, cluster, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        provisioning.request_new_credentials(running)
    annotation = cluster.read("Deployment", names.DEPLOYMENT, running.namespace)["spec"]["template"]["metadata"][
        "annotations"
    ][names.CREDENTIALS_ANNOTATION]

    sync(running.username, profile="medium")

    template = cluster.read("Deployment", names.DEPLOYMENT, running.namespace)["spec"]["template"]
    assert template["metadata"]["annotations"][names.CREDENTIALS_ANNOTATION] == annotation


def test_it_stops_a_removed_workspace(running, sync, cluster, settings):
    settings.LARR1_DELETE_GRACE_SECONDS = 3600

    sync(running.username, removed=True)

    running.refresh_from_db()
    deployment = cluster.read("Deployment", names.DEPLOYMENT, running.namespace)
    assert running.desired_state == Workspace.DesiredState.DELETING
    assert running.observed_state == Workspace.ObservedState.STOPPED
    assert deployment["spec"]["replicas"] == 0
    assert cluster.read("PersistentVolumeClaim", names.PVC, running.namespace) is not None


def test_it_keeps_the_namespace_during_the_grace_period(running, sync, cluster, settings):
    settings.LARR1_DELETE_GRACE_SECONDS = 3600
    sync(running.username, removed=True)

    purged = provisioning.purge_expired()

    assert purged == []
    assert cluster.read("Namespace", running.namespace)["status"]["phase"] == "Active"


def test_it_deletes_the_namespace_after_the_grace_period(running, sync, cluster, settings):
    settings.LARR1_DELETE_GRACE_SECONDS = 3600
    sync(running.username, removed=True)
    Workspace.objects.filter(pk=running.pk).update(delete_after=timezone.now() - timedelta(seconds=1))

    provisioning.purge_expired()
    gone = cluster.wait_for("Namespace", running.namespace, None, lambda ns: False, timeout=60)
    provisioning.purge_expired()

    running.refresh_from_db()
    assert gone is None
    assert cluster.read("Namespace", running.namespace) is None
    assert running.desired_state == Workspace.DesiredState.DELETED
    assert running.observed_state == Workspace.ObservedState.DELETED


def test_it_gives_a_recreated_workspace_a_new_volume(running, sync, cluster, settings):
    settings.LARR1_DELETE_GRACE_SECONDS = 3600
    old_claim = cluster.read("PersistentVolumeClaim", names.PVC, running.namespace)
    sync(running.username, removed=True)

    recreated = sync(running.username)

    new_claim = cluster.read("PersistentVolumeClaim", names.PVC, recreated.namespace)
    assert recreated.pk != running.pk
    assert recreated.namespace != running.namespace
    assert new_claim["metadata"]["uid"] != old_claim["metadata"]["uid"]
    assert new_claim["spec"]["volumeName"] != old_claim["spec"]["volumeName"]
    assert cluster.read("PersistentVolumeClaim", names.PVC, running.namespace) is not None


def test_it_sends_a_recreated_workspace_its_own_credentials(running, sync, smtp_server, settings):
    settings.LARR1_DELETE_GRACE_SECONDS = 3600
    sync(running.username, removed=True)

    recreated = sync(running.username)

    assert len(smtp_server.messages()) == 2
    assert CredentialDelivery.objects.get(workspace=recreated).state == CredentialDelivery.State.SENT
