"""Fixtures for reconcile tests: the testbed catalog and cluster, and provisioned workspaces on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from larr1.catalog import clear_catalog_cache, get_catalog
from tests.conftest import testbed_cluster
from workspaces import provisioning
from workspaces.models import Workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTBED_CATALOG = REPO_ROOT / "larr1" / "platform-testbed.yaml"


@pytest.fixture(autouse=True)
def testbed_catalog(settings):
    settings.LARR1_CATALOG_PATH = TESTBED_CATALOG
    clear_catalog_cache()
    yield get_catalog()
    clear_catalog_cache()


@pytest.fixture
def cluster(settings, testbed, transactional_db):
    """The testbed with short timeouts; the database commits, so tasks queued on commit run as in production."""
    with testbed_cluster(settings, testbed, ready_timeout=60) as kube:
        yield kube


def spec_for(username: str, *, profile="small", cuda="cuda13.0", storage="20Gi") -> dict:
    return {
        "username": username,
        "email": f"{username}@example.com",
        "profile": profile,
        "cuda": cuda,
        "storage": storage,
    }


@pytest.fixture
def provisioned(cluster, smtp_server, kube_namespace_prefix):
    """Return a function that provisions a running workspace on the testbed, as an approval would."""

    def make(name: str = "alice", **spec_options) -> Workspace:
        username = f"{kube_namespace_prefix}{name}"
        workspace = Workspace.objects.create(username=username, spec=spec_for(username, **spec_options))
        provisioning.provision(workspace.pk)
        workspace.refresh_from_db()
        assert workspace.observed_state == Workspace.ObservedState.RUNNING
        return workspace

    return make
