"""Organisation keys, per-record data keys and field encryption (AES-256-GCM), under the master key.

Every ciphertext carries its place as associated data ("<table>/<field>/<id>"), so one copied into another row
or field fails to decrypt instead of showing the wrong person's data. Decrypt only what is displayed: callers
open one field at a time with the key of the record, for the organisation the reader acts for.

A record's key is keyed BLAKE2b(shred secret, data key), a PRF: the data key is random and wrapped
once per organisation allowed to read (no wrap, no reading: need-to-know in the crypto too); the shred secret
lives in the shred store outside the database, and erasing the record forgets it (see shredstore.py).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import uuid
from collections.abc import Iterable
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from safepassage.vault import keyring, shredstore
from safepassage.vault.keyring import VaultError
from safepassage.vault.keys import StaleKey, derive, stale_key, unsealed_master
from safepassage.vault.models import ArrivalWrap, DataKey, DataKeyWrap, OrganisationKey, VaultState

VERSION = b"\x01"
logger = logging.getLogger(__name__)
_lock = threading.Lock()
# Filled while unsealed, emptied when the keyring drops the master key; an entry remembers the keyring epoch it
# was made in, so one filled during a drop is never used.
_organisation_keys: dict[int, tuple[int, bytes, int]] = {}  # OrganisationKey.pk -> (epoch, key, generation)
_current_ids: dict[int, tuple[int, int]] = {}  # organisation -> (epoch, its current OrganisationKey.pk)


class Undecryptable(VaultError):
    """Tampered, moved, or its key is gone (shredded, or never shared with this organisation)."""


def seal(key: bytes, plaintext: bytes, aad: str) -> bytes:
    nonce = secrets.token_bytes(12)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad.encode())


def looks_sealed(blob: bytes) -> bool:
    """Shaped like seal()'s output (version, nonce, tag): what a sealed column accepts."""
    return len(blob) >= 29 and blob[:1] == VERSION


def unseal(key: bytes, blob: bytes, aad: str) -> bytes:
    return open_with(AESGCM(key), blob, aad)


def open_with(aead: AESGCM, blob: bytes, aad: str) -> bytes:
    """unseal() with a cipher object made once for several values under one key."""
    if not looks_sealed(blob):
        raise Undecryptable("not a Safe Passage ciphertext")
    try:
        return aead.decrypt(blob[1:13], blob[13:], aad.encode())
    except InvalidTag as exc:
        raise Undecryptable("tampered, moved to another place, or under another key") from exc


def _generation() -> Subquery:
    return Subquery(VaultState.objects.filter(pk=1).values("generation")[:1])


def organisation_key_wrap(master: bytes) -> bytes:
    return derive(master, "organisation-key-wrap")


def _organisation_key_aad(row: OrganisationKey) -> str:
    return f"organisation-key/{row.organisation_id}/{row.generation}"


def unwrap_organisation_key(row: OrganisationKey, master: bytes) -> bytes:
    return unseal(organisation_key_wrap(master), bytes(row.wrapped), _organisation_key_aad(row))


def open_organisation_key(row: OrganisationKey) -> bytes:
    """Unwrap an organisation key, cached in this process until the master key changes or is gone (the keyring
    calls forget_cached_keys then)."""
    master = unsealed_master()
    epoch = keyring.epoch()
    with _lock:
        cached = _organisation_keys.get(row.pk)
    if cached is not None and cached[0] == epoch:
        return cached[1]
    try:
        key = unwrap_organisation_key(row, master)
    except Undecryptable:
        # The instant between a rotation's switch and its new master key reaching tmpfs.
        upcoming = keyring.next_key()
        if upcoming is None:
            raise
        key = unwrap_organisation_key(row, upcoming)
    with _lock:
        if len(_organisation_keys) > 10_000:
            _organisation_keys.clear()
        if keyring.epoch() == epoch:
            _organisation_keys[row.pk] = (epoch, key, row.generation)
    return key


def _organisation_keys_by_pk(pks: set[int]) -> dict[int, tuple[bytes, int]]:
    unsealed_master()  # drops the cache first if the master key changed
    epoch = keyring.epoch()
    with _lock:
        found = {
            pk: (entry[1], entry[2])
            for pk in pks
            if (entry := _organisation_keys.get(pk)) is not None and entry[0] == epoch
        }
    missing = pks - found.keys()
    if missing:
        for row in OrganisationKey.objects.filter(pk__in=missing):
            found[row.pk] = (open_organisation_key(row), row.generation)
    return found


def forget_cached_keys() -> None:
    with _lock:
        _organisation_keys.clear()
        _current_ids.clear()


keyring.on_forget(forget_cached_keys)


def organisation_key_create(organisation_id: int, generation: int | None, master: bytes) -> OrganisationKey:
    """The organisation's key of this generation (None: the current one), made now if there is none, wrapped
    under the master key the database expects for that generation: the given one or, in the instant of a
    rotation's switch, the new one waiting in tmpfs. A node holding an old master key is refused (StaleKey),
    so no key is ever wrapped under a master key that the trustees' newest shares do not rebuild."""
    with transaction.atomic():
        state = VaultState.objects.select_for_update().get(pk=1)
        generation = state.generation if generation is None else generation
        existing = OrganisationKey.objects.filter(
            organisation_id=organisation_id, generation=generation
        ).first()
        if existing is not None:
            return existing
        if generation == state.generation:
            expected = state.key_check
        elif generation == state.generation + 1 and state.next_key_check:
            expected = state.next_key_check
        else:
            raise StaleKey("no such key generation")
        chosen = next(
            (key for key in (master, keyring.next_key()) if key and keyring.key_check(key) == expected), None
        )
        if chosen is None:
            raise stale_key()
        row = OrganisationKey(organisation_id=organisation_id, generation=generation)
        row.wrapped = seal(organisation_key_wrap(chosen), secrets.token_bytes(32), _organisation_key_aad(row))
        row.save()
        return row


def current_organisation_key(organisation_id: int) -> OrganisationKey:
    """The organisation's key row of the current generation, made on first use; needs the vault unsealed."""
    row = OrganisationKey.objects.filter(organisation_id=organisation_id, generation=_generation()).first()
    if row is None:
        row = organisation_key_create(organisation_id, None, unsealed_master())
    return row


def organisation_key(organisation_id: int) -> bytes:
    return open_organisation_key(current_organisation_key(organisation_id))


def wrap_aad(data_key_id: uuid.UUID | str, organisation_id: int, generation: int) -> str:
    return f"data-key/{data_key_id}/{organisation_id}/{generation}"


def _wrap(data_key_id: uuid.UUID, organisation_id: int, key: bytes) -> None:
    row = current_organisation_key(organisation_id)
    DataKeyWrap.objects.update_or_create(
        data_key_id=data_key_id,
        organisation_key=row,
        defaults={
            "organisation_id": organisation_id,
            "wrapped": seal(
                open_organisation_key(row), key, wrap_aad(data_key_id, organisation_id, row.generation)
            ),
        },
    )


def data_key_wrap(data_key_id: uuid.UUID, organisation_id: int, key: bytes) -> None:
    """Wrap a data key for an organisation; the caller holds lock_generation() in its transaction."""
    _wrap(data_key_id, organisation_id, key)


def lock_generation() -> None:
    """Hold the vault row while adding or removing wraps, so that a rotation re-wraps and switches generations
    between such writers, never under one (SQLite writers are serialised anyway)."""
    VaultState.objects.select_for_update().filter(pk=1).first()


def record_key(data_key: bytes, shred_secret: bytes) -> bytes:
    """Keyed BLAKE2b, a PRF: without the shred secret the data key alone gives nothing."""
    return hashlib.blake2b(data_key, key=shred_secret, digest_size=32, person=b"sp-record-key").digest()


def data_key_create(*, organisation_ids: list[int]) -> tuple[DataKey, bytes]:
    """A fresh key for one record, wrapped for each organisation allowed to read it; returns the record key."""
    unsealed_master()
    key = secrets.token_bytes(32)
    record_id = uuid.uuid4()
    secret = shredstore.create(str(record_id))  # first, so no record exists without its secret
    with transaction.atomic():
        lock_generation()
        row = DataKey.objects.create(pk=record_id)
        for organisation_id in organisation_ids:
            _wrap(row.pk, organisation_id, key)
    return row, record_key(key, secret)


class WrappedKey(NamedTuple):
    """One wrap of a record's data key, as a query returns it."""

    data_key_id: str
    organisation_id: int
    organisation_key_id: int
    wrapped: bytes


def record_keys(entries: Iterable[WrappedKey]) -> dict[str, bytes]:
    """Record keys from their wraps: each organisation key opened once, the shred secrets fetched at once.
    Erased records are missing from the answer."""
    entries = list(entries)
    if not entries:
        return {}
    organisation_keys = _organisation_keys_by_pk({entry.organisation_key_id for entry in entries})
    secrets_by_id = shredstore.fetch(entry.data_key_id for entry in entries)
    ciphers = {pk: (AESGCM(key), generation) for pk, (key, generation) in organisation_keys.items()}
    keys: dict[str, bytes] = {}
    for entry in entries:
        secret = secrets_by_id.get(entry.data_key_id)
        if secret is None:
            continue  # erased
        cipher, generation = ciphers[entry.organisation_key_id]
        try:
            data_key = open_with(
                cipher, bytes(entry.wrapped), wrap_aad(entry.data_key_id, entry.organisation_id, generation)
            )
        except Undecryptable:
            # One damaged or moved wrap must not take the page down: that record shows as unavailable.
            logger.error("a data-key wrap does not open (damaged or moved): data key %s", entry.data_key_id)
            continue
        keys[entry.data_key_id] = record_key(data_key, secret)
    return keys


def data_keys_open(data_key_ids: Iterable[uuid.UUID | str], organisation_id: int) -> dict[str, bytes]:
    """Record keys for a page of records in one query; records this organisation may not read, or erased ones,
    are missing from the answer."""
    unsealed_master()
    ids = [uuid.UUID(str(i)) for i in data_key_ids]
    if not ids:
        return {}
    rows = DataKeyWrap.objects.filter(
        organisation_id=organisation_id, organisation_key__generation=_generation(), data_key_id__in=ids
    ).values_list("data_key_id", "organisation_key_id", "wrapped")
    return record_keys(
        WrappedKey(str(data_key_id), organisation_id, organisation_key_id, bytes(wrapped))
        for data_key_id, organisation_key_id, wrapped in rows
    )


def current_organisation_key_id(organisation_id: int) -> int | None:
    """The id of the organisation's current key, for joining its wraps into a page's query (fields.with_keys);
    cached in this process until the master key changes (a rotation) or is gone."""
    unsealed_master()
    epoch = keyring.epoch()
    with _lock:
        cached = _current_ids.get(organisation_id)
    if cached is not None and cached[0] == epoch:
        return cached[1]
    found = (
        OrganisationKey.objects.filter(organisation_id=organisation_id, generation=_generation())
        .values_list("pk", flat=True)
        .first()
    )
    if found is not None:
        with _lock:
            if keyring.epoch() == epoch:
                _current_ids[organisation_id] = (epoch, found)
    return found


def data_key_open(data_key_id: uuid.UUID | str, organisation_id: int) -> bytes:
    """The record key for a reader of this organisation; Undecryptable without a wrap for it."""
    key = data_keys_open([data_key_id], organisation_id).get(str(data_key_id))
    if key is None:
        raise Undecryptable("no key for this organisation")
    return key


def _data_key(data_key_id: uuid.UUID, organisation_id: int) -> bytes:
    wrap = (
        DataKeyWrap.objects.filter(
            data_key_id=data_key_id,
            organisation_id=organisation_id,
            organisation_key__generation=_generation(),
        )
        .select_related("organisation_key")
        .first()
    )
    if wrap is None:
        raise Undecryptable("no key for this organisation")
    return unseal(
        open_organisation_key(wrap.organisation_key),
        bytes(wrap.wrapped),
        wrap_aad(data_key_id, organisation_id, wrap.organisation_key.generation),
    )


def data_key_share(*, data_key_id: uuid.UUID, from_organisation_id: int, to_organisation_id: int) -> None:
    """Let another organisation read the record (a referral): wrap its data key once more."""
    with transaction.atomic():
        lock_generation()
        _wrap(data_key_id, to_organisation_id, _data_key(data_key_id, from_organisation_id))


def data_key_unshare(*, data_key_id: uuid.UUID, organisation_id: int) -> None:
    """Take the record back from an organisation (a revoked referral): its wraps are destroyed at once."""
    with transaction.atomic():
        lock_generation()
        DataKeyWrap.objects.filter(data_key_id=data_key_id, organisation_id=organisation_id).delete()


def data_key_destroy(data_key_id: uuid.UUID) -> None:
    """Crypto-shredding: the shred secret is forgotten (so dumps taken before now cannot read the record either),
    then every wrap of the key goes."""
    shredstore.forget(str(data_key_id))
    with transaction.atomic():
        lock_generation()
        DataKeyWrap.objects.filter(data_key_id=data_key_id).delete()
        ArrivalWrap.objects.filter(data_key_id=data_key_id).delete()
        DataKey.objects.filter(pk=data_key_id).update(destroyed_at=timezone.now())


def field_seal(key: bytes, *, table: str, field: str, pk: object, value: str) -> bytes:
    return seal(key, value.encode(), f"{table}/{field}/{pk}")


def field_open(key: bytes, *, table: str, field: str, pk: object, blob: bytes) -> str:
    return unseal(key, bytes(blob), f"{table}/{field}/{pk}").decode()
