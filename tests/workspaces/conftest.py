"""Fixtures for provisioning tests: the testbed catalog, the local cluster and workspaces on it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from larr1.catalog import clear_catalog_cache, get_catalog
from workspaces import names
from workspaces.kube import Kube

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTBED_CATALOG = REPO_ROOT / "larr1" / "platform-testbed.yaml"
PASSWORD_LINE = re.compile(r"^Password: (\S+)$", re.MULTILINE)


@pytest.fixture(autouse=True)
def testbed_catalog(settings):
    settings.LARR1_CATALOG_PATH = TESTBED_CATALOG
    clear_catalog_cache()
    yield get_catalog()
    clear_catalog_cache()


@pytest.fixture
def cluster(settings, testbed):
    """Point Larr1 at the testbed with short timeouts; delete the test's workspace namespaces afterwards."""
    settings.LARR1_KUBECONFIG = testbed.kubeconfig
    settings.LARR1_KUBE_CONTEXT = None
    settings.LARR1_KUBE_IN_CLUSTER = False
    settings.LARR1_KUBE_TIMEOUT = 5
    settings.LARR1_KUBE_RETRY_SECONDS = 30
    settings.LARR1_READY_TIMEOUT = 180
    settings.LARR1_EMAIL_RETRY_DELAY = 0
    kube = Kube()
    yield kube
    from workspaces.models import Workspace

    for namespace in Workspace.objects.values_list("namespace", flat=True):
        if namespace:
            kube.delete("Namespace", namespace)


@pytest.fixture
def username(kube_namespace_prefix):
    """A username no other test run uses, so parallel runs on the shared testbed never meet."""
    return f"{kube_namespace_prefix}alice"


def spec_for(username: str, *, profile="small", cuda="cuda13.0", storage="20Gi") -> dict:
    return {
        "username": username,
        "email": f"{username}@example.com",
        "profile": profile,
        "cuda": cuda,
        "storage": storage,
    }


def password_from(message) -> str:
    match = PASSWORD_LINE.search(message.body("plain"))
    assert match, "the email has no 'Password: ...' line"
    return match.group(1)


def password_hash_in_cluster(kube: Kube, namespace: str) -> str:
    import base64

    secret = kube.read("Secret", names.CREDENTIALS_SECRET, namespace)
    return base64.b64decode(secret["data"]["HASHED_PASSWORD"]).decode()
