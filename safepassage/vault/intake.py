"""Sealed intake: each organisation's X25519 key pair (PyNaCl sealed boxes).

The public key is stored plain, so the public face seals a help request and its files to the receiving
organisation while the vault is sealed and without ever holding a private key. The private key is wrapped under
the organisation key, so opening needs the vault unsealed. A sealed box has no associated data, so the place
("<table>/<field>/<id>") is sealed inside and checked on opening: a box copied elsewhere is refused.
Files use a random file key sealed to the organisation, then the streamed format of files.py.

Arrivals (help requests, requesters' messages and files) get an ordinary per-record data key with its shred
secret, so erasing them later defeats old dumps like any record. The public face cannot wrap that key under the
organisation key, so it seals it to the intake public key (`ArrivalWrap`); the staff face, unsealed, adopts it
into an ordinary wrap and the sealed copy is deleted (`arrivals_adopt`).
"""

from __future__ import annotations

import datetime
import hmac
import logging
import secrets
import uuid
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from safepassage.vault import files, shredstore
from safepassage.vault.crypto import (
    Undecryptable,
    current_organisation_key,
    data_key_wrap,
    lock_generation,
    open_organisation_key,
    record_key,
    seal,
    unseal,
)
from safepassage.vault.keyring import VaultError, master_key
from safepassage.vault.models import ArrivalWrap, DataKey, DataKeyWrap, IntakeKey

logger = logging.getLogger(__name__)

_BOX = 32 + 16 + 32  # ephemeral public key, tag, file key


def private_key_aad(organisation_id: int) -> str:
    return f"intake-key/{organisation_id}"


def intake_key_create(organisation_id: int) -> IntakeKey:
    """The organisation's key pair, made once (needs the vault unsealed). Under the vault row's lock, so that a
    rotation never re-wraps intake keys while one is being made under the generation it is retiring."""
    existing = IntakeKey.objects.filter(organisation_id=organisation_id).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        lock_generation()
        existing = IntakeKey.objects.filter(organisation_id=organisation_id).first()
        if existing is not None:
            return existing
        private = PrivateKey.generate()
        row = current_organisation_key(organisation_id)
        return IntakeKey.objects.create(
            organisation_id=organisation_id,
            public_key=bytes(private.public_key),
            organisation_key=row,
            private_wrapped=seal(
                open_organisation_key(row), bytes(private), private_key_aad(organisation_id)
            ),
        )


def intake_keys_ensure() -> int:
    """Give every organisation without one an intake key pair; run at unseal and when an organisation is made."""
    from safepassage.accounts.models import Organisation

    if master_key() is None:
        return 0
    missing = Organisation.objects.exclude(pk__in=IntakeKey.objects.values("organisation_id")).values_list(
        "pk", flat=True
    )
    made = 0
    for organisation_id in missing:
        intake_key_create(organisation_id)
        made += 1
    return made


def intake_public_key(organisation_id: int) -> PublicKey:
    """Works while sealed. VaultError when the organisation has no key yet (made at the next unseal)."""
    public = (
        IntakeKey.objects.filter(organisation_id=organisation_id).values_list("public_key", flat=True).first()
    )
    if public is None:
        raise VaultError("This organisation cannot receive sealed requests yet.")
    return PublicKey(bytes(public))


def _private_key(organisation_id: int) -> PrivateKey:
    row = IntakeKey.objects.select_related("organisation_key").filter(organisation_id=organisation_id).first()
    if row is None:
        raise Undecryptable("no intake key for this organisation")
    raw = unseal(
        open_organisation_key(row.organisation_key),
        bytes(row.private_wrapped),
        private_key_aad(organisation_id),
    )
    return PrivateKey(raw)


def intake_seal(organisation_id: int, data: bytes, *, place: str) -> bytes:
    """Seal to the organisation's public key (no private key needed, works while sealed)."""
    return SealedBox(intake_public_key(organisation_id)).encrypt(place.encode() + b"\0" + data)


def intake_open(organisation_id: int, blob: bytes, *, place: str) -> bytes:
    try:
        plain = SealedBox(_private_key(organisation_id)).decrypt(bytes(blob))
    except CryptoError as exc:
        raise Undecryptable("not sealed to this organisation, or tampered") from exc
    where, _, data = plain.partition(b"\0")
    if not hmac.compare_digest(where, place.encode()):
        raise Undecryptable("sealed for another place")
    return data


def intake_seal_stream(
    organisation_id: int, source: BinaryIO | Iterable[bytes], sink: BinaryIO, *, place: str
) -> int:
    """A file sealed to the organisation, streamed; returns the plaintext size."""
    file_key = secrets.token_bytes(32)
    sink.write(SealedBox(intake_public_key(organisation_id)).encrypt(file_key))
    return files.encrypt_stream(file_key, source, sink, place=place)


def intake_open_stream(organisation_id: int, source: BinaryIO, *, place: str) -> Iterator[bytes]:
    try:
        file_key = SealedBox(_private_key(organisation_id)).decrypt(source.read(_BOX))
    except CryptoError as exc:
        raise Undecryptable("not sealed to this organisation, or tampered") from exc
    yield from files.decrypt_stream(file_key, source, place=place)


def _arrival_place(data_key_id: object, organisation_id: int) -> bytes:
    return f"arrival/{data_key_id}/{organisation_id}".encode()


def arrival_key_create(organisation_id: int, *, public_key: bytes | None = None) -> tuple[DataKey, bytes]:
    """For the public face, sealed or not: a fresh data key for something that arrives, sealed to the
    organisation's intake public key; returns the row and the record key to seal the fields with. Run it inside
    the transaction that stores the arrival. The key row carries the day only, like everything that arrives."""
    public = intake_public_key(organisation_id) if public_key is None else PublicKey(public_key)
    key = secrets.token_bytes(32)
    record_id = uuid.uuid4()
    secret = shredstore.create(str(record_id))  # first, so no record exists without its secret
    row = DataKey.objects.create(pk=record_id)  # created_at: the day only
    ArrivalWrap.objects.create(
        data_key=row,
        organisation_id=organisation_id,
        sealed=SealedBox(public).encrypt(_arrival_place(record_id, organisation_id) + b"\0" + key),
    )
    return row, record_key(key, secret)


ADOPT_BATCH = 200


def arrivals_adopt(organisation_id: int, *, batches: int | None = 2) -> list[str]:
    """Staff face, unsealed: arrivals sealed to the organisation become ordinary wraps under its organisation
    key, and the sealed copies are deleted. In batches of ADOPT_BATCH, one short transaction each, at most
    `batches` of them (None: all), so a flood of arrivals never holds the vault row's lock for long or outgrows
    a page's time: a page adopts a little, `safepassage intake adopt` the rest. Returns the adopted data key
    ids. One that does not open (damaged) is logged and left for an operator."""
    adopted: list[str] = []
    done = 0
    skip: set[uuid.UUID] = set()  # damaged ones, left in place
    while batches is None or done < batches:
        rows = list(
            ArrivalWrap.objects.filter(organisation_id=organisation_id)
            .exclude(data_key_id__in=skip)
            .order_by("data_key_id")[:ADOPT_BATCH]
        )
        if not rows:
            break
        done += 1
        box = SealedBox(_private_key(organisation_id))
        batch: list[uuid.UUID] = []
        with transaction.atomic():
            lock_generation()
            # A sealed box proves nothing about its sender: anyone may seal to the public key. An arrival wrap
            # for a data key that has wraps already is forged (it would replace an existing record's key).
            wrapped = set(
                DataKeyWrap.objects.filter(data_key_id__in=[r.data_key_id for r in rows]).values_list(
                    "data_key_id", flat=True
                )
            )
            forged = [r.data_key_id for r in rows if r.data_key_id in wrapped]
            if forged:
                logger.error("arrival wraps for data keys that have wraps already were refused: %s", forged)
                ArrivalWrap.objects.filter(data_key_id__in=forged).delete()
            for row in rows:
                if row.data_key_id in wrapped:
                    continue
                try:
                    where, _, key = box.decrypt(bytes(row.sealed)).partition(b"\0")
                except CryptoError:
                    logger.error("an arrival wrap does not open (damaged): data key %s", row.data_key_id)
                    skip.add(row.data_key_id)
                    continue
                if not hmac.compare_digest(where, _arrival_place(row.data_key_id, organisation_id)):
                    logger.error("an arrival wrap was sealed for another place: data key %s", row.data_key_id)
                    skip.add(row.data_key_id)
                    continue
                data_key_wrap(row.data_key_id, organisation_id, key)
                batch.append(row.data_key_id)
            ArrivalWrap.objects.filter(organisation_id=organisation_id, data_key_id__in=batch).delete()
        adopted += [str(data_key_id) for data_key_id in batch]
    return adopted


def arrival_day(moment: datetime.datetime | None = None) -> datetime.date:
    """The day, in UTC: the finest time kept with anything that arrives from the public."""
    return (moment or timezone.now()).astimezone(datetime.UTC).date()
