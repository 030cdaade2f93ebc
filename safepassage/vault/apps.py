from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


def _intake_key_for_new_organisation(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A new organisation gets its intake key pair at once when the vault is unsealed, else at the next unseal."""
    from safepassage.vault.intake import intake_key_create
    from safepassage.vault.keyring import master_key

    if created and not kwargs.get("raw") and master_key() is not None:
        intake_key_create(instance.pk)


class VaultConfig(AppConfig):
    name = "safepassage.vault"
    verbose_name = _("Vault")

    def ready(self) -> None:
        post_save.connect(
            _intake_key_for_new_organisation, sender="accounts.Organisation", dispatch_uid="vault-intake-key"
        )
