"""`safepassage vault ...` in a process of its own, as from another trustee's terminal (PostgreSQL runs only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def terminal_env(vault_runtime: Path) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "SAFEPASSAGE_MODE": "test",
        "DJANGO_SETTINGS_MODULE": "safepassage.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SAFEPASSAGE_RUNTIME_DIR": str(vault_runtime),
        "SAFEPASSAGE_SHRED_STORE": str(settings.VAULT_SHRED_STORE),
    }


def vault_command(vault_runtime: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "safepassage", "vault", *args]


def terminal(vault_runtime: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        vault_command(vault_runtime, *args),
        cwd=ROOT,
        env=terminal_env(vault_runtime),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
