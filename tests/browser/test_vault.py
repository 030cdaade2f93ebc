"""The vault in the real browser, as docs/vault.md walks a newcomer through it: an org admin presses panic,
staff pages say sealed, a trustee enters two shares and the server reads again."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from safepassage.accounts.demo import DemoLogin
from safepassage.vault import keyring, services
from tests.browser.conftest import NewContext, confirm_with_second_factor, log_in, shoot


@pytest.mark.browser
def test_panic_seals_the_staff_pages_and_two_trustee_shares_unseal_them(
    new_context: NewContext, demo: dict[str, DemoLogin], vault_runtime: Path
) -> None:
    shares = services.vault_init(shares=3, threshold=2)
    for share in shares[:2]:
        services.vault_add_share(mnemonic=share)

    admin = new_context().new_page()
    log_in(admin, "orgadmin")
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Vault").click()
    expect(admin.locator("main")).to_contain_text("Unsealed.")
    admin.get_by_role("button", name="Seal the server now").click()
    confirm_with_second_factor(admin)
    expect(admin.locator("main")).to_contain_text("Sealed.")
    assert keyring.is_sealed()
    admin.goto("/home/")
    expect(admin.locator(".sealed-banner")).to_contain_text("The server is sealed.")
    shoot(admin, "vault-sealed-home")

    trustee = new_context().new_page()
    log_in(trustee, "platformadmin")
    trustee.goto("/vault/")
    expect(trustee.locator("main")).to_contain_text("0 of 2 shares entered.")
    trustee.get_by_label("Your share").fill(shares[2])
    trustee.get_by_role("button", name="Enter share").click()
    confirm_with_second_factor(trustee)
    expect(trustee.locator("main")).to_contain_text("1 of 2 shares entered.")
    shoot(trustee, "vault-one-share")
    trustee.get_by_label("Your share").fill(shares[2])
    trustee.get_by_role("button", name="Enter share").click()
    expect(trustee.locator("main")).to_contain_text("This share was entered already.")
    trustee.get_by_label("Your share").fill(shares[0])
    trustee.get_by_role("button", name="Enter share").click()
    expect(trustee.locator("main")).to_contain_text("The server is unsealed.")
    assert not keyring.is_sealed()

    admin.goto("/home/")
    expect(admin.locator(".sealed-banner")).to_have_count(0)
