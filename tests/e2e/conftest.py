"""Fixtures for end-to-end tests: the browser fixtures and the testbed cluster."""

from tests.browser.conftest import browser, page, screenshot  # noqa: F401 - fixtures shared with browser tests
