"""The Django admin, for platform admins only, behind the second factor; every change is audited."""

from __future__ import annotations

from typing import Any, TypeVar

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from safepassage.accounts.roles import Action
from safepassage.audit.services import audit_record

M = TypeVar("M", bound=Model)


def is_platform_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active
        and user.is_authenticated
        and getattr(user, "can", lambda _a: False)(Action.ADMIN_SITE)
        and is_mfa_enabled(user)
    )


class SafePassageAdminSite(admin.AdminSite):
    site_header = _("Safe Passage administration")
    site_title = _("Safe Passage")
    index_title = _("Platform administration")

    def has_permission(self, request: HttpRequest) -> bool:
        return is_platform_admin(request)

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:  # type: ignore[override]
        # One way to change a password: allauth's page, with its rate limit and audit entry.
        return redirect("account_change_password")


class AuditedModelAdmin(admin.ModelAdmin[M]):
    """Model pages for platform admins: the permission matrix decides, and every write is audited."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_platform_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_platform_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request)

    def save_model(self, request: HttpRequest, obj: M, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(action="admin.change" if change else "admin.add", actor=request.user, obj=obj)

    def delete_model(self, request: HttpRequest, obj: M) -> None:
        with transaction.atomic():
            audit_record(action="admin.delete", actor=request.user, obj=obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[M]) -> None:
        with transaction.atomic():
            for obj in queryset:
                audit_record(action="admin.delete", actor=request.user, obj=obj)
            super().delete_queryset(request, queryset)


admin_site = SafePassageAdminSite(name="admin")
