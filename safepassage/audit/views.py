"""The audit trail in the browser, for auditors and org admins."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from safepassage.accounts.models import User
from safepassage.accounts.roles import Action
from safepassage.accounts.rules import requires
from safepassage.audit.forms import AuditFilterForm
from safepassage.audit.selectors import audit_entries_for_user
from safepassage.audit.services import audit_record


@require_GET
@requires(Action.AUDIT_VIEW)
def audit_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    # Reading the trail is itself recorded (who looked, not what they saw), before the page is
    # counted, so the count and the rows agree.
    audit_record(action="audit.view", actor=user)
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = audit_entries_for_user(
        user, action=filters.get("action", ""), outcome=filters.get("outcome", "")
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"form": form, "page": page})
