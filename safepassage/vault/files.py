"""Files encrypted as streams: libsodium's secretstream (XChaCha20-Poly1305), never held whole in memory.

A file is a header and a sequence of 64 KiB chunks, each authenticated with the file's place as associated data;
the last chunk carries the FINAL tag, so a truncated, reordered, altered or moved file fails to decrypt.
Memory stays flat whatever the size: one chunk in, one chunk out.
"""

from __future__ import annotations

import datetime
import logging
import os
import stat
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings
from nacl import bindings as sodium

from safepassage.vault.crypto import Undecryptable
from safepassage.vault.keys import derive

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAGIC = b"SPF1"
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_HEADER = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE


def _pieces(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if hasattr(source, "read"):
        while piece := source.read(CHUNK):
            yield piece
    else:
        yield from source


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class StreamWriter:
    """Encrypts what is written to it into `sink`, chunk by chunk; `close()` writes the last chunk. For data
    that arrives pushed (an upload handler) rather than pulled from a source."""

    def __init__(self, key: bytes, sink: _Sink, *, place: str) -> None:
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        header = sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, key)
        sink.write(MAGIC + header)
        self._sink = sink
        self._aad = place.encode()
        self._buffer = bytearray()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        # Keep the last full chunk back: only close() knows which chunk is the final one.
        while len(self._buffer) > CHUNK:
            self._push(bytes(self._buffer[:CHUNK]), _MESSAGE)
            del self._buffer[:CHUNK]

    def close(self) -> None:
        self._push(bytes(self._buffer), _FINAL)
        self._buffer.clear()

    def _push(self, block: bytes, tag: int) -> None:
        self._sink.write(
            sodium.crypto_secretstream_xchacha20poly1305_push(self._state, block, self._aad, tag)
        )


def encrypt_stream(key: bytes, source: BinaryIO | Iterable[bytes], sink: BinaryIO, *, place: str) -> int:
    """Encrypt `source` into `sink`; returns the plaintext size."""
    writer = StreamWriter(key, sink, place=place)
    for piece in _pieces(source):
        writer.write(piece)
    writer.close()
    return writer.size


def decrypt_stream(key: bytes, source: BinaryIO, *, place: str) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk; Undecryptable on any tampering, truncation or a wrong place."""
    start = source.read(len(MAGIC) + _HEADER)
    if len(start) != len(MAGIC) + _HEADER or not start.startswith(MAGIC):
        raise Undecryptable("not a Safe Passage file")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, start[len(MAGIC) :], key)
    except Exception as exc:
        raise Undecryptable("not a Safe Passage file") from exc
    aad = place.encode()
    while True:
        block = source.read(CHUNK + _ABYTES)
        if not block:
            raise Undecryptable("the file is cut short")
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, block, aad)
        except Exception as exc:
            raise Undecryptable("tampered, moved to another place, or under another key") from exc
        yield plain
        if tag == _FINAL:
            if source.read(1):
                raise Undecryptable("data after the end of the file")
            return


def arrivals_dir() -> Path:
    """Where files from the public face wait until the staff face adopts them (SAFEPASSAGE_ARRIVALS_DIR)."""
    configured = str(settings.VAULT_ARRIVALS_DIR or "")
    return Path(configured) if configured else Path(settings.VAULT_FILE_DIR) / "arrivals"


def file_path(file_id: str, *, arrival: bool = False) -> Path:
    uuid.UUID(file_id)  # never a path from outside
    root = arrivals_dir() if arrival else Path(settings.VAULT_FILE_DIR)
    return root / file_id[:2] / file_id


def _file_key(record_key: bytes) -> bytes:
    """Files get their own key from the record key, apart from the record's fields."""
    return derive(record_key, "file-stream")


def _midnight() -> float:
    now = datetime.datetime.now(datetime.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _write(path: Path, chunks: Iterable[bytes], *, day_only: bool) -> None:
    """Write a new file whole or not at all (a partial name, fsync, rename). `day_only`: its times say the day,
    not the second, and so does its directory's modification time."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    try:
        with partial.open("xb") as sink:
            for chunk in chunks:
                sink.write(chunk)
            sink.flush()
            os.fsync(sink.fileno())
        if day_only:
            midnight = _midnight()
            os.utime(partial, (midnight, midnight))
        partial.rename(path)
        if day_only:
            os.utime(path.parent, (_midnight(), _midnight()))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def store(
    key: bytes, source: BinaryIO | Iterable[bytes], *, place: str, arrival: bool = False
) -> tuple[str, int]:
    """Encrypt into the file store under a random name; returns (file id, plaintext size). The id is part of
    the place, so another file of the same record cannot be swapped in under this one's name. `arrival`: a
    file from the public face, written to the arrivals directory with times that say only the day."""
    file_id = str(uuid.uuid4())
    writer_size = 0

    def encrypted() -> Iterator[bytes]:
        nonlocal writer_size
        buffer = _Buffer()
        writer = StreamWriter(_file_key(key), buffer, place=f"{place}/{file_id}")
        for piece in _pieces(source):
            writer.write(piece)
            yield buffer.take()
        writer.close()
        writer_size = writer.size
        yield buffer.take()

    _write(file_path(file_id, arrival=arrival), encrypted(), day_only=arrival)
    return file_id, writer_size


class _Buffer:
    """What a StreamWriter wrote since the last take()."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(data)
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _max_arrival() -> int:
    """The largest file that can arrive, encrypted: the upload limit, plus a tag per 64 KiB chunk and a header."""
    plain = int(getattr(settings, "INTAKE_MAX_FILE_MB", 10)) * 1024 * 1024
    return plain + (plain // CHUNK + 1) * _ABYTES + len(MAGIC) + _HEADER


def _open_arrival(file_id: str) -> BinaryIO | None:
    """The arrival's file, opened without following any symbolic link (neither the file nor its directory),
    and only if it is a plain file of a sane size that starts like one of ours; else None. The public face
    can write here: a link to a key file, a FIFO or /dev/zero must not be read."""
    uuid.UUID(file_id)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        directory = os.open(arrivals_dir() / file_id[:2], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fd = os.open(file_id, flags, dir_fd=directory)
    except OSError:
        return None
    finally:
        os.close(directory)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_size > _max_arrival():
        os.close(fd)
        return None
    os.set_blocking(fd, True)
    handle = os.fdopen(fd, "rb")
    if handle.read(len(MAGIC)) != MAGIC:
        handle.close()
        return None
    handle.seek(0)
    return handle


def adopt(file_id: str) -> None:
    """Staff face: move a file that arrived through the public face into the file store. It is copied, not
    renamed, so the stored file's change time is the adoption's, not the arrival's; its times say the day.
    Anything in the arrivals directory that is not a plain file of ours is removed, never read."""
    source = file_path(file_id, arrival=True)
    target = file_path(file_id)
    if target.exists():
        source.unlink(missing_ok=True)  # copied before a crash, not yet removed
        return
    handle = _open_arrival(file_id)
    if handle is None:
        if source.is_symlink() or source.exists():
            logger.error("an arrival that is not a plain file of ours was removed: %s", file_id)
            source.unlink(missing_ok=True)
        return
    with handle:
        target.with_suffix(".partial").unlink(missing_ok=True)  # left by a copy that was killed
        _write(target, iter(lambda: handle.read(CHUNK), b""), day_only=True)
    source.unlink(missing_ok=True)


def read(key: bytes, file_id: str, *, place: str) -> Iterator[bytes]:
    path = file_path(file_id)
    try:
        source: BinaryIO | None = path.open("rb")
    except FileNotFoundError:
        source = _open_arrival(file_id)  # not adopted yet
    if source is None:
        raise Undecryptable("the file is gone")
    with source:
        yield from decrypt_stream(_file_key(key), source, place=f"{place}/{file_id}")


def remove(file_id: str) -> None:
    file_path(file_id).unlink(missing_ok=True)
    file_path(file_id, arrival=True).unlink(missing_ok=True)
