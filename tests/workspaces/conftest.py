"""Fixtures for provisioning tests: the testbed catalog, the local cluster and workspaces on it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from larr1.catalog import clear_catalog_cache, get_catalog
from tests.conftest import testbed_cluster
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
    """The testbed with short timeouts; the test's workspace namespaces are deleted afterwards."""
    with testbed_cluster(settings, testbed, ready_timeout=180) as kube:
        yield kube


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
