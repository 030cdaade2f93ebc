"""`safepassage audit verify [--checkpoint FILE]` and `safepassage audit checkpoint [--output FILE]`."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from safepassage.audit.chain import verify_chain
from safepassage.audit.checkpoints import CheckpointError, checkpoint_create, checkpoint_verify
from safepassage.vault.keyring import VaultError


class Command(BaseCommand):
    help = (
        "Audit trail tools. verify: recompute the hash chain and name the first broken entry; with --checkpoint, "
        "also prove nothing up to the checkpoint was truncated or rewritten. checkpoint: sign the log's head."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Recompute the chain; optionally check a signed checkpoint.")
        verify.add_argument("--checkpoint", type=Path, help="a file written by `audit checkpoint`")
        checkpoint = sub.add_parser(
            "checkpoint", help="Sign (entry count, head hash); needs the vault unsealed."
        )
        checkpoint.add_argument("--output", type=Path, help="where to write it (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "checkpoint":
            self._checkpoint(options["output"])
        else:
            self._verify(options["checkpoint"])

    def _checkpoint(self, output: Path | None) -> None:
        try:
            signed = checkpoint_create()
        except VaultError as exc:
            raise CommandError(
                f"{exc} Unseal it first: the checkpoint key is derived from the master key."
            ) from exc
        text = json.dumps(signed, indent=2) + "\n"
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text, encoding="utf-8")
            self.stdout.write(
                f"checkpoint of {signed['count']} entries written to {output}; keep it off the server"
            )

    def _verify(self, checkpoint_path: Path | None) -> None:
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"audit chain broken at entry #{broken.seq}: {broken.reason} ({checked} entries before it are intact)"
            )
        if checkpoint_path is not None:
            try:
                result = checkpoint_verify(json.loads(checkpoint_path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read the checkpoint file: {exc}") from exc
            except CheckpointError as exc:
                raise CommandError(f"audit log does not match the checkpoint: {exc}") from exc
            self.stdout.write(f"checkpoint of {result.signed_at} holds: {result.count} entries unchanged")
        self.stdout.write(f"audit chain intact: {checked} entries")
