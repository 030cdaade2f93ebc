"""The whole intake as its people see it: a requester asks, staff read and answer, the requester reads the answer
with the codename; and what each of them must never see."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from safepassage.audit.models import AuditEntry
from safepassage.intake.models import HelpRequest, MailboxMessage, Receiver, RequestStatus
from safepassage.vault import services as vault_services

pytestmark = pytest.mark.django_db

FORM = {
    "situation": "Меня ищут родственники. Нужна помощь.",
    "location": "Грозный",
    "region": "chechnya",
    "urgency": "emergency",
    "needs": ["shelter", "leave"],
    "contact": "+7 916 555-01-23",
    "consent": "on",
}


@pytest.fixture
def receivers(unsealed: list[str], orgs: dict[str, Any]) -> dict[str, Receiver]:
    return {
        "moscow": Receiver.objects.create(organisation=orgs["moscow"], public_name="Moscow group"),
        "railroad": Receiver.objects.create(organisation=orgs["railroad"], public_name="Railroad"),
    }


def challenge_of(page: str) -> str:
    found = re.search(r'name="challenge" value="([^"]+)"', page)
    assert found, "the form carries a challenge"
    return found.group(1)


def submit(client: Client, **changes: Any) -> Any:
    page = client.get("/help/")
    data = {**FORM, "challenge": challenge_of(page.content.decode()), "receiver": "", **changes}
    return client.post("/help/", data)


def codename_of(response: Any) -> str:
    found = re.search(r'id="codename">([a-z\- ]+)<', response.content.decode())
    assert found, response.content.decode()[:2000]
    return found.group(1)


@pytest.mark.smoke
def test_a_request_in_russian_is_answered_and_the_answer_read_with_the_codename(
    receivers: dict[str, Receiver], people: dict[str, Any], login: Any
) -> None:
    requester = Client(HTTP_ACCEPT_LANGUAGE="ru")
    form = requester.get("/help/")
    assert form.status_code == 200
    assert '<html lang="ru">' in form.content.decode()  # Russian first when the browser prefers it

    sent = submit(requester, receiver=str(receivers["moscow"].pk))
    assert sent.status_code == 200
    codename = codename_of(sent)
    assert len(codename.split()) == 7
    assert "no-store" in sent["Cache-Control"]

    stored = HelpRequest.objects.get()
    assert stored.organisation_id == receivers["moscow"].pk
    assert b"\xd0\x93\xd1\x80\xd0\xbe\xd0\xb7" not in bytes(stored.location)  # "Гроз" is sealed

    alice = login(people["alice"])
    inbox = alice.get("/requests/").content.decode()
    assert "In danger now" in inbox and "A safe place to stay" in inbox
    page = alice.get(f"/requests/{stored.pk}/").content.decode()
    assert "Меня ищут родственники" in page and "Грозный" in page
    assert AuditEntry.objects.filter(action="intake.request.open", actor_id=people["alice"].pk).count() == 1

    replied = alice.post(f"/requests/{stored.pk}/reply/", {"body": "Мы вас слышим. Напишите, где вы."})
    assert replied.status_code == 302

    back = requester.post("/help/mailbox/", {"codename": codename.upper().replace(" ", "-")})
    thread = back.content.decode()
    assert "Мы вас слышим" in thread
    assert "alice" not in thread and "Russian LGBT Network" not in thread and "Moscow group" not in thread

    # The requester writes back; staff see one new message.
    token = re.search(r'name="token" value="([^"]+)"', thread)
    assert token
    written = requester.post("/help/mailbox/send/", {"token": token.group(1), "body": "Я в Назрани."})
    assert written.status_code == 200
    assert "Я в Назрани" in alice.get(f"/requests/{stored.pk}/").content.decode()
    assert MailboxMessage.objects.filter(direction="in", seen=True).count() == 1


def test_a_wrong_codename_finds_nothing(receivers: dict[str, Receiver]) -> None:
    client = Client()
    submit(client)
    answer = client.post("/help/mailbox/", {"codename": "abacus " * 7})
    assert answer.status_code == 200
    assert "Nothing was found for this codename" in answer.content.decode()


def test_a_codename_typed_with_the_keyboard_left_in_russian_still_opens(
    receivers: dict[str, Receiver],
) -> None:
    from safepassage.intake.codename import normalise

    client = Client()
    codename = codename_of(submit(client))
    russian_keys = str.maketrans("qwertyuiop[]asdfghjkl;'zxcvbnm,.`", "йцукенгшщзхъфывапролджэячсмитьбюё")
    typed = codename.translate(russian_keys)
    assert normalise(typed) == codename
    answer = client.post("/help/mailbox/", {"codename": typed})
    assert "No answer yet" in answer.content.decode()


@pytest.mark.smoke
def test_requests_arrive_while_sealed_and_open_after_unseal(
    receivers: dict[str, Receiver], unsealed: list[str], people: dict[str, Any], login: Any
) -> None:
    vault_services.vault_seal()
    response = submit(Client())
    assert response.status_code == 200
    codename_of(response)
    alice = login(people["alice"])
    sealed_inbox = alice.get("/requests/")
    assert sealed_inbox.status_code == 200
    assert "The server is sealed" in sealed_inbox.content.decode()
    assert "Меня ищут" not in sealed_inbox.content.decode()
    for share in unsealed:
        vault_services.vault_add_share(mnemonic=share)
    request = HelpRequest.objects.get()
    assert "Меня ищут" in alice.get(f"/requests/{request.pk}/").content.decode()


def test_only_the_receiving_organisation_reads_a_request(
    receivers: dict[str, Receiver], people: dict[str, Any], login: Any
) -> None:
    submit(Client(), receiver=str(receivers["moscow"].pk))
    request = HelpRequest.objects.get()
    bob = login(people["bob"])  # a caseworker, of another organisation
    assert bob.get(f"/requests/{request.pk}/").status_code == 404
    assert "Меня ищут" not in bob.get("/requests/").content.decode()
    olga = login(people["olga"])  # the org admin of the receiving organisation does not triage
    assert olga.get("/requests/").status_code == 403
    assert AuditEntry.objects.filter(actor_id=people["bob"].pk, outcome="denied").exists()


def test_staff_mark_assign_and_see_possible_duplicates(
    receivers: dict[str, Receiver], people: dict[str, Any], login: Any, make_user: Any, orgs: dict[str, Any]
) -> None:
    submit(Client(), receiver=str(receivers["moscow"].pk))
    submit(Client(), receiver=str(receivers["moscow"].pk), contact="8 (916) 555 01 23")
    alice = login(people["alice"])
    inbox = alice.get("/requests/").content.decode()
    assert inbox.count("possible duplicate") == 2
    first, second = HelpRequest.objects.order_by("pk")
    colleague = make_user("vera", orgs["moscow"], "caseworker")
    alice.post(f"/requests/{first.pk}/assign/", {"assignee": colleague.pk})
    first.refresh_from_db()
    assert first.assignee == colleague
    # Someone who may not triage there cannot be given it.
    refused = alice.post(f"/requests/{first.pk}/assign/", {"assignee": people["bob"].pk})
    assert refused.status_code == 400
    alice.post(f"/requests/{second.pk}/mark/", {"status": "trap"})
    second.refresh_from_db()
    assert second.status == RequestStatus.TRAP
    assert "possible duplicate" in alice.get("/requests/?show=closed").content.decode()
    home = alice.get("/home/").content.decode()
    assert "Help requests waiting" in home


def test_a_forged_arrival_wrap_cannot_replace_a_records_key_and_a_damaged_field_does_not_break_pages(
    receivers: dict[str, Receiver], people: dict[str, Any], login: Any
) -> None:
    from nacl.public import SealedBox

    from safepassage.vault.intake import intake_public_key
    from safepassage.vault.models import ArrivalWrap

    submit(Client(), receiver=str(receivers["moscow"].pk))
    alice = login(people["alice"])
    assert alice.get("/requests/").status_code == 200  # adopts the arrival
    request = HelpRequest.objects.get()
    organisation_id = receivers["moscow"].pk
    # Anyone may seal to the public key: a forged wrap for the existing record's data key, with a key of theirs.
    place = f"arrival/{request.data_key_id}/{organisation_id}".encode()
    ArrivalWrap.objects.create(
        data_key_id=request.data_key_id,
        organisation_id=organisation_id,
        sealed=SealedBox(intake_public_key(organisation_id)).encrypt(place + b"\0" + bytes(32)),
    )
    assert alice.get("/requests/").status_code == 200
    assert not ArrivalWrap.objects.exists()
    assert "Меня ищут родственники" in alice.get(f"/requests/{request.pk}/").content.decode()

    # A damaged value: the page answers, and says the request cannot be read instead of failing.
    damaged = bytearray(bytes(request.situation))
    damaged[-1] ^= 1
    HelpRequest.objects.filter(pk=request.pk).update(situation=bytes(damaged))
    page = alice.get(f"/requests/{request.pk}/")
    assert page.status_code == 200
    assert "Меня ищут родственники" not in page.content.decode()
    assert alice.get("/requests/").status_code == 200


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("@Mahmud_2017", "t.me/mahmud_2017", True),
        ("Mahmud.K@Proton.me ", "mahmud.k@proton.me", True),
        ("+7 916 555-01-23", "8 (916) 555 01 23", True),
        ("@mahmud_2017", "@mahmud_2018", False),
        ("+7 916 555-01-23", "@mahmud_2017", False),
    ],
)
def test_duplicates_are_found_by_any_kind_of_contact_and_confirmed_on_the_request_page(
    receivers: dict[str, Receiver], people: dict[str, Any], login: Any, first: str, second: str, same: bool
) -> None:
    from safepassage.intake.services import contact_index

    submit(Client(), receiver=str(receivers["moscow"].pk), contact=first)
    submit(Client(), receiver=str(receivers["moscow"].pk), contact=second)
    alice = login(people["alice"])
    inbox = alice.get("/requests/").content.decode()
    assert (inbox.count("possible duplicate") == 2) == same
    assert (contact_index(first) == contact_index(second)) == same
    older = HelpRequest.objects.order_by("received_on", "pk").first()
    assert older is not None
    page = alice.get(f"/requests/{older.pk}/").content.decode()
    assert ("Possible duplicate" in page) == same


def test_a_page_takes_in_a_bounded_part_of_a_flood_and_the_command_the_rest(
    receivers: dict[str, Receiver], people: dict[str, Any], login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.management import call_command

    from safepassage.intake import services
    from safepassage.vault import intake as arrivals
    from safepassage.vault.models import ArrivalWrap

    monkeypatch.setattr(arrivals, "ADOPT_BATCH", 2)
    monkeypatch.setattr(services, "TRIAGE_BATCH", 2)
    for _ in range(6):
        submit(Client(), receiver=str(receivers["moscow"].pk))
    alice = login(people["alice"])
    assert alice.get("/requests/").status_code == 200
    assert ArrivalWrap.objects.count() == 2  # two batches of two per page
    assert HelpRequest.objects.filter(triaged=True).count() == 4
    call_command("intake", "adopt")
    assert not ArrivalWrap.objects.exists()
    assert HelpRequest.objects.filter(triaged=False).count() == 0
    assert alice.get("/requests/").content.decode().count("In danger now") == 6
