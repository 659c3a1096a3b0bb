"""The emails a requester gets about a decision: what happens next, and only to usable addresses."""

from __future__ import annotations

import logging

import pytest

from approvals.emails import APPROVED, REJECTED, build_message, send_request_email
from approvals.models import AuditEvent, Request
from tests.gitrepos import workspace_yaml

TLD_ERROR = {
    "severity": "error",
    "code": "email.tld",
    "field": "user.email",
    "params": {"value": "alice@gmail.con", "tld": "con", "closest": "com", "line": 3},
    "suggestion": "email: alice@gmail.com",
}


def make_request(kind: str, *, before: str = "", after: str = "", **fields) -> Request:
    return Request.objects.create(
        forge="git",
        number=7,
        ref="refs/pull/7/head",
        title="Change alice",
        head_sha="a" * 40,
        change_kind=kind,
        path="user/alice.yaml",
        username="alice",
        file_before=before,
        file_after=after,
        **fields,
    )


def approved_text(request: Request) -> str:
    # Durations keep their number and unit together with a no-break space.
    return build_message(APPROVED, [request.pk]).text.replace("\xa0", " ")


@pytest.fixture
def alice_file():
    return workspace_yaml("alice")


def test_create_promises_credentials(db, alice_file):
    text = approved_text(make_request("create", after=alice_file))

    assert "You will receive another email with its address and your credentials" in text


def test_update_promises_no_new_credentials(db, alice_file):
    request = make_request("update", before=alice_file, after=alice_file.replace("medium", "large"))

    text = approved_text(request)

    assert "updates your running workspace" in text
    assert "no new credentials are sent" in text
    assert "your credentials when it is ready" not in text


def test_delete_names_the_grace_period(db, settings, alice_file):
    settings.LARR1_DELETE_GRACE_SECONDS = 14 * 24 * 3600

    text = approved_text(make_request("delete", before=alice_file))

    assert "The workspace alice stops now." in text
    assert "kept until the grace period of 2 weeks ends" in text
    assert "your credentials when it is ready" not in text


def test_delete_without_grace_period(db, settings, alice_file):
    settings.LARR1_DELETE_GRACE_SECONDS = 0

    text = approved_text(make_request("delete", before=alice_file))

    assert "The workspace alice stops now, and its volume is removed." in text
    assert "grace period" not in text


def test_rename_names_old_workspace(db, settings, alice_file):
    settings.LARR1_DELETE_GRACE_SECONDS = 3 * 24 * 3600
    request = make_request(
        "rename",
        before=workspace_yaml("alicia"),
        after=alice_file,
        old_username="alicia",
    )

    text = approved_text(request)

    assert "preparing the workspace alice" in text
    assert "The old workspace alicia stops now" in text
    assert "3 days" in text


def test_update_text_has_both_languages(db, alice_file):
    request = make_request("update", before=alice_file, after=alice_file.replace("medium", "large"))

    html = build_message(APPROVED, [request.pk]).html

    assert 'lang="en"' in html
    assert 'lang="zh-hant"' in html
    assert html.count("<p>") >= 6


def test_rejection_skips_invalid_address(db, caplog):
    after = workspace_yaml("alice", email="alice@gmail.con")
    request = make_request("create", after=after, findings=[TLD_ERROR], has_errors=True)
    request.events.create(action=AuditEvent.Action.REJECTED, details={"reason": "Fix the domain."})

    with caplog.at_level(logging.INFO, logger="approvals.emails"):
        sent = send_request_email(REJECTED, [request.pk])

    assert sent == 0
    assert "Skipped an invalid requester address request=7" in caplog.text
    assert "gmail.con" not in caplog.text


def test_rejection_still_reaches_the_old_address(db, mailoutbox):
    before = workspace_yaml("alice")
    after = before.replace("alice@example.com", "alice@gmail.con")
    request = make_request("update", before=before, after=after, findings=[TLD_ERROR], has_errors=True)

    sent = send_request_email(REJECTED, [request.pk])

    [message] = mailoutbox
    assert sent == 1
    assert message.to == ["alice@example.com"]
