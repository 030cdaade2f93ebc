"""A security key's registration response, as a browser sends it, for tests that need a registered key."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    RegistrationResponse,
)


def registration_response(
    credential_id: bytes, host: str = "localhost", scheme: str = "http"
) -> dict[str, Any]:
    """A fresh P-256 key with "none" attestation, as JSON-ready data (what allauth stores)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    public_key = ES256.from_cryptography_key(key)  # type: ignore[no-untyped-call]  # fido2 leaves it untyped
    auth_data = AuthenticatorData.create(
        hashlib.sha256(host.encode()).digest(),
        AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT,
        0,
        AttestedCredentialData.create(bytes(16), credential_id, public_key),
    )
    response = RegistrationResponse(
        raw_id=credential_id,
        response=AuthenticatorAttestationResponse(
            client_data=CollectedClientData.create(
                type="webauthn.create", challenge=bytes(16), origin=f"{scheme}://{host}"
            ),
            attestation_object=AttestationObject.create("none", auth_data, {}),
        ),
    )
    data: dict[str, Any] = json.loads(json.dumps(dict(response)))
    return data
