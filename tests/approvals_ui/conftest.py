"""Fixtures for the admin pages: requests made by a real sync, and a cluster to read capacity from."""

from __future__ import annotations

import pytest
from django.test import Client

from approvals.models import Request
from tests.approvals_ui.kubeapi import FakeKubeApi, gpu_node
from tests.conftest import PASSWORD
from tests.gitrepos import RemoteRepo, workspace_yaml
from workspaces import kube


@pytest.fixture
def remote(tmp_path):
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


@pytest.fixture
def no_cluster(settings, tmp_path):
    """Point Larr1 at a kubeconfig whose API server refuses connections."""
    settings.LARR1_KUBECONFIG = tmp_path / "missing-kubeconfig"
    settings.LARR1_KUBE_TIMEOUT = 2
    yield
    kube._api_client.cache_clear()


@pytest.fixture
def cluster(settings, tmp_path):
    """A loopback Kubernetes API with two DGX Spark nodes (96 GiB each from the catalog) and no pods."""
    api = FakeKubeApi(nodes=[gpu_node("spark-1"), gpu_node("spark-2")], pods=[]).start()
    settings.LARR1_KUBECONFIG = api.write_kubeconfig(tmp_path / "kubeconfig")
    settings.LARR1_KUBE_TIMEOUT = 5
    kube._api_client.cache_clear()
    yield api
    kube._api_client.cache_clear()
    api.stop()


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
