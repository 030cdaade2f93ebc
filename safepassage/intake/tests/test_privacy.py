"""What the intake keeps about a requester, and what it leaves: no address, no device, no time finer than the
day, no cookie; a wrong codename looks like a right one with nothing new; the proof of work under attack."""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
from typing import Any

import pytest
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext

from safepassage.intake import floods
from safepassage.intake.models import (
    HelpRequest,
    IntakeSettings,
    Mailbox,
    MailboxMessage,
    Receiver,
    RequestFile,
)
from safepassage.intake.tests.test_flow import FORM, challenge_of, codename_of, submit
from safepassage.vault.models import ArrivalWrap, DataKey

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.77"
AGENT = "Mozilla/5.0 (Linux; Android 9; SM-J530F) Marker-Agent/1.0"


@pytest.fixture
def receiver(unsealed: list[str], orgs: dict[str, Any]) -> Receiver:
    return Receiver.objects.create(organisation=orgs["moscow"], public_name="Moscow group")


def test_nothing_of_the_requesters_connection_or_clock_is_kept(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT, HTTP_X_FORWARDED_FOR=ADDRESS)
    with caplog.at_level(logging.DEBUG):
        sent = submit(client)
        codename = codename_of(sent)
        thread = client.post("/help/mailbox/", {"codename": codename}).content.decode()
        token = re.search(r'name="token" value="([^"]+)"', thread)
        assert token
        client.post("/help/mailbox/send/", {"token": token.group(1), "body": "ещё"})
        client.post("/help/", {"situation": "x"})  # a refused form is logged like any other request
    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert ADDRESS not in logged and "Marker-Agent" not in logged

    # The intake's tables have no column for an address, a device or a time of day.
    for model in (HelpRequest, Mailbox, MailboxMessage, RequestFile, ArrivalWrap):
        kinds = {type(f) for f in model._meta.concrete_fields}
        assert models.DateTimeField not in kinds, model
        assert models.GenericIPAddressField not in kinds, model
    # The data keys of what arrived carry the day only.
    for key in DataKey.objects.all():
        assert key.created_at.astimezone(datetime.UTC).time() == datetime.time(0, 0)
    # No cookie is set on the requester's device (no CSRF cookie, no session, no language cookie).
    assert not client.cookies, client.cookies


def test_a_wrong_codename_runs_the_same_queries_as_a_right_one_with_nothing_new(receiver: Receiver) -> None:
    client = Client()
    codename = codename_of(submit(client))
    with CaptureQueriesContext(connection) as right:
        found = client.post("/help/mailbox/", {"codename": codename})
    with CaptureQueriesContext(connection) as wrong:
        missing = client.post("/help/mailbox/", {"codename": "abacus " * 7})
    assert "No answer yet" in found.content.decode()
    assert "Nothing was found" in missing.content.decode()
    assert found.status_code == missing.status_code == 200
    shape = [re.sub(r"'[^']*'|\b\d+\b|\\\\x[0-9a-f]+", "?", q["sql"]) for q in right.captured_queries]
    shape_wrong = [re.sub(r"'[^']*'|\b\d+\b|\\\\x[0-9a-f]+", "?", q["sql"]) for q in wrong.captured_queries]
    assert shape == shape_wrong


def _solve(challenge: str, bits: int) -> str:
    for nonce in range(10_000_000):
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(nonce)
    raise AssertionError("no proof found")


def test_under_attack_a_solved_puzzle_passes_at_once_and_no_javascript_waits(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    IntakeSettings.objects.create(
        pk=1, proof_of_work=True, proof_of_work_bits=8, proof_of_work_wait_seconds=30
    )
    with_script = Client()
    page = with_script.get("/help/").content.decode()
    assert 'data-pow-bits="8"' in page and "intake/pow.js" in page
    challenge = challenge_of(page)
    sent = with_script.post("/help/", {**FORM, "challenge": challenge, "proof": _solve(challenge, 8)})
    assert sent.status_code == 200
    codename_of(sent)

    # Without JavaScript: too early, the form comes back with the text kept and how long to wait ...
    without = Client()
    challenge = challenge_of(without.get("/help/", HTTP_ACCEPT_LANGUAGE="ru").content.decode())
    early = without.post("/help/", {**FORM, "challenge": challenge}, HTTP_ACCEPT_LANGUAGE="ru")
    assert early.status_code == 429
    assert "Меня ищут родственники" in early.content.decode()
    assert "подождите" in early.content.decode().lower()
    assert HelpRequest.objects.count() == 1
    # ... and after the wait, the same challenge is accepted (the clock moved on 31 seconds).
    now = floods.now()
    monkeypatch.setattr(floods, "now", lambda: now + 31)
    later = without.post("/help/", {**FORM, "challenge": challenge}, HTTP_ACCEPT_LANGUAGE="ru")
    assert later.status_code == 200
    codename_of(later)
    assert HelpRequest.objects.count() == 2
    # A wrong proof is no shortcut.
    other = challenge_of(Client().get("/help/").content.decode())
    monkeypatch.setattr(floods, "now", lambda: now)
    wrong = Client().post("/help/", {**FORM, "challenge": other, "proof": "1"})
    assert wrong.status_code == 429 or _solve(other, 8) == "1"


def test_a_mailbox_that_writes_too_much_is_told_to_wait(receiver: Receiver) -> None:
    IntakeSettings.objects.create(pk=1, messages_per_hour=2)
    client = Client()
    thread = client.post("/help/mailbox/", {"codename": codename_of(submit(client))}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', thread)
    assert token
    answers = [
        client.post("/help/mailbox/send/", {"token": token.group(1), "body": f"сообщение {n}"}).status_code
        for n in range(3)
    ]
    assert answers == [200, 200, 429]
    assert MailboxMessage.objects.count() == 2
    # The counter does not name the mailbox in plain (it would tie the mailbox to the hour it wrote in).
    from django.core.cache import cache

    keys = " ".join(str(k) for k in getattr(cache, "_cache", {}))
    assert "intake:limit:mailbox:" in keys, "the local-memory cache holds the counter"
    mailbox = Mailbox.objects.get()
    assert str(mailbox.pk) not in keys and mailbox.pk.hex not in keys


def test_a_files_times_say_the_day_and_it_moves_into_the_store_when_staff_adopt_it(
    receiver: Receiver, people: dict[str, Any], login: Any
) -> None:
    import io
    import os

    from safepassage.vault import files

    upload = io.BytesIO(b"%PDF-1.4\n" + bytes(5000))
    upload.name = "statement.pdf"
    page = Client().get("/help/").content.decode()
    sent = Client().post("/help/", {**FORM, "challenge": challenge_of(page), "attachments": [upload]})
    codename_of(sent)
    row = RequestFile.objects.get()
    waiting = files.file_path(row.file_id, arrival=True)
    midnight = (
        datetime.datetime.now(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    )
    assert waiting.exists() and not files.file_path(row.file_id).exists()
    assert os.stat(waiting).st_mtime == midnight and os.stat(waiting).st_atime == midnight
    assert os.stat(waiting.parent).st_mtime == midnight

    login(people["alice"]).get("/requests/")  # adopts what arrived
    stored = files.file_path(row.file_id)
    assert stored.exists() and not waiting.exists()
    assert os.stat(stored).st_mtime == midnight and os.stat(stored.parent).st_mtime == midnight
