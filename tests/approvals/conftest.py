"""Fixtures for the approvals tests: a remote repository on disk and settings pointing at it."""

from __future__ import annotations

import pytest

from approvals.signals import approved_state_changed
from tests.gitrepos import RemoteRepo, workspace_yaml


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


@pytest.fixture(autouse=True)
def without_approved_state_receivers():
    """Keep provisioning out of these tests: they check what the sync sends, not what reacts to it."""
    saved = approved_state_changed.receivers[:]
    approved_state_changed.receivers = []
    approved_state_changed.sender_receivers_cache.clear()
    yield
    approved_state_changed.receivers = saved
    approved_state_changed.sender_receivers_cache.clear()
