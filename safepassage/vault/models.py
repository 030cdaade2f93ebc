"""What the database knows of the vault: that it was initialised, how, and how to recognise its master key."""

from __future__ import annotations

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
