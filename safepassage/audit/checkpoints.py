"""Signed audit checkpoints: (entry count, head hash) signed with the vault's checkpoint key.

Trustees keep the small file off the server. Later, `safepassage audit verify --checkpoint FILE` proves the
log up to that point was neither truncated nor rewritten — which the hash chain alone cannot show, since
whoever controls the database can rebuild a consistent chain or drop its newest entries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils import timezone

from safepassage.audit.models import AuditEntry
from safepassage.vault.keys import checkpoint_private_key, public_hex, vault_root
from safepassage.vault.models import VaultState

VERSION = 1


class CheckpointError(Exception):
    pass


def _signed_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def checkpoint_create() -> dict[str, Any]:
    """Sign the current head of the log. Needs the vault unsealed."""
    key = checkpoint_private_key(vault_root())
    head = AuditEntry.objects.order_by("-seq").only("seq", "hash").first()
    body = {
        "version": VERSION,
        "count": head.seq if head else 0,
        "head_hash": head.hash if head else "",
        "signed_at": timezone.now().isoformat(),
        "public_key": public_hex(key.public_key()),
    }
    return {**body, "signature": key.sign(_signed_bytes(body)).hex()}


@dataclass(frozen=True)
class CheckpointResult:
    count: int
    signed_at: str


def checkpoint_verify(checkpoint: dict[str, Any]) -> CheckpointResult:
    """Raise CheckpointError unless the file is authentic and the log still holds what it signed."""
    try:
        body = {k: checkpoint[k] for k in ("version", "count", "head_hash", "signed_at", "public_key")}
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint["public_key"]))
        public.verify(bytes.fromhex(checkpoint["signature"]), _signed_bytes(body))
    except (KeyError, ValueError, TypeError, InvalidSignature) as exc:
        raise CheckpointError("the checkpoint file is damaged or was not signed by this vault") from exc
    state = VaultState.objects.filter(pk=1).first()
    if state is None or state.checkpoint_public_key != checkpoint["public_key"]:
        raise CheckpointError("the checkpoint was signed by another vault than this server's")
    count = int(body["count"])
    if count:
        entry = AuditEntry.objects.filter(seq=count).only("hash").first()
        if entry is None:
            raise CheckpointError(f"the log was truncated: entry #{count} of the checkpoint is gone")
        if entry.hash != body["head_hash"]:
            raise CheckpointError(f"the log was rewritten: entry #{count} differs from the checkpoint")
    return CheckpointResult(count=count, signed_at=str(body["signed_at"]))
