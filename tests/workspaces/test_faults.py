"""Faults during provisioning: a killed worker, a stopped API server, a mail server that is down,
and the same approval handled twice at once. Each ends with one workspace and one email."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from argon2 import PasswordHasher
from django.db import connection
from django.utils import timezone

from larr1.mailsink import MailSink
from tests.conftest import celery_workers
from tests.testbed_plugin import state_dir
from tests.workspaces.conftest import TESTBED_CATALOG, password_from, password_hash_in_cluster, spec_for
from tests.workspaces.test_provisioning import STEPS
from workspaces import names, provisioning
from workspaces.diagnosis import rollout_complete
from workspaces.exceptions import CredentialsError, WorkspaceBusy
from workspaces.models import CredentialDelivery, ProvisioningRun, Workspace

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(cluster, smtp_server, username) -> Workspace:
    return Workspace.objects.create(username=username, spec=spec_for(username))


def child_environment(smtp_server, testbed) -> dict[str, str]:
    """Environment for another process that uses this test's database, cluster and mail server."""
    database = urlsplit(os.environ["DATABASE_URL"])
    test_database = database._replace(path="/" + connection.settings_dict["NAME"])
    return {
        **os.environ,
        "LARR1_ENV": "test",
        "DATABASE_URL": urlunsplit(test_database),
        "KUBECONFIG": str(testbed.kubeconfig),
        "LARR1_CATALOG": str(TESTBED_CATALOG),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
        "LARR1_READY_TIMEOUT": "180",
        "LARR1_KUBE_TIMEOUT": "5",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }


def expire_lease(workspace: Workspace) -> None:
    """Let the lease of a dead worker run out (as it would after LARR1_PROVISIONING_LEASE_SECONDS)."""
    Workspace.objects.filter(pk=workspace.pk).update(locked_until=timezone.now() - timedelta(seconds=1))


def assert_one_ready_workspace(cluster, workspace: Workspace, smtp_server) -> None:
    workspace.refresh_from_db()
    namespaces = cluster.list(
        "Namespace", label_selector=names.label_selector(names.selector(workspace.username, workspace.uid))
    )
    deployment = cluster.read("Deployment", names.DEPLOYMENT, workspace.namespace)
    [message] = smtp_server.messages()
    assert [ns["metadata"]["name"] for ns in namespaces] == [workspace.namespace]
    assert rollout_complete(deployment)
    assert workspace.observed_state == Workspace.ObservedState.RUNNING
    assert PasswordHasher().verify(password_hash_in_cluster(cluster, workspace.namespace), password_from(message))


@pytest.mark.parametrize("step", STEPS)
def test_it_recovers_from_a_killed_worker(step, workspace, cluster, smtp_server, testbed):
    worker = subprocess.run(
        [sys.executable, "-m", "tests.workspaces.crash_worker", str(workspace.pk), step],
        cwd=REPO_ROOT,
        env=child_environment(smtp_server, testbed),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr[-3000:]

    expire_lease(workspace)
    provisioning.provision(workspace.pk)

    assert_one_ready_workspace(cluster, workspace, smtp_server)
    assert ProvisioningRun.objects.filter(workspace=workspace, state="abandoned").count() == 1


def test_it_waits_for_a_stopped_api_server(workspace, cluster, smtp_server, settings):
    settings.LARR1_KUBE_TIMEOUT = 2
    settings.LARR1_KUBE_RETRY_SECONDS = 40
    apiserver = int((state_dir() / "run" / "kube-apiserver.pid").read_text())
    outage_seconds = 6

    def stop_the_api_server(step) -> None:
        if step.name == "apply-network-policies":
            os.kill(apiserver, signal.SIGSTOP)
            threading.Timer(outage_seconds, os.kill, (apiserver, signal.SIGCONT)).start()

    provisioning.step_done_hooks.append(stop_the_api_server)
    try:
        provisioning.provision(workspace.pk)
    finally:
        provisioning.step_done_hooks.remove(stop_the_api_server)
        os.kill(apiserver, signal.SIGCONT)

    run = ProvisioningRun.objects.get(workspace=workspace)
    waited = run.steps.get(name="prepare-credentials")
    assert run.state == ProvisioningRun.State.SUCCEEDED
    assert (waited.finished_at - waited.started_at).total_seconds() >= outage_seconds - 1
    assert_one_ready_workspace(cluster, workspace, smtp_server)


def refused_port() -> int:
    """A loopback port where nothing listens yet, so SMTP connections are refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_retries_email_until_smtp_accepts(workspace, cluster, smtp_server, settings):
    settings.LARR1_EMAIL_RETRY_DELAY = 1
    settings.LARR1_EMAIL_ATTEMPTS = 6
    settings.EMAIL_PORT = refused_port()
    late_sink = MailSink(smtp_server.directory, port=settings.EMAIL_PORT)

    def start_after_two_refusals() -> None:
        # Test-side polling: the sink starts once two attempts were refused.
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if CredentialDelivery.objects.filter(workspace=workspace, attempts__gte=2).exists():
                    late_sink.start()
                    return
                time.sleep(0.1)
        finally:
            connection.close()

    starter = threading.Thread(target=start_after_two_refusals)
    starter.start()
    try:
        provisioning.provision(workspace.pk)
    finally:
        starter.join()
        late_sink.stop()

    delivery = CredentialDelivery.objects.get(workspace=workspace)
    assert delivery.state == CredentialDelivery.State.SENT
    assert delivery.attempts >= 3
    assert_one_ready_workspace(cluster, workspace, smtp_server)


def test_it_resends_once_after_smtp_outage(workspace, cluster, smtp_server, settings):
    settings.LARR1_EMAIL_ATTEMPTS = 2
    settings.LARR1_EMAIL_RETRY_DELAY = 0
    settings.EMAIL_PORT = refused_port()
    with pytest.raises(CredentialsError):
        provisioning.provision(workspace.pk)
    assert CredentialDelivery.objects.get(workspace=workspace).state == CredentialDelivery.State.PASSWORD_SET

    settings.EMAIL_PORT = smtp_server.port
    provisioning.provision(workspace.pk)

    assert_one_ready_workspace(cluster, workspace, smtp_server)


def test_it_lets_one_of_two_concurrent_runs_work(workspace, cluster, smtp_server):
    outcomes: list[str] = []

    def run() -> None:
        try:
            provisioning.provision(workspace.pk)
            outcomes.append("provisioned")
        except WorkspaceBusy:
            outcomes.append("busy")
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == ["busy", "provisioned"]
    assert_one_ready_workspace(cluster, workspace, smtp_server)


@pytest.fixture
def workers(smtp_server, testbed):
    """Two real Celery worker processes on a queue of their own."""
    queue = f"test-provision-{uuid.uuid4().hex[:8]}"
    with celery_workers(queue, count=2, environment=child_environment(smtp_server, testbed)):
        yield queue


def test_it_emails_once_for_two_workers(workspace, cluster, smtp_server, workers):
    from workspaces.tasks import provision_workspace

    results = [provision_workspace.apply_async((workspace.pk,), queue=workers) for _ in range(2)]
    for result in results:
        result.get(timeout=180)

    assert_one_ready_workspace(cluster, workspace, smtp_server)
    assert ProvisioningRun.objects.filter(workspace=workspace, state="succeeded").count() == 2
