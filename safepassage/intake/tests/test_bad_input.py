"""Bad input on the public form: a clear message in the requester's language, what they wrote kept in the form,
and nothing stored, not even half."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from safepassage.intake.models import HelpRequest, Mailbox, MailboxMessage, Receiver, RequestFile
from safepassage.intake.tests.test_flow import FORM, challenge_of, codename_of
from safepassage.vault import files
from safepassage.vault.models import ArrivalWrap, DataKey

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(2000)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def receiver(unsealed: list[str], orgs: dict[str, Any]) -> Receiver:
    return Receiver.objects.create(organisation=orgs["moscow"], public_name="Moscow group")


def stored() -> dict[str, int]:
    return {
        "requests": HelpRequest.objects.count(),
        "mailboxes": Mailbox.objects.count(),
        "messages": MailboxMessage.objects.count(),
        "files": RequestFile.objects.count(),
        "keys": DataKey.objects.count(),
        "arrivals": ArrivalWrap.objects.count(),
    }


def stored_files() -> list[Path]:
    return [p for p in Path(settings.VAULT_FILE_DIR).rglob("*") if p.is_file()]


def post(client: Client, language: str = "en", **changes: Any) -> Any:
    page = client.get("/help/", HTTP_ACCEPT_LANGUAGE=language)
    data = {**FORM, "challenge": challenge_of(page.content.decode()), **changes}
    return client.post("/help/", data, HTTP_ACCEPT_LANGUAGE=language)


def upload(name: str, content: bytes) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def test_photos_and_pdfs_are_stored_encrypted_and_read_back_by_staff(
    receiver: Receiver, people: dict[str, Any], login: Any
) -> None:
    response = post(Client(), attachments=[upload("photo.jpg", JPEG), upload("passport.pdf", PDF)])
    assert response.status_code == 200, response.content.decode()[:3000]
    codename_of(response)
    assert RequestFile.objects.count() == 2
    for path in stored_files():
        assert JPEG[:100] not in path.read_bytes() and b"%PDF-1.4" not in path.read_bytes()
    alice = login(people["alice"])
    request = HelpRequest.objects.get()
    page = alice.get(f"/requests/{request.pk}/").content.decode()
    assert "photo.jpg" in page and "passport.pdf" in page
    pdf = RequestFile.objects.get(kind="pdf")
    download = alice.get(f"/requests/{request.pk}/files/{pdf.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="request-file.pdf"'
    assert b"".join(download.streaming_content) == PDF


@pytest.mark.parametrize(
    ("language", "files", "message"),
    [
        ("en", [("notes.jpg", b"<html><script>alert(1)</script></html>")], "is not a photo"),
        ("ru", [("setup.pdf", b"MZ\x90\x00\x03" + bytes(500))], "не фото"),
        ("en", [("empty.png", b"")], "is empty"),
        ("sv", [(f"{n}.pdf", PDF) for n in range(4)], "högst 3"),
    ],
)
def test_disguised_empty_or_too_many_files_are_refused_and_the_text_kept(
    receiver: Receiver, language: str, files: list[tuple[str, bytes]], message: str
) -> None:
    before, before_files = stored(), stored_files()
    response = post(Client(), language, attachments=[upload(n, c) for n, c in files])
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert "Меня ищут родственники" in page  # what they wrote is still in the form
    assert stored() == before and stored_files() == before_files


def test_a_file_over_the_size_limit_is_refused_without_being_kept(receiver: Receiver, settings: Any) -> None:
    settings.INTAKE_MAX_FILE_MB = 1
    before, before_files = stored(), stored_files()
    big = JPEG + bytes(1024 * 1024)
    response = post(Client(), attachments=[upload("big.jpg", big)])
    assert response.status_code == 400
    assert "big.jpg is larger than 1 MB" in response.content.decode()
    assert stored() == before and stored_files() == before_files
    incoming = files.arrivals_dir() / "incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


def test_text_of_100_kb_is_refused_with_its_length(receiver: Receiver) -> None:
    before = stored()
    response = post(Client(), "ru", situation="я" * 100_000)
    assert response.status_code == 400
    assert "100000" in response.content.decode()
    assert stored() == before


def test_text_that_was_not_utf8_is_refused_in_the_requesters_language(receiver: Receiver) -> None:
    client = Client()
    page = client.get("/help/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    body = (
        b"situation=%C3%28%FF&location=x&urgency=urgent&consent=on&challenge=" + challenge_of(page).encode()
    )
    before = stored()
    response = client.post(
        "/help/", body, content_type="application/x-www-form-urlencoded", HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.status_code == 400
    assert "Некоторые символы" in response.content.decode()
    assert stored() == before


def test_broken_multipart_gets_a_page_not_a_trace(receiver: Receiver) -> None:
    client = Client(raise_request_exception=False)
    before = stored()
    response = client.generic(
        "POST",
        "/help/",
        b'--xyz\r\nContent-Disposition: form-data; name="situation"\r\n\r\nhello\r\n--xy',
        content_type="multipart/form-data; boundary=xyz",
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Traceback" not in page and "MultiPart" not in page
    assert stored() == before


def test_markup_in_a_request_reaches_staff_as_text(
    receiver: Receiver, people: dict[str, Any], login: Any
) -> None:
    post(
        Client(), situation='<script>alert("x")</script><b>bold</b>', location="<img src=x onerror=alert(1)>"
    )
    request = HelpRequest.objects.get()
    page = login(people["alice"]).get(f"/requests/{request.pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<img src=x" not in page and "<script>alert" not in page


def test_a_sent_form_sent_again_is_not_stored_twice(receiver: Receiver) -> None:
    client = Client()
    page = client.get("/help/").content.decode()
    data = {**FORM, "challenge": challenge_of(page)}
    first = client.post("/help/", data)
    assert first.status_code == 200
    again = client.post("/help/", data)  # the browser's "send again" after a reload
    assert again.status_code == 429
    assert "sent already" in again.content.decode()
    assert HelpRequest.objects.count() == 1


def test_when_the_flood_limit_is_reached_the_requester_is_told_to_retry(receiver: Receiver) -> None:
    from safepassage.intake.models import IntakeSettings

    IntakeSettings.objects.create(pk=1, requests_per_minute=1)
    assert post(Client()).status_code == 200
    refused = post(Client(), "ru")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Меня ищут родственники" in page  # kept in the form, to send again
    assert HelpRequest.objects.count() == 1


def test_when_the_database_fails_before_the_form_the_requester_gets_their_text_back(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from safepassage.intake import services

    page = Client().get("/help/").content.decode()

    def down() -> None:
        raise OperationalError("too many clients already")

    monkeypatch.setattr(services, "receivers_accepting", down)
    answer = Client(raise_request_exception=False).post("/help/", {**FORM, "challenge": challenge_of(page)})
    assert answer.status_code == 503
    assert "Меня ищут родственники" in answer.content.decode()
    assert "Traceback" not in answer.content.decode()


def test_a_full_disk_while_a_file_arrives_is_said_in_the_form(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    answer = post(Client(), attachments=[upload("photo.jpg", JPEG)])
    assert answer.status_code == 400
    assert "could not be received right now" in answer.content.decode()
    assert "Меня ищут родственники" in answer.content.decode()
    assert HelpRequest.objects.count() == 0
