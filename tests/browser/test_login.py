"""Logging in as each role, in the real browser: two steps, the role's home, only the role's navigation.

The home page of each role is also shot in English, Swedish and Russian (var/screenshots/home-ROLE-LANG.png).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from safepassage.accounts.demo import DemoLogin
from tests.browser.conftest import (
    LOGIN,
    SECOND_STEP,
    NewContext,
    code_step,
    current_code,
    log_in,
    log_out,
    password_step,
    shoot_in_each_language,
)

ALL_LINKS = {"Home", "People", "API tokens", "Audit trail", "Admin", "Security"}

# username -> (section heading on the home page, links in the navigation)
ROLES = {
    "caseworker": ("Caseworker", {"Home", "Security"}),
    "coordinator": ("Coordinator", {"Home", "Security"}),
    "liaison": ("Government liaison", {"Home", "Security"}),
    "treasurer": ("Treasurer", {"Home", "Security"}),
    "researcher": ("Researcher", {"Home", "Security"}),
    "orgadmin": ("Organisation admin", {"Home", "People", "API tokens", "Audit trail", "Security"}),
    "auditor": ("Auditor", {"Home", "People", "Audit trail", "Security"}),
    "platformadmin": ("Platform admin", {"Home", "People", "Audit trail", "Admin", "Security"}),
}


@pytest.mark.browser
def test_each_role_logs_in_and_sees_its_home(new_context: NewContext, demo: dict[str, DemoLogin]) -> None:
    # One test for all eight (each in its own browser context): a live-server test costs a database flush.
    for username, (heading, links) in ROLES.items():
        page = new_context().new_page()
        log_in(page, username)

        expect(page, f"{username}'s home").to_have_title("Home · Safe Passage")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {username}")
        expect(page.get_by_role("heading", level=2, name=heading), f"{username}'s section").to_be_visible()
        expect(page.locator("header .who")).to_have_text(f"{username} · {demo[username].organisation}")
        nav = page.get_by_role("navigation", name="Main")
        for label in links:
            expect(
                nav.get_by_role("link", name=label, exact=True), f"{username} sees {label}"
            ).to_be_visible()
        for label in ALL_LINKS - links:
            expect(
                nav.get_by_role("link", name=label, exact=True), f"{username} lacks {label}"
            ).to_have_count(0)

        shoot_in_each_language(page, f"home-{username}")
        expect(page.locator(f"h2#role-{demo[username].role.value}")).to_be_visible()


@pytest.mark.browser
def test_a_replayed_code_is_refused(page: Page, demo: dict[str, DemoLogin]) -> None:
    code = current_code()
    log_in(page, "caseworker", code)
    log_out(page)

    password_step(page, "caseworker")
    page.wait_for_url(f"**{SECOND_STEP}")
    code_step(page, code)

    expect(page.locator("main")).to_contain_text("Incorrect code")
    expect(page).to_have_url(re.compile(re.escape(SECOND_STEP) + "$"))
    # Still not logged in: the home page sends the person back to the unfinished log-in.
    page.goto("/home/")
    expect(page).not_to_have_url(re.compile(r"/home/$"))
    expect(page.locator("header nav")).to_have_count(0)
    expect(page.locator("header form.logout")).to_have_count(0)


@pytest.mark.browser
def test_logging_out_from_the_admin_site_is_not_refused(page: Page, demo: dict[str, DemoLogin]) -> None:
    # A form POST from a page with Referrer-Policy no-referrer carries "Origin: null", which CSRF refuses;
    # the admin pages do not extend base.html, so they must get the policy from the header.
    log_in(page, "platformadmin")
    page.goto("/admin/")
    expect(page).to_have_title(re.compile("Safe Passage"))
    with page.expect_response(re.compile(r"/admin/logout/$")) as logout:
        page.locator("#logout-form button[type=submit]").click()
    assert logout.value.status in {200, 302}, f"the admin's log-out answered {logout.value.status}"
    page.wait_for_load_state()
    expect(page.locator("body")).not_to_contain_text("CSRF verification failed")
    page.goto("/home/")
    expect(page).to_have_url(re.compile(re.escape(LOGIN)))
