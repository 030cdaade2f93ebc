"""The vault's proof: no plaintext anywhere it must not be, whatever the route it took.

A marker (a random Latin token and a random Cyrillic word, e.g. `MARK-1f2e…-Магомеджкшу…`; in a contact, a
random Cyrillic name and a random Russian mobile number) is planted in every sensitive field kind of the test-only
room (tests/specimens) and in an encrypted file, with the vault unsealed by trustees through the real unseal page.
Then a requester asks for help through the real public pages: a marker in every field they write (the contact a
phone number, so that its blind index is computed), in a file's content (across the 64 KiB chunk border too) and
its name, then in a message and its file once staff have answered; staff open the inbox and the request (the
arrival keys are adopted, the blind index filled), download the files and reply with a marker, which the
requester reads back with the codename. Staff pages are loaded meanwhile. Every log record of every logger at
DEBUG is kept, the SQL with its parameters included. Then the places where data rests are searched for every
marker, and for its Latin (or digits) and Cyrillic parts alone, in every encoding a leak would take on the way
(UTF-8, hex as PostgreSQL dumps bytea, \\x and \\u escapes as logs and JSON write them, UTF-16, a
transliteration):

    the database        a full pg_dump of the test database (PostgreSQL), or the SQLite file with its
                        -wal and -journal files; on PostgreSQL also the data files themselves, dead rows included
    the logs            every log record kept, and all that the process wrote to stdout and stderr
    the file store      every file under VAULT_FILE_DIR (encrypted files, the intake's `incoming` directory)
    temporary files     every anonymous temporary file made while the requester sent files (the upload handler
                        encrypts each upload into one, which no directory listing shows), as it was last
    the shred store     its SQLite file and journal
    the sessions        the session rows, decoded
    the cache           every key and value, as the requester's and the staff's requests left it

Zero hits. Every search is proven first: a control marker written in plain on purpose (a plain table, raw bytes
in a sealed column, a plain file, a plain temporary file, a cache entry) must be found by that same search, so a
search that reads nothing fails; and the rows and files planted must be among what was searched.

Then the vault is sealed and every URL the authorization matrix samples is loaded by every principal of the
matrix, the request pages pointing at the planted request and its file: no server error, and no marker in any
response (a control user's name, shown on the people page, proves that the bodies are searched).

Task tables: there is no background-task app yet. The dump covers every table of the database, which the test
checks (every table the database has is dumped), so the tables of django-tasks are searched the day they exist.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import Client, override_settings
from django.urls import reverse
from pytest_django import DjangoDbBlocker
from text_unidecode import unidecode

from conftest import MakeUser
from safepassage.accounts.models import Organisation
from safepassage.intake.codename import mailbox_keys
from safepassage.intake.models import HelpRequest, MailboxMessage, RequestFile
from safepassage.vault import crypto, files, keyring, services, shredstore
from safepassage.vault.blind import blind_index
from safepassage.vault.fields import SealedRecord, opened
from safepassage.vault.models import ArrivalWrap
from tests import test_authz_matrix as matrix
from tests.postgres_tools import find_pg_dump, pg_dump, server_major
from tests.specimens.models import PlainSpecimen, Specimen

# The authorization matrix's scene (Moscow's people, invitation, API token, passkey), reused as a fixture here.
scene = matrix.scene

SEALED_FIELDS = ("name", "contact", "location", "narrative", "notes")
# Transliterate to letters only (no ъ, ь), so that the transliterated form is a plain word too.
_CYRILLIC = "абвгдежзиклмнопрстуфхцчшщэюя"
# Who loads every page while the vault is unsealed: a caseworker, an org admin, an auditor, a platform admin.
UNSEALED_VISITORS = ("caseworker:alice", "org_admin:olga", "auditor:ada", "platform_admin:pat")
# Where a plain control file is put in the file store: its top, the arrivals from the public face, and the
# upload handler's `incoming` directory among them.
FILE_CONTROLS = ("", "arrivals", "arrivals/incoming")


# --- markers and the search ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    where: str  # what it was planted in, for the failure message
    latin: str
    cyrillic: str

    @property
    def text(self) -> str:
        return f"{self.latin}-{self.cyrillic}"

    def needles(self) -> dict[str, bytes]:
        """Every form a leak of this marker would take, lowered as the haystack is."""
        forms = {
            "UTF-8": self.text.encode(),
            "Latin part": self.latin.encode(),
            "Cyrillic part": self.cyrillic.encode(),
            "Cyrillic part transliterated": str(unidecode(self.cyrillic)).encode(),
            "hex (bytea as pg_dump writes it)": self.text.encode().hex().encode(),
            "Latin part in hex": self.latin.encode().hex().encode(),
            "Cyrillic part in hex": self.cyrillic.encode().hex().encode(),
            "Cyrillic part in \\x escapes (bytes in a log)": repr(self.cyrillic.encode())[2:-1].encode(),
            "Cyrillic part in \\u escapes (JSON)": json.dumps(self.cyrillic)[1:-1].encode(),
            "Latin part in UTF-16": self.latin.encode("utf-16-le"),
            "Cyrillic part in UTF-16": self.cyrillic.encode("utf-16-le"),
        }
        return {form: needle.lower() for form, needle in forms.items()}


@dataclass(frozen=True)
class PhoneMarker(Marker):
    """A contact as requesters write one, a name and a mobile number, both random: `latin` holds the number's ten
    digits, searched in every form the Latin part is (and as typed), `cyrillic` the name."""

    @property
    def number(self) -> str:
        digits = self.latin
        return f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"

    @property
    def text(self) -> str:
        return f"{self.cyrillic} {self.number}"

    def needles(self) -> dict[str, bytes]:
        forms = {
            form.replace("Latin part", "the number's digits"): n for form, n in super().needles().items()
        }
        return {**forms, "the number as typed": self.number.encode()}


def _cyrillic_name() -> str:
    return "Магомед" + "".join(secrets.choice(_CYRILLIC) for _ in range(12))


def new_marker(where: str) -> Marker:
    return Marker(where, f"MARK-{secrets.token_hex(8)}", _cyrillic_name())


def new_phone_marker(where: str) -> PhoneMarker:
    # A Russian mobile number (9xx): ten digits, nine of them random, a possible number for the phone index.
    return PhoneMarker(where, "9" + "".join(secrets.choice("0123456789") for _ in range(9)), _cyrillic_name())


def hits(artefact: str, haystack: bytes, markers: Iterable[Marker]) -> list[str]:
    """Where each marker is found in the haystack, in any of its forms (ASCII letters compared without case)."""
    lowered = haystack.lower()
    return [
        f"{artefact}: {marker.where} ({form})"
        for marker in markers
        for form, needle in marker.needles().items()
        if needle in lowered
    ]


def assert_control_found(artefact: str, haystack: bytes, control: Marker, form: str | None = None) -> None:
    found = hits(artefact, haystack, [control])
    if form is not None:
        found = [hit for hit in found if hit.endswith(f"({form})")]
    assert found, (
        f"The control {control.where} was written in plain on purpose but the search of {artefact} did not find "
        f"it{f' as {form}' if form else ''}: the search proves nothing."
    )


# --- logs -------------------------------------------------------------------------------------------------


class _Keeper(logging.Handler):
    """Keeps every record whole: its message, every attribute (a query's SQL and parameters), its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []  # (logger name, all of it)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        parts = [message, repr(vars(record))]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            parts.append(record.stack_info)
        self.records.append((record.name, "\n".join(parts)))


@dataclass
class Logs:
    records: list[tuple[str, str]]  # (logger name, the whole record) of every record of every logger
    written: dict[str, io.StringIO]  # what the configured handlers (stderr in LOGGING) wrote, formatted

    def text(self, only: str = "") -> bytes:
        return "\n".join(text for name, text in self.records if name.startswith(only)).encode()

    def output(self) -> bytes:
        return "".join(stream.getvalue() for stream in self.written.values()).encode()


@contextmanager
def everything_logged() -> Iterator[Logs]:
    """Every record of every logger at DEBUG, `django.db.backends` with the SQL and its parameters included;
    and the lines the server's own log handlers write (their streams redirected here meanwhile)."""
    keeper = _Keeper()
    root = logging.getLogger()
    loggers = [
        root,
        *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    # Records stop at a logger that does not propagate: the keeper listens there too.
    listening = [root, *(lg for lg in loggers if lg is not root and not lg.propagate)]
    # The handlers of LOGGING (a StreamHandler to stderr) hold the stream they were given at start-up, which
    # pytest's capture does not see: they write into a buffer here for the time being.
    configured = {
        handler
        for lg in loggers
        for handler in lg.handlers
        if isinstance(handler, logging.StreamHandler) and type(handler).__module__.startswith("logging")
    }
    written = {f"{type(h).__name__}@{id(h):x}": io.StringIO() for h in configured}
    streams = {h: h.setStream(written[f"{type(h).__name__}@{id(h):x}"]) for h in configured}
    disabled_before = logging.root.manager.disable
    debug_cursor_before = connection.force_debug_cursor
    logging.disable(logging.NOTSET)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    for lg in listening:
        lg.addHandler(keeper)
    connection.force_debug_cursor = True  # django.db.backends logs every query with its parameters
    try:
        yield Logs(keeper.records, written)
    finally:
        connection.force_debug_cursor = debug_cursor_before
        for lg in listening:
            lg.removeHandler(keeper)
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled
        logging.disable(disabled_before)
        for handler, stream in streams.items():
            handler.setStream(stream)


# --- temporary files and the cache ------------------------------------------------------------------------


@contextmanager
def temporary_files_kept() -> Iterator[list[bytes]]:
    """What every anonymous temporary file made meanwhile held at the end (filled on leaving). The upload
    handler encrypts each upload into one in VAULT_FILE_DIR/incoming, which has no name, so no listing of the
    directory shows it: a duplicate of its descriptor keeps it, to be read once it is closed."""
    make = tempfile.TemporaryFile
    descriptors: list[int] = []
    contents: list[bytes] = []

    def keeping(*args: Any, **kwargs: Any) -> Any:
        made = make(*args, **kwargs)
        descriptors.append(os.dup(made.fileno()))
        return made

    try:
        with mock.patch.object(tempfile, "TemporaryFile", keeping):
            yield contents
    finally:
        for descriptor in descriptors:
            contents.append(os.pread(descriptor, os.fstat(descriptor).st_size, 0))
            os.close(descriptor)


def cache_contents() -> bytes:
    """Every key and (pickled) value in the cache: LocMemCache in tests, whose values are what Redis holds."""
    entries = getattr(cache, "_cache", None)
    assert isinstance(entries, dict), f"the cache is a {type(cache).__name__}, which this search cannot read"
    return b"\n".join(str(key).encode() + b" = " + bytes(value) for key, value in entries.items())


# --- pages ----------------------------------------------------------------------------------------------


@dataclass
class Page:
    who: str
    path: str
    status: int
    content: bytes  # headers and body
    error: str  # the exception a view raised, if any


def _content(response: HttpResponseBase) -> bytes:
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    # No response.close(): the test client closes it, with the signal that would close the connection muted.
    return response.serialize_headers() + b"\n\n" + body


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
def walk(scene: matrix.Scene, columns: Iterable[str], *, rolled_back: bool) -> list[Page]:
    """GET every path the authorization matrix samples, as each of these principals (matrix columns)."""
    client = Client(raise_request_exception=False)
    principals = [matrix.BY_COLUMN[column] for column in columns]
    sessions = {p.column: matrix.log_in(scene, p) for p in principals}
    paths = [sample.path for sample in matrix.samples(scene)]
    pages = []
    for principal in principals:
        for path in paths:
            cache.clear()  # rate limits start afresh, as in the matrix
            client.cookies = SimpleCookie()
            if sessions[principal.column]:
                client.cookies[django_settings.SESSION_COOKIE_NAME] = sessions[principal.column]
            headers = {"Authorization": f"Bearer {scene.api_token}"} if principal.bearer else {}
            with transaction.atomic():
                response = client.get(path, headers=headers)
                if rolled_back:
                    transaction.set_rollback(True)
            exc_info = getattr(response, "exc_info", None)
            pages.append(
                Page(
                    who=principal.column,
                    path=path,
                    status=response.status_code,
                    content=_content(response),
                    error=f"{exc_info[0].__name__}: {exc_info[1]}" if exc_info else "",
                )
            )
    return pages


# --- planting ---------------------------------------------------------------------------------------------


@dataclass
class Planted:
    scene: matrix.Scene  # the matrix's scene, its request pages pointing at the planted help request
    markers: list[Marker] = field(default_factory=list)  # every real marker: none may be found anywhere
    records: list[Specimen] = field(default_factory=list)
    arrivals: list[SealedRecord] = field(default_factory=list)  # the help request, its messages and files
    stored_files: list[Path] = field(default_factory=list)  # encrypted files and intake files written
    uploads: list[bytes] = field(default_factory=list)  # the files the requester sent
    temporary_files: list[bytes] = field(default_factory=list)  # every one made meanwhile, as it was last
    cache: bytes = b""  # the cache as the requester and staff left it
    values: dict[tuple[str, str], str] = field(default_factory=dict)  # (code, field) -> the value it holds
    control_text: Marker = field(default_factory=lambda: new_marker("control: a plain text column"))
    control_bytes: Marker = field(default_factory=lambda: new_marker("control: raw bytes in a sealed column"))
    control_file: Marker = field(
        default_factory=lambda: new_marker("control: a plain file in the file store")
    )
    pages: list[Page] = field(default_factory=list)

    def new(self, where: str) -> Marker:
        marker = new_marker(where)
        self.markers.append(marker)
        return marker

    def new_phone(self, where: str) -> PhoneMarker:
        marker = new_phone_marker(where)
        self.markers.append(marker)
        return marker

    def rows(self) -> dict[str, list[uuid.UUID]]:
        """The primary keys of the rows planted, by table."""
        found: dict[str, list[uuid.UUID]] = defaultdict(list)
        for row in [*self.records, *self.arrivals]:
            found[row._meta.db_table].append(row.pk)
        return found


def _comments(size: int) -> bytes:
    """`size` bytes of PDF comment lines."""
    line = b"%" + b"." * 78 + b"\n"
    lines, rest = divmod(size, len(line))
    return line * lines + (b"%" + b"." * (rest - 2) + b"\n" if rest > 1 else b"\n" * rest)


def _pdf_with_markers(first: Marker, across: Marker) -> bytes:
    """A valid one-page PDF over two chunks of the stream format (64 KiB, Django's upload chunk size too): `first`
    in a comment in the first chunk, `across` in a comment lying across the border of the first two."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
    ]
    body, offsets = head, []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    # The page's content stream (comments only: a blank page), of a length fixed first so that the offset of
    # the marker across the border is known before the stream is written.
    length = files.CHUNK
    offsets.append(len(body))
    body += b"4 0 obj\n<< /Length %d >>\nstream\n" % length
    border = b"% " + across.text.encode() + b"\n"
    opening = f"% the passport of {first.text}\n".encode()
    before = files.CHUNK - len(border) // 2 - len(body) - len(opening)
    stream = opening + _comments(before) + border
    stream += _comments(length - len(stream))
    body += stream + b"\nendstream\nendobj\n"
    xref = len(body)
    body += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % at for at in offsets)
    body += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    at = body.index(across.text.encode())
    assert at < files.CHUNK < at + len(across.text.encode()), "the marker lies across the border"
    return body


def _specimen(planted: Planted, code: str, organisations: list[Organisation]) -> Specimen:
    """A record with every sealed field holding a marker of its own, and its name in a blind index."""
    record = Specimen(organisation=organisations[0], code=code)
    record.seal_for([o.pk for o in organisations])
    for name in SEALED_FIELDS:
        marker = planted.new(f"{code}.{name}")
        value = marker.text
        if name == "narrative":  # long enough for PostgreSQL to move it out of line (TOAST)
            value = f"Он бежал из Грозного. {marker.text}. " + "Подробности. " * 400
        setattr(record, name, value)
        planted.values[(code, name)] = value
        if name == "name":
            record.name_index = blind_index("name", marker.text)
    return record


def _hidden(page: str, name: str) -> str:
    """The value of a hidden field of a page's form (the help form's challenge, the mailbox's token)."""
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} on the page:\n{page[:2000]}"
    return found.group(1)


def _downloaded(staff: Client, row: RequestFile) -> bytes:
    response = staff.get(reverse("intake_request_file", args=[row.request_id, row.pk]))
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def _ask_for_help(planted: Planted, login: Any) -> None:
    """Through the real pages: a requester asks for help with a file; a caseworker opens the inbox and the
    request, downloads the file and replies; the requester reads the reply with the codename and writes back with
    another file; the caseworker opens the request again. A marker in every field the requester writes, in each
    file's content and name, and in the reply. Opening the inbox and the request adopts the arrival keys and
    fills the contact's blind index, so those paths run before the searches."""
    requester = Client(HTTP_ACCEPT_LANGUAGE="ru")
    situation = planted.new("help request: situation")
    told = f"Меня ищут. {situation.text}. " + "Подробности. " * 400  # long: out of line (TOAST)
    location = planted.new("help request: location")
    contact = planted.new_phone("help request: contact (a name and a phone number)")
    scan = _pdf_with_markers(planted.new("request file, first chunk"), planted.new("request file, border"))
    scan_name = f"паспорт {planted.new('request file: its name').text}.pdf"
    form = requester.get(reverse("intake_form")).content.decode()
    sent = requester.post(
        reverse("intake_form"),
        {
            "situation": told,
            "location": location.text,
            "region": "chechnya",
            "urgency": "emergency",
            "needs": ["shelter", "leave"],
            "contact": contact.text,
            "consent": "on",
            "challenge": _hidden(form, "challenge"),
            "attachments": [SimpleUploadedFile(scan_name, scan, "application/pdf")],
        },
    )
    codename = re.search(r'id="codename">([^<]+)<', sent.content.decode())
    assert sent.status_code == 200 and codename, sent.content.decode()[:2000]
    help_request = HelpRequest.objects.get(mailbox__lookup=mailbox_keys(codename.group(1)).lookup)

    # A caseworker of Moscow opens the inbox (the arrivals adopted, the blind index filled), then the request.
    alice = login(planted.scene.people["alice"])
    assert alice.get(reverse("intake_inbox")).status_code == 200
    help_request.refresh_from_db()
    assert help_request.triaged and help_request.contact_index is not None
    assert help_request.contact_index == blind_index("phone", contact.text)
    page = alice.get(reverse("intake_request", args=[help_request.pk])).content.decode()
    assert all(marker.text in page for marker in (situation, location, contact)) and scan_name in page
    [scan_row] = RequestFile.objects.filter(request=help_request)
    assert _downloaded(alice, scan_row) == scan
    reply = planted.new("staff reply")
    body = {"body": f"Мы вас слышим. {reply.text}"}
    assert alice.post(reverse("intake_request_reply", args=[help_request.pk]), body).status_code == 302

    # The requester reads the reply with the codename, and writes back with another file.
    thread = requester.post(reverse("intake_mailbox"), {"codename": codename.group(1)}).content.decode()
    assert reply.text in thread, "the requester reads the reply (sealed to the mailbox) with the codename"
    message = planted.new("requester's message")
    photo = _pdf_with_markers(planted.new("message file, first chunk"), planted.new("message file, border"))
    photo_name = f"{planted.new('message file: its name').text}.pdf"
    written = requester.post(
        reverse("intake_mailbox_send"),
        {
            "token": _hidden(thread, "token"),
            "body": f"Я в Назрани. {message.text}",
            "attachments": [SimpleUploadedFile(photo_name, photo, "application/pdf")],
        },
    )
    assert written.status_code == 200 and 'name="token"' not in written.content.decode()  # sent, not refused

    # The caseworker opens the request again: the message and its file arrived, their keys are adopted.
    page = alice.get(reverse("intake_request", args=[help_request.pk])).content.decode()
    assert message.text in page and photo_name in page
    photo_row = RequestFile.objects.get(request=help_request, message__isnull=False)
    assert _downloaded(alice, photo_row) == photo
    assert not ArrivalWrap.objects.exists(), "every arrival was adopted into an ordinary wrap"

    messages = list(MailboxMessage.objects.filter(request=help_request))
    assert [m.direction for m in messages] == ["out", "in"]
    planted.arrivals = [help_request, *messages, scan_row, photo_row]
    planted.stored_files += [files.file_path(row.file_id) for row in (scan_row, photo_row)]
    planted.uploads = [scan, photo]
    planted.scene = replace(
        planted.scene,
        arguments={
            **planted.scene.arguments,
            "request_id": (str(help_request.pk), "help-request@moscow"),
            "file_id": (str(scan_row.pk), "request-file@moscow"),
        },
    )


def plant(
    scene: matrix.Scene,
    orgs: dict[str, Organisation],
    login: Any,
    *,
    visitors: Iterable[str] = UNSEALED_VISITORS,
) -> Planted:
    """Unseal through the page, plant markers in every kind of sealed value (a help request through the public
    pages among them), then load pages as `visitors`."""
    planted = Planted(scene)
    moscow, railroad = orgs["moscow"], orgs["railroad"]

    # Trustees unseal through the real page (pat holds both shares here).
    services.vault_seal()
    shares = scene.shares
    pat = scene.people["pat"]
    pat.is_trustee = True
    pat.save(update_fields=["is_trustee"])
    trustee = login(pat, stepped_up=True)
    for share in shares:
        assert trustee.post(reverse("vault_unseal"), {"share": share}).status_code == 302
    assert not keyring.is_sealed()

    # A record of Moscow with a file, referred to Rainbow Railroad afterwards (its key wrapped once more).
    first = _specimen(planted, "SP-FIRST", [moscow])
    scan = _pdf_with_markers(planted.new("file, first chunk"), planted.new("file, across a chunk border"))
    first.file_id, size = files.store(
        first.record_key(), io.BytesIO(scan), place=f"specimens_specimen/file_id/{first.pk}"
    )
    assert size == len(scan)
    first.save()
    crypto.data_key_share(
        data_key_id=first.data_key_id, from_organisation_id=moscow.pk, to_organisation_id=railroad.pk
    )
    planted.stored_files.append(files.file_path(first.file_id))

    # A record shared from the start, then changed by a caseworker (the UPDATE path).
    second = _specimen(planted, "SP-SECOND", [moscow, railroad])
    second.save()
    changed = Specimen.objects.get(pk=second.pk)
    changed.open_for(moscow.pk)
    changed.notes = planted.values[("SP-SECOND", "notes")] = planted.new("SP-SECOND.notes, changed").text
    changed.save()

    # A record erased (crypto-shredded) after it was written.
    erased = _specimen(planted, "SP-ERASED", [moscow])
    erased.save()
    erased.erase()
    planted.records = [first, changed, erased]

    # A requester asks for help through the public pages and staff answer through theirs. The upload handler's
    # temporary files are kept, a plain one among them as the control; the cache is kept as they left it.
    with temporary_files_kept() as kept:
        with tempfile.TemporaryFile() as control_file:
            control_file.write(planted.control_file.text.encode())
        _ask_for_help(planted, login)
    planted.temporary_files = kept
    cache.set("marker-proof-control", planted.control_text.text)
    planted.cache = cache_contents()

    # Everything planted reads back: the markers really are in there, encrypted.
    views = {view.code: view for view in opened(Specimen.objects.filter(code__startswith="SP-"), moscow.pk)}
    for (code, name), value in planted.values.items():
        assert getattr(views[code], name) == ("" if code == "SP-ERASED" else value)
    assert not views["SP-ERASED"].available
    [referred] = opened([first], railroad.pk)
    assert referred.name == planted.values[("SP-FIRST", "name")]
    place = f"specimens_specimen/file_id/{first.pk}"
    assert b"".join(files.read(first.record_key(), first.file_id, place=place)) == scan

    # Controls: the same values written in plain on purpose, each where a search must find it.
    PlainSpecimen.objects.create(organisation=moscow, code="CONTROL", name=planted.control_text.text)
    control = Specimen(organisation=moscow, code="CONTROL")
    control.seal_for([moscow.pk])
    control.save()
    # A sealed field refuses bytes that are no ciphertext, so the control goes into the bytea column by raw SQL.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Specimen._meta.db_table} SET notes = %s WHERE id = %s",  # noqa: S608 (our own table name)
            [
                planted.control_bytes.text.encode(),
                control.pk.hex if connection.vendor == "sqlite" else control.pk,
            ],
        )
    assert files.arrivals_dir() == Path(django_settings.VAULT_FILE_DIR) / "arrivals"
    for directory in FILE_CONTROLS:
        (Path(django_settings.VAULT_FILE_DIR) / directory).mkdir(parents=True, exist_ok=True)
        (Path(django_settings.VAULT_FILE_DIR) / directory / "control.txt").write_text(
            planted.control_file.text
        )

    # Staff load every page while the vault is unsealed, committed: whatever they write or log is searched too.
    # (Their bodies are not: once the rooms exist, an unsealed page rightly shows its reader the plaintext.)
    planted.pages = walk(planted.scene, visitors, rolled_back=False)
    failed = [
        f"{p.who} GET {p.path}: {p.status} {p.error}" for p in planted.pages if p.status >= 500 or p.error
    ]
    assert not failed, "with the vault unsealed:\n" + "\n".join(failed)
    return planted


@pytest.fixture
def stores(settings: Any, tmp_path: Path) -> Path:
    """A file store and a shred store of this test's own, so that the search covers all of each."""
    settings.VAULT_FILE_DIR = tmp_path / "files"
    settings.VAULT_SHRED_STORE = str(tmp_path / "shred-store.sqlite3")
    return tmp_path


# --- committed data, and the flush afterwards -------------------------------------------------------------

AUDIT_NO_DELETE = "audit_auditentry_no_delete"


@pytest.fixture
def _audit_trigger_restored(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[list[str]]:
    """Set up before and torn down after the flush: puts back the SQLite trigger `committed` took away."""
    dropped: list[str] = []
    yield dropped
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for sql in dropped:
            cursor.execute(sql)


@pytest.fixture
def committed(
    request: pytest.FixtureRequest,
    _audit_trigger_restored: list[str],
    transactional_db: None,
    django_db_blocker: DjangoDbBlocker,
) -> Iterator[None]:
    """Data committed, so the database's files and dumps hold it. The flush that ends the test empties the
    append-only audit table: on PostgreSQL with its truncate trigger off (the shared fixture), on SQLite with
    its delete trigger dropped just before the flush and put back right after it."""
    if connection.vendor == "postgresql":
        request.getfixturevalue("audit_table_truncatable")
    yield
    if connection.vendor == "sqlite":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [AUDIT_NO_DELETE]
            )
            row = cursor.fetchone()
            if row is not None:
                _audit_trigger_restored.append(row[0])
                cursor.execute(f"DROP TRIGGER {AUDIT_NO_DELETE}")


# --- the database's artefacts -------------------------------------------------------------------------------


def dumped_rows(dump: bytes, table: str) -> bytes:
    """The rows of one table in a plain dump: its COPY block."""
    start = dump.index(f"COPY public.{table} (".encode())
    return dump[start : dump.index(b"\n\\.\n", start)]


def postgres_data_files() -> dict[str, bytes]:
    """The on-disk files of every table, index and TOAST table of the test database, after a checkpoint has
    written every changed page: unlike a dump they hold dead rows and index entries too. Needs a superuser."""
    found: dict[str, bytes] = {}
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
        cursor.execute(
            "SELECT n.nspname || '.' || c.relname, pg_relation_filepath(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't', 'm')"
        )
        for name, path in cursor.fetchall():
            if path is None:
                continue
            cursor.execute("SELECT (pg_stat_file(%s, true)).size", [path])
            size = cursor.fetchone()[0]
            if not size:  # no file yet, or an empty one
                continue
            cursor.execute("SELECT pg_read_binary_file(%s, 0, %s, true)", [path, size])
            found[name] = bytes(cursor.fetchone()[0] or b"")
    return found


def sqlite_files() -> dict[str, bytes]:
    name = str(connection.settings_dict["NAME"])
    assert name and ":memory:" not in name and "mode=memory" not in name, (
        f"the SQLite test database is in memory ({name}): give it a file (TEST NAME in tests/settings.py)"
    )
    return {
        path: Path(path).read_bytes()
        for path in (name, f"{name}-wal", f"{name}-journal")
        if Path(path).exists()
    }


def other_artefacts(planted: Planted) -> tuple[list[str], list[str]]:
    """The file store, the temporary files, the shred store, the sessions and the cache: (hits of real markers,
    checks of the search that failed)."""
    found: list[str] = []
    missed: list[str] = []
    file_dir = Path(django_settings.VAULT_FILE_DIR)
    stored = {path: path.read_bytes() for path in sorted(file_dir.rglob("*")) if path.is_file()}
    assert set(planted.stored_files) <= set(stored), "the search must see every file written"
    for directory in FILE_CONTROLS:
        assert hits("the file store", stored[file_dir / directory / "control.txt"], [planted.control_file])
    for path, data in stored.items():
        if path.name != "control.txt":
            found += hits(f"the file store ({path.relative_to(file_dir)})", data, planted.markers)

    # The upload handler's temporary files: one for each file the requester sent, whole (and encrypted).
    temporary = planted.temporary_files
    if not any(hits("a temporary file", data, [planted.control_file]) for data in temporary):
        missed.append("the plain temporary file was not found: the temporary files' search proves nothing")
    if sum(len(data) > min(map(len, planted.uploads)) for data in temporary) < len(planted.uploads):
        missed.append(f"no temporary file held an upload whole: sizes {[len(data) for data in temporary]}")
    for number, data in enumerate(temporary, start=1):
        found += hits(f"temporary file {number} of {len(temporary)}", data, planted.markers)

    store = Path(django_settings.VAULT_SHRED_STORE)
    shred = b"".join(Path(p).read_bytes() for p in (store, Path(f"{store}-journal")) if p.exists())
    # Proof that this is the live store: the secrets of a planted record and of the help request are in it.
    live = [str(planted.records[0].data_key_id), str(planted.arrivals[0].data_key_id)]
    if not all(secret in shred for secret in shredstore.fetch(live).values()):
        missed.append("the shred store file does not hold the secrets of live records")
    found += hits("the shred store", shred, planted.markers)

    # Session rows are signed, compressed base64, which no search of the raw database would see into.
    sessions = repr([s.get_decoded() for s in Session.objects.all()]).encode()
    if b"_auth_user_id" not in sessions:
        missed.append("no logged-in session was decoded: the sessions' search proves nothing")
    found += hits("the sessions, decoded", sessions, planted.markers)

    if not hits("the cache", planted.cache, [planted.control_text]):
        missed.append("the cache's control entry was not found: the cache's search proves nothing")
    found += hits("the cache", planted.cache, planted.markers)
    return found, missed


# --- the tests ----------------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_no_marker_in_the_database_the_logs_or_the_stores(
    committed: None,
    scene: matrix.Scene,
    orgs: dict[str, Organisation],
    login: Any,
    vault_runtime: Path,
    stores: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    pg_dump_at: str | None = None
    why_no_dump = ""
    if connection.vendor == "postgresql":
        pg_dump_at, why_no_dump = find_pg_dump(server_major())

    with everything_logged() as logs:
        planted = plant(scene, orgs, login)
        print(planted.control_text.text, file=sys.stderr)  # the control of the stdout and stderr search
    out, err = capfd.readouterr()
    found: list[str] = []

    # The log records, the lines the server's log handlers wrote, and whatever reached stdout and stderr.
    sql_log = logs.text("django.db.backends")
    assert_control_found("the SQL log", sql_log, planted.control_text, "UTF-8")
    assert_control_found("the SQL log", sql_log, planted.control_bytes)
    for table in planted.rows():
        assert f'INSERT INTO "{table}"'.encode() in sql_log, f"the SQL log holds the rows written to {table}"
    assert logs.written, "LOGGING has a handler writing to stderr: its lines are searched"
    assert_control_found("the log handlers' output", logs.output(), planted.control_text, "UTF-8")
    assert_control_found("stdout and stderr", err.encode(), planted.control_text, "UTF-8")
    found += hits("the log records", logs.text(), planted.markers)
    found += hits("the log handlers' output", logs.output(), planted.markers)
    found += hits("stdout and stderr", (out + err).encode(), planted.markers)

    extra, missed = other_artefacts(planted)
    found += extra
    assert not missed, missed

    if connection.vendor == "postgresql":
        if pg_dump_at is not None:
            dump = pg_dump(pg_dump_at)
            assert_control_found("the pg_dump", dump, planted.control_text, "UTF-8")
            assert_control_found(
                "the pg_dump", dump, planted.control_bytes, "hex (bytea as pg_dump writes it)"
            )
            # Every table is in the dump (the task tables too, once they exist), with the rows planted.
            tables = connection.introspection.table_names()
            assert "vault_datakeywrap" in tables and "specimens_specimen" in tables
            undumped = [t for t in tables if f"COPY public.{t} (".encode() not in dump]
            assert not undumped, f"tables missing from the dump: {undumped}"
            for table, keys in planted.rows().items():
                rows = dumped_rows(dump, table)
                assert all(str(key).encode() in rows for key in keys), (
                    f"the planted rows of {table} are dumped"
                )
            first = planted.records[0]  # wrapped for Moscow and, by the referral, for Rainbow Railroad
            assert dumped_rows(dump, "vault_datakeywrap").count(str(first.data_key_id).encode()) == 2
            found += hits("the pg_dump", dump, planted.markers)
    else:
        database = sqlite_files()
        data = b"".join(database.values())
        assert_control_found("the SQLite file", data, planted.control_text, "UTF-8")
        assert_control_found("the SQLite file", data, planted.control_bytes, "UTF-8")
        for table, keys in planted.rows().items():
            assert all(key.hex.encode() in data for key in keys), (
                f"the planted rows of {table} are in the file"
            )
        for path, content in database.items():
            found += hits(f"the SQLite file {path}", content, planted.markers)

    assert not found, f"{len(found)} markers found where no plaintext may be:\n" + "\n".join(found)
    if why_no_dump:
        pytest.skip(f"Logs and stores searched clean, but no pg_dump could run: {why_no_dump}")


def test_no_marker_in_the_postgresql_data_files(
    committed: None,
    scene: matrix.Scene,
    orgs: dict[str, Organisation],
    login: Any,
    vault_runtime: Path,
    stores: Path,
) -> None:
    """Beyond the dump: the table, index and TOAST files on the server's disk, dead row versions included."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own files; on SQLite the database file is searched whole")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser')")
        if cursor.fetchone()[0] != "on":
            pytest.skip("reading the server's data files (pg_read_binary_file, CHECKPOINT) needs a superuser")
    planted = plant(scene, orgs, login, visitors=())
    data_files = postgres_data_files()
    assert "public.specimens_specimen" in data_files and "public.vault_datakeywrap" in data_files
    everything = b"".join(data_files.values())
    assert_control_found("the data files", everything, planted.control_text, "UTF-8")
    assert_control_found("the data files", everything, planted.control_bytes, "UTF-8")
    for table, keys in planted.rows().items():
        assert all(key.bytes in data_files.get(f"public.{table}", b"") for key in keys), (
            f"the planted rows of {table} are in its data file"
        )
    found = [
        hit
        for name, data in data_files.items()
        for hit in hits(f"the data file of {name}", data, planted.markers)
    ]
    assert not found, f"{len(found)} markers found in PostgreSQL's files:\n" + "\n".join(found)


@pytest.mark.smoke
def test_with_the_vault_sealed_every_staff_page_answers_without_plaintext(
    scene: matrix.Scene,
    orgs: dict[str, Organisation],
    login: Any,
    vault_runtime: Path,
    stores: Path,
    make_user: MakeUser,
) -> None:
    planted = plant(scene, orgs, login, visitors=())
    # A control shown on purpose: a Moscow member whose username is a marker, listed on Moscow's people page.
    shown = new_marker("control: a username on the people page")
    make_user(shown.text, orgs["moscow"], "caseworker")
    services.vault_seal()
    assert keyring.is_sealed()

    with everything_logged() as logs:
        pages = walk(planted.scene, [p.column for p in matrix.PRINCIPALS], rolled_back=True)

    # A page that needs the vault answers 503 with the page saying so (vault.views.needs_unsealed); nothing
    # else may answer 5xx, and no view may raise.
    failed = [
        f"{p.who} GET {p.path}: {p.status} {p.error}"
        for p in pages
        if p.status >= 500 and not (p.status == 503 and b"The server is sealed" in p.content)
    ]
    failed += [f"{p.who} GET {p.path} raised {p.error}" for p in pages if p.error]
    assert not failed, "with the vault sealed:\n" + "\n".join(failed)
    assert any(hits("a page", p.content, [shown]) for p in pages if p.who == "org_admin:olga"), (
        "the control username was not found on any page olga loaded: the search of the pages proves nothing"
    )
    found = [
        hit for p in pages for hit in hits(f"{p.who} GET {p.path} ({p.status})", p.content, planted.markers)
    ]
    found += hits("the log records", logs.text(), planted.markers)
    found += hits("the log handlers' output", logs.output(), planted.markers)
    assert not found, "plaintext with the vault sealed:\n" + "\n".join(found)
