"""Navigation for the logged-in person: only the places their roles allow."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from safepassage.accounts.roles import Action
from safepassage.vault.keyring import is_sealed

# (url name, label, action needed; None = any logged-in person)
NAV: list[tuple[str, Any, Action | None]] = [
    ("home", _("Home"), None),
    ("intake_inbox", _("Requests"), Action.REQUESTS_TRIAGE),
    ("people", _("People"), Action.MEMBERS_VIEW),
    ("api_tokens", _("API tokens"), Action.API_TOKENS_MANAGE),
    ("audit", _("Audit trail"), Action.AUDIT_VIEW),
    ("vault", _("Vault"), Action.VAULT_PANIC),
    ("admin:index", _("Admin"), Action.ADMIN_SITE),
    ("mfa_index", _("Security"), None),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(user, "can"):
        return {"nav": []}
    items = [(name, label) for name, label, action in NAV if action is None or user.can(action)]
    organisations = sorted({m.organisation.name for m in user.active_memberships()})
    return {"nav": items, "my_organisations": organisations, "vault_sealed": is_sealed()}
