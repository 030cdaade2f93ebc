"""Need-to-know for help requests: the members of the receiving organisation who may triage requests. Anything
else answers like a missing request (404), and the refusal is audited."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from safepassage.accounts.access import NotFound
from safepassage.accounts.models import User
from safepassage.accounts.roles import Action
from safepassage.audit.services import audit_denial
from safepassage.intake.models import HelpRequest, RequestFile


def requests_for_user(user: User, action: Action = Action.REQUESTS_TRIAGE) -> QuerySet[HelpRequest]:
    return HelpRequest.objects.filter(organisation_id__in=user.orgs_where(action))


def request_get_for_user(
    user: User, request_id: uuid.UUID, action: Action = Action.REQUESTS_TRIAGE
) -> HelpRequest:
    found = requests_for_user(user, action).filter(pk=request_id).first()
    if found is None:
        audit_denial(actor=user, action=action.value, object_kind="intake.helprequest", object_id=request_id)
        raise NotFound()
    return found


def request_file_get_for_user(user: User, request: HelpRequest, file_id: uuid.UUID) -> RequestFile:
    """A file of a request the user may already see (request_get_for_user first)."""
    found = RequestFile.objects.filter(pk=file_id, request=request).first()
    if found is None:
        audit_denial(
            actor=user,
            action=Action.REQUESTS_TRIAGE.value,
            object_kind="intake.requestfile",
            object_id=file_id,
        )
        raise NotFound()
    return found
