import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")


def test_it_signs_in_and_switches_to_traditional_chinese(page, live_server, admin_user, screenshot):
    sign_in(page, live_server, "admin@example.com")

    page.wait_for_selector("[data-testid=signed-in-as]")
    assert page.inner_text("[data-testid=signed-in-as]") == "admin@example.com"
    assert page.inner_text("h1") == "Welcome, admin@example.com"
    screenshot("english")

    with page.expect_navigation():
        page.select_option("#language-select", "zh-hant")
    assert page.get_attribute("html", "lang") == "zh-hant"
    assert page.inner_text("h1") == "歡迎，admin@example.com"
    assert page.inner_text("button.link") == "登出"
    screenshot("traditional-chinese")


def test_it_shows_the_sign_in_page_in_traditional_chinese(browser, live_server, db):
    context = browser.new_context(locale="zh-TW")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.get_attribute("html", "lang") == "zh-hant"
    assert "登入" in page.inner_text("main")
    context.close()
