"""The two faces: what each serves, and what the requester's pages refuse or keep (review findings)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import clear_url_caches

from safepassage.intake import floods
from safepassage.intake.models import HelpRequest, IntakeSettings, MailboxMessage, Receiver
from safepassage.intake.tests.test_flow import FORM, challenge_of, codename_of, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(unsealed: list[str], orgs: dict[str, Any]) -> Receiver:
    return Receiver.objects.create(organisation=orgs["moscow"], public_name="Moscow group")


@pytest.fixture
def face() -> Iterator[Callable[[str], None]]:
    """Serve as SAFEPASSAGE_FACE=<name> for the rest of the test (URLs and middleware)."""
    from django.conf import settings

    import safepassage.urls

    overrides: list[Any] = []

    def use(name: str) -> None:
        middleware = list(settings.MIDDLEWARE)
        if name == "public":
            middleware.insert(1, "safepassage.public.middleware.PublicFaceMiddleware")
        override = override_settings(SAFEPASSAGE_FACE=name, MIDDLEWARE=middleware)
        override.enable()
        overrides.append(override)
        importlib.reload(safepassage.urls)
        clear_url_caches()

    yield use
    for override in reversed(overrides):
        override.disable()
    importlib.reload(safepassage.urls)
    clear_url_caches()


def test_the_public_face_serves_the_requester_only_and_ignores_a_session_cookie(
    receiver: Receiver, face: Callable[[str], None], people: dict[str, Any], login: Any
) -> None:
    staff = login(people["alice"])  # a real staff session cookie
    face("public")
    assert Client().get("/").status_code == 302
    for path in ("/requests/", "/accounts/login/", "/admin/", "/home/", "/help/nothing", "/i18n/setlang/"):
        answer = Client().get(path)
        assert answer.status_code == 404, path
        assert "Leave this page" in answer.content.decode()  # the requester's layout, with the quick exit
        assert "csrftoken" not in answer.cookies
    staff_cookie = staff.cookies["sessionid"].value
    client = Client()
    client.cookies["sessionid"] = staff_cookie
    assert client.get("/help/").status_code == 200


def test_the_staff_face_does_not_serve_the_form_and_answers_404_not_500(
    receiver: Receiver, face: Callable[[str], None]
) -> None:
    face("staff")
    client = Client(raise_request_exception=False)
    for path in ("/help/", "/help/mailbox/", "/help/x"):
        assert client.get(path).status_code == 404, path


def test_the_entry_page_sets_no_cookie(receiver: Receiver) -> None:
    answer = Client().get("/?lang=ru")
    assert answer.status_code == 200
    assert not answer.cookies
    assert 'lang="ru"' in answer.content.decode()


def test_a_message_written_on_an_expired_page_comes_back_after_the_codename(
    receiver: Receiver, settings: Any
) -> None:
    client = Client()
    codename = codename_of(submit(client))
    thread = client.post("/help/mailbox/", {"codename": codename}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', thread)
    assert token
    from django.core.cache import cache

    cache.clear()  # the page's handle has expired
    expired = client.post("/help/mailbox/send/", {"token": token.group(1), "body": "Я в Назрани, у друзей."})
    assert expired.status_code == 400
    page = expired.content.decode()
    assert "open too long" in page
    assert MailboxMessage.objects.count() == 0
    draft = re.search(r'name="draft" value="([^"]+)"', page)
    assert draft and "Назрани" in draft.group(1)
    again = client.post("/help/mailbox/", {"codename": codename, "draft": draft.group(1)}).content.decode()
    assert "Я в Назрани, у друзей." in again  # back in the message box, to send


def test_the_thread_page_does_not_carry_the_mailbox_id(receiver: Receiver) -> None:
    client = Client()
    codename = codename_of(submit(client))
    thread = client.post("/help/mailbox/", {"codename": codename}).content.decode()
    mailbox = HelpRequest.objects.get().mailbox_id
    assert str(mailbox) not in thread and mailbox.hex not in thread
    import base64

    token = re.search(r'name="token" value="([^"]+)"', thread)
    assert token
    payload = token.group(1).split(":")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode(errors="replace")
    assert str(mailbox) not in decoded


def test_a_post_from_another_site_is_refused(receiver: Receiver) -> None:
    client = Client()
    page = client.get("/help/").content.decode()
    data = {**FORM, "challenge": challenge_of(page)}
    assert client.post("/help/", data, HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert client.post("/help/", data, HTTP_ORIGIN="https://evil.example").status_code == 403
    assert (
        client.post("/help/mailbox/", {"codename": "x"}, HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    )
    assert HelpRequest.objects.count() == 0
    assert (
        client.post("/help/", data, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin").status_code == 200
    )


def test_under_attack_old_easy_challenges_must_be_taken_again_and_the_slow_path_has_a_budget(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    easy = challenge_of(Client().get("/help/").content.decode())  # made while the puzzle was off
    IntakeSettings.objects.create(
        pk=1,
        proof_of_work=True,
        proof_of_work_bits=8,
        proof_of_work_wait_seconds=30,
        proof_of_work_waits_per_minute=1,
    )
    stale = Client().post("/help/", {**FORM, "challenge": easy, "proof": "1"})
    assert stale.status_code == 429
    assert HelpRequest.objects.count() == 0
    # Two requesters without JavaScript wait it out; the second one within the minute is asked to retry.
    challenges = [challenge_of(Client().get("/help/").content.decode()) for _ in range(2)]
    now = floods.now()
    monkeypatch.setattr(floods, "now", lambda: now + 31)
    answers = [Client().post("/help/", {**FORM, "challenge": c}).status_code for c in challenges]
    assert answers == [200, 429]
    assert HelpRequest.objects.count() == 1


def test_a_form_refused_for_a_typo_keeps_its_unused_challenge(receiver: Receiver) -> None:
    IntakeSettings.objects.create(pk=1, proof_of_work=True, proof_of_work_bits=8)
    client = Client()
    challenge = challenge_of(client.get("/help/").content.decode())
    refused = client.post("/help/", {**FORM, "challenge": challenge, "urgency": ""})
    assert refused.status_code == 400
    assert challenge_of(refused.content.decode()) == challenge  # the wait does not start again


def test_a_form_open_for_hours_is_not_called_sent_already(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core import signing

    challenge = challenge_of(Client().get("/help/").content.decode())
    real_loads = signing.loads
    monkeypatch.setattr(
        signing,
        "loads",
        lambda *a, **k: real_loads(*a, **{**k, "max_age": -1}) if "max_age" in k else real_loads(*a, **k),
    )
    answer = Client().post("/help/", {**FORM, "challenge": challenge})
    assert answer.status_code == 429
    page = answer.content.decode()
    assert "open a long time" in page and "sent already" not in page
    assert "Меня ищут родственники" in page


def test_the_public_face_answers_sealed_pages_without_failing(
    receiver: Receiver, face: Callable[[str], None], rf: Any
) -> None:
    """The staff layout (used by the sealed page) must render where the language switch does not exist."""
    from django.template.loader import render_to_string

    face("public")
    page = render_to_string("vault/sealed.html", request=rf.get("/help/"))
    assert "Safe Passage" in page
