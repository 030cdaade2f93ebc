"""`safepassage demo`: migrate, load the 2017 scenario, print one login per role, serve."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from safepassage.accounts.demo import DEMO_PASSWORD, load_demo, load_demo_request
from safepassage.lib.totp import totp_code
from safepassage.vault.keyring import is_sealed
from safepassage.vault.services import vault_add_share, vault_init, vault_state

DEMO_SHARES_FILE = "demo-vault-shares.txt"


class Command(BaseCommand):
    help = "Load the demo scenario (idempotent) and serve it on http://127.0.0.1:8000 (PORT overrides)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Load the data only.")
        parser.add_argument("--code", action="store_true", help="Print the current demo TOTP code and exit.")

    def _demo_vault(self) -> list[str]:
        """Initialise with 3 shares, threshold 2, keep them under var/ (demo only) and unseal."""
        path = Path(settings.VAR_DIR) / DEMO_SHARES_FILE
        if vault_state() is None:
            shares = vault_init(shares=3, threshold=2)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(shares) + "\n", encoding="utf-8")
            path.chmod(0o600)
        elif path.exists():
            shares = path.read_text(encoding="utf-8").split("\n")[:3]
        else:
            raise CommandError(
                f"The demo vault was initialised but {path} is gone: remove var/ and start again."
            )
        for share in shares[:2]:
            if is_sealed():
                vault_add_share(mnemonic=share)
        return shares

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.MODE == "production":
            raise CommandError(
                "The demo has known passwords; run it with SAFEPASSAGE_MODE=demo, never in production."
            )
        if options["code"]:
            self.stdout.write(totp_code(settings.DEMO_TOTP_SECRET))
            return
        call_command("migrate", interactive=False, verbosity=0)
        logins = load_demo()
        shares = self._demo_vault()
        sample_codename = load_demo_request()
        port = os.environ.get("PORT", "8000")
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS(f"Safe Passage demo on http://127.0.0.1:{port}/"))
        out.write(
            f"(Security keys and passkeys need a name, not an address: use http://localhost:{port}/ for them.)"
        )
        out.write(f"Password for every account: {DEMO_PASSWORD}")
        out.write(f"Shared TOTP secret (add it to an authenticator app): {settings.DEMO_TOTP_SECRET}")
        out.write("Current code: `safepassage demo --code` (or `make demo-code`)")
        out.write("")
        out.write(f"  {'username':<15} {'role':<22} organisation")
        for login in logins:
            out.write(f"  {login.username:<15} {login.role.label!s:<22} {login.organisation}")
        out.write("")
        out.write(
            self.style.WARNING("DEMO vault shares (2 of 3 unseal; never use demo shares for real data):")
        )
        for number, share in enumerate(shares, 1):
            out.write(f"  DEMO share {number}: {share}")
        out.write("  The demo unsealed itself with shares 1 and 2; production never does.")
        out.write("")
        out.write(f"Ask for help as a requester: http://127.0.0.1:{port}/help/")
        if sample_codename:
            out.write(f"A sample request came in; its codename (for /help/mailbox/): {sample_codename}")
        out.write("")
        if options["no_serve"]:
            return
        # WhiteNoise serves from the finders in the demo; it only wants STATIC_ROOT to exist.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, use_threading=True)
