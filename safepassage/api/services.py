"""Issuing, checking and revoking partner API tokens."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safepassage.accounts.models import Organisation, User
from safepassage.accounts.roles import TOKEN_ACTIONS, Action
from safepassage.api.models import ApiToken
from safepassage.audit.models import Outcome
from safepassage.audit.services import audit_record
from safepassage.lib.tokens import token_digest

TOKEN_PREFIX = "sp_"  # noqa: S105 - a public marker that says what the string is, not a secret
# sp_<8 hex: the public prefix>_<43 url-safe characters: secrets.token_urlsafe(32)>
_TOKEN_SHAPE = re.compile(re.escape(TOKEN_PREFIX) + r"([0-9a-f]{8})_[A-Za-z0-9_-]{43}")


def api_token_create(
    *, by: User, organisation: Organisation, name: str, actions: list[str], days: int
) -> tuple[ApiToken, str]:
    """Returns the token row and the token itself, which is shown once and never stored."""
    if not by.can(Action.API_TOKENS_MANAGE, organisation.pk):
        raise PermissionDenied
    if not actions or not set(actions) <= {a.value for a in TOKEN_ACTIONS}:
        raise ValidationError({"actions": _("Choose at least one permission from the list.")})
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError(
            {"days": _("A token is valid for 1 to %(max)d days.") % {"max": settings.API_TOKEN_MAX_DAYS}}
        )
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic(durable=True):
        row = ApiToken.objects.create(
            organisation=organisation,
            name=name.strip(),
            prefix=prefix,
            token_hash=token_digest(token),
            actions=sorted(actions),
            created_by=by,
            expires_at=timezone.now() + timedelta(days=days),
        )
        audit_record(action="api_token.create", actor=by, organisation_id=organisation.pk, obj=row)
    return row, token


def api_token_revoke(*, by: User, token: ApiToken) -> None:
    if not by.can(Action.API_TOKENS_MANAGE, token.organisation_id):
        raise PermissionDenied
    if token.revoked_at is not None:
        return  # already revoked: keep the time it first stopped working
    with transaction.atomic(durable=True):
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action="api_token.revoke", actor=by, organisation_id=token.organisation_id, obj=token)


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token behind a bearer string, or None. Unknown, expired and revoked look alike."""
    # The shape first, so header junk (a NUL breaks a PostgreSQL query) never reaches the database.
    shape = _TOKEN_SHAPE.fullmatch(raw)
    if shape is None:
        return None
    row = ApiToken.objects.select_related("organisation").filter(prefix=shape.group(1)).first()
    if row is None or not hmac.compare_digest(row.token_hash, token_digest(raw)):
        return None
    if not row.is_live():
        audit_record(
            action="api.token_refused",
            organisation_id=row.organisation_id,
            obj=row,
            outcome=Outcome.DENIED,
            via="api",
        )
        return None
    today = timezone.now().date()
    if row.last_used_on != today:
        ApiToken.objects.filter(pk=row.pk).update(last_used_on=today)
    return row
