"""A page sealed in the middle of its request (panic pressed meanwhile) says so, never a 500."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from safepassage.vault import keyring
from safepassage.vault.keyring import VaultError
from safepassage.vault.keys import StaleKey


class SealedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Sealed, or this node's key is older than the database's (another node rotated): trustees seal and unseal.
        if isinstance(exception, StaleKey) or (isinstance(exception, VaultError) and keyring.is_sealed()):
            return render(request, "vault/sealed.html", status=503)
        return None
