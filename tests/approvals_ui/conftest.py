"""Fixtures for the admin pages: requests made by a real sync, and a cluster to read capacity from."""

from __future__ import annotations

import json
import socket

import pytest
from django.test import Client
from kubernetes import client

from approvals.models import Request
from tests.approvals_ui.gpu_load import GpuLoad
from tests.conftest import PASSWORD
from tests.gitrepos import workspace_yaml
from workspaces import kube


def closed_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def no_cluster(settings, tmp_path):
    """Point Larr1 at a kubeconfig whose API server address refuses connections."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "closed", "cluster": {"server": f"https://127.0.0.1:{closed_port()}"}}],
                "users": [{"name": "closed", "user": {"token": "placeholder"}}],
                "contexts": [{"name": "closed", "context": {"cluster": "closed", "user": "closed"}}],
                "current-context": "closed",
            }
        )
    )
    settings.LARR1_KUBECONFIG = kubeconfig
    settings.LARR1_KUBE_CONTEXT = None
    settings.LARR1_KUBE_IN_CLUSTER = False
    settings.LARR1_KUBE_TIMEOUT = 2
    kube._api_client.cache_clear()
    yield
    kube._api_client.cache_clear()


@pytest.fixture
def cluster(settings, testbed, kube_namespace_prefix):
    """Point Larr1 at the local testbed: two DGX Spark nodes with 96 GiB of GPU memory each and no GPU pods.

    Yields a ``GpuLoad`` to add GPU pods and nodes; they are deleted when the test ends.
    """
    settings.LARR1_KUBECONFIG = testbed.kubeconfig
    settings.LARR1_KUBE_CONTEXT = None
    settings.LARR1_KUBE_IN_CLUSTER = False
    settings.LARR1_KUBE_TIMEOUT = 5
    kube._api_client.cache_clear()
    with testbed.api_client() as api:
        load = GpuLoad(client.CoreV1Api(api), kube_namespace_prefix)
        load.wait_until_idle()
        try:
            yield load
        finally:
            load.delete_all()
            kube._api_client.cache_clear()


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def admin_client(admin_user):
    return signed_in(admin_user)


def make_request(number: int, *, username: str = "alice", state=Request.State.OPEN, **fields) -> Request:
    """Create a request row as a sync would leave it (for pages that only read rows)."""
    head = f"{number:040x}"
    defaults = {
        "forge": "git",
        "number": number,
        "ref": f"refs/pull/{number}/head",
        "title": f"Add {username}",
        "author": "Alice",
        "head_sha": head,
        "change_kind": "create",
        "path": f"user/{username}.yaml",
        "username": username,
        "file_after": workspace_yaml(username),
        "state": state,
    }
    defaults.update(fields)
    request = Request.objects.create(**defaults)
    request.heads.create(sha=head)
    return request
