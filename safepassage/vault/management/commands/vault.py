"""`safepassage vault init|unseal|rotate|seal|status`: the trustees' ceremony at a terminal."""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from safepassage.vault import keyring, rotation, services
from safepassage.vault.keyring import VaultError


class Command(BaseCommand):
    help = "Vault: init (make the master key and trustees' shares), unseal (one share), rotate, seal, status."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        init = sub.add_parser("init", help="Create the master key; print N shares once.")
        init.add_argument("--shares", type=int, required=True)
        init.add_argument("--threshold", type=int, required=True)
        init.add_argument(
            "--age-recipient",
            action="append",
            default=[],
            metavar="AGE1…",
            help="a trustee's age public key, once per share: each share is printed encrypted to it instead",
        )
        sub.add_parser("unseal", help="Enter one share (from any terminal, one trustee at a time).")
        rotate = sub.add_parser(
            "rotate", help="New master key and shares; re-wrap every key while serving. Run again to resume."
        )
        rotate.add_argument("--shares", type=int, help="number of new shares (default: as now)")
        rotate.add_argument("--threshold", type=int, help="shares needed to unseal (default: as now)")
        rotate.add_argument("--batch", type=int, default=500, help="keys re-wrapped per transaction")
        rotate.add_argument(
            "--pause", type=float, default=0.0, help="seconds between batches, to spare a busy server"
        )
        rotate.add_argument("--age-recipient", action="append", default=[], metavar="AGE1…")
        sub.add_parser("seal", help="Forget the master key on this node at once.")
        sub.add_parser("status", help="Say sealed or unsealed, and unseal progress.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['subcommand']}")(options)
        except VaultError as exc:
            raise CommandError(str(exc)) from exc

    def _init(self, options: dict[str, Any]) -> None:
        keys: list[str] = options["age_recipient"]
        # Checked first, so the vault is never initialised with shares nobody can read.
        recipients = services.age_recipients(keys, options["shares"]) if keys else []
        mnemonics = services.vault_init(shares=options["shares"], threshold=options["threshold"])
        if recipients:
            mnemonics = services.shares_for_trustees(mnemonics, recipients)
        how = (
            "Send each trustee the share encrypted to their age key; only that key opens it."
            if recipients
            else "Give each trustee one share, on paper, now."
        )
        self.stdout.write(
            f"The vault is initialised. {options['threshold']} of these {options['shares']} shares unseal it.\n"
            f"{how} They are shown once and stored nowhere.\n"
        )
        for number, mnemonic in enumerate(mnemonics, 1):
            self.stdout.write(f"Share {number}:\n{mnemonic}\n")

    def _rotate(self, options: dict[str, Any]) -> None:
        keys: list[str] = options["age_recipient"]
        state = services.vault_state()
        if keys and state is not None:  # checked before anything changes
            services.age_recipients(keys, options["shares"] or state.share_count)

        def show(mnemonics: list[str]) -> None:
            if keys:
                mnemonics = services.shares_for_trustees(
                    mnemonics, services.age_recipients(keys, len(mnemonics))
                )
            self.stdout.write(
                f"New shares: {len(mnemonics)}. Give one to each trustee now; they are shown once and stored "
                "nowhere. They unseal the vault once this rotation is done; until then keep the old ones.\n"
            )
            for number, mnemonic in enumerate(mnemonics, 1):
                self.stdout.write(f"Share {number}:\n{mnemonic}\n")
            self.stdout.flush()

        rotation.rotate(
            show_shares=show,
            shares=options["shares"],
            threshold=options["threshold"],
            batch=max(1, options["batch"]),
            pause=max(0.0, options["pause"]),
            report=self._say,
        )

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _unseal(self, options: dict[str, Any]) -> None:
        if services.vault_state() is None:
            raise VaultError(_("The vault is not initialised yet: run `safepassage vault init`."))
        if not keyring.is_sealed():
            self.stdout.write("unsealed")
            return
        # Hidden at a terminal; a pipe (tests, scripts) gives one line.
        mnemonic = getpass.getpass("Share (hidden): ") if sys.stdin.isatty() else sys.stdin.readline()
        progress = services.vault_add_share(mnemonic=mnemonic)
        if progress.have >= progress.need:
            self.stdout.write("unsealed")
        else:
            self.stdout.write(f"{progress.have} of {progress.need} shares entered; still sealed")

    def _seal(self, options: dict[str, Any]) -> None:
        services.vault_seal()
        self.stdout.write("sealed")

    def _status(self, options: dict[str, Any]) -> None:
        if services.vault_state() is None:
            self.stdout.write("not initialised")
        elif keyring.is_sealed():
            progress = services.vault_progress()
            self.stdout.write(f"sealed ({progress.have} of {progress.need} shares entered)")
        else:
            self.stdout.write("unsealed")
        state = services.vault_state()
        if state is not None and state.next_key_check:
            self.stdout.write("a rotation is under way: run `safepassage vault rotate` to finish it")
