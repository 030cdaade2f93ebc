"""The site works with JavaScript switched off: logging in (both steps) and choosing a language."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from safepassage.accounts.demo import DemoLogin
from tests.browser.conftest import LOGIN, NewContext, log_in, switch_language


@pytest.mark.browser
def test_it_logs_in_and_switches_language_without_javascript(
    new_context: NewContext, demo: dict[str, DemoLogin]
) -> None:
    page = new_context(java_script_enabled=False).new_page()
    html = page.locator("html")
    page.goto(LOGIN)
    switch_language(page, "ru")
    page.goto(LOGIN)
    expect(html).to_have_attribute("lang", "ru")

    log_in(page, "coordinator")
    expect(page.locator("h2#role-coordinator")).to_be_visible()
    expect(html).to_have_attribute("lang", "ru")

    switch_language(page, "en")
    page.reload()
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, coordinator")
