"""Platform admins decide who receives requests, how they are routed, and the flood switches. Requests
themselves are never in the admin: they are sealed, and read only in the triage pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from safepassage.admin import AuditedModelAdmin, admin_site
from safepassage.intake.models import IntakeSettings, Receiver, RoutingRule


class ReceiverAdmin(AuditedModelAdmin[Receiver]):
    list_display = ["public_name", "organisation", "accepting"]
    list_filter = ["accepting"]


class RoutingRuleAdmin(AuditedModelAdmin[RoutingRule]):
    list_display = ["order", "region", "language", "receiver"]


class IntakeSettingsAdmin(AuditedModelAdmin[IntakeSettings]):
    list_display = ["__str__", "proof_of_work", "requests_per_minute", "messages_per_hour"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not IntakeSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin_site.register(Receiver, ReceiverAdmin)
admin_site.register(RoutingRule, RoutingRuleAdmin)
admin_site.register(IntakeSettings, IntakeSettingsAdmin)
