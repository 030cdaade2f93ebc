"""Writing to the audit trail: one entry per event, chained to the one before it."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from safepassage.audit.models import GENESIS, AuditEntry, Outcome

logger = logging.getLogger(__name__)

# Any constant: the advisory lock that serialises appends to the chain on PostgreSQL.
_CHAIN_LOCK = 0x5AFE_A0D1


def object_pseudonym(kind: str, pk: Any) -> str:
    """A keyed pseudonym of an object: stable for the same object, meaningless without the key."""
    key = settings.AUDIT_PSEUDONYM_KEY.encode()
    return hmac.new(key, f"{kind}:{pk}".encode(), hashlib.sha256).hexdigest()[:32]


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    # SQLite: transactions begin IMMEDIATE (settings), so writers are already serialised.


def audit_record(
    *,
    action: str,
    actor: Any = None,
    organisation_id: int | None = None,
    obj: Any = None,
    object_kind: str = "",
    object_id: Any = None,
    outcome: str = Outcome.OK,
    via: str = "web",
) -> AuditEntry:
    """Append one entry. Names the actor, the action, the object kind and a pseudonym; never personal data."""
    if obj is not None:
        object_kind = object_kind or obj._meta.label_lower
        object_id = obj.pk
    actor_id = (
        getattr(actor, "pk", None)
        if actor is not None and getattr(actor, "is_authenticated", False)
        else None
    )
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-seq").only("seq", "hash").first()
        entry = AuditEntry(
            seq=(last.seq + 1) if last else 1,
            at=timezone.now(),
            actor_id=actor_id,
            organisation_id=organisation_id,
            action=action,
            object_kind=object_kind,
            object_ref=object_pseudonym(object_kind, object_id) if object_id is not None else "",
            outcome=outcome,
            via=via,
            prev_hash=last.hash if last else GENESIS,
        )
        entry.hash = entry.compute_hash()
        entry.save(force_insert=True)
    return entry


def audit_denial(
    *, actor: Any, action: str, object_kind: str = "", object_id: Any = None, via: str = "web"
) -> None:
    audit_record(
        action=action,
        actor=actor,
        object_kind=object_kind,
        object_id=object_id,
        outcome=Outcome.DENIED,
        via=via,
    )
