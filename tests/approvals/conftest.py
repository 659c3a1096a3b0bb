"""Fixtures for the approvals tests (the remote repository and its settings come from tests/conftest.py)."""

from __future__ import annotations

import pytest

from approvals.signals import approved_state_changed


@pytest.fixture(autouse=True)
def without_approved_state_receivers():
    """Keep provisioning out of these tests: they check what the sync sends, not what reacts to it."""
    saved = approved_state_changed.receivers[:]
    approved_state_changed.receivers = []
    approved_state_changed.sender_receivers_cache.clear()
    yield
    approved_state_changed.receivers = saved
    approved_state_changed.sender_receivers_cache.clear()


@pytest.fixture(autouse=True)
def without_cached_forge_pages():
    """Start each test without the ETags an earlier test's forge server sent (its port may come back)."""
    from approvals.sync import forge_pages

    forge_pages.clear()
    yield
    forge_pages.clear()
