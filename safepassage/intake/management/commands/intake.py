"""`safepassage intake adopt`: take in everything that arrived through the public face (run it on a timer on a
staff node while the vault is unsealed; pages adopt only a little at a time)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from safepassage.intake.models import Receiver
from safepassage.intake.services import triage_arrivals
from safepassage.vault.keyring import is_sealed


class Command(BaseCommand):
    help = "Intake: adopt (take in every arrival of every receiving organisation; needs the vault unsealed)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("adopt", help="Adopt every arrival and triage every new request.")

    def handle(self, *args: Any, **options: Any) -> None:
        if is_sealed():
            raise CommandError("The vault is sealed: arrivals can be taken in once trustees unseal it.")
        total = 0
        for organisation_id in Receiver.objects.values_list("organisation_id", flat=True):
            total += triage_arrivals(organisation_id, batches=None)
        self.stdout.write(f"{total} new requests taken in")
