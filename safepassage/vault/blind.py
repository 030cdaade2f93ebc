"""Blind indexes: exact lookups on encrypted values without decrypting them.

An index is HMAC-SHA256 of the normalised value under the index's own key (derived from the vault root, itself
wrapped under the master key, so useless without it), truncated to L bits. L follows CipherSweet's sizing rule for the expected row count R:
every index value should be shared by at least 2 rows and fewer than √R rows, that is
2 <= R / 2^L < √R, so we take the largest L with 2^L <= R / 2 (and check 2^L > √R). docs/vault.md has the
figures per index. Compound indexes (name + birth year) exist because either alone is too coarse to find a
person and both together, untruncated, would single one out.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass

from safepassage.lib.normalise import birth_year, contact_handle, name_family, phone_e164
from safepassage.vault.keys import derive, vault_root


def index_bits(expected_rows: int) -> int:
    """Largest L with R / 2^L >= 2; the rule also needs R / 2^L < √R, which holds for R >= 16."""
    if expected_rows < 16:
        raise ValueError("a blind index needs an expected row count of at least 16")
    bits = expected_rows.bit_length() - 2  # floor(log2(R / 2)), in integers
    assert 2 <= expected_rows / 2**bits < math.sqrt(expected_rows)
    return bits


@dataclass(frozen=True)
class BlindIndex:
    name: str
    expected_rows: int
    normalise: Callable[..., str]

    @property
    def bits(self) -> int:
        return index_bits(self.expected_rows)


def _name_and_birth_year(name: str, year: int | str) -> str:
    family, born = name_family(name), birth_year(year)
    return f"{family}\x1f{born}" if family and born else ""


INDEXES = {
    index.name: index
    for index in [
        BlindIndex("name", 100_000, name_family),
        BlindIndex("phone", 100_000, phone_e164),
        BlindIndex("contact", 100_000, contact_handle),
        BlindIndex("birth_year", 100_000, birth_year),
        BlindIndex("name_birth_year", 100_000, _name_and_birth_year),
    ]
}


def blind_index(index_name: str, *values: object) -> int | None:
    """The truncated index of the normalised value(s), or None when nothing normalises (never index "")."""
    index = INDEXES[index_name]
    normalised = index.normalise(*values)
    if not normalised:
        return None
    key = derive(vault_root(), f"blind-index/{index_name}")
    digest = hmac.new(key, normalised.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest, "big") >> (256 - index.bits)
