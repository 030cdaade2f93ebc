from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "safepassage.audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from safepassage.audit import signals  # noqa: F401  (login and failed-login receivers)
