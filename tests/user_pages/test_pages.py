"""The pages where people follow their own workspace and requests."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from approvals.models import ChangeKind, Request
from tests.conftest import PASSWORD, make_user
from workspaces.contract.findings import error
from workspaces.exceptions import MESSAGES
from workspaces.models import CredentialDelivery, ProvisioningRun, ProvisioningStep, Workspace
from workspaces.models_reconcile import WorkspaceEvent, WorkspaceObservation
from workspaces.views import STEP_LABELS

ALICE_FILE = """user:
  username: alice
  email: Alice@Example.com
profile:
  name: medium
cuda:
  version: cuda13.0
"""

ROTATE_URL = reverse("workspaces:new-credentials", args=["alice"])
CONFIRMED = {"confirm_restart": "1"}


def alice_spec(email: str = "Alice@Example.com") -> dict:
    return {
        "username": "alice",
        "email": email,
        "profile": "medium",
        "cuda": "cuda13.0",
        "storage": "100Gi",
        "storage_bytes": 100 * 2**30,
    }


@pytest.fixture
def workspace(db) -> Workspace:
    # The file's email differs from alice's account in case only.
    spec = alice_spec()
    return Workspace.objects.create(
        username="alice",
        spec=spec,
        applied_spec=spec,
        observed_state=Workspace.ObservedState.RUNNING,
        url="https://alice.gpu.example.com",
    )


def sign_in(client, user) -> None:
    assert client.login(email=user.email, password=PASSWORD)


def detail_url(username: str = "alice") -> str:
    return reverse("workspaces:detail", args=[username])


def test_it_shows_the_owner_their_workspace(client, alice, workspace):
    sign_in(client, alice)

    response = client.get(detail_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-state="running"' in page
    assert "https://alice.gpu.example.com" in page
    assert "medium" in page
    assert "cuda13.0" in page
    assert "100Gi" in page


def test_it_hides_a_workspace_from_others(client, bob, workspace):
    sign_in(client, bob)

    response = client.get(detail_url())

    assert response.status_code == 404


def test_it_hides_a_workspace_behind_an_unverified_email(client, db, workspace):
    impostor = make_user("ALICE@example.com", verified=False)
    client.force_login(impostor)

    response = client.get(detail_url())

    assert response.status_code == 404


def test_it_shows_admins_every_workspace(client, admin_user, workspace):
    sign_in(client, admin_user)

    response = client.get(detail_url())

    assert response.status_code == 200


def test_it_sends_anonymous_visitors_to_sign_in(client, workspace):
    response = client.get(detail_url())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_shows_the_workspace_on_the_home_page(client, alice, workspace):
    sign_in(client, alice)

    page = client.get(reverse("home")).content.decode()

    assert detail_url() in page
    assert "https://alice.gpu.example.com" in page


def test_it_renders_the_reason_from_its_code(client, alice, workspace):
    # The stored sentence is English for logs; the page renders the code in the reader's language.
    Workspace.objects.filter(pk=workspace.pk).update(
        observed_state=Workspace.ObservedState.UNSCHEDULABLE, state_reason="Stored English sentence."
    )
    WorkspaceObservation.objects.create(
        workspace=workspace,
        reason_code="workspace.unschedulable-gpu",
        detail="0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
    )
    sign_in(client, alice)

    page = client.get(detail_url()).content.decode()

    assert "Not enough free GPU on the cluster to start the workspace." in page
    assert "0/2 nodes are available: 2 Insufficient nvidia.com/gpu." in page
    assert "Stored English sentence." not in page


def test_it_lists_the_users_requests_with_findings(client, alice, db):
    Request.objects.create(
        forge="git",
        number=7,
        ref="refs/pull/7/head",
        title="Add alice",
        head_sha="a" * 40,
        change_kind=ChangeKind.CREATE,
        path="user/alice.yml",
        username="alice",
        file_after=ALICE_FILE,
        findings=[error("file.extension", path="user/alice.yml", expected="user/alice.yaml").as_dict()],
        has_errors=True,
    )
    sign_in(client, alice)

    page = client.get(reverse("home")).content.decode()

    assert "#7" in page
    assert "The file name must end in .yaml. Rename user/alice.yml to user/alice.yaml." in page


def test_it_leaves_out_requests_of_others(client, bob, db):
    Request.objects.create(
        forge="git",
        number=8,
        ref="refs/pull/8/head",
        title="Add alice",
        head_sha="b" * 40,
        change_kind=ChangeKind.CREATE,
        path="user/alice.yaml",
        username="alice",
        file_after=ALICE_FILE,
    )
    sign_in(client, bob)

    page = client.get(reverse("home")).content.decode()

    assert "#8" not in page


def test_it_shows_repairs_and_kubernetes_events(client, alice, workspace):
    WorkspaceEvent.objects.create(
        workspace=workspace, source="reconcile", type="Warning", reason="Recreated", object="Service/workspace"
    )
    WorkspaceEvent.objects.create(
        workspace=workspace,
        source="kubernetes",
        event_uid="3f1c",
        type="Warning",
        reason="FailedScheduling",
        object="Pod/workspace-7d9f-x2",
        message="0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
    )
    sign_in(client, alice)

    page = client.get(detail_url()).content.decode()

    assert "Larr1 re-created Service/workspace because it was missing." in page
    assert "0/2 nodes are available: 2 Insufficient nvidia.com/gpu." in page


def test_it_queues_new_credentials_on_request(client, alice, workspace, django_capture_on_commit_callbacks):
    sign_in(client, alice)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(ROTATE_URL, CONFIRMED, follow=True)

    delivery = CredentialDelivery.objects.get(workspace=workspace)
    assert delivery.reason == CredentialDelivery.Reason.ROTATION
    assert delivery.requested_by == alice
    assert len(callbacks) == 1
    assert "New credentials will be emailed to Alice@Example.com." in response.content.decode()


def test_it_asks_to_confirm_the_restart(client, alice, workspace):
    sign_in(client, alice)

    response = client.post(ROTATE_URL, follow=True)

    assert "Tick the box to confirm that the workspace may restart." in response.content.decode()
    assert not CredentialDelivery.objects.exists()


def test_it_refuses_a_second_rotation_soon_after(client, alice, workspace, settings):
    settings.LARR1_ROTATION_COOLDOWN_SECONDS = 300
    sign_in(client, alice)
    client.post(ROTATE_URL, CONFIRMED)
    CredentialDelivery.objects.update(state=CredentialDelivery.State.SENT)

    response = client.post(ROTATE_URL, CONFIRMED, follow=True)

    assert "You can ask again after" in response.content.decode()
    assert CredentialDelivery.objects.count() == 1


def test_it_allows_a_rotation_after_the_cooldown(client, alice, workspace, settings):
    settings.LARR1_ROTATION_COOLDOWN_SECONDS = 0
    sign_in(client, alice)
    client.post(ROTATE_URL, CONFIRMED)
    CredentialDelivery.objects.update(state=CredentialDelivery.State.SENT)

    client.post(ROTATE_URL, CONFIRMED)

    assert CredentialDelivery.objects.count() == 2


def test_it_rejects_a_credentials_request_without_csrf_token(alice, workspace):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    sign_in(client, alice)

    response = client.post(ROTATE_URL, CONFIRMED)

    assert response.status_code == 403
    assert not CredentialDelivery.objects.exists()


def test_it_sends_no_credentials_for_another_users_workspace(client, bob, workspace):
    sign_in(client, bob)

    response = client.post(ROTATE_URL, CONFIRMED)

    assert response.status_code == 404
    assert not CredentialDelivery.objects.exists()


def test_it_translates_step_notes(client, alice, workspace, settings):
    run = ProvisioningRun.objects.create(workspace=workspace, kind=ProvisioningRun.Kind.CREATE)
    ProvisioningStep.objects.create(
        run=run,
        position=1,
        name="wait-until-ready",
        state=ProvisioningStep.State.RUNNING,
        message="Stored English sentence.",
        code="workspace.unschedulable-gpu",
        detail="0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
    )
    sign_in(client, alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"

    page = client.get(detail_url()).content.decode()

    with translation.override("zh-hant"):
        expected = str(MESSAGES["workspace.unschedulable-gpu"])
        step_label = str(STEP_LABELS["wait-until-ready"])
    with translation.override("en"):
        assert expected != str(MESSAGES["workspace.unschedulable-gpu"]), "the catalogue translates the note"
    assert f"{expected}（0/2 nodes are available: 2 Insufficient nvidia.com/gpu.）" in page
    assert step_label in page
    assert "Stored English sentence." not in page


def test_it_links_no_address_of_a_removed_workspace(client, alice, workspace):
    Workspace.objects.filter(pk=workspace.pk).update(
        desired_state=Workspace.DesiredState.DELETING, observed_state=Workspace.ObservedState.STOPPED
    )
    sign_in(client, alice)

    home = client.get(reverse("home")).content.decode()
    detail = client.get(detail_url()).content.decode()

    assert 'href="https://alice.gpu.example.com"' not in home
    assert 'href="https://alice.gpu.example.com"' not in detail
    assert "this address no longer works" in detail


def test_it_titles_two_workspaces_in_the_plural(client, alice, workspace):
    Workspace.objects.create(username="alice-gpu", spec={**alice_spec(), "username": "alice-gpu"})
    sign_in(client, alice)

    home = client.get(reverse("home")).content.decode()

    assert "Your workspaces" in home


def test_it_describes_the_profile_in_the_readers_language(client, alice, workspace, settings):
    sign_in(client, alice)
    english = client.get(detail_url()).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    chinese = client.get(detail_url()).content.decode()

    assert "1 GPU share with" in english
    assert "1 GPU share with" not in chinese
    assert "份 GPU" in chinese
