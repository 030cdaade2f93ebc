"""Files encrypted as streams with flat memory; intake sealed to an organisation's public key."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safepassage.vault import files, intake, services
from safepassage.vault.crypto import Undecryptable
from safepassage.vault.keyring import VaultError
from safepassage.vault.models import IntakeKey

ROOT = Path(__file__).resolve().parents[3]
KEY = bytes(range(32))


def _round_trip(data: bytes, place: str = "cases_attachment/content/1") -> bytes:
    sink = io.BytesIO()
    assert files.encrypt_stream(KEY, io.BytesIO(data), sink, place=place) == len(data)
    return b"".join(files.decrypt_stream(KEY, io.BytesIO(sink.getvalue()), place=place))


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=3 * files.CHUNK + 7) | st.sampled_from([b"", b"x" * files.CHUNK]))
def test_any_file_comes_back_as_it_went_in(data: bytes) -> None:
    assert _round_trip(data) == data


@settings(max_examples=30, deadline=None)
@given(cut=st.integers(min_value=0, max_value=2 * files.CHUNK + 200), flip=st.booleans())
def test_a_cut_or_altered_file_never_decrypts(cut: int, flip: bool) -> None:
    sink = io.BytesIO()
    files.encrypt_stream(KEY, io.BytesIO(os.urandom(2 * files.CHUNK + 100)), sink, place="p")
    blob = bytearray(sink.getvalue())
    if flip:
        blob[min(cut, len(blob) - 1)] ^= 1
    else:
        del blob[min(cut, len(blob) - 1) :]
    with pytest.raises(Undecryptable):
        b"".join(files.decrypt_stream(KEY, io.BytesIO(bytes(blob)), place="p"))


def test_a_file_moved_to_another_place_does_not_decrypt() -> None:
    sink = io.BytesIO()
    files.encrypt_stream(KEY, io.BytesIO(b"passport scan"), sink, place="cases_attachment/content/1")
    with pytest.raises(Undecryptable):
        b"".join(files.decrypt_stream(KEY, io.BytesIO(sink.getvalue()), place="cases_attachment/content/2"))


_MEASURE = """
import hashlib, os, resource, sys, tempfile
import django
django.setup()
from safepassage.vault import files
size = int(sys.argv[1])
def source():
    block = os.urandom(1 << 20)
    for _ in range(size >> 20):
        yield block
with tempfile.TemporaryFile() as sink:
    files.encrypt_stream(bytes(32), source(), sink, place="p")
    sink.seek(0)
    digest = hashlib.sha256()
    total = 0
    for chunk in files.decrypt_stream(bytes(32), sink, place="p"):
        digest.update(chunk)
        total += len(chunk)
assert total == size, total
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kib(size: int) -> int:
    env = {**os.environ, "SAFEPASSAGE_MODE": "test", "DJANGO_SETTINGS_MODULE": "safepassage.settings"}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(size)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def test_a_200_mb_file_goes_through_with_flat_memory() -> None:
    small, large = _peak_kib(2 << 20), _peak_kib(200 << 20)
    assert large - small < 16 * 1024, (
        f"peak memory grew by {(large - small) // 1024} MiB for 198 MiB more file"
    )


def test_files_are_stored_encrypted_under_random_names(unsealed: None, settings: Any) -> None:
    file_id, size = files.store(KEY, io.BytesIO(b"%PDF passport of Magomed"), place="x/content/1")
    stored = files.file_path(file_id)
    assert size == 24 and file_id in stored.name
    assert b"Magomed" not in stored.read_bytes()
    assert b"".join(files.read(KEY, file_id, place="x/content/1")) == b"%PDF passport of Magomed"
    with pytest.raises(ValueError):
        files.file_path("../../etc/passwd")
    files.remove(file_id)
    assert not stored.exists()


@pytest.mark.smoke
def test_intake_is_sealed_with_the_public_key_while_the_vault_is_sealed(
    unsealed: list[str], orgs: dict[str, Any]
) -> None:
    moscow = orgs["moscow"].pk
    assert IntakeKey.objects.filter(organisation_id=moscow).exists(), "made at unseal"
    services.vault_seal()
    place = "intake_request/body/abc"
    blob = intake.intake_seal(moscow, "Мне нужна помощь".encode(), place=place)
    sink = io.BytesIO()
    intake.intake_seal_stream(moscow, io.BytesIO(b"photo bytes" * 10_000), sink, place=place + "/file")
    with pytest.raises(VaultError):
        intake.intake_open(moscow, blob, place=place)
    for share in unsealed:
        services.vault_add_share(mnemonic=share)
    assert intake.intake_open(moscow, blob, place=place).decode() == "Мне нужна помощь"
    stream = b"".join(intake.intake_open_stream(moscow, io.BytesIO(sink.getvalue()), place=place + "/file"))
    assert hashlib.sha256(stream).digest() == hashlib.sha256(b"photo bytes" * 10_000).digest()
    with pytest.raises(Undecryptable):
        intake.intake_open(moscow, blob, place="intake_request/body/other")
    with pytest.raises(Undecryptable):
        intake.intake_open(orgs["railroad"].pk, blob, place=place)


class _ShortReads(io.BytesIO):
    """A source that, like a socket or an upload, returns fewer bytes than asked."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(min(1000, size if size and size > 0 else 1000))


def test_a_source_that_reads_short_still_makes_a_readable_file(unsealed: list[str]) -> None:
    data = os.urandom(3 * files.CHUNK + 123)
    file_id, size = files.store(KEY, _ShortReads(data), place="x/content/1")
    assert size == len(data)
    assert b"".join(files.read(KEY, file_id, place="x/content/1")) == data


def test_another_file_of_the_record_cannot_be_swapped_in(unsealed: list[str]) -> None:
    first, _ = files.store(KEY, io.BytesIO(b"the real passport"), place="x/content/1")
    second, _ = files.store(KEY, io.BytesIO(b"an older upload"), place="x/content/1")
    files.file_path(first).write_bytes(files.file_path(second).read_bytes())
    with pytest.raises(Undecryptable):
        b"".join(files.read(KEY, first, place="x/content/1"))


def test_adoption_never_follows_a_link_or_reads_what_is_not_a_file_of_ours(
    settings: Any, tmp_path: Path
) -> None:
    """The public face can write to the arrivals directory: a link there to the vault's key, a FIFO, a
    directory link or a file that is not ours must be removed, never copied into the store."""
    settings.VAULT_FILE_DIR = tmp_path / "files"
    secret = tmp_path / "master.key"
    secret.write_bytes(b"SPF1" + b"the master key" * 10)
    honest, _ = files.store(KEY, [b"%PDF-1.4 statement"], place="x/content/1", arrival=True)
    linked, fifo, foreign, via_directory = (str(uuid.uuid4()) for _ in range(4))
    for file_id in (linked, fifo, foreign):
        files.file_path(file_id, arrival=True).parent.mkdir(parents=True, exist_ok=True)
    files.file_path(linked, arrival=True).symlink_to(secret)
    os.mkfifo(files.file_path(fifo, arrival=True))
    files.file_path(foreign, arrival=True).write_bytes(b"not one of ours")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / via_directory).symlink_to(secret)
    linked_directory = files.file_path(via_directory, arrival=True).parent
    if not linked_directory.exists():
        linked_directory.symlink_to(elsewhere)

    for file_id in (honest, linked, fifo, foreign, via_directory):
        files.adopt(file_id)

    assert b"".join(files.read(KEY, honest, place="x/content/1")) == b"%PDF-1.4 statement"
    for file_id in (linked, fifo, foreign, via_directory):
        assert not files.file_path(file_id).exists(), file_id
    stored = b"".join(
        p.read_bytes() for p in (tmp_path / "files").rglob("*") if p.is_file() and not p.is_symlink()
    )
    assert b"the master key" not in stored
    assert secret.exists()
    with pytest.raises(Undecryptable):
        list(files.read(KEY, linked, place="x/content/1"))
