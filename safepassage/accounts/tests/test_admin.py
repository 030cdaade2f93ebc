"""The admin site: platform admins only, every change audited, no second way to change a password."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from safepassage.accounts.models import Organisation
from safepassage.audit.models import AuditEntry


def test_a_platform_admin_manages_organisations_and_it_is_audited(people: dict[str, Any], login: Any) -> None:
    pat = login(people["pat"])
    assert pat.get(reverse("admin:accounts_organisation_changelist")).status_code == 200
    response = pat.post(
        reverse("admin:accounts_organisation_add"),
        {"name": "Kyiv Pride", "kind": "local_group", "country": "UA"},
    )
    assert response.status_code == 302
    created = Organisation.objects.get(name="Kyiv Pride")
    assert AuditEntry.objects.filter(
        action="admin.add", actor_id=people["pat"].pk, object_kind="accounts.organisation"
    )
    assert created.country == "UA"


def test_changing_a_person_in_the_admin_ends_their_sessions(people: dict[str, Any], login: Any) -> None:
    alice = login(people["alice"])
    pat = login(people["pat"])
    url = reverse("admin:accounts_user_change", args=[people["alice"].pk])
    data = {
        "username": "alice",
        "is_active": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    assert pat.post(url, data).status_code == 302
    assert alice.get(reverse("home")).status_code == 302


def test_an_org_admin_cannot_open_the_admin(people: dict[str, Any], login: Any) -> None:
    response = login(people["olga"]).get(reverse("admin:accounts_organisation_changelist"))
    assert response.status_code == 403


def test_the_admin_password_page_leads_to_the_audited_one(people: dict[str, Any], login: Any) -> None:
    response = login(people["pat"]).get(reverse("admin:password_change"))
    assert response.status_code == 302 and response["Location"] == reverse("account_change_password")
