"""The permission matrix: which role may do which action. One table, read by one function.

Every action a view, API endpoint or export performs is named here. A role grants an action
within the organisations where the user holds that role; platform admins act across organisations
only where the action says so. docs/permissions.md is generated from this table
(`safepassage permissions --markdown`), so the code and the documentation cannot drift apart.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("Caseworker")
    COORDINATOR = "coordinator", _("Coordinator")
    LIAISON = "liaison", _("Government liaison")
    TREASURER = "treasurer", _("Treasurer")
    RESEARCHER = "researcher", _("Researcher")
    ORG_ADMIN = "org_admin", _("Organisation admin")
    AUDITOR = "auditor", _("Auditor")
    PLATFORM_ADMIN = "platform_admin", _("Platform admin")


class Action(models.TextChoices):
    HOME_VIEW = "home.view", _("See the home page")
    AUDIT_VIEW = "audit.view", _("Read the organisation's audit trail")
    AUDIT_VIEW_ALL = "audit.view_all", _("Read the whole platform's audit trail")
    MEMBERS_VIEW = "members.view", _("See the organisation's people")
    MEMBERS_MANAGE = (
        "members.manage",
        pgettext_lazy("permission", "Invite people, change roles, disable accounts, revoke lost factors"),
    )
    API_TOKENS_MANAGE = "api_tokens.manage", _("Issue and revoke partner API tokens")
    API_PARTNER_READ = "api.partner.read", _("Partner API: read the organisation's profile")
    ORGANISATIONS_MANAGE = "organisations.manage", _("Create and change organisations")
    ADMIN_SITE = "admin.site", _("Use the Django admin site")
    REQUESTS_TRIAGE = "requests.triage", _("Read and answer help requests, mark and assign them")
    VAULT_PANIC = "vault.panic", _("Seal the server at once (panic)")
    VAULT_UNSEAL = "vault.unseal", _("Enter a key share to unseal the server (trustees only)")


R = Role
A = Action

# role -> actions. Deny by default: an action not listed for a role is refused.
MATRIX: dict[Role, frozenset[Action]] = {
    R.CASEWORKER: frozenset({A.HOME_VIEW, A.REQUESTS_TRIAGE}),
    R.COORDINATOR: frozenset({A.HOME_VIEW}),
    R.LIAISON: frozenset({A.HOME_VIEW}),
    R.TREASURER: frozenset({A.HOME_VIEW}),
    R.RESEARCHER: frozenset({A.HOME_VIEW}),
    R.ORG_ADMIN: frozenset(
        {A.HOME_VIEW, A.AUDIT_VIEW, A.MEMBERS_VIEW, A.MEMBERS_MANAGE, A.API_TOKENS_MANAGE, A.VAULT_PANIC}
    ),
    R.AUDITOR: frozenset({A.HOME_VIEW, A.AUDIT_VIEW, A.MEMBERS_VIEW}),
    R.PLATFORM_ADMIN: frozenset(
        {
            A.HOME_VIEW,
            A.AUDIT_VIEW,
            A.AUDIT_VIEW_ALL,
            A.MEMBERS_VIEW,
            A.ORGANISATIONS_MANAGE,
            A.ADMIN_SITE,
            A.VAULT_PANIC,
            A.VAULT_UNSEAL,
        }
    ),
}

# Actions that API tokens may carry; a token never holds more than this.
TOKEN_ACTIONS: frozenset[Action] = frozenset({A.API_PARTNER_READ})


def role_grants(role: str, action: str) -> bool:
    """The one check function: does this role grant this action?"""
    try:
        return Action(action) in MATRIX[Role(role)]
    except ValueError:
        return False


def matrix_markdown() -> str:
    roles = list(Role)
    lines = ["| action | " + " | ".join(r.value for r in roles) + " |", "|---" * (len(roles) + 1) + "|"]
    for action in Action:
        cells = ["yes" if action in MATRIX[r] else "" for r in roles]
        lines.append(f"| `{action.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
