"""What the database knows of the vault: that it was initialised, how, and how to recognise its master key."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class VaultState(models.Model):
    """One row once `safepassage vault init` has run. The master key itself is stored nowhere."""

    # SLIP-39's random identifier of this initialisation: shares of another one are refused by it.
    identifier = models.PositiveIntegerField()
    threshold = models.PositiveSmallIntegerField()
    share_count = models.PositiveSmallIntegerField()
    # HMAC of a fixed label under the master key: tells a right master key from a wrong one.
    key_check = models.CharField(max_length=64)
    # Public half of the audit checkpoint key (derived from the master key), to verify while sealed.
    checkpoint_public_key = models.CharField(max_length=64, blank=True)
    initialised_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="vaultstate_single_row")]

    def __str__(self) -> str:
        return f"vault {self.identifier} ({self.threshold} of {self.share_count})"


class OrganisationKey(models.Model):
    """An organisation's key, AES-GCM-wrapped under a key derived from the master key."""

    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"key of organisation {self.organisation_id}"


class DataKey(models.Model):
    """One sensitive record's key. Its wraps, one per organisation allowed to read, hold the key itself."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data key {self.pk}"


class DataKeyWrap(models.Model):
    data_key = models.ForeignKey(DataKey, on_delete=models.CASCADE, related_name="wraps")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    wrapped = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["data_key", "organisation"], name="datakeywrap_one_per_organisation"
            )
        ]

    def __str__(self) -> str:
        return f"wrap of {self.data_key_id} for {self.organisation_id}"
