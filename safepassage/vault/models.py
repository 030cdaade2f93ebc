"""What the database knows of the vault: that it was initialised, how, and how to recognise its master key."""

from __future__ import annotations

import datetime
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
    # Public half of the audit checkpoint key (derived from the vault root), to verify while sealed.
    checkpoint_public_key = models.CharField(max_length=64, blank=True)
    initialised_at = models.DateTimeField(default=timezone.now)
    # Which organisation keys are current; `vault rotate` adds a generation and retires the one before.
    generation = models.PositiveIntegerField(default=1)
    # The vault root (random, wrapped under the master key): blind-index and checkpoint keys derive from it, so
    # they survive a rotation of the master key.
    root_wrapped = models.BinaryField(default=b"")
    # A rotation under way: the new master key waits in tmpfs, recognised by this check value.
    next_key_check = models.CharField(max_length=64, blank=True)
    next_identifier = models.PositiveIntegerField(default=0)
    next_threshold = models.PositiveSmallIntegerField(default=0)
    next_share_count = models.PositiveSmallIntegerField(default=0)
    # The new shares were made but not yet shown (a rotation killed before showing them shows a fresh set).
    shares_pending = models.BooleanField(default=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="vaultstate_single_row")]

    def __str__(self) -> str:
        return f"vault {self.identifier} ({self.threshold} of {self.share_count})"


class OrganisationKey(models.Model):
    """An organisation's key of one generation, AES-GCM-wrapped under a key derived from that master key."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    generation = models.PositiveIntegerField()
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "generation"], name="organisationkey_one_per_generation"
            )
        ]

    def __str__(self) -> str:
        return f"key of organisation {self.organisation_id} (generation {self.generation})"


def start_of_today() -> datetime.datetime:
    """The day only: a data key's time must not tell when a record, or a request from the public, came in."""
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)


class DataKey(models.Model):
    """One sensitive record's key. Its wraps, one per organisation allowed to read, hold the key itself."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=start_of_today)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data key {self.pk}"


class DataKeyWrap(models.Model):
    """A record's data key, wrapped under one organisation's key (of one generation)."""

    data_key = models.ForeignKey(DataKey, on_delete=models.CASCADE, related_name="wraps")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    organisation_key = models.ForeignKey(OrganisationKey, on_delete=models.PROTECT, related_name="+")
    wrapped = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["data_key", "organisation_key"], name="datakeywrap_one_per_organisation_key"
            )
        ]

    def __str__(self) -> str:
        return f"wrap of {self.data_key_id} for {self.organisation_id}"


class IntakeKey(models.Model):
    """An organisation's X25519 key pair for sealed intake: the public key is plain so the public face can seal
    requests while the vault is sealed; the private key is wrapped under the organisation key."""

    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    public_key = models.BinaryField()
    organisation_key = models.ForeignKey(OrganisationKey, on_delete=models.PROTECT, related_name="+")
    private_wrapped = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"intake key of organisation {self.organisation_id}"


class ArrivalWrap(models.Model):
    """A data key made by the public face for something that arrived (a help request, a message, a file), sealed
    to the receiving organisation's intake public key because the public face holds no organisation key. The
    staff face, unsealed, turns it into an ordinary wrap (`intake.arrivals_adopt`) and deletes this row."""

    data_key = models.OneToOneField(DataKey, on_delete=models.CASCADE, primary_key=True, related_name="+")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    sealed = models.BinaryField()

    def __str__(self) -> str:
        return f"arrival wrap of {self.data_key_id} for {self.organisation_id}"
