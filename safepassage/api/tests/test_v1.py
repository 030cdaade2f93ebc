from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.test import Client
from django.utils import timezone

from safepassage.accounts.roles import Action
from safepassage.api.models import ApiToken
from safepassage.api.services import api_token_revoke
from safepassage.api.tests.conftest import IssueToken
from safepassage.audit.models import AuditEntry

ME = "/api/v1/me"
REFUSED = {"detail": "Missing, unknown, expired or revoked token."}


def _get_me(token: str | None = None, *, authorization: str | None = None) -> Any:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    return Client().get(ME, headers=headers)


@pytest.mark.smoke
def test_it_returns_the_organisation_of_the_token(moscow_token: tuple[ApiToken, str]) -> None:
    row, token = moscow_token
    response = _get_me(token)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Case system"
    assert body["organisation"] == {"name": "Russian LGBT Network", "kind": "local_group", "country": "RU"}
    assert body["permissions"] == [Action.API_PARTNER_READ.value]
    assert body["expires_at"].startswith(row.expires_at.date().isoformat())


def test_a_token_speaks_only_for_its_own_organisation(
    people: dict[str, Any], issue_token: IssueToken
) -> None:
    _row, token = issue_token(people["otto"], name="Relocation tracker")
    body = _get_me(token).json()
    assert body["name"] == "Relocation tracker"
    assert body["organisation"]["name"] == "Rainbow Railroad"


def test_each_call_is_in_the_audit_trail(moscow_token: tuple[ApiToken, str]) -> None:
    row, token = moscow_token
    _get_me(token)
    entry = AuditEntry.objects.get(action="api.me")
    assert (entry.via, entry.organisation_id, entry.actor_id) == ("api", row.organisation_id, None)


@pytest.mark.smoke
def test_it_refuses_a_revoked_token_at_once(
    people: dict[str, Any], moscow_token: tuple[ApiToken, str]
) -> None:
    row, token = moscow_token
    assert _get_me(token).status_code == 200
    api_token_revoke(by=people["olga"], token=row)
    response = _get_me(token)
    assert response.status_code == 401
    assert response.json() == REFUSED


def test_it_refuses_an_expired_token(moscow_token: tuple[ApiToken, str]) -> None:
    row, token = moscow_token
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = _get_me(token)
    assert response.status_code == 401
    assert response.json() == REFUSED
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_refuses_a_token_without_the_permission(moscow_token: tuple[ApiToken, str]) -> None:
    row, token = moscow_token
    # Tokens carry one permission today; one issued for another call must still not read the profile.
    ApiToken.objects.filter(pk=row.pk).update(actions=["api.cases.read"])
    response = _get_me(token)
    assert response.status_code == 403
    assert response.json() == {"detail": "This token does not carry the permission for this call."}
    assert not AuditEntry.objects.filter(action="api.me").exists()
    assert AuditEntry.objects.filter(action="api.partner.read", outcome="denied", via="api").exists()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer nope",
        "Bearer sp_deadbeef_" + "A" * 43,
        "Bearer sp_\x7f",
        "Basic " + base64.b64encode(b"olga:correct horse battery staple").decode(),
        "Token {token}",
        "Bearer {token}x",
        "Bearer {prefix_only}",
    ],
)
def test_unknown_and_malformed_bearers_get_the_same_answer_as_an_expired_token(
    issue_token: IssueToken, moscow_token: tuple[ApiToken, str], authorization: str | None
) -> None:
    row, token = moscow_token
    expired, expired_token = issue_token(name="Old case system")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired_answer = _get_me(expired_token)
    if authorization is not None:
        authorization = authorization.format(token=token, prefix_only=f"sp_{row.prefix}_")
    answer = _get_me(authorization=authorization)
    assert (answer.status_code, answer.content) == (expired_answer.status_code, expired_answer.content)
    assert answer["WWW-Authenticate"] == expired_answer["WWW-Authenticate"] == "Bearer"
    assert answer.status_code == 401
    assert answer.json() == REFUSED


def test_a_logged_in_person_without_a_token_is_refused(
    people: dict[str, Any], login: Callable[[Any], Client]
) -> None:
    response = login(people["olga"]).get(ME)
    assert response.status_code == 401
    assert response.json() == REFUSED


@pytest.mark.smoke
def test_the_openapi_document_is_served_without_a_token_and_is_valid(db: None) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    document = response.json()
    schemathesis.openapi.from_dict(document).validate()
    assert document["info"]["title"] == "Safe Passage partner API"
    assert document["components"]["securitySchemes"] == {"TokenAuth": {"type": "http", "scheme": "bearer"}}


def test_the_openapi_document_names_the_refusals(db: None) -> None:
    me = Client().get("/api/v1/openapi.json").json()["paths"][ME]["get"]
    assert set(me["responses"]) == {"200", "401", "403"}
    assert me["security"] == [{"TokenAuth": []}]


def test_there_are_no_interactive_docs(db: None) -> None:
    # They would load scripts from a CDN; the OpenAPI document is enough.
    assert Client().get("/api/v1/docs").status_code == 404
