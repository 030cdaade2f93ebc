"""Normalisation for exact lookups on encrypted values: names, phone numbers, birth years.

Names are matched as families of spellings across scripts: Магомед, Magomed, Mohammed and Muhammad all give
"mhmd". The value is transliterated to Latin, lowered, and reduced to a consonant skeleton in which sounds that
transliterations swap (g/h/kh/x, dzh/dj/j, ts/c/z, ...) fall together and vowels and doubled letters vanish.
Deliberately coarse: a blind index finds candidates, a person then looks at them.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from text_unidecode import unidecode

# Multi-letter sounds first, longest first; each becomes one symbol.
_DIGRAPHS = [
    ("shch", "s"),
    ("dzh", "j"),
    ("zh", "j"),
    ("dj", "j"),
    ("kh", "h"),
    ("gh", "h"),
    ("ch", "c"),
    ("sh", "s"),
    ("ts", "c"),
    ("tz", "c"),
    ("ph", "f"),
    ("ck", "k"),
]
_LETTERS = str.maketrans(
    {
        "g": "h",  # Магомед / Mohammed: Russian renders the Arabic h as g
        "x": "h",
        "q": "k",
        "w": "v",
        "z": "c",  # Ramzan / Ramsan, Hamzat / Khamsat; coarse on purpose
        "s": "c",
        "y": "",
        "j": "j",
    }
)


def name_family(name: str) -> str:
    """A key shared by the spellings of one name in Cyrillic and Latin; empty if nothing is left."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = unidecode(text).lower()
    text = re.sub(r"[^a-z ]", "", text)
    words = []
    for word in text.split():
        for digraph, symbol in _DIGRAPHS:
            word = word.replace(digraph, symbol)
        word = word.translate(_LETTERS)
        word = re.sub(r"[aeiou']", "", word)
        word = re.sub(r"(.)\1+", r"\1", word)
        if word:
            words.append(word)
    return " ".join(words)


def phone_e164(number: str, default_region: str = "RU") -> str:
    """E.164 (+79161234567), or "" if the text is not a possible phone number."""
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def contact_handle(text: str) -> str:
    """An e-mail address or a messenger handle as one spelling (case and spaces do not matter; t.me/name and
    @name are one), or "" for anything else (phone numbers are phone_e164's)."""
    handle = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()
    link = re.fullmatch(r"(?:https?://)?(?:t\.me|telegram\.me)/([a-z0-9_]{4,})/?", handle)
    if link:
        return "@" + link[1]
    if re.fullmatch(r"@[a-z0-9_]{4,}", handle) or re.fullmatch(r"[^@]+@[^@]+\.[a-z]{2,}", handle):
        return handle
    return ""


def birth_year(value: int | str) -> str:
    """Four digits between 1900 and 2100, or ""."""
    text = str(value).strip()
    return text if re.fullmatch(r"19\d\d|20\d\d|2100", text) else ""
