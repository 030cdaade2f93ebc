"""Invitations and reset links: one-time, expiring, and the admin never sets a password."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safepassage.accounts import services
from safepassage.accounts.forms import InvitationForm, SetPasswordForm
from safepassage.accounts.models import Invitation, User
from safepassage.audit.models import AuditEntry

NEW_PASSWORD = "a long and new passphrase 42"


def _invite(
    people: dict[str, Any], orgs: dict[str, Any], username: str = "nadia", role: str = "caseworker"
) -> str:
    _invitation, token = services.invitation_create(
        by=people["olga"], organisation=orgs["moscow"], username=username, role=role
    )
    return token


def test_an_org_admin_invites_and_gets_a_link_shown_once(people: dict[str, Any], login: Any) -> None:
    olga = login(people["olga"], stepped_up=True)
    response = olga.post(reverse("invite"), {"username": "nadia", "role": "caseworker"})
    assert response.status_code == 200
    link = re.search(r'value="(http://testserver/invite/[^"]+/)"', response.content.decode())
    assert link is not None
    token = link.group(1).rsplit("/", 2)[-2]
    assert not Invitation.objects.filter(token_hash__contains=token).exists()
    assert token not in olga.get(reverse("people")).content.decode()


def test_inviting_needs_a_fresh_second_factor(people: dict[str, Any], login: Any) -> None:
    response = login(people["olga"]).post(reverse("invite"), {"username": "nadia", "role": "caseworker"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not Invitation.objects.exists()


def test_the_invitee_sets_a_password_and_must_enrol_a_factor(
    people: dict[str, Any], orgs: dict[str, Any]
) -> None:
    token = _invite(people, orgs)
    client = Client()
    response = client.post(
        reverse("invitation_accept", args=[token]), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    nadia = User.objects.get(username="nadia")
    assert nadia.memberships.get().role == "caseworker"
    assert nadia.memberships.get().organisation == orgs["moscow"]
    # Logged in, but nothing but enrolment until a second factor exists.
    assert client.get(reverse("home"))["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_a_link_works_once(people: dict[str, Any], orgs: dict[str, Any]) -> None:
    token = _invite(people, orgs)
    url = reverse("invitation_accept", args=[token])
    Client().post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    again = Client().get(url)
    assert again.status_code == 404
    assert "not valid any more" in again.content.decode()


def test_an_expired_link_is_refused(people: dict[str, Any], orgs: dict[str, Any]) -> None:
    token = _invite(people, orgs)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().post(
        reverse("invitation_accept", args=[token]), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 404
    assert not User.objects.filter(username="nadia").exists()


def test_a_weak_password_is_refused_next_to_the_field(people: dict[str, Any], orgs: dict[str, Any]) -> None:
    token = _invite(people, orgs)
    response = Client().post(
        reverse("invitation_accept", args=[token]), {"password1": "short", "password2": "short"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(username="nadia").exists()


def test_an_org_admin_cannot_give_platform_admin(people: dict[str, Any], login: Any) -> None:
    olga = login(people["olga"], stepped_up=True)
    response = olga.post(reverse("invite"), {"username": "mallory", "role": "platform_admin"})
    assert response.status_code == 200
    assert response.context["form"].errors["role"]
    assert not Invitation.objects.exists()


def test_revoking_lost_factors_ends_access_until_the_new_link_is_used(
    people: dict[str, Any], login: Any
) -> None:
    alice = login(people["alice"])
    olga = login(people["olga"], stepped_up=True)
    membership = people["alice"].memberships.get()
    response = olga.post(reverse("factors_revoke", args=[membership.pk]))
    assert response.status_code == 200
    token = re.search(r"/invite/([^/\"]+)/", response.content.decode())
    assert token is not None
    assert not Authenticator.objects.filter(user=people["alice"]).exists()
    assert alice.get(reverse("home")).status_code == 302  # the old session ended
    people["alice"].refresh_from_db()
    assert not people["alice"].has_usable_password()
    Client().post(
        reverse("invitation_accept", args=[token.group(1)]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    people["alice"].refresh_from_db()
    assert people["alice"].check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="mfa.revoke_all", actor_id=people["olga"].pk).exists()


def test_an_admin_of_another_org_cannot_touch_my_people(people: dict[str, Any], login: Any) -> None:
    otto = login(people["otto"], stepped_up=True)
    membership = people["alice"].memberships.get()
    assert otto.post(reverse("factors_revoke", args=[membership.pk])).status_code == 404
    assert otto.get(reverse("person", args=[people["alice"].pk])).status_code == 404
    assert Authenticator.objects.filter(user=people["alice"]).exists()
    assert AuditEntry.objects.filter(actor_id=people["otto"].pk, outcome="denied").count() == 2


@pytest.mark.smoke
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=st.text(max_size=60), role=st.text(max_size=20))
def test_the_invitation_form_answers_any_input_with_a_message(username: str, role: str) -> None:
    form = InvitationForm({"username": username, "role": role}, roles=["caseworker", "auditor"])
    if form.is_valid():
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,39}", form.cleaned_data["username"])
        assert form.cleaned_data["role"] in {"caseworker", "auditor"}
    else:
        assert all(str(message) for errors in form.errors.values() for message in errors)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password1=st.text(max_size=80), password2=st.text(max_size=80))
def test_the_password_form_answers_any_input_with_a_message(db: None, password1: str, password2: str) -> None:
    form = SetPasswordForm({"password1": password1, "password2": password2}, username="nadia")
    if form.is_valid():
        assert password1 == password2 and len(password1) >= 12
    else:
        assert form.errors


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    login_name=st.text(max_size=200),
    password=st.text(max_size=200),
    extra=st.dictionaries(st.sampled_from(["remember", "next", "code"]), st.text(max_size=50), max_size=2),
)
def test_the_login_page_answers_any_input_without_a_server_error(
    db: None, login_name: str, password: str, extra: dict[str, str]
) -> None:
    from django.core.cache import cache

    cache.clear()  # so throttling does not hide what the form says
    data = {"login": login_name.replace("\x00", ""), "password": password.replace("\x00", ""), **extra}
    response = Client().post("/accounts/login/", data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert response.context["form"].errors


def test_an_admin_of_two_organisations_chooses_where_to_invite(
    people: dict[str, Any], orgs: dict[str, Any], login: Any
) -> None:
    from safepassage.accounts.models import Membership

    Membership.objects.create(user=people["otto"], organisation=orgs["moscow"], role="org_admin")
    otto = login(people["otto"], stepped_up=True)
    assert 'name="organisation"' in otto.get(reverse("invite")).content.decode()
    otto.post(
        reverse("invite"), {"organisation": orgs["moscow"].pk, "username": "nadia", "role": "caseworker"}
    )
    assert Invitation.objects.get(username="nadia").organisation == orgs["moscow"]
    refused = otto.post(
        reverse("invite"), {"organisation": orgs["fund"].pk, "username": "nils", "role": "caseworker"}
    )
    assert refused.context["form"].errors["organisation"]
    assert not Invitation.objects.filter(username="nils").exists()
