"""Shared fixtures: named users, a real SMTP server, a real Celery worker, a browser."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from larr1.mailsink import MailSink, captured_messages

# Fixtures for every test: the local Kubernetes testbed (testbed, kube_namespace_prefix)
# and the browser (browser, page, screenshot).
pytest_plugins = ["tests.testbed_plugin", "tests.browser_plugin"]

PASSWORD = "correct horse battery staple 7"


def make_user(email: str, *, staff: bool = False, verified: bool = True):
    User = get_user_model()
    user = User.objects.create_user(username=email.split("@")[0], email=email, password=PASSWORD, is_staff=staff)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    return user


@pytest.fixture
def alice(db):
    return make_user("alice@example.com")


@pytest.fixture
def bob(db):
    return make_user("bob@example.com")


@pytest.fixture
def admin_user(db):
    return make_user("admin@example.com", staff=True)


class CapturingSink:
    def __init__(self, directory, sink: MailSink):
        self.directory = directory
        self.sink = sink

    @property
    def port(self) -> int:
        return self.sink.port

    def messages(self):
        return captured_messages(self.directory)


@pytest.fixture
def smtp_server(tmp_path, settings):
    """A real SMTP server on loopback; Django's mail goes to it over the wire."""
    directory = tmp_path / "mail"
    sink = MailSink(directory, port=0).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.MAIL_SINK_DIR = directory
    yield CapturingSink(directory, sink)
    sink.stop()
