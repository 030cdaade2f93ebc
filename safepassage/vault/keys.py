"""Keys derived from the master key and from the vault root: one HKDF label per purpose, so no key serves two.

The vault root is a random key wrapped under the master key (VaultState.root_wrapped). Keys that must outlive a
rotation of the master key derive from it: the blind-index keys (changing them would mean decrypting every
indexed value) and the audit checkpoint key (trustees' checkpoint files must still verify).
"""

from __future__ import annotations

import hmac
import secrets
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from safepassage.vault import keyring
from safepassage.vault.keyring import VaultError

ROOT_AAD = b"safepassage/vault-root"
_lock = threading.Lock()
_root: tuple[bytes, bytes] | None = None  # (master it was opened with, root)


def derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"safepassage/{purpose}".encode()
    ).derive(master)


def unsealed_master() -> bytes:
    master = keyring.master_key()
    if master is None:
        raise VaultError("The vault is sealed.")
    return master


def wrap_root(master: bytes, root: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(derive(master, "root-wrap")).encrypt(nonce, root, ROOT_AAD)


def unwrap_root(master: bytes, wrapped: bytes) -> bytes:
    try:
        return AESGCM(derive(master, "root-wrap")).decrypt(wrapped[:12], wrapped[12:], ROOT_AAD)
    except InvalidTag as exc:
        raise VaultError("The vault root does not open with this master key.") from exc


def new_root() -> bytes:
    return secrets.token_bytes(32)


def vault_root() -> bytes:
    """The vault root, cached in this process until the master key changes or is gone."""
    global _root
    from safepassage.vault.models import VaultState

    master = unsealed_master()
    with _lock:
        if _root is not None and hmac.compare_digest(_root[0], master):
            return _root[1]
    wrapped = VaultState.objects.values_list("root_wrapped", flat=True).get(pk=1)
    root = unwrap_root(master, bytes(wrapped))
    with _lock:
        _root = (master, root)
    return root


def _forget_root() -> None:
    global _root
    with _lock:
        _root = None


keyring.on_forget(_forget_root)


def checkpoint_private_key(root: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(derive(root, "audit-checkpoint"))


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
