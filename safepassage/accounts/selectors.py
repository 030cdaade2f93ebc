"""Reads for accounts pages: what waits for each role on the home page, people of an organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from allauth.mfa.models import Authenticator
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safepassage.accounts.access import invitations_for_user, people_for_user, shares_organisation_filter
from safepassage.accounts.models import Membership, User
from safepassage.accounts.roles import Action, Role
from safepassage.audit.models import AuditEntry, Outcome


@dataclass
class Waiting:
    """One line on the home page: what waits, how many, where to go."""

    label: str
    count: int
    url_name: str = ""


@dataclass
class HomeSection:
    role: str
    title: str
    intro: str
    waiting: list[Waiting] = field(default_factory=list)


_INTRO = {
    Role.CASEWORKER: gettext_lazy(
        "Requests for help wait in the inbox. Verification, risk and safe housing will show here in a coming "
        "version."
    ),
    Role.COORDINATOR: gettext_lazy(
        "Referred cases and relocation pathways will show here in a coming version."
    ),
    Role.LIAISON: gettext_lazy("Dossiers referred to your government will show here in a coming version."),
    Role.TREASURER: gettext_lazy(
        "Campaigns, bank files and disbursements will show here in a coming version."
    ),
    Role.RESEARCHER: gettext_lazy(
        "Country information, testimonies and briefs will show here in a coming version."
    ),
    Role.ORG_ADMIN: gettext_lazy(
        "People, roles, second factors and partner API tokens of your organisation."
    ),
    Role.AUDITOR: gettext_lazy("The audit trail of your organisation: who did what, and what was refused."),
    Role.PLATFORM_ADMIN: gettext_lazy("Organisations and the whole platform's audit trail."),
}


def people_with_factor_flag(user: User) -> QuerySet[User]:
    factors = Authenticator.objects.filter(
        user_id=OuterRef("pk"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    )
    orgs = user.orgs_where(Action.MEMBERS_VIEW)
    return (
        people_for_user(user)
        .annotate(has_factor=Exists(factors))
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(organisation_id__in=orgs).select_related("organisation"),
                to_attr="visible_memberships",
            )
        )
        .order_by("username")
    )


def home_sections(user: User) -> list[HomeSection]:
    roles = {m.role for m in user.active_memberships()}
    sections: list[HomeSection] = []
    since = timezone.now() - timedelta(hours=24)
    for role in Role:
        if role.value not in roles:
            continue
        section = HomeSection(role=role.value, title=str(role.label), intro=str(_INTRO[role]))
        if role == Role.ORG_ADMIN:
            open_invitations = invitations_for_user(user).filter(
                used_at=None, revoked_at=None, expires_at__gt=timezone.now()
            )
            without_factor = people_with_factor_flag(user).filter(has_factor=False, is_active=True)  # type: ignore[misc]
            section.waiting = [
                Waiting(_("Open invitations and reset links"), open_invitations.count(), "people"),
                Waiting(_("People without a second factor"), without_factor.count(), "people"),
            ]
        if role == Role.CASEWORKER:
            from safepassage.intake.selectors import waiting_counts

            counts = waiting_counts(user)
            if counts is not None:
                section.waiting = [
                    Waiting(_("Help requests waiting"), counts.requests, "intake_inbox"),
                    Waiting(_("New messages from requesters"), counts.messages, "intake_inbox"),
                ]
        if role in (Role.AUDITOR, Role.ORG_ADMIN, Role.PLATFORM_ADMIN):
            entries = AuditEntry.objects.filter(at__gte=since)
            if not user.can(Action.AUDIT_VIEW_ALL):
                entries = entries.filter(shares_organisation_filter(user.orgs_where(Action.AUDIT_VIEW)))
            section.waiting.append(
                Waiting(
                    _("Refused or failed actions in the last 24 hours"),
                    entries.filter(outcome__in=[Outcome.DENIED, Outcome.FAILED]).count(),
                    "audit",
                )
            )
        sections.append(section)
    return sections
