"""allauth's WebAuthn forms, answering a security-key response that cannot be read with a form error, not a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn import forms as allauth_forms
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def _unreadable() -> ValidationError:
    return ValidationError(_("The security key's answer could not be read. Try again."), code="unreadable")


@contextmanager
def _reading_credential() -> Iterator[None]:
    """Turn whatever parsing or verifying the posted credential raises into a form error.

    The credential is JSON from the client, and fido2 reads it with plain indexing, CBOR and struct
    decoding: KeyError, TypeError, ValueError, IndexError, struct.error and fido2's own exceptions all
    occur, so a list of them would miss the next one. Database errors still propagate: an outage is
    not a bad answer from the key.
    """
    try:
        yield
    except (ValidationError, DatabaseError):
        raise
    except Exception as error:
        logger.info("Unreadable WebAuthn credential: %s", type(error).__name__)
        raise _unreadable() from error


class _ReadsAssertion:
    """For the forms that check a signed answer to a log-in challenge."""

    cleaned_data: dict[str, Any]

    def clean_credential(self) -> Authenticator:
        # Only an object can be a WebAuthn response; allauth passes other JSON values on to fido2.
        if not isinstance(self.cleaned_data["credential"], dict):
            raise _unreadable()
        with _reading_credential():
            authenticator: Authenticator = super().clean_credential()  # type: ignore[misc]
        return authenticator


class _ReadsAttestation:
    """For the forms that register a new key: allauth checks the credential in clean(), not on the field."""

    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        # allauth skips the check for a falsy credential (0, false) and would store it as a key.
        if "credential" in self.cleaned_data and not isinstance(self.cleaned_data["credential"], dict):
            raise ValidationError({"credential": _unreadable()})
        try:
            with _reading_credential():
                cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                raise
            raise ValidationError({"credential": error.error_list}) from error
        return cleaned


class AuthenticateWebAuthnForm(_ReadsAssertion, allauth_forms.AuthenticateWebAuthnForm):  # type: ignore[misc]
    pass


class ReauthenticateWebAuthnForm(_ReadsAssertion, allauth_forms.ReauthenticateWebAuthnForm):  # type: ignore[misc]
    pass


class LoginWebAuthnForm(_ReadsAssertion, allauth_forms.LoginWebAuthnForm):  # type: ignore[misc]
    pass


class AddWebAuthnForm(_ReadsAttestation, allauth_forms.AddWebAuthnForm):  # type: ignore[misc]
    pass


class SignupWebAuthnForm(_ReadsAttestation, allauth_forms.SignupWebAuthnForm):  # type: ignore[misc]
    pass
