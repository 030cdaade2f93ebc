"""Need-to-know for accounts objects: one helper per kind, used by views, API and exports alike.

Each helper fetches the object and decides in one place whether this user may see it for this
action. Outside the user's scope it answers exactly like a missing object (NotFound -> 404), and
the denial goes to the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from safepassage.accounts.models import Invitation, Membership, Organisation, User
from safepassage.accounts.roles import Action
from safepassage.audit.services import audit_denial


class NotFound(Http404):
    """Missing, or not yours to see: the two must look the same from outside."""


def _deny(user: Any, action: Action, kind: str, pk: Any) -> NotFound:
    audit_denial(actor=user, action=action.value, object_kind=kind, object_id=pk)
    return NotFound()


def organisation_get_for_user(user: User, organisation_id: int, action: Action) -> Organisation:
    """Scope: organisations where the user holds a role granting the action."""
    if organisation_id in user.orgs_where(action):
        org = Organisation.objects.filter(pk=organisation_id).first()
        if org is not None:
            return org
    raise _deny(user, action, "accounts.organisation", organisation_id)


def people_for_user(user: User, action: Action = Action.MEMBERS_VIEW) -> QuerySet[User]:
    """Scope: people holding any role in an organisation where the user may see members."""
    orgs = user.orgs_where(action)
    return User.objects.filter(memberships__organisation_id__in=orgs).distinct()


def person_get_for_user(user: User, person_id: int, action: Action = Action.MEMBERS_VIEW) -> User:
    person = people_for_user(user, action).filter(pk=person_id).first()
    if person is None:
        raise _deny(user, action, "accounts.user", person_id)
    return person


def membership_get_for_user(
    user: User, membership_id: int, action: Action = Action.MEMBERS_MANAGE
) -> Membership:
    membership = (
        Membership.objects.select_related("user", "organisation")
        .filter(pk=membership_id, organisation_id__in=user.orgs_where(action))
        .first()
    )
    if membership is None:
        raise _deny(user, action, "accounts.membership", membership_id)
    return membership


def invitations_for_user(user: User, action: Action = Action.MEMBERS_MANAGE) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organisation_id__in=user.orgs_where(action))


def invitation_get_for_user(
    user: User, invitation_id: int, action: Action = Action.MEMBERS_MANAGE
) -> Invitation:
    invitation = invitations_for_user(user, action).filter(pk=invitation_id).first()
    if invitation is None:
        raise _deny(user, action, "accounts.invitation", invitation_id)
    return invitation


def shares_organisation_filter(orgs: set[int]) -> Q:
    """Audit entries about these organisations, and entries about no organisation (log-ins, own
    security settings) made by their people. A member's work for another organisation stays there."""
    member_ids = Membership.objects.filter(organisation_id__in=orgs).values("user_id")
    return Q(organisation_id__in=orgs) | Q(organisation_id__isnull=True, actor_id__in=member_ids)
