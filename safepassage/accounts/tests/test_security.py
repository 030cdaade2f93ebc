"""The review's holes stay closed: reset links, cross-organisation accounts, step-up, audit scope."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from safepassage.accounts import services
from safepassage.accounts.models import Invitation, Membership
from safepassage.audit.models import AuditEntry
from safepassage.audit.services import audit_record

NEW_PASSWORD = "a long and new passphrase 42"


def test_a_reset_link_does_not_replace_the_second_factor(people: dict[str, Any]) -> None:
    _invitation, token = services.reset_link_create(
        by=people["olga"], membership=people["ada"].memberships.get()
    )
    client = Client()
    response = client.post(
        reverse("invitation_accept", args=[token]), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("account_login")
    assert client.get(reverse("audit"))["Location"].startswith(reverse("account_login"))
    people["ada"].refresh_from_db()
    assert people["ada"].check_password(NEW_PASSWORD)


@pytest.mark.parametrize("action", ["reset", "disable", "revoke"])
def test_an_org_admin_cannot_take_over_someone_who_works_elsewhere_too(
    people: dict[str, Any], orgs: dict[str, Any], action: str
) -> None:
    # pat runs the platform (RFSL) and also helps in Moscow as a caseworker.
    moscow = Membership.objects.create(user=people["pat"], organisation=orgs["moscow"], role="caseworker")
    with pytest.raises(ValidationError):
        if action == "reset":
            services.reset_link_create(by=people["olga"], membership=moscow)
        elif action == "disable":
            services.person_set_active(by=people["olga"], membership=moscow, active=False)
        else:
            services.factors_revoke(by=people["olga"], membership=moscow)
    people["pat"].refresh_from_db()
    assert people["pat"].is_active and people["pat"].check_password(PASSWORD)
    assert not Invitation.objects.filter(user=people["pat"]).exists()


def test_revoking_factors_closes_links_made_before(people: dict[str, Any]) -> None:
    membership = people["alice"].memberships.get()
    _old, old_token = services.reset_link_create(by=people["olga"], membership=membership)
    services.factors_revoke(by=people["olga"], membership=membership)
    response = Client().get(reverse("invitation_accept", args=[old_token]))
    assert response.status_code == 404


def test_step_up_asks_for_the_second_factor_not_the_password(people: dict[str, Any], login: Any) -> None:
    olga = login(people["olga"])
    response = olga.post(reverse("invite"), {"username": "nadia", "role": "caseworker"}, follow=True)
    assert response.request["PATH_INFO"] == reverse("mfa_reauthenticate")
    # The password page sends a person with a factor on to the factor.
    confirm = olga.get(reverse("account_reauthenticate"))
    assert confirm.status_code == 302 and confirm["Location"].startswith(reverse("mfa_reauthenticate"))
    olga.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    again = olga.post(reverse("invite"), {"username": "nadia", "role": "caseworker"})
    assert again.status_code == 302 and not Invitation.objects.exists()


def test_an_auditor_does_not_see_a_colleagues_work_for_another_organisation(
    people: dict[str, Any], orgs: dict[str, Any], login: Any
) -> None:
    Membership.objects.create(user=people["bob"], organisation=orgs["moscow"], role="caseworker")
    audit_record(action="railroad.private", actor=people["bob"], organisation_id=orgs["railroad"].pk)
    audit_record(action="moscow.shared", actor=people["bob"], organisation_id=orgs["moscow"].pk)
    page = login(people["ada"]).get(reverse("audit")).content.decode()
    assert "moscow.shared" in page and "railroad.private" not in page


def test_a_disabled_account_gets_the_answer_of_a_wrong_password(people: dict[str, Any]) -> None:
    right = Client().post("/accounts/login/", {"login": "dora", "password": PASSWORD})
    wrong = Client(REMOTE_ADDR="192.0.2.9").post(
        "/accounts/login/", {"login": "dora", "password": "not it at all"}
    )
    assert right.status_code == wrong.status_code == 200
    assert right.context["form"].non_field_errors() == wrong.context["form"].non_field_errors()


def test_a_session_ends_at_its_maximum_age_even_when_busy(
    people: dict[str, Any], login: Any, settings: Any
) -> None:
    alice = login(people["alice"])
    alice.get(reverse("home"))
    session = alice.session
    session["_started"] = int(time.time()) - settings.SESSION_COOKIE_AGE - 5
    session["_last_seen"] = int(time.time())
    session.save()
    assert alice.get(reverse("home")).status_code == 302


def test_reading_the_people_pages_is_recorded(people: dict[str, Any], login: Any) -> None:
    olga = login(people["olga"])
    olga.get(reverse("people"))
    olga.get(reverse("person", args=[people["alice"].pk]))
    actions = set(AuditEntry.objects.filter(actor_id=people["olga"].pk).values_list("action", flat=True))
    assert {"people.view", "person.view"} <= actions


def test_the_invitation_page_says_how_long_the_link_lives(people: dict[str, Any], login: Any) -> None:
    page = login(people["olga"]).get(reverse("invite")).content.decode()
    assert re.search(r"expires after 3 days", page)
