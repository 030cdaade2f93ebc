"""Joining by invitation, in the browser: the admin makes a link, the newcomer sets a password and a TOTP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from safepassage.accounts.demo import DemoLogin
from safepassage.lib.totp import totp_code
from tests.browser.conftest import NewContext, confirm_with_second_factor, log_in

NEW_PASSWORD = "lanterns over the harbour 2017"


@pytest.mark.browser
def test_an_invited_caseworker_joins_with_a_password_and_an_authenticator(
    new_context: NewContext, demo: dict[str, DemoLogin]
) -> None:
    admin = new_context().new_page()
    log_in(admin, "orgadmin")
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    admin.get_by_role("link", name="Invite someone").click()
    admin.get_by_label("Username").fill("newcomer")
    admin.get_by_label("Role").select_option(label="Caseworker")
    admin.get_by_role("button", name="Make the link").click()
    # Inviting is a sensitive action: allauth asks for the second factor again (step-up), then goes on.
    confirm_with_second_factor(admin)
    expect(admin.get_by_role("heading", name="One-time link")).to_be_visible()
    link = admin.get_by_label("One-time link").input_value()
    assert re.fullmatch(r"http://localhost:\d+/invite/[^/]+/", link), link

    newcomer = new_context().new_page()
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name="Set your password")).to_be_visible()
    expect(newcomer.locator("main")).to_contain_text("Russian LGBT Network")
    newcomer.get_by_label("New password", exact=True).fill("short")
    newcomer.get_by_label("New password again").fill("short")
    newcomer.get_by_role("button", name="Set password").click()
    password_field = newcomer.locator(".field", has=newcomer.locator("#id_password1"))
    expect(password_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(password_field.locator(".error")).to_contain_text("too short")

    newcomer.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    newcomer.get_by_label("New password again").fill(NEW_PASSWORD)
    newcomer.get_by_role("button", name="Set password").click()
    newcomer.wait_for_url("**/accounts/2fa/totp/activate/")
    expect(newcomer.get_by_role("status").filter(has_text="Now set up your second factor")).to_be_visible()
    secret = newcomer.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    newcomer.locator("input[name=code]").fill(totp_code(secret))
    newcomer.get_by_role("button", name="Activate").click()
    newcomer.wait_for_url(lambda url: "/totp/activate/" not in url)

    newcomer.goto("/home/")
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Hello, newcomer")
    expect(newcomer.get_by_role("heading", level=2, name="Caseworker")).to_be_visible()

    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name="Link not valid")).to_be_visible()

    admin.goto("/people/")
    people_table = admin.locator("table").first
    row = people_table.get_by_role("row").filter(has_text="newcomer")
    expect(row).to_contain_text("Caseworker")
    expect(row).to_contain_text("yes")
