"""Files sent by requesters never touch the disk in the clear.

Django would spool a large upload to a plain temporary file. This handler instead encrypts each file as it
arrives, under a random key that lives only in this request's memory, into an anonymous temporary file in the
encrypted file store's directory. Once the form is valid, the service re-reads it (decrypting chunk by chunk) into
the file store under the request's own record key; an invalid form drops the key and the temporary file with it.

What a file is comes from its first bytes (filetype), never from its name or the type the browser claims.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO, Any, BinaryIO, cast

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers

from safepassage.vault import files

# What requesters may send: photos from phones and documents. Kind -> what staff are told it is.
ALLOWED_KINDS = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "heic": "image/heic",
    "pdf": "application/pdf",
}
_SNIFF_BYTES = 262  # what filetype reads
logger = logging.getLogger(__name__)


class IncomingFile(UploadedFile[bytes]):
    """An upload held encrypted. `problem` is "", "too_big", "too_many", "kind" or "empty"."""

    def __init__(
        self,
        *,
        name: str,
        size: int,
        kind: str,
        problem: str,
        sealed: IO[bytes] | None,
        key: bytes,
        place: str,
    ) -> None:
        super().__init__(file=None, name=name, content_type=ALLOWED_KINDS.get(kind, ""), size=size)
        self.kind = kind
        self.problem = problem
        self._sealed = sealed
        self._key = key
        self._place = place

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        if self._sealed is None:
            return
        self._sealed.seek(0)
        yield from files.decrypt_stream(self._key, cast(BinaryIO, self._sealed), place=self._place)

    def discard(self) -> None:
        if self._sealed is not None:
            self._sealed.close()  # an anonymous temporary file: closing removes it
            self._sealed = None
        self._key = b""

    def close(self) -> None:
        self.discard()


class SealingUploadHandler(FileUploadHandler):
    """Install before the request's body is read (views.help_form does), as the only handler."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.count = 0
        self.limit = settings.INTAKE_MAX_FILE_MB * 1024 * 1024

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.count += 1
        self.size = 0
        self.head = b""
        self.key = secrets.token_bytes(32)
        self.place = f"upload/{uuid.uuid4()}"
        self.problem = "too_many" if self.count > settings.INTAKE_MAX_FILES else ""
        self.sealed: IO[bytes] | None = None
        self.writer: files.StreamWriter | None = None
        if not self.problem:
            try:
                directory = files.arrivals_dir() / "incoming"
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                self.sealed = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (closed by IncomingFile)
                self.writer = files.StreamWriter(self.key, self.sealed, place=self.place)
            except OSError:
                logger.exception("an upload could not be received")
                self.problem = "storage"
                self._drop()
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if len(self.head) < _SNIFF_BYTES:
            self.head += raw_data[: _SNIFF_BYTES - len(self.head)]
        if self.writer is None:
            return None
        if self.size > self.limit:
            self.problem = "too_big"
            self._drop()
            return None
        try:
            self.writer.write(raw_data)
        except OSError:  # a full disk: the form says so, with the text kept
            logger.exception("an upload could not be received")
            self.problem = "storage"
            self._drop()
        return None

    def _drop(self) -> None:
        if self.sealed is not None:
            self.sealed.close()
        self.sealed = None
        self.writer = None

    def file_complete(self, file_size: int) -> IncomingFile:
        kind = filetype.guess_extension(self.head) or "" if self.head else ""
        problem = self.problem
        if not problem and self.size == 0:
            problem = "empty"
        elif not problem and kind not in ALLOWED_KINDS:
            problem = "kind"
        if problem:
            self._drop()
        elif self.writer is not None:
            try:
                self.writer.close()
                assert self.sealed is not None
                self.sealed.flush()
            except OSError:
                logger.exception("an upload could not be received")
                problem = "storage"
                self._drop()
        return IncomingFile(
            name=self.file_name or "",
            size=self.size,
            kind=kind,
            problem=problem,
            sealed=self.sealed,
            key=self.key,
            place=self.place,
        )
