"""Encrypted model fields for every sensitive value (names, contacts, locations, narratives, notes, payers).

A model that holds personal data subclasses `SealedRecord` and declares its sensitive values as
`SealedTextField`s. Assigning a `str` sets a new value; it is encrypted in `pre_save`, before any SQL, with the
record's key and its place ("<table>/<column>/<id>") as associated data. A plaintext that reaches the database
any other way (`QuerySet.update`, raw values) is refused by the field, not written.

Reading is explicit and lazy: `opened(records, organisation_id)` gets the keys of a whole page at once (with the
rows themselves when the query went through `with_keys`, else in one more query) and returns views whose sealed
attributes decrypt on first access. A template that shows three fields of fifty
rows decrypts 150 values, not every field of every row.

    case = Case(urgency="urgent")
    case.seal_for([organisation.pk])
    case.name = "Магомед"
    case.save()
    [view] = opened([case], organisation.pk)
    view.name  # "Магомед"
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, models
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from safepassage.vault import crypto
from safepassage.vault.keyring import VaultError
from safepassage.vault.models import DataKey, DataKeyWrap

logger = logging.getLogger(__name__)

R = TypeVar("R", bound="SealedRecord")


class SealedTextField(models.BinaryField):  # type: ignore[type-arg]
    """Ciphertext in the database; a str assigned in Python is encrypted before the SQL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> bytes | None:
        return None if value is None else bytes(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if isinstance(value, str):
            if not isinstance(model_instance, SealedRecord):
                raise TypeError("SealedTextField belongs on a SealedRecord")
            value = crypto.field_seal(
                model_instance.record_key(),
                table=model_instance._meta.db_table,
                field=str(self.column),
                pk=model_instance.pk,
                value=value,
            )
            setattr(model_instance, self.attname, value)  # the instance keeps no plaintext either
        return value

    @staticmethod
    def _refuse_plaintext(value: Any) -> None:
        if isinstance(value, str):
            raise TypeError("a plaintext value must be saved through its record, never written directly")
        if value is not None and not crypto.looks_sealed(bytes(value)):
            raise TypeError(
                "a plaintext value must be saved through its record: these bytes are no ciphertext"
            )

    def get_prep_value(self, value: Any) -> Any:
        self._refuse_plaintext(value)
        return super().get_prep_value(value)

    def get_lookup(self, lookup_name: str) -> Any:
        # A lookup such as `contains` would send a plaintext to the database; search through blind indexes.
        if lookup_name not in {"exact", "in", "isnull"}:
            return None
        return super().get_lookup(lookup_name)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        self._refuse_plaintext(value)  # also when the value comes in prepared, past get_prep_value
        return super().get_db_prep_value(value, connection, prepared)


class SealedRecord(models.Model):
    """A record with a random data key; its sealed fields open only for organisations holding a wrap."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+", editable=False)

    data_key_id: uuid.UUID
    _record_key: bytes | None = None

    class Meta:
        abstract = True

    def seal_for(self, organisation_ids: list[int]) -> None:
        """A new record: make its data key, readable by these organisations."""
        row, key = crypto.data_key_create(organisation_ids=organisation_ids)
        self.data_key = row
        self._record_key = key

    def seal_on_arrival(self, organisation_id: int, *, public_key: bytes | None = None) -> None:
        """A new record from the public face, which holds no organisation key: its data key is sealed to the
        organisation's intake public key (works while the vault is sealed; vault.intake.arrivals_adopt).
        `public_key`: the organisation's, when the caller has fetched it already."""
        from safepassage.vault.intake import arrival_key_create

        self.data_key, self._record_key = arrival_key_create(organisation_id, public_key=public_key)

    def open_for(self, organisation_id: int) -> None:
        """An existing record about to be changed by a member of this organisation."""
        self._record_key = crypto.data_key_open(self.data_key_id, organisation_id)

    def record_key(self) -> bytes:
        if self._record_key is None:
            raise VaultError("seal_for() or open_for() first: this record's key is not open")
        return self._record_key

    def erase(self) -> None:
        """Crypto-shredding: the record's key is destroyed; what is stored of it can never be read again."""
        crypto.data_key_destroy(self.data_key_id)
        self._record_key = None


@functools.cache
def sealed_field_names(model: type[models.Model]) -> dict[str, str]:
    """Sealed field name -> its column, per model."""
    return {f.name: str(f.column) for f in model._meta.concrete_fields if isinstance(f, SealedTextField)}


class Opened:
    """A record as one organisation may read it: sealed fields decrypt on first access, others pass through.
    `available` is False when the record was erased or is not shared with the organisation: fields read "".
    Each model gets its own subclass with a property per sealed field (`opened_class`)."""

    __slots__ = ("_aead", "_cache", "_key", "_place", "record")
    _columns: dict[str, str] = {}  # sealed field name -> column, set per model by opened_class

    def __init__(self, record: SealedRecord, key: bytes | None) -> None:
        self.record = record
        self._key = key
        self._aead: AESGCM | None = None
        self._place: tuple[str, str] = ("", "")
        self._cache: dict[str, str] = {}

    @property
    def available(self) -> bool:
        return self._key is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)  # plain fields and methods of the record

    def __getitem__(self, name: str) -> Any:
        """Templates look up `row.name` as `row["name"]` first: answer it here rather than by an exception."""
        column = self._columns.get(name)
        if column is not None:
            return self._read(name, column)
        try:
            return getattr(self.record, name)
        except AttributeError:
            raise KeyError(name) from None

    def _read(self, name: str, column: str) -> str:
        cache = self._cache
        if name in cache:
            return cache[name]
        blob = getattr(self.record, name)
        if blob is None or self._key is None:
            value = ""
        else:
            if self._aead is None:  # the first field shown of this record
                self._aead = AESGCM(self._key)
                self._place = (f"{self.record._meta.db_table}/", f"/{self.record.pk}")
            before, after = self._place
            try:
                value = crypto.open_with(self._aead, blob, before + column + after).decode()
            except crypto.Undecryptable:
                # One damaged or replaced value must not take the page down: it shows as unavailable.
                logger.error("a sealed field does not open: %s of %s", column, self.record.pk)
                self._key = None
                value = ""
        cache[name] = value
        return value


def _sealed_property(name: str, column: str) -> property:
    def read(self: Opened) -> str:
        return self._read(name, column)

    return property(read)


@functools.cache
def opened_class(model: type[models.Model]) -> type[Opened]:
    """Opened, with one property per sealed field of the model."""
    namespace: dict[str, Any] = {"__slots__": (), "_columns": sealed_field_names(model)}
    for name, column in sealed_field_names(model).items():
        namespace[name] = _sealed_property(name, column)
    return type(f"Opened{model.__name__}", (Opened,), namespace)


_WRAP = "vault_wrap"


def with_keys(queryset: QuerySet[R], organisation_id: int) -> QuerySet[R]:
    """The page's own query also brings each record's wrap for this organisation (a subquery on the unique index
    of the organisation's current key), so `opened()` needs no second round trip. Use it before slicing.
    Written as SQL: the ORM would spend longer building the subquery than the database spends running it."""
    current = crypto.current_organisation_key_id(organisation_id)
    quote = connection.ops.quote_name
    column = f"{quote(queryset.model._meta.db_table)}.{quote('data_key_id')}"
    wrap = RawSQL(  # noqa: S611 (no input from outside: model names and a bound parameter)
        f"SELECT w.wrapped FROM {quote(DataKeyWrap._meta.db_table)} w "  # noqa: S608 (names from the models)
        f"WHERE w.data_key_id = {column} AND w.organisation_key_id = %s",
        (current,),
        output_field=models.BinaryField(),
    )
    joined: QuerySet[R] = queryset.annotate(**{_WRAP: wrap})
    return joined


def opened(records: Iterable[SealedRecord], organisation_id: int) -> list[Opened]:
    """Views of a page of records for one organisation: their keys come with the rows (`with_keys`) or are
    fetched in one query."""
    records = list(records)
    ids = [str(record.data_key_id) for record in records]
    if records and all(hasattr(record, _WRAP) for record in records):
        # The wraps came with the rows, for the organisation's current key (with_keys); its id is cached.
        current = crypto.current_organisation_key_id(organisation_id)
        keys = (
            crypto.record_keys(
                crypto.WrappedKey(key_id, organisation_id, current, bytes(getattr(r, _WRAP)))
                for key_id, r in zip(ids, records, strict=True)
                if getattr(r, _WRAP) is not None
            )
            if current is not None
            else {}
        )
    else:
        keys = crypto.data_keys_open(ids, organisation_id)
    return [
        opened_class(type(record))(record, keys.get(key_id))
        for key_id, record in zip(ids, records, strict=True)
    ]
