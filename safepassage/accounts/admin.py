"""Organisations and people in the admin site. No password fields: passwords come from one-time links."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from safepassage.accounts.models import Membership, Organisation, User
from safepassage.admin import AuditedModelAdmin, admin_site, is_platform_admin
from safepassage.audit.services import audit_record


class MembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    extra = 0

    # Roles are given here by platform admins (e.g. the first org admin of a new organisation).
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request)


@admin.register(Organisation, site=admin_site)
class OrganisationAdmin(AuditedModelAdmin[Organisation]):
    list_display = ["name", "kind", "country", "city"]
    search_fields = ["name"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a deletion would cascade unaudited; erasure is the vault's crypto-shredding


@admin.register(User, site=admin_site)
class UserAdmin(AuditedModelAdmin[User]):
    list_display = ["username", "is_active", "is_trustee", "last_login"]
    fields = ["username", "is_active", "is_trustee", "last_login", "date_joined"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInline]
    search_fields = ["username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people join through invitations

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # A change of a person's roles or status in the admin ends their sessions, as the People pages do.
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            person = form.instance
            person.rotate_security_stamp()
            person.save(update_fields=["security_stamp"])
            audit_record(action="admin.memberships", actor=request.user, obj=person)
