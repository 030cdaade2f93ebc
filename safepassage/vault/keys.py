"""Keys derived from the master key: one HKDF label per purpose, so no key serves two."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from safepassage.vault import keyring
from safepassage.vault.keyring import VaultError


def derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"safepassage/{purpose}".encode()
    ).derive(master)


def unsealed_master() -> bytes:
    master = keyring.master_key()
    if master is None:
        raise VaultError("The vault is sealed.")
    return master


def checkpoint_private_key(master: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(derive(master, "audit-checkpoint"))


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
