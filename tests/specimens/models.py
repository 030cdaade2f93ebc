"""One record with every kind of sensitive value the rooms will hold, for the vault's tests and benchmarks."""

from __future__ import annotations

from django.db import models

from safepassage.vault.fields import SealedRecord, SealedTextField


class Specimen(SealedRecord):
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=20)
    name = SealedTextField()
    contact = SealedTextField()
    location = SealedTextField()
    narrative = SealedTextField()
    notes = SealedTextField()
    name_index = models.IntegerField(null=True, db_index=True)
    file_id = models.CharField(max_length=36, blank=True)

    objects: models.Manager[Specimen] = models.Manager()

    def __str__(self) -> str:
        return self.code


class PlainSpecimen(models.Model):
    """The same page's data unencrypted: the baseline of the encryption benchmark."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=20)
    name = models.TextField()
    contact = models.TextField()
    location = models.TextField()
    narrative = models.TextField()
    notes = models.TextField()

    objects: models.Manager[PlainSpecimen] = models.Manager()

    def __str__(self) -> str:
        return self.code
