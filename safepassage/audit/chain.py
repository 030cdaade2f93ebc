"""Verification of the hash chain: recompute every link and name the first broken one."""

from __future__ import annotations

from dataclasses import dataclass

from safepassage.audit.models import GENESIS, AuditEntry


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


def verify_chain(batch_size: int = 5000) -> tuple[int, Break | None]:
    """Return (entries checked, first break or None). Streams the table in order of seq."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=batch_size):
        if entry.seq != expected_seq:
            return checked, Break(
                expected_seq, "missing entry" if entry.seq > expected_seq else "sequence out of order"
            )
        if entry.prev_hash != expected_prev:
            return checked, Break(entry.seq, "does not link to the entry before it")
        if entry.compute_hash() != entry.hash:
            return checked, Break(entry.seq, "content does not match its hash")
        expected_prev = entry.hash
        expected_seq += 1
        checked += 1
    return checked, None
