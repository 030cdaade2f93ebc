"""/api/v1/: the partner API. Bearer tokens scoped to an organisation and a set of actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer

from safepassage.accounts.roles import Action
from safepassage.api.models import ApiToken
from safepassage.api.services import api_token_authenticate
from safepassage.audit.models import Outcome
from safepassage.audit.services import audit_record


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return api_token_authenticate(token)


api = NinjaAPI(
    title="Safe Passage partner API",
    version="1",
    urls_namespace="api",
    docs_url=None,  # the interactive docs load scripts from a CDN; the OpenAPI document is enough
    auth=TokenAuth(),
    description="For partner systems of organisations on a Safe Passage server. "
    "Send `Authorization: Bearer <token>`; an org admin issues tokens under People → API tokens.",
)


class ErrorOut(Schema):
    detail: str


class OrganisationOut(Schema):
    name: str
    kind: str
    country: str


class TokenOut(Schema):
    name: str
    organisation: OrganisationOut
    permissions: list[str]
    expires_at: datetime


def require(request: HttpRequest, action: Action) -> ApiToken:
    token: Any = request.auth  # type: ignore[attr-defined]
    if not isinstance(token, ApiToken) or action.value not in token.actions:
        audit_record(
            action=action.value,
            organisation_id=getattr(token, "organisation_id", None),
            obj=token if isinstance(token, ApiToken) else None,
            outcome=Outcome.DENIED,
            via="api",
        )
        raise HttpError(403, "This token does not carry the permission for this call.")
    return token


@api.exception_handler(AuthenticationError)
def _unauthorised(request: HttpRequest, exc: Exception) -> Any:
    response = api.create_response(
        request, {"detail": "Missing, unknown, expired or revoked token."}, status=401
    )
    response["WWW-Authenticate"] = "Bearer"  # RFC 6750: a 401 names the scheme the client should use
    return response


@api.get(
    "/me", response={200: TokenOut, 401: ErrorOut, 403: ErrorOut}, summary="The token and its organisation"
)
def me(request: HttpRequest) -> Any:
    token = require(request, Action.API_PARTNER_READ)
    audit_record(action="api.me", organisation_id=token.organisation_id, obj=token, via="api")
    org = token.organisation
    return {
        "name": token.name,
        "organisation": {"name": org.name, "kind": org.kind, "country": org.country},
        "permissions": token.actions,
        "expires_at": token.expires_at,
    }
