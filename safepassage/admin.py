"""The Django admin, for platform admins only, behind the second factor."""

from __future__ import annotations

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from safepassage.accounts.roles import Action


class SafePassageAdminSite(admin.AdminSite):
    site_header = _("Safe Passage administration")
    site_title = _("Safe Passage")
    index_title = _("Platform administration")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_authenticated
            and getattr(user, "can", lambda _a: False)(Action.ADMIN_SITE)
            and is_mfa_enabled(user)
        )


admin_site = SafePassageAdminSite(name="admin")
