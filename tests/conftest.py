"""Shared fixtures: named users, a real SMTP server, real Celery workers, a browser."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

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


REPO_ROOT = Path(__file__).resolve().parent.parent
TESTBED_CATALOG = REPO_ROOT / "larr1" / "platform-testbed.yaml"


@pytest.fixture
def remote(tmp_path):
    """A bare repository on disk standing in for the forge, with one approved workspace (carol)."""
    from tests.gitrepos import RemoteRepo, workspace_yaml

    repo = RemoteRepo(tmp_path / "remote.git")
    repo.commit_to_main({"README.md": "# Users\n", "user/.gitkeep": "", "user/carol.yaml": workspace_yaml("carol")})
    return repo


@pytest.fixture
def mirror_settings(settings, tmp_path, remote):
    """Point Larr1 at ``remote`` as a plain git server (no forge API)."""
    settings.LARR1_REPO_URL = remote.url
    settings.LARR1_MIRROR_DIR = tmp_path / "mirror.git"
    settings.LARR1_FORGE = "git"
    settings.LARR1_FORGE_TOKEN = None
    settings.LARR1_GIT_USERNAME = None
    settings.LARR1_GIT_PASSWORD = None
    settings.LARR1_GIT_TIMEOUT = 20
    return settings


@contextlib.contextmanager
def testbed_cluster(settings, testbed, *, ready_timeout: int):
    """Point Larr1 at the testbed with short timeouts.

    Yields a ``Kube``; afterwards deletes the namespaces of the workspaces the test made.
    """
    from workspaces.kube import Kube
    from workspaces.models import Workspace

    settings.LARR1_KUBECONFIG = testbed.kubeconfig
    settings.LARR1_KUBE_CONTEXT = None
    settings.LARR1_KUBE_IN_CLUSTER = False
    settings.LARR1_KUBE_TIMEOUT = 5
    settings.LARR1_KUBE_RETRY_SECONDS = 30
    settings.LARR1_READY_TIMEOUT = ready_timeout
    settings.LARR1_EMAIL_RETRY_DELAY = 0
    kube = Kube()
    try:
        yield kube
    finally:
        for namespace in Workspace.objects.values_list("namespace", flat=True):
            if namespace:
                kube.delete("Namespace", namespace)


@contextlib.contextmanager
def celery_workers(queue: str, *, count: int = 1, environment: dict | None = None):
    """Run ``count`` real Celery worker processes that consume only ``queue``.

    Tasks sent while the block runs cross Redis to these processes (eager mode is off).
    Yields the processes.
    """
    from larr1.celery import app

    command = [sys.executable, "-m", "celery", "-A", "larr1", "worker", "--pool", "solo", "--loglevel", "WARNING"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue]
    processes = [
        subprocess.Popen(
            [*command, "-n", f"{queue}-{index}@%h"],
            cwd=REPO_ROOT,
            env={**os.environ, **(environment or {}), "CELERY_TASK_ALWAYS_EAGER": "false"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index in range(count)
    ]
    app.conf.task_always_eager = False
    try:
        yield processes
    finally:
        app.conf.task_always_eager = True
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
