from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from safepassage.accounts.roles import Action
from safepassage.api.models import ApiToken
from safepassage.api.tests.conftest import IssueToken
from safepassage.audit.models import AuditEntry, Outcome

Login = Callable[..., Client]  # login(person, stepped_up=False)

TOKENS = "/api-tokens/"
TOKEN_SHAPE = re.compile(r"sp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
PARTNER_READ = Action.API_PARTNER_READ.value


def _issue(client: Client, **data: Any) -> Any:
    return client.post(TOKENS, {"name": "Case system", "actions": [PARTNER_READ], "days": "90", **data})


def _field(html: str, name: str) -> str:
    """The markup of the form field that holds the input `name`, from its wrapper to the next field."""
    for block in html.split('<div class="field')[1:]:
        if f'name="{name}"' in block:
            return block
    raise AssertionError(f"no field {name} on the page")


def _main(html: str) -> str:
    """The page's own content, without the CSRF tokens and links back to the URL around it."""
    match = re.search(r"<main.*</main>", html, re.DOTALL)
    assert match is not None
    return match.group(0)


def _api_me(token: str) -> int:
    return Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.mark.smoke
def test_it_shows_a_new_token_once(people: dict[str, Any], login: Login) -> None:
    client = login(people["olga"], stepped_up=True)
    response = _issue(client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = TOKEN_SHAPE.findall(response.content.decode())
    assert len(shown) == 1
    token = shown[0]
    row = ApiToken.objects.get()
    assert token.startswith(f"sp_{row.prefix}_")

    listing = client.get(TOKENS).content.decode()
    assert "Case system" in listing
    assert row.prefix in listing
    assert token not in listing
    assert token.removeprefix(f"sp_{row.prefix}_") not in listing


def test_the_token_from_the_page_works_on_the_api_and_is_stored_nowhere(
    people: dict[str, Any], login: Login
) -> None:
    token = TOKEN_SHAPE.findall(_issue(login(people["olga"], stepped_up=True)).content.decode())[0]
    assert _api_me(token) == 200
    stored = "\n".join(repr(row) for model in apps.get_models() for row in model._base_manager.values_list())
    assert token not in stored


def test_the_list_shows_when_a_token_was_last_used(
    people: dict[str, Any], login: Login, moscow_token: tuple[ApiToken, str]
) -> None:
    _row, token = moscow_token
    today = date_format(timezone.now().date(), "SHORT_DATE_FORMAT")  # stored as the UTC day
    client = login(people["olga"])
    assert today not in client.get(TOKENS).content.decode()
    _api_me(token)
    assert today in client.get(TOKENS).content.decode()


def test_it_lists_only_my_organisations_tokens(
    people: dict[str, Any], login: Login, issue_token: IssueToken
) -> None:
    issue_token(people["olga"], name="Moscow case system")
    issue_token(people["otto"], name="Railroad relocation tracker")
    listing = login(people["olga"]).get(TOKENS).content.decode()
    assert "Moscow case system" in listing
    assert "Railroad relocation tracker" not in listing


def test_issuing_needs_a_fresh_second_factor(people: dict[str, Any], login: Login) -> None:
    response = _issue(login(people["olga"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not ApiToken.objects.exists()


@pytest.mark.smoke
def test_it_refuses_a_caseworker(people: dict[str, Any], login: Login) -> None:
    client = login(people["alice"], stepped_up=True)
    assert client.get(TOKENS).status_code == 403
    assert _issue(client).status_code == 403
    assert not ApiToken.objects.exists()
    assert AuditEntry.objects.filter(actor_id=people["alice"].pk, outcome=Outcome.DENIED).count() == 2


def test_it_sends_a_visitor_to_the_login_page(db: None) -> None:
    response = Client().get(TOKENS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_revokes_a_token_at_once(
    people: dict[str, Any], login: Login, moscow_token: tuple[ApiToken, str]
) -> None:
    row, token = moscow_token
    client = login(people["olga"])
    response = client.post(f"/api-tokens/{row.pk}/revoke/", follow=True)
    assert response.redirect_chain == [(TOKENS, 302)]
    page = response.content.decode()
    assert "The token no longer works." in page
    assert "not valid" in page
    assert _api_me(token) == 401


def test_it_answers_not_found_to_an_admin_of_another_organisation_revoking_my_token(
    people: dict[str, Any], login: Login, moscow_token: tuple[ApiToken, str]
) -> None:
    row, token = moscow_token
    response = login(people["otto"]).post(f"/api-tokens/{row.pk}/revoke/")
    assert response.status_code == 404
    assert _api_me(token) == 200
    denial = AuditEntry.objects.get(actor_id=people["otto"].pk, outcome=Outcome.DENIED)
    assert denial.action == Action.API_TOKENS_MANAGE.value
    assert denial.object_kind == "api.apitoken"


def test_a_token_that_does_not_exist_looks_the_same_as_another_organisations(
    people: dict[str, Any], login: Login, moscow_token: tuple[ApiToken, str]
) -> None:
    row, _token = moscow_token
    client = login(people["otto"])
    theirs = client.post(f"/api-tokens/{row.pk}/revoke/")
    missing = client.post(f"/api-tokens/{row.pk + 1000}/revoke/")
    assert theirs.status_code == missing.status_code == 404
    assert _main(theirs.content.decode()) == _main(missing.content.decode())


def test_it_does_not_revoke_on_get(
    people: dict[str, Any], login: Login, moscow_token: tuple[ApiToken, str]
) -> None:
    row, token = moscow_token
    assert login(people["olga"]).get(f"/api-tokens/{row.pk}/revoke/").status_code == 405
    assert _api_me(token) == 200


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 101}, "name", "at most 100 characters"),
        ({"actions": []}, "actions", "This field is required."),
        ({"actions": [Action.API_TOKENS_MANAGE.value]}, "actions", "Select a valid choice."),
        ({"days": "0"}, "days", "greater than or equal to 1"),
        ({"days": "-3"}, "days", "greater than or equal to 1"),
        ({"days": "100000"}, "days", f"at most {settings.API_TOKEN_MAX_DAYS} days"),
        ({"days": "9" * 5000}, "days", ""),
        ({"days": "ninety"}, "days", "Enter a whole number."),
        ({"days": "1e3"}, "days", "Enter a whole number."),
        ({"days": ""}, "days", "This field is required."),
    ],
)
def test_bad_input_shows_the_form_again_with_the_error_at_the_field(
    people: dict[str, Any], login: Login, data: dict[str, Any], field: str, message: str
) -> None:
    response = _issue(login(people["olga"], stepped_up=True), **data)
    assert response.status_code == 200
    html = response.content.decode()
    block = _field(html, field)
    assert block.startswith(" has-error")
    assert f'id="id_{field}_error"' in block
    assert message in block
    assert html.count('class="error"') == 1
    assert not TOKEN_SHAPE.search(html)
    assert not ApiToken.objects.exists()
