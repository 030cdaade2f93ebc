"""Organisations and memberships in the admin site. No password fields: passwords come from one-time links."""

from __future__ import annotations

from django.contrib import admin

from safepassage.accounts.models import Membership, Organisation, User
from safepassage.admin import admin_site


class MembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    extra = 0


@admin.register(Organisation, site=admin_site)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ["name", "kind", "country", "city"]
    search_fields = ["name"]


@admin.register(User, site=admin_site)
class UserAdmin(admin.ModelAdmin[User]):
    list_display = ["username", "is_active", "is_trustee", "last_login"]
    fields = ["username", "is_active", "is_trustee", "last_login", "date_joined"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInline]
    search_fields = ["username"]

    def has_add_permission(self, request: object) -> bool:
        return False  # people join through invitations
