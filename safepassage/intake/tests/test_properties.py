"""Property tests of what the public face parses: codenames as people type them, the form's text fields, the
sealing upload handler and the proof of work."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safepassage.intake import floods
from safepassage.intake.codename import WORDS, mailbox_keys, new_codename, normalise, word_list
from safepassage.intake.forms import HelpRequestForm
from safepassage.intake.uploads import ALLOWED_KINDS, SealingUploadHandler

_RUSSIAN_KEYS = str.maketrans("qwertyuiop[]asdfghjkl;'zxcvbnm,.`", "йцукенгшщзхъфывапролджэячсмитьбюё")

codenames = st.lists(st.sampled_from(word_list()), min_size=WORDS, max_size=WORDS).map(" ".join)


@given(
    codename=codenames,
    separators=st.lists(
        st.sampled_from([" ", "  ", "-", " - ", ", ", "\t", "\n", "."]), min_size=6, max_size=6
    ),
    shout=st.lists(st.booleans(), min_size=WORDS, max_size=WORDS),
    russian=st.lists(st.booleans(), min_size=WORDS, max_size=WORDS),
)
def test_a_codename_is_found_however_it_is_typed(
    codename: str, separators: list[str], shout: list[bool], russian: list[bool]
) -> None:
    words = []
    for word, loud, cyrillic in zip(codename.split(), shout, russian, strict=True):
        typed = word.translate(_RUSSIAN_KEYS) if cyrillic and word.isalpha() else word
        words.append(typed.upper() if loud else typed)
    typed = words[0] + "".join(sep + word for sep, word in zip(separators, words[1:], strict=True))
    assert normalise(f"  {typed} ") == codename


def test_codenames_are_seven_words_of_the_list_and_about_90_bits() -> None:
    import math

    assert len(word_list()) == 7776
    assert WORDS * math.log2(len(word_list())) >= 90
    made = {new_codename() for _ in range(200)}
    assert len(made) == 200
    assert all(len(c.split()) == WORDS and set(c.split()) <= set(word_list()) for c in made)


@settings(max_examples=20, deadline=None)
@given(codename=codenames, other=codenames)
def test_the_mailbox_keys_follow_the_codename_and_nothing_else(codename: str, other: str) -> None:
    first, again = mailbox_keys(codename), mailbox_keys(codename.upper())
    assert (first.lookup, first.public_key) == (again.lookup, again.public_key)
    if other != codename:
        different = mailbox_keys(other)
        assert different.lookup != first.lookup and different.public_key != first.public_key
    assert first.lookup != first.public_key


text = st.text(alphabet=st.characters(codec="utf-8"), max_size=600) | st.sampled_from(
    ["", "   ", "\ufffd", "a\x00b", "<script>x</script>", "я" * 10_001, "\u202eevil"]
)


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    situation=text,
    location=text,
    contact=text,
    urgency=st.text(max_size=12),
    needs=st.lists(st.text(max_size=9)),
)
def test_the_form_answers_any_text_with_a_verdict(
    situation: str, location: str, contact: str, urgency: str, needs: list[str]
) -> None:
    data: dict[str, Any] = {
        "situation": situation,
        "location": location,
        "contact": contact,
        "urgency": urgency,
        "needs": needs,
        "consent": "on",
    }
    form = HelpRequestForm(data, receivers=[])
    if form.is_valid():
        for name in ("situation", "location", "contact"):
            value = form.cleaned_data[name]
            assert "\ufffd" not in value and "\x00" not in value
            assert value == value.strip()
        assert form.cleaned_data["urgency"] in {"emergency", "urgent", "normal"}
        assert len(form.cleaned_data["situation"]) <= 10_000
    else:
        assert form.errors  # a message to show, never an exception


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.binary(max_size=200_000)
    | st.sampled_from([b"%PDF-1.7\n" + bytes(70_000), b"\x89PNG\r\n\x1a\n"]),
    pieces=st.lists(st.integers(min_value=1, max_value=70_000), min_size=1, max_size=8),
)
def test_an_upload_comes_back_byte_for_byte_or_is_refused(
    content: bytes, pieces: list[int], settings: Any, tmp_path: Any
) -> None:
    settings.VAULT_ARRIVALS_DIR = str(tmp_path)
    handler = SealingUploadHandler()
    try:
        handler.new_file("attachments", "upload.bin", "image/jpeg", len(content))
    except Exception as exc:  # StopFutureHandlers: this handler takes the file
        assert type(exc).__name__ == "StopFutureHandlers"
    position = 0
    cuts = iter(pieces * (1 + len(content) // max(1, sum(pieces))))
    while position < len(content):
        size = next(cuts)
        handler.receive_data_chunk(content[position : position + size], position)
        position += size
    upload = handler.file_complete(len(content))
    if upload.problem:
        assert upload.problem in {"kind", "empty", "too_big"}
        assert list(upload.chunks()) == []
    else:
        assert upload.kind in ALLOWED_KINDS
        assert b"".join(upload.chunks()) == content
        sealed = list((tmp_path / "incoming").iterdir())
        assert sealed == []  # anonymous: never a named file, plain or not
    upload.discard()


@given(bits=st.integers(min_value=0, max_value=8), salt=st.text(alphabet=string.ascii_letters, max_size=8))
def test_a_found_proof_of_work_is_accepted_and_a_wrong_one_is_not_always(bits: int, salt: str) -> None:
    challenge = f"challenge-{salt}"
    proof = next(str(n) for n in range(100_000) if floods.solves(challenge, str(n), bits))
    assert floods.solves(challenge, proof, bits)
    assert not floods.solves(challenge, proof, 257)


@given(text=st.text(max_size=80), handle=st.from_regex(r"[A-Za-z0-9_]{4,20}", fullmatch=True))
def test_a_contact_normalises_to_one_spelling_or_to_nothing(text: str, handle: str) -> None:
    from safepassage.lib.normalise import contact_handle

    value = contact_handle(text)
    assert value == "" or (value == value.casefold() and " " not in value)
    assert (
        contact_handle(f" @{handle} ")
        == contact_handle(f"https://t.me/{handle.upper()}/")
        == f"@{handle.lower()}"
    )
