"""Field encryption under per-record data keys: need-to-know, place-bound ciphertexts, shredding."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safepassage.vault import crypto, services
from safepassage.vault.crypto import Undecryptable
from safepassage.vault.keyring import VaultError
from safepassage.vault.models import DataKeyWrap, OrganisationKey


def _place(pk: object = 7, field: str = "name") -> dict[str, Any]:
    return {"table": "cases_case", "field": field, "pk": pk}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=300))
def test_any_text_comes_back_as_it_went_in(unsealed: None, orgs: dict[str, Any], value: str) -> None:
    row, key = crypto.data_key_create(organisation_ids=[orgs["moscow"].pk])
    blob = crypto.field_seal(key, value=value, **_place())
    opened = crypto.data_key_open(row.pk, orgs["moscow"].pk)
    assert crypto.field_open(opened, blob=blob, **_place()) == value


def test_a_ciphertext_copied_to_another_row_or_field_fails(unsealed: None, orgs: dict[str, Any]) -> None:
    _row, key = crypto.data_key_create(organisation_ids=[orgs["moscow"].pk])
    blob = crypto.field_seal(key, value="Магомед", **_place(pk=7, field="name"))
    with pytest.raises(Undecryptable):
        crypto.field_open(key, blob=blob, **_place(pk=8, field="name"))
    with pytest.raises(Undecryptable):
        crypto.field_open(key, blob=blob, **_place(pk=7, field="location"))
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(Undecryptable):
        crypto.field_open(key, blob=flipped, **_place())


def test_only_organisations_with_a_wrap_can_open_the_record(unsealed: None, orgs: dict[str, Any]) -> None:
    row, _key = crypto.data_key_create(organisation_ids=[orgs["moscow"].pk])
    with pytest.raises(Undecryptable):
        crypto.data_key_open(row.pk, orgs["railroad"].pk)
    crypto.data_key_share(
        data_key_id=row.pk, from_organisation_id=orgs["moscow"].pk, to_organisation_id=orgs["railroad"].pk
    )
    assert crypto.data_key_open(row.pk, orgs["railroad"].pk) == crypto.data_key_open(
        row.pk, orgs["moscow"].pk
    )


def test_nothing_opens_while_sealed(unsealed: None, orgs: dict[str, Any]) -> None:
    row, _key = crypto.data_key_create(organisation_ids=[orgs["moscow"].pk])
    services.vault_seal()
    with pytest.raises(VaultError, match="sealed"):
        crypto.data_key_open(row.pk, orgs["moscow"].pk)


def test_shredding_destroys_every_wrap_of_the_key(unsealed: None, orgs: dict[str, Any]) -> None:
    row, key = crypto.data_key_create(organisation_ids=[orgs["moscow"].pk, orgs["railroad"].pk])
    blob = crypto.field_seal(key, value="safe house on Tverskaya", **_place())
    crypto.data_key_destroy(row.pk)
    assert not DataKeyWrap.objects.filter(data_key_id=row.pk).exists()
    for org in ("moscow", "railroad"):
        with pytest.raises(Undecryptable):
            crypto.data_key_open(row.pk, orgs[org].pk)
    assert b"Tverskaya" not in blob


def test_keys_are_stored_only_wrapped(unsealed: None, orgs: dict[str, Any]) -> None:
    row, key = crypto.data_key_create(organisation_ids=[orgs["moscow"].pk])
    org_key = crypto.organisation_key(orgs["moscow"].pk)
    stored = [bytes(w.wrapped) for w in DataKeyWrap.objects.all()] + [
        bytes(k.wrapped) for k in OrganisationKey.objects.all()
    ]
    assert all(key not in blob and org_key not in blob for blob in stored)
    assert crypto.data_key_open(row.pk, orgs["moscow"].pk) == key
