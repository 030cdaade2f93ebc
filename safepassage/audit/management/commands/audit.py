"""`safepassage audit verify`: recompute the hash chain; exit non-zero naming the first broken entry."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from safepassage.audit.chain import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. verify: recompute the hash chain and name the first broken entry."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("subcommand", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"audit chain broken at entry #{broken.seq}: {broken.reason} ({checked} entries before it are intact)"
            )
        self.stdout.write(f"audit chain intact: {checked} entries")
