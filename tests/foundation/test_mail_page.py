"""Captured mail holds credentials: only admins see it, and only in development."""

import pytest
from django.core.mail import send_mail

from tests.conftest import PASSWORD


@pytest.fixture
def captured(smtp_server, settings):
    settings.DEBUG = True
    send_mail("Your workspace", "password: example-only", "larr1@example.com", ["alice@example.com"])
    return smtp_server


def test_mail_page_lists_messages_for_admins(client, admin_user, captured):
    client.login(username=admin_user.username, password=PASSWORD)
    response = client.get("/dev/mail/")
    assert response.status_code == 200
    assert "Your workspace" in response.content.decode()


def test_mail_page_is_hidden_from_people(client, alice, captured):
    assert client.get("/dev/mail/").status_code == 404
    client.login(username=alice.username, password=PASSWORD)
    assert client.get("/dev/mail/").status_code == 404


def test_mail_page_is_gone_outside_development(client, admin_user, captured, settings):
    settings.DEBUG = False
    client.login(username=admin_user.username, password=PASSWORD)
    assert client.get("/dev/mail/").status_code == 404
