"""Trustees unseal in the browser; trustees and org admins press panic; sealed pages say so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from safepassage.audit.models import AuditEntry
from safepassage.vault import keyring, services
from safepassage.vault.keyring import VaultError
from safepassage.vault.views import needs_unsealed


@pytest.fixture
def shares(db: None, vault_runtime: Path) -> list[str]:
    return services.vault_init(shares=3, threshold=2)


@pytest.fixture
def trustee(people: dict[str, Any]) -> Any:
    pat = people["pat"]
    pat.is_trustee = True
    pat.save(update_fields=["is_trustee"])
    return pat


def test_two_trustees_unseal_through_the_page(shares: list[str], trustee: Any, login: Any) -> None:
    pat = login(trustee, stepped_up=True)
    first = pat.post(reverse("vault_unseal"), {"share": shares[0]}, follow=True)
    assert "1 of 2 shares entered" in first.content.decode()
    assert keyring.is_sealed()
    pat.post(reverse("vault_unseal"), {"share": shares[1]})
    assert not keyring.is_sealed()
    assert "Unsealed." in pat.get(reverse("vault")).content.decode()


def test_a_mistyped_share_is_refused_next_to_the_field(shares: list[str], trustee: Any, login: Any) -> None:
    words = shares[0].split()
    words[7] = "zero" if words[7] != "zero" else "zone"
    response = login(trustee, stepped_up=True).post(reverse("vault_unseal"), {"share": " ".join(words)})
    assert response.status_code == 400
    assert "mistyped" in str(response.context["form"].errors["share"])


def test_a_platform_admin_who_is_no_trustee_cannot_enter_shares(
    shares: list[str], people: dict[str, Any], login: Any
) -> None:
    login(people["pat"], stepped_up=True).post(reverse("vault_unseal"), {"share": shares[0]})
    assert services.vault_progress().have == 0


def test_an_org_admin_presses_panic_and_the_server_is_sealed(
    shares: list[str], people: dict[str, Any], login: Any
) -> None:
    for share in shares[:2]:
        services.vault_add_share(mnemonic=share)
    olga = login(people["olga"], stepped_up=True)
    page = olga.post(reverse("vault_panic"), follow=True).content.decode()
    assert keyring.is_sealed()
    assert "The server is sealed." in page
    assert AuditEntry.objects.filter(action="vault.panic", actor_id=people["olga"].pk).exists()


def test_panic_needs_a_fresh_second_factor(shares: list[str], people: dict[str, Any], login: Any) -> None:
    for share in shares[:2]:
        services.vault_add_share(mnemonic=share)
    response = login(people["olga"]).post(reverse("vault_panic"))
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not keyring.is_sealed()


def test_a_caseworker_cannot_press_panic(shares: list[str], people: dict[str, Any], login: Any) -> None:
    assert login(people["alice"], stepped_up=True).post(reverse("vault_panic")).status_code == 403


def test_a_page_that_decrypts_says_sealed_while_sealed(shares: list[str]) -> None:
    @needs_unsealed
    def page(request: HttpRequest) -> HttpResponse:
        return HttpResponse("secret things")

    request = RequestFactory().get("/")
    response = page(request)
    assert response.status_code == 503
    assert b"The server is sealed" in response.content
    for share in shares[:2]:
        services.vault_add_share(mnemonic=share)
    assert page(request).content == b"secret things"


def test_a_page_sealed_while_it_decrypts_says_sealed(unsealed: list[str]) -> None:
    from safepassage.vault.keys import unsealed_master
    from safepassage.vault.middleware import SealedMiddleware

    def page(request: HttpRequest) -> HttpResponse:
        services.vault_seal()  # panic pressed on another page while this one decrypts
        return HttpResponse(unsealed_master())

    middleware = SealedMiddleware(page)
    request = RequestFactory().get("/cases/")
    with pytest.raises(VaultError) as raised:
        page(request)
    response = middleware.process_exception(request, raised.value)
    assert response is not None and response.status_code == 503
    assert "The server is sealed" in response.content.decode()
    assert middleware.process_exception(request, ValueError("other")) is None


def test_every_staff_page_says_when_the_server_is_sealed(
    unsealed: list[str], people: dict[str, Any], login: Any
) -> None:
    client = login(people["alice"])
    assert "The server is sealed" not in client.get("/home/").content.decode()
    services.vault_seal()
    assert "The server is sealed" in client.get("/home/").content.decode()
    assert "The server is sealed" not in Client().get("/").content.decode(), "never on the public face"
