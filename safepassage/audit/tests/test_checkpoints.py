"""Signed checkpoints catch what the chain alone cannot: truncation and a rebuilt chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from safepassage.audit.models import AuditEntry
from safepassage.audit.services import audit_record
from safepassage.vault import services


def _checkpoint(tmp_path: Path) -> Path:
    for i in range(5):
        audit_record(action=f"test.{i}")
    path = tmp_path / "checkpoint.json"
    call_command("audit", "checkpoint", "--output", str(path))
    return path


def _raw(sql: str, params: list[Any]) -> None:
    """What an intruder with the database does: around the append-only trigger."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")


def test_an_untouched_log_matches_its_checkpoint(
    unsealed: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _checkpoint(tmp_path)
    audit_record(action="test.after")  # later entries are fine
    call_command("audit", "verify", "--checkpoint", str(path))
    assert "entries unchanged" in capsys.readouterr().out


def test_a_flipped_bit_in_the_checkpoint_file_is_caught(unsealed: None, tmp_path: Path) -> None:
    path = _checkpoint(tmp_path)
    signed = json.loads(path.read_text())
    signed["count"] -= 1
    path.write_text(json.dumps(signed))
    with pytest.raises(CommandError, match="damaged or was not signed"):
        call_command("audit", "verify", "--checkpoint", str(path))


def test_a_flipped_bit_in_the_log_is_caught(unsealed: None, tmp_path: Path) -> None:
    path = _checkpoint(tmp_path)
    _raw("UPDATE audit_auditentry SET action = 'test.x' WHERE seq = %s", [3])
    with pytest.raises(CommandError, match="#3"):
        call_command("audit", "verify", "--checkpoint", str(path))


def test_a_truncated_log_is_caught(unsealed: None, tmp_path: Path) -> None:
    path = _checkpoint(tmp_path)
    _raw("DELETE FROM audit_auditentry WHERE seq >= %s", [4])
    call_command("audit", "verify")  # the chain alone cannot see it
    with pytest.raises(CommandError, match="truncated"):
        call_command("audit", "verify", "--checkpoint", str(path))


def test_a_rebuilt_chain_is_caught(unsealed: None, tmp_path: Path) -> None:
    path = _checkpoint(tmp_path)
    # Rewrite entry 2 and recompute every hash after it, as someone hiding a deed would.
    _raw("UPDATE audit_auditentry SET action = 'test.innocent' WHERE seq = %s", [2])
    previous = AuditEntry.objects.get(seq=1).hash
    for entry in AuditEntry.objects.filter(seq__gte=2).order_by("seq"):
        entry.prev_hash = previous
        entry.hash = entry.compute_hash()
        _raw(
            "UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE seq = %s",
            [previous, entry.hash, entry.seq],
        )
        previous = entry.hash
    call_command("audit", "verify")  # a consistent chain
    with pytest.raises(CommandError, match="rewritten"):
        call_command("audit", "verify", "--checkpoint", str(path))


def test_a_checkpoint_needs_the_vault_unsealed(db: None, vault_runtime: Path) -> None:
    services.vault_init(shares=2, threshold=2)
    with pytest.raises(CommandError, match="sealed"):
        call_command("audit", "checkpoint")
