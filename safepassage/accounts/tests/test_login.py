"""Log-in with a mandatory second factor, throttling, and sessions that end when access ends."""

from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD, TOTP_SECRET
from safepassage.accounts import services
from safepassage.audit.models import AuditEntry
from safepassage.lib.totp import totp_code

LOGIN = "/accounts/login/"
SECOND_STEP = "/accounts/2fa/authenticate/"


def _password_step(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(LOGIN, {"login": username, "password": password})


def _log_in(client: Client, username: str, code: str | None = None) -> Any:
    response = _password_step(client, username)
    assert response.status_code == 302 and response["Location"] == SECOND_STEP
    return client.post(SECOND_STEP, {"code": code or totp_code(TOTP_SECRET)})


@pytest.mark.smoke
def test_it_logs_in_with_password_and_totp(people: dict[str, Any]) -> None:
    client = Client()
    response = _log_in(client, "alice")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    page = client.get(reverse("home"))
    assert page.status_code == 200
    assert "Caseworker" in page.content.decode()
    assert AuditEntry.objects.filter(action="auth.login", actor_id=people["alice"].pk).exists()


def test_the_password_alone_does_not_log_in(people: dict[str, Any]) -> None:
    client = Client()
    _password_step(client, "alice")
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_it_refuses_a_replayed_totp_code(people: dict[str, Any]) -> None:
    code = totp_code(TOTP_SECRET)
    first = Client()
    assert _log_in(first, "alice", code)["Location"] == reverse("home")
    second = Client()
    response = _log_in(second, "alice", code)
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert second.get(reverse("home")).status_code == 302


def test_a_wrong_code_is_refused_and_audited(people: dict[str, Any]) -> None:
    client = Client()
    _password_step(client, "alice")
    wrong = "000000" if totp_code(TOTP_SECRET) != "000000" else "111111"
    response = client.post(SECOND_STEP, {"code": wrong})
    assert response.status_code == 200
    assert AuditEntry.objects.filter(action="auth.second_factor_failed", outcome="failed").exists()


def test_a_recovery_code_works_once(people: dict[str, Any]) -> None:
    codes = RecoveryCodes.activate(people["alice"]).get_unused_codes()
    assert _log_in(Client(), "alice", codes[0])["Location"] == reverse("home")
    response = _log_in(Client(), "alice", codes[0])
    assert response.status_code == 200


def test_unknown_user_and_wrong_password_get_the_same_answer(people: dict[str, Any]) -> None:
    wrong_password = _password_step(Client(), "alice", "not the password at all")
    unknown_user = _password_step(Client(), "nobody-here", "not the password at all")
    assert wrong_password.status_code == unknown_user.status_code == 200

    def errors(response: Any) -> list[str]:
        return [str(e) for e in response.context["form"].non_field_errors()]

    assert errors(wrong_password) == errors(unknown_user)
    assert errors(wrong_password)


def test_it_locks_an_account_after_repeated_failures(people: dict[str, Any]) -> None:
    for _ in range(5):
        _password_step(Client(), "alice", "wrong password guess")
    # Even the right password is refused now, from any client.
    response = _password_step(Client(), "alice")
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()


def test_it_throttles_a_client_trying_many_accounts(people: dict[str, Any]) -> None:
    client = Client()
    for i in range(10):
        _password_step(client, f"guess{i}", "wrong password guess")
    response = _password_step(client, "alice")
    assert "Too many failed login attempts" in response.content.decode()
    # Another client is not held back by it.
    assert _password_step(Client(REMOTE_ADDR="192.0.2.7"), "alice")["Location"] == SECOND_STEP


def test_failed_logins_are_audited_without_the_typed_name(people: dict[str, Any]) -> None:
    _password_step(Client(), "someone-secret", "wrong password guess")
    entry = AuditEntry.objects.get(action="auth.login_failed")
    assert entry.outcome == "failed"
    assert "someone-secret" not in entry.canonical().decode()


def test_a_person_without_a_second_factor_must_enrol_first(
    orgs: dict[str, Any], make_user: Any, login: Any
) -> None:
    newbie = make_user("newbie", orgs["moscow"], "caseworker", factor=False)
    response = login(newbie).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_disabling_a_person_ends_their_sessions_at_once(people: dict[str, Any], login: Any) -> None:
    alice = login(people["alice"])
    assert alice.get(reverse("home")).status_code == 200
    membership = people["alice"].memberships.get()
    services.person_set_active(by=people["olga"], membership=membership, active=False)
    response = alice.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_removing_a_membership_ends_their_sessions_at_once(people: dict[str, Any], login: Any) -> None:
    alice = login(people["alice"])
    assert alice.get(reverse("home")).status_code == 200
    services.membership_remove(by=people["olga"], membership=people["alice"].memberships.get())
    response = alice.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_it_logs_out_after_the_idle_timeout(people: dict[str, Any], login: Any, settings: Any) -> None:
    alice = login(people["alice"])
    assert alice.get(reverse("home")).status_code == 200
    session = alice.session
    session["_last_seen"] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()
    response = alice.get(reverse("home"))
    assert response.status_code == 302
    assert alice.get(reverse("home"))["Location"].startswith(LOGIN)


def test_a_person_cannot_remove_their_last_second_factor(people: dict[str, Any], login: Any) -> None:
    from conftest import step_up

    alice = login(people["alice"])
    step_up(alice)
    response = alice.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 200
    assert "You cannot deactivate two-factor authentication." in response.content.decode()
    assert Authenticator.objects.filter(user=people["alice"], type="totp").exists()


def test_passwords_are_hashed_with_argon2id(people: dict[str, Any]) -> None:
    from safepassage import settings as production

    assert production.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    people["alice"].refresh_from_db()
    assert people["alice"].password.startswith("argon2$argon2id$")


def test_an_unknown_user_costs_the_same_password_work_as_a_wrong_password(
    people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Similar time without timing: count the Argon2 computations each answer costs."""
    from tests.hashers import QuickArgon2PasswordHasher

    calls: list[str] = []
    original_encode = QuickArgon2PasswordHasher.encode
    original_verify = QuickArgon2PasswordHasher.verify

    def encode(self: Any, password: str, salt: str) -> str:
        calls.append("hash")
        return original_encode(self, password, salt)

    def verify(self: Any, password: str, encoded: str) -> bool:
        calls.append("hash")
        return original_verify(self, password, encoded)

    monkeypatch.setattr(QuickArgon2PasswordHasher, "encode", encode)
    monkeypatch.setattr(QuickArgon2PasswordHasher, "verify", verify)
    _password_step(Client(), "alice", "not the password at all")
    wrong_password = len(calls)
    calls.clear()
    _password_step(Client(REMOTE_ADDR="192.0.2.8"), "nobody-here", "not the password at all")
    assert len(calls) == wrong_password >= 1


def test_a_person_without_a_factor_who_logs_in_reaches_enrolment(
    orgs: dict[str, Any], make_user: Any
) -> None:
    make_user("newbie", orgs["moscow"], "caseworker", factor=False)
    client = Client()
    _password_step(client, "newbie")
    page = client.get(reverse("home"), follow=True)
    assert page.status_code == 200
    assert len(page.redirect_chain) <= 3
    # allauth asks to confirm the password before a factor is added; after that the secret shows.
    confirm = client.post(
        page.request["PATH_INFO"] + "?next=" + reverse("mfa_activate_totp"), {"password": PASSWORD}
    )
    assert confirm.status_code == 302
    activate = client.get(reverse("mfa_activate_totp"))
    assert activate.status_code == 200
    assert "secret" in activate.content.decode().lower()
