"""One row per event. Rows are never updated or deleted (a database trigger refuses both)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64


class Outcome(models.TextChoices):
    OK = "ok", _("done")
    DENIED = "denied", _("denied")
    FAILED = "failed", _("failed")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("The audit trail is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit trail is append-only.")


class AuditEntry(models.Model):
    # Assigned under the chain lock (services.audit_record), so the hash can cover it.
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(_("time"), db_index=True)
    # Plain ids, not foreign keys: an entry must outlive the user or organisation it names. No names:
    # the chain cannot be erased, so a person's name in it could never be erased either.
    actor_id = models.BigIntegerField(_("actor"), null=True, db_index=True)
    organisation_id = models.BigIntegerField(_("organisation"), null=True, db_index=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_kind = models.CharField(_("object kind"), max_length=64, blank=True)
    object_ref = models.CharField(_("object"), max_length=32, blank=True, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.OK)
    via = models.CharField(_("via"), max_length=16, default="web")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit trail is append-only.")

    def canonical(self) -> bytes:
        """The bytes the hash covers: every field but the hash itself, in a fixed order."""
        body = {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "organisation_id": self.organisation_id,
            "action": self.action,
            "object_kind": self.object_kind,
            "object_ref": self.object_ref,
            "outcome": self.outcome,
            "via": self.via,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()
