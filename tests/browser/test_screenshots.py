"""Screenshots for people to look at (var/screenshots/), and the pages keeping to the Content Security Policy.

Every context here is guarded (conftest.Guard): a CSP violation on the console or a request to a host
other than the live server fails the test.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from pytest_django.live_server_helper import LiveServer

from safepassage.accounts.demo import DemoLogin
from tests.browser.conftest import LOGIN, Guard, NewContext, log_in, shoot, shoot_in_each_language

PHONE = {"width": 390, "height": 844}


def assert_fits_the_width(page: Page, width: int) -> None:
    """Nothing sticks out sideways: a phone user should not have to scroll left and right."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


@pytest.mark.browser
def test_screenshots_of_the_login_page_in_each_language(new_context: NewContext) -> None:
    page = new_context().new_page()
    page.goto(LOGIN)
    shoot_in_each_language(page, "login")
    # The home page of each role is shot by test_login.test_each_role_logs_in_and_sees_its_home.


@pytest.mark.browser
def test_screenshots_on_a_phone_and_nothing_wider_than_the_screen(
    new_context: NewContext, demo: dict[str, DemoLogin]
) -> None:
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2).new_page()
    page.goto(LOGIN)
    assert_fits_the_width(page, PHONE["width"])
    shoot(page, "phone-login")

    log_in(page, "orgadmin")
    page.goto("/people/")
    expect(page.get_by_role("heading", level=1, name="People")).to_be_visible()
    assert_fits_the_width(page, PHONE["width"])
    shoot(page, "phone-people-orgadmin")


# Pages a person reaches by the navigation, for the roles that see the most.
PAGES = {
    "orgadmin": ["/home/", "/people/", "/people/invite/", "/api-tokens/", "/audit/", "/accounts/2fa/"],
    "platformadmin": [
        "/home/",
        "/people/",
        "/audit/",
        "/admin/",
        "/accounts/2fa/",
        "/accounts/2fa/webauthn/",
    ],
}


@pytest.mark.browser
def test_pages_keep_to_the_content_security_policy(
    new_context: NewContext, demo: dict[str, DemoLogin]
) -> None:
    page = new_context().new_page()
    for path in ["/", LOGIN, "/invite/not-a-real-token/", "/no-such-page/"]:
        page.goto(path)
        # The entry page has the requester's cookie-free layout (language links); the others the staff one.
        expect(page.locator("footer form.lang, footer nav.langs").first).to_be_visible()
    for username, paths in PAGES.items():
        page = new_context().new_page()
        log_in(page, username)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, f"{username} {path}: {response}"
            assert "default-src 'none'" in (response.header_value("content-security-policy") or "")
    # The guard checks console and requests of every context when the test ends.


@pytest.mark.browser
def test_the_guard_notices_a_violation_and_a_foreign_request(
    browser: Browser, live_server: LiveServer
) -> None:
    """The checks above are worth something only if a violation would be seen."""
    context = browser.new_context(base_url=live_server.url)
    guard = Guard(host=urlsplit(live_server.url).netloc)
    context.on("request", guard.on_request)
    context.on("page", guard.watch)
    try:
        page = context.new_page()
        page.goto(LOGIN)
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.ran = true";
                document.body.append(script);
            }"""
        )
        assert page.evaluate("window.ran === undefined"), "an inline script ran despite the CSP"
        # Leaving the server is stopped here before it reaches the network.
        page.route("http://example.invalid/**", lambda route: route.abort())
        with pytest.raises(PlaywrightError):
            page.goto("http://example.invalid/")
    finally:
        context.close()
    assert any("Content Security Policy" in text for text in guard.violations), guard.violations
    assert guard.foreign_requests == ["http://example.invalid/"]
    with pytest.raises(AssertionError):
        guard.check()
