"""Sign-up, e-mail verification, sign-in, sign-out and password reset through allauth."""

import re

from django.contrib.auth import get_user_model
from django.core import mail

from larr1.apps import sync_site
from tests.conftest import PASSWORD

LINK = re.compile(r"https?://\S+")


def link_in(body: str) -> str:
    return LINK.search(body).group(0)


def test_it_signs_up_and_verifies_by_email(client, db):
    response = client.post(
        "/accounts/signup/", {"email": "carol@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["carol@example.com"]

    client.get(link_in(message.body), follow=True)
    verify = client.post(link_in(message.body).split("testserver")[1])
    assert verify.status_code == 302
    assert get_user_model().objects.get(email="carol@example.com").emailaddress_set.get().verified


def test_it_refuses_sign_in_before_verification(client, db):
    client.post("/accounts/signup/", {"email": "dave@example.com", "password1": PASSWORD, "password2": PASSWORD})
    client.logout()
    response = client.post("/accounts/login/", {"login": "dave@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session


def test_it_signs_in_and_out_with_email(client, alice):
    response = client.post("/accounts/login/", {"login": "Alice@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").context["user"] == alice

    client.post("/accounts/logout/")
    assert not client.get("/").context["user"].is_authenticated


def test_it_rejects_a_wrong_password(client, alice):
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": "wrong password 1"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_resets_a_password_through_real_smtp(client, alice, smtp_server):
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    (captured,) = smtp_server.messages()
    assert "alice@example.com" in captured.recipients

    reset_page = client.get(link_in(captured.body()).split("testserver")[1], follow=True)
    assert reset_page.status_code == 200
    new_password = "a brand new passphrase 42"
    client.post(reset_page.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})

    alice.refresh_from_db()
    assert alice.check_password(new_password)


def test_it_names_larr1_in_allauth_emails(client, db, settings):
    settings.SITE_URL = "https://larr1.example.org"
    sync_site()

    client.post("/accounts/signup/", {"email": "erin@example.com", "password1": PASSWORD, "password2": PASSWORD})

    (message,) = mail.outbox
    assert "Larr1" in message.body
    assert "larr1.example.org" in message.body
    assert "example.com!" not in message.body, "the Sites framework's placeholder name is gone"
