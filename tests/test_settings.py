"""Production settings refuse to start unsafe; secrets may come from files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY = "k" * 50


def _load(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "SAFEPASSAGE_MODE"}}
    return subprocess.run(
        [sys.executable, "-c", "import safepassage.settings as s; print(len(s.SECRET_KEY), s.DEBUG)"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.smoke
def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _load({"SAFEPASSAGE_MODE": "production"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.smoke
def test_production_refuses_to_start_with_debug_on() -> None:
    result = _load({"SAFEPASSAGE_MODE": "production", "SECRET_KEY": KEY, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_starts_with_a_secret_key_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(KEY + "\n")
    result = _load({"SAFEPASSAGE_MODE": "production", "SECRET_KEY_FILE": str(secret)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["50", "False"]
