"""allauth hooks: no self-signup, no e-mail, client pseudonyms instead of addresses, sealed TOTP secrets."""

from __future__ import annotations

import base64
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse


def _totp_fernet() -> Fernet:
    # TOTP secrets are encrypted at rest under a key derived from SECRET_KEY; the vault issue moves
    # them under the organisation keys.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"safepassage-totp-secret").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # people join through an invitation from their organisation's admin

    def get_client_ip(self, request: HttpRequest) -> str:
        return str(getattr(request, "client_key", "unknown"))

    def get_http_user_agent(self, request: HttpRequest) -> str:
        return "unspecified"

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        return None  # Safe Passage sends no e-mail: a mailbox is one more thing to seize

    def send_notification_mail(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return reverse("home")

    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        """Step-up asks for the second factor. The password alone counts only while there is none
        (a person confirming it on the way to enrolling their first factor)."""
        methods: list[dict[str, Any]] = super().get_reauthentication_methods(user)
        factors = [m for m in methods if m["id"] != "reauthenticate"]
        return factors or methods


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return _totp_fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return _totp_fernet().decrypt(encrypted_text.encode()).decode()

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # A second factor is mandatory: the last TOTP or passkey cannot be removed by its owner.
        others = Authenticator.objects.filter(
            user_id=authenticator.user_id,
            type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
        ).exclude(pk=authenticator.pk)
        return bool(authenticator.type == Authenticator.Type.RECOVERY_CODES or others.exists())

    def send_notification_mail(self, *args: Any, **kwargs: Any) -> None:
        return None
