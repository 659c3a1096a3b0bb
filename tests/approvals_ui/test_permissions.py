"""Every admin page: anonymous visitors sign in first, other users see nothing, admins get the page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import Request
from tests.approvals_ui.conftest import make_request, signed_in

pytestmark = pytest.mark.usefixtures("no_cluster")

GET_VIEWS = [
    ("approvals:queue", False),
    ("approvals:request", True),
    ("approvals:request-state", True),
    ("approvals:audit", False),
    ("approvals:workspaces", False),
    ("approvals:capacity", False),
]
POST_VIEWS = ["approvals:approve", "approvals:reject", "approvals:dismiss"]


@pytest.fixture
def alice_request(db):
    return make_request(1, username="alice")


def url_for(name, with_pk, request):
    return reverse(name, args=[request.pk]) if with_pk else reverse(name)


@pytest.mark.parametrize(("name", "with_pk"), GET_VIEWS)
def test_it_sends_anonymous_visitors_to_sign_in(name, with_pk, alice_request):
    url = url_for(name, with_pk, alice_request)

    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize(("name", "with_pk"), GET_VIEWS)
def test_it_hides_admin_pages_from_the_requester(name, with_pk, alice_request, alice):
    response = signed_in(alice).get(url_for(name, with_pk, alice_request))

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "with_pk"), GET_VIEWS)
def test_it_hides_admin_pages_from_another_user(name, with_pk, alice_request, bob):
    response = signed_in(bob).get(url_for(name, with_pk, alice_request))

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "with_pk"), GET_VIEWS)
def test_it_shows_admin_pages_to_an_admin(name, with_pk, alice_request, admin_client):
    response = admin_client.get(url_for(name, with_pk, alice_request))

    assert response.status_code == 200


def test_it_hides_the_workspace_state_from_non_admins(alice, bob):
    url = reverse("approvals:workspace-state", args=["alice"])

    assert Client().get(url).status_code == 302
    assert signed_in(alice).get(url).status_code == 404
    assert signed_in(bob).get(url).status_code == 404


def test_it_answers_404_for_a_missing_request(admin_client, db):
    assert admin_client.get(reverse("approvals:request", args=[999])).status_code == 404


@pytest.mark.parametrize("name", POST_VIEWS)
@pytest.mark.parametrize("who", ["alice", "bob"])
def test_it_rejects_decisions_by_non_admins(name, who, alice_request, request):
    user = request.getfixturevalue(who)
    data = {"head_sha": alice_request.head_sha, "reason": "No.", "confirm": "on"}

    response = signed_in(user).post(reverse(name, args=[alice_request.pk]), data)

    alice_request.refresh_from_db()
    assert response.status_code == 404
    assert alice_request.state == Request.State.OPEN


@pytest.mark.parametrize("name", POST_VIEWS)
def test_it_sends_anonymous_decisions_to_sign_in(name, alice_request):
    data = {"head_sha": alice_request.head_sha, "reason": "No."}

    response = Client().post(reverse(name, args=[alice_request.pk]), data)

    alice_request.refresh_from_db()
    assert response.status_code == 302
    assert alice_request.state == Request.State.OPEN


@pytest.mark.parametrize("name", POST_VIEWS)
def test_it_requires_a_csrf_token_for_decisions(name, alice_request, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    data = {"head_sha": alice_request.head_sha, "reason": "No."}

    response = client.post(reverse(name, args=[alice_request.pk]), data)

    alice_request.refresh_from_db()
    assert response.status_code == 403
    assert alice_request.state == Request.State.OPEN


@pytest.mark.parametrize("name", POST_VIEWS)
def test_it_refuses_decisions_by_get(name, alice_request, admin_client):
    response = admin_client.get(reverse(name, args=[alice_request.pk]), {"head_sha": alice_request.head_sha})

    alice_request.refresh_from_db()
    assert response.status_code == 405
    assert alice_request.state == Request.State.OPEN
