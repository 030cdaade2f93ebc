"""Reads of the audit trail, scoped to what the reader may see."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from safepassage.accounts.access import shares_organisation_filter
from safepassage.accounts.models import User
from safepassage.accounts.roles import Action
from safepassage.audit.models import AuditEntry


def audit_entries_for_user(user: User, *, action: str = "", outcome: str = "") -> QuerySet[AuditEntry]:
    """Platform-wide readers see everything; auditors and org admins see their organisations' entries."""
    entries = AuditEntry.objects.all()
    if not user.can(Action.AUDIT_VIEW_ALL):
        entries = entries.filter(shares_organisation_filter(user.orgs_where(Action.AUDIT_VIEW)))
    if action:
        entries = entries.filter(action__startswith=action)
    if outcome:
        entries = entries.filter(outcome=outcome)
    # The name is looked up when the page is read, never stored in the chain.
    names = User.objects.filter(pk=OuterRef("actor_id")).values("username")[:1]
    return entries.annotate(actor_name=Subquery(names)).order_by("-seq")
