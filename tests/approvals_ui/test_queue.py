"""The queue of requests: filters, findings at a glance, and a constant number of queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import Request
from tests.approvals_ui.conftest import make_request

ERROR = {"severity": "error", "code": "cuda.unknown", "field": "cuda.version", "params": {}, "suggestion": None}
WARNING = {"severity": "warning", "code": "risk.email-changed", "field": "user.email", "params": {}, "suggestion": None}


def numbers(response) -> list[int]:
    return [row["request"].number for row in response.context["rows"]]


def make_many(count: int) -> None:
    Request.objects.bulk_create(
        Request(
            forge="git",
            number=100 + index,
            ref=f"refs/pull/{100 + index}/head",
            title=f"Add user{index}",
            head_sha=f"{index:040x}",
            change_kind="create",
            username=f"user{index}",
            findings=[ERROR, WARNING] if index % 2 else [],
            has_errors=bool(index % 2),
            risks=["risk.email-changed"] if index % 3 == 0 else [],
        )
        for index in range(count)
    )


def test_it_lists_open_requests_by_default(admin_client):
    make_request(1, username="alice")
    make_request(2, username="bob", state=Request.State.MERGED)

    response = admin_client.get(reverse("approvals:queue"))

    assert numbers(response) == [1]


def test_it_filters_by_state(admin_client):
    make_request(1, username="alice")
    make_request(2, username="bob", state=Request.State.MERGED)

    response = admin_client.get(reverse("approvals:queue"), {"state": "merged"})

    assert numbers(response) == [2]


def test_it_filters_by_change_kind(admin_client):
    make_request(1, username="alice")
    make_request(2, username="bob", change_kind="delete", file_after="")

    response = admin_client.get(reverse("approvals:queue"), {"kind": "delete"})

    assert numbers(response) == [2]


def test_it_filters_requests_with_errors(admin_client):
    make_request(1, username="alice", findings=[ERROR], has_errors=True)
    make_request(2, username="bob")

    with_errors = admin_client.get(reverse("approvals:queue"), {"errors": "yes"})
    without_errors = admin_client.get(reverse("approvals:queue"), {"errors": "no"})

    assert numbers(with_errors) == [1]
    assert numbers(without_errors) == [2]


def test_it_searches_by_username(admin_client):
    make_request(1, username="alice")
    make_request(2, username="bob")

    response = admin_client.get(reverse("approvals:queue"), {"q": "ALI"})

    assert numbers(response) == [1]


def test_it_shows_findings_counts_and_risks(admin_client):
    make_request(1, username="alice", findings=[ERROR, WARNING], has_errors=True, risks=["risk.email-changed"])

    response = admin_client.get(reverse("approvals:queue"))

    html = response.content.decode()
    assert "1 error" in html
    assert "1 warning" in html
    assert "Email change" in html


def test_it_marks_superseded_requests(admin_client):
    newer = make_request(2, username="alice")
    make_request(1, username="alice", superseded_by=newer)

    response = admin_client.get(reverse("approvals:queue"))

    html = response.content.decode()
    assert 'class="superseded"' in html
    assert reverse("approvals:request", args=[newer.pk]) in html


def test_it_paginates_the_queue(admin_client):
    make_many(120)

    first = admin_client.get(reverse("approvals:queue"))
    third = admin_client.get(reverse("approvals:queue"), {"page": 3})

    assert len(first.context["rows"]) == 50
    assert len(third.context["rows"]) == 20
    assert "Page 1 of 3" in first.content.decode()


@pytest.mark.parametrize("count", [10, 1000])
def test_it_renders_the_queue_with_constant_queries(admin_client, django_assert_num_queries, count):
    make_many(count)
    admin_client.get(reverse("approvals:queue"))  # warm the session and the user

    # Session, user, count, page of requests.
    with django_assert_num_queries(4):
        response = admin_client.get(reverse("approvals:queue"), {"errors": "yes", "q": "user"})

    assert response.status_code == 200
