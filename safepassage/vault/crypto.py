"""Organisation keys, per-record data keys and field encryption (AES-256-GCM), under the master key.

Every ciphertext carries its place as associated data ("<table>/<field>/<id>"), so one copied into another row
or field fails to decrypt instead of showing the wrong person's data. Decrypt only what is displayed: callers
open one field at a time with the data key of the record, for the organisation the reader acts for.
"""

from __future__ import annotations

import secrets
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, transaction
from django.utils import timezone

from safepassage.vault.keyring import VaultError
from safepassage.vault.keys import derive, unsealed_master
from safepassage.vault.models import DataKey, DataKeyWrap, OrganisationKey

VERSION = b"\x01"


class Undecryptable(VaultError):
    """Tampered, moved, or its key is gone (shredded, or never shared with this organisation)."""


def seal(key: bytes, plaintext: bytes, aad: str) -> bytes:
    nonce = secrets.token_bytes(12)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad.encode())


def unseal(key: bytes, blob: bytes, aad: str) -> bytes:
    if len(blob) < 29 or blob[:1] != VERSION:
        raise Undecryptable("not a Safe Passage ciphertext")
    try:
        return AESGCM(key).decrypt(blob[1:13], blob[13:], aad.encode())
    except InvalidTag as exc:
        raise Undecryptable("tampered, moved to another place, or under another key") from exc


def organisation_key(organisation_id: int) -> bytes:
    """The organisation's key, made on first use; needs the vault unsealed."""
    wrapping = derive(unsealed_master(), "organisation-key-wrap")
    aad = f"organisation-key/{organisation_id}"
    row = OrganisationKey.objects.filter(organisation_id=organisation_id).first()
    if row is None:
        key = secrets.token_bytes(32)
        try:
            with transaction.atomic():
                OrganisationKey.objects.create(
                    organisation_id=organisation_id, wrapped=seal(wrapping, key, aad)
                )
            return key
        except IntegrityError:  # another process made it first: use theirs
            row = OrganisationKey.objects.get(organisation_id=organisation_id)
    return unseal(wrapping, bytes(row.wrapped), aad)


def _wrap_aad(data_key_id: uuid.UUID, organisation_id: int) -> str:
    return f"data-key/{data_key_id}/{organisation_id}"


def data_key_create(*, organisation_ids: list[int]) -> tuple[DataKey, bytes]:
    """A fresh random data key for one record, wrapped for each organisation allowed to read it."""
    key = secrets.token_bytes(32)
    with transaction.atomic():
        row = DataKey.objects.create()
        for organisation_id in organisation_ids:
            DataKeyWrap.objects.create(
                data_key=row,
                organisation_id=organisation_id,
                wrapped=seal(organisation_key(organisation_id), key, _wrap_aad(row.pk, organisation_id)),
            )
    return row, key


def data_key_open(data_key_id: uuid.UUID, organisation_id: int) -> bytes:
    """The record's data key for a reader of this organisation; Undecryptable without a wrap for it."""
    wrap = DataKeyWrap.objects.filter(data_key_id=data_key_id, organisation_id=organisation_id).first()
    if wrap is None:
        raise Undecryptable("no key for this organisation")
    return unseal(
        organisation_key(organisation_id), bytes(wrap.wrapped), _wrap_aad(data_key_id, organisation_id)
    )


def data_key_share(*, data_key_id: uuid.UUID, from_organisation_id: int, to_organisation_id: int) -> None:
    """Let another organisation read the record (a referral): wrap its data key once more."""
    key = data_key_open(data_key_id, from_organisation_id)
    DataKeyWrap.objects.update_or_create(
        data_key_id=data_key_id,
        organisation_id=to_organisation_id,
        defaults={
            "wrapped": seal(
                organisation_key(to_organisation_id), key, _wrap_aad(data_key_id, to_organisation_id)
            )
        },
    )


def data_key_destroy(data_key_id: uuid.UUID) -> None:
    """Crypto-shredding in the live database: every wrap of the key is gone, so is every reading of the record."""
    with transaction.atomic():
        DataKeyWrap.objects.filter(data_key_id=data_key_id).delete()
        DataKey.objects.filter(pk=data_key_id).update(destroyed_at=timezone.now())


def field_seal(key: bytes, *, table: str, field: str, pk: object, value: str) -> bytes:
    return seal(key, value.encode(), f"{table}/{field}/{pk}")


def field_open(key: bytes, *, table: str, field: str, pk: object, blob: bytes) -> str:
    return unseal(key, bytes(blob), f"{table}/{field}/{pk}").decode()
