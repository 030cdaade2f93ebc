"""Need-to-know for API tokens (the staff pages that manage them)."""

from __future__ import annotations

from django.db.models import QuerySet

from safepassage.accounts.access import NotFound
from safepassage.accounts.models import User
from safepassage.accounts.roles import Action
from safepassage.api.models import ApiToken
from safepassage.audit.services import audit_denial


def api_tokens_for_user(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(organisation_id__in=user.orgs_where(Action.API_TOKENS_MANAGE))


def api_token_get_for_user(user: User, token_id: int) -> ApiToken:
    token = api_tokens_for_user(user).filter(pk=token_id).first()
    if token is None:
        audit_denial(
            actor=user, action=Action.API_TOKENS_MANAGE.value, object_kind="api.apitoken", object_id=token_id
        )
        raise NotFound()
    return token
