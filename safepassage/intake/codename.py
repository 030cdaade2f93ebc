"""The requester's codename: seven words from the EFF long word list (7,776 words, 90.5 bits), shown once and
stored nowhere. A slow, memory-hard KDF (Argon2id) turns it into the mailbox's lookup value and into an X25519
key pair whose private half exists only while the requester's request is being answered.

The KDF's cost is a setting (INTAKE_CODENAME_KDF): it protects a codename of 90 bits, so even the cheapest
setting puts a search beyond reach (docs/intake.md has the arithmetic); a slower one costs every submission.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from django.conf import settings
from nacl.public import PrivateKey
from xkcdpass import xkcd_password

WORDS = 7
_SALT = b"safepassage/mailbox/v1"
# A Russian keyboard left in Cyrillic: the same keys give these letters (ЙЦУКЕН over QWERTY).
_CYRILLIC_KEYS = str.maketrans("йцукенгшщзхъфывапролджэячсмитьбюё", "qwertyuiop[]asdfghjkl;'zxcvbnm,.`")


@functools.cache
def word_list() -> tuple[str, ...]:
    with open(xkcd_password.locate_wordfile("eff-long"), encoding="utf-8") as handle:
        words = tuple(line.strip() for line in handle if line.strip())
    if len(words) != 7776 or len(set(words)) != len(words):
        raise RuntimeError("the EFF long word list is not as expected")
    return words


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(word_list())


def new_codename() -> str:
    words = word_list()
    return " ".join(secrets.choice(words) for _ in range(WORDS))


def normalise(entered: str) -> str:
    """What the requester typed, as the codename it most likely is: case, spaces, hyphens and punctuation do
    not matter, and a word typed with the keyboard left in Russian is read as the keys pressed."""
    text = unicodedata.normalize("NFKC", entered).casefold()
    words = []
    for word in re.split(r"[\s\-_.,;:/]+", text):
        if not word:
            continue
        if word not in _known():
            typed = word.translate(_CYRILLIC_KEYS)
            if typed in _known():
                word = typed
        words.append(word)
    return " ".join(words)


@dataclass(frozen=True)
class MailboxKeys:
    lookup: bytes
    private_key: PrivateKey

    @property
    def public_key(self) -> bytes:
        return bytes(self.private_key.public_key)


def mailbox_keys(codename: str) -> MailboxKeys:
    """Same cost whatever the input, so a wrong codename takes as long as a right one."""
    time_cost, memory_kib = settings.INTAKE_CODENAME_KDF
    secret = hash_secret_raw(
        normalise(codename).encode("utf-8"),
        _SALT,
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )
    lookup = hashlib.blake2b(secret, digest_size=32, person=b"sp-mbx-lookup").digest()
    seed = hashlib.blake2b(secret, digest_size=32, person=b"sp-mbx-key").digest()
    return MailboxKeys(lookup=lookup, private_key=PrivateKey(seed))
