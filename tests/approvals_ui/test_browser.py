"""An admin reviews requests in Debian's chromium: findings, the capacity chart, an approval seen live."""

from __future__ import annotations

import pytest

from approvals.models import Request
from approvals.signals import approved_state_changed
from approvals.sync import sync_repository
from tests.browser_plugin import ARTIFACTS
from tests.conftest import PASSWORD
from tests.gitrepos import workspace_yaml
from workspaces.signals import follow_approved_state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.cluster,
    pytest.mark.usefixtures("mirror_settings", "without_provisioning"),
]

PROVISIONING_RECEIVER = "workspaces.follow_approved_state"


@pytest.fixture
def without_provisioning():
    """Keep workspaces off the testbed: the sync and the approval update main, and nothing is provisioned.

    Celery runs tasks eagerly in tests, so provisioning would run inside the live
    server's approval request and hold its response until the workspace is ready.
    The browser path from approval to a running workspace is tests/e2e's.
    """
    approved_state_changed.disconnect(dispatch_uid=PROVISIONING_RECEIVER)
    yield
    approved_state_changed.connect(follow_approved_state, dispatch_uid=PROVISIONING_RECEIVER)


def sign_in(page, live_server, email):  # noqa: F811 - page is the fixture
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_selector("[data-testid=signed-in-as]")


def test_it_reviews_and_approves_a_request_in_the_browser(
    browser,  # noqa: F811
    page,  # noqa: F811
    screenshot,  # noqa: F811
    live_server,
    admin_user,
    remote,
    cluster,
):
    cluster.run_workspace_pods({"carol": "spark-1"}, gpumem_mib=32768)
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}, message="Add alice")
    remote.open_pr(2, {"user/bob.yaml": workspace_yaml("bob", cuda="cuda12.9")}, message="Add bob")
    sync_repository()
    valid = Request.objects.get(number=1)
    invalid = Request.objects.get(number=2)

    sign_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server.url}/admin/requests/")
    page.wait_for_selector("[data-testid=queue]")
    assert page.locator(f"tr[data-request='{invalid.pk}']").inner_text().count("1 error") == 1
    screenshot("queue")

    page.goto(f"{live_server.url}/admin/requests/{invalid.pk}/")
    assert "CUDA version cuda12.9 is not offered" in page.inner_text("[data-testid=findings]")
    assert page.is_disabled("[data-testid=approve]")
    screenshot("request-with-findings")
    page.click("nav >> text=Capacity")
    assert page.locator("[data-testid=capacity-chart] g[data-node]").count() == 2

    # A second tab watches the valid request while the admin approves it in the first.
    watcher = browser.new_context(locale="en-US").new_page()
    watcher.context.add_cookies(page.context.cookies())
    watcher.goto(f"{live_server.url}/admin/requests/{valid.pk}/")
    assert watcher.get_attribute("[data-testid=request-state]", "data-state") == "open"

    page.goto(f"{live_server.url}/admin/requests/{valid.pk}/")
    chart = page.locator("[data-testid=capacity-chart]")
    assert chart.is_visible()
    assert chart.locator("g[data-node]").count() == 2
    assert "most likely run it on spark-2" in page.inner_text("[data-testid=capacity-verdict]")
    screenshot("request-capacity")

    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=request-state][data-state=merged]")
    assert "Approved: the pull request was merged into main." in page.inner_text(".messages")
    screenshot("approved")

    watcher.wait_for_selector("[data-testid=request-state][data-state=merged]", timeout=15_000)
    assert "Approved by admin@example.com" in watcher.inner_text("[data-testid=request-state]")
    watcher.screenshot(path=str(ARTIFACTS / "test_it_reviews_and_approves_a_request_in_the_browser-watcher.png"))
    watcher.context.close()
