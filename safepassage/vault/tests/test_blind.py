"""Blind indexes find the same person across scripts and spellings, and mean nothing without the key."""

from __future__ import annotations

import hashlib
import hmac
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safepassage.lib.normalise import name_family, phone_e164
from safepassage.vault import services
from safepassage.vault.blind import INDEXES, blind_index, index_bits
from safepassage.vault.keyring import VaultError
from safepassage.vault.keys import derive, vault_root


@pytest.mark.parametrize(
    "spellings",
    [
        ["Магомед", "Magomed", "Mohammed", "Muhammad", "Мухаммед"],
        ["Джамбулат", "Dzhambulat", "Djambulat", "Jambulat"],
        ["Хамзат", "Khamzat", "Hamzat"],
    ],
)
def test_one_name_in_many_spellings_is_one_family(spellings: list[str]) -> None:
    assert len({name_family(s) for s in spellings}) == 1


def test_phone_numbers_become_e164() -> None:
    assert phone_e164("8 916 123-45-67") == phone_e164("+7 (916) 123 45 67") == "+79161234567"
    assert phone_e164("070-123 45 67", "SE") == "+46701234567"
    assert phone_e164("not a number") == ""


@given(name=st.text(max_size=60))
def test_name_family_never_fails(name: str) -> None:
    assert name_family(name) == name_family(name).strip()


@given(rows=st.integers(min_value=16, max_value=10**12))
def test_index_sizes_follow_the_ciphersweet_rule(rows: int) -> None:
    bits = index_bits(rows)
    assert 2 <= rows / 2**bits < math.sqrt(rows)


def test_the_same_family_gets_the_same_index(unsealed: None) -> None:
    assert blind_index("name", "Магомед") == blind_index("name", "Mohammed") is not None
    assert blind_index("name", "") is None
    # Truncated, so different families may share a value, but the index still tells most apart.
    names = [f"Va{a}o{b}a" for a in "bdfklmnprt" for b in "bdfklmnprt"]  # 100 different families
    assert len({blind_index("name", n) for n in names}) > 80
    assert all(0 <= (blind_index("name", n) or 0) < 2 ** INDEXES["name"].bits for n in names)


def test_each_index_has_its_own_key(unsealed: None) -> None:
    # The same normalised text under two indexes must not line up, or one would leak into the other:
    # "1990" as a birth year, and "1990" hashed with the name index's key as an intruder would try.
    name_key = derive(vault_root(), "blind-index/name")
    as_name = int.from_bytes(hmac.new(name_key, b"1990", hashlib.sha256).digest(), "big") >> (
        256 - INDEXES["name"].bits
    )
    assert blind_index("birth_year", "1990") != as_name
    assert blind_index("name_birth_year", "Магомед", 1990) == blind_index(
        "name_birth_year", "Magomed", "1990"
    )
    assert blind_index("name_birth_year", "Magomed", "unknown") is None


def test_no_index_without_the_master_key(unsealed: None) -> None:
    services.vault_seal()
    with pytest.raises(VaultError, match="sealed"):
        blind_index("phone", "+79161234567")
