"""Keys derived from the master key and from the vault root: one HKDF label per purpose, so no key serves two.

The vault root is a random key wrapped under the master key (VaultState.root_wrapped). Keys that must outlive a
rotation of the master key derive from it: the blind-index keys (changing them would mean decrypting every
indexed value) and the audit checkpoint key (trustees' checkpoint files must still verify).
"""

from __future__ import annotations

import secrets
import threading
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.utils.translation import gettext as _

from safepassage.vault import keyring
from safepassage.vault.keyring import VaultError

ROOT_AAD = b"safepassage/vault-root"
_lock = threading.Lock()
_root: tuple[int, bytes] | None = None  # (keyring epoch it was opened in, root)


def derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"safepassage/{purpose}".encode()
    ).derive(master)


_verified: tuple[int, float] | None = None  # (keyring epoch, monotonic time) of the last check


class StaleKey(VaultError):
    """The node's master key is not the one the database expects (a rotation happened elsewhere)."""


def stale_key() -> StaleKey:
    return StaleKey(_("This node holds an old master key. Seal it and unseal it with the newest shares."))


def unsealed_master() -> bytes:
    """The master key, checked against the database's check value once per key and every few seconds, so that
    a node left with an old key (another node rotated) stops instead of writing under it."""
    global _verified
    master = keyring.master_key()
    if master is None:
        raise VaultError(_("The vault is sealed."))
    now = time.monotonic()
    verified = _verified
    if (
        verified is None
        or verified[0] != keyring.epoch()
        or now - verified[1] > settings.VAULT_VERIFY_SECONDS
    ):
        from safepassage.vault.models import VaultState

        expected = VaultState.objects.filter(pk=1).values_list("key_check", flat=True).first()
        upcoming = keyring.next_key()  # in the instant of a rotation's switch, about to replace this one
        if (
            expected is not None
            and keyring.key_check(master) != expected
            and (upcoming is None or keyring.key_check(upcoming) != expected)
        ):
            raise stale_key()
        _verified = (keyring.epoch(), now)
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
    epoch = keyring.epoch()
    with _lock:
        if _root is not None and _root[0] == epoch:
            return _root[1]
    wrapped = bytes(VaultState.objects.values_list("root_wrapped", flat=True).get(pk=1))
    try:
        root = unwrap_root(master, wrapped)
    except VaultError:
        upcoming = keyring.next_key()  # the instant of a rotation's switch
        if upcoming is None:
            raise
        root = unwrap_root(upcoming, wrapped)
    with _lock:
        if keyring.epoch() == epoch:  # not dropped meanwhile
            _root = (epoch, root)
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
