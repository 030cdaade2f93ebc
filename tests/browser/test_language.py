"""Choosing a language with the footer buttons: the page changes language and keeps it on the next page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from safepassage.accounts.demo import DemoLogin
from tests.browser.conftest import LOGIN, log_in, switch_language


@pytest.mark.browser
def test_the_footer_buttons_switch_the_language_and_it_is_remembered(
    page: Page, demo: dict[str, DemoLogin]
) -> None:
    html = page.locator("html")
    page.goto(LOGIN)
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("footer button[value=en]")).to_have_attribute("aria-current", "true")

    switch_language(page, "sv")
    expect(page).to_have_url(re.compile(re.escape(LOGIN) + "$"))  # back on the same page
    expect(page.locator("footer button[value=sv]")).to_have_attribute("aria-current", "true")
    page.goto("/")
    expect(html).to_have_attribute("lang", "sv")

    page.goto(LOGIN)
    switch_language(page, "ru")
    page.reload()
    expect(html).to_have_attribute("lang", "ru")

    # The choice outlives logging in, and can be changed again from inside.
    log_in(page, "caseworker")
    expect(html).to_have_attribute("lang", "ru")
    switch_language(page, "sv")
    expect(page).to_have_url(re.compile("/home/$"))
    page.goto("/accounts/2fa/")
    expect(html).to_have_attribute("lang", "sv")
    expect(page.locator("footer button[value=sv]")).to_have_attribute("aria-current", "true")
