"""Security keys (WebAuthn) with Chromium's virtual authenticator: adding one, and logging in with it.

allauth takes the relying-party id from the Host header, and Chromium refuses an IP address as RP id
("SecurityError: This is an invalid domain."), so http://127.0.0.1:PORT cannot add a key. pytest-django's
live server is at http://localhost:PORT: a secure context for Chromium, and an origin that python-fido2
accepts on plain http without MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Page, expect

from safepassage.accounts.demo import DemoLogin
from tests.browser.conftest import (
    SECOND_STEP,
    NewContext,
    confirm_with_second_factor,
    log_in,
    log_out,
    password_step,
)

KEY_NAME = "Blue key on the keyring"


def virtual_authenticator(context: BrowserContext, page: Page) -> tuple[CDPSession, str]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added: dict[str, Any] = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


@pytest.mark.browser
def test_a_person_adds_a_security_key_and_logs_in_with_it(
    new_context: NewContext, demo: dict[str, DemoLogin]
) -> None:
    context = new_context()
    page = context.new_page()
    cdp, authenticator_id = virtual_authenticator(context, page)
    log_in(page, "caseworker")

    page.goto("/accounts/2fa/webauthn/add/")
    # Adding a factor is a sensitive action: the second factor again first.
    confirm_with_second_factor(page)
    page.wait_for_url("**/accounts/2fa/webauthn/add/")
    page.locator("input[name=name]").fill(KEY_NAME)
    page.locator("#mfa_webauthn_add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert [c["rpId"] for c in credentials] == ["localhost"]

    page.goto("/accounts/2fa/webauthn/")
    expect(page.get_by_role("heading", name="Security Keys")).to_be_visible()
    expect(page.locator("main")).to_contain_text(KEY_NAME)

    # The key now stands in for the authenticator app at the second step.
    log_out(page)
    password_step(page, "caseworker")
    page.wait_for_url(f"**{SECOND_STEP}")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url("**/home/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, caseworker")
    page.goto("/accounts/2fa/webauthn/")
    expect(page.locator("main")).to_contain_text(re.compile(r"Last used"))
