from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from safepassage.audit.chain import verify_chain
from safepassage.audit.models import AuditEntry
from safepassage.audit.services import audit_record, object_pseudonym

pytestmark = pytest.mark.smoke


def test_it_chains_entries(db: None) -> None:
    first = audit_record(action="test.one")
    second = audit_record(action="test.two")
    assert second.prev_hash == first.hash
    assert verify_chain() == (2, None)


def test_verify_names_the_first_broken_entry(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(5):
        audit_record(action=f"test.{i}")
    # Tamper the way an intruder with database access would: around the trigger.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
            cursor.execute("UPDATE audit_auditentry SET action = 'test.rewritten' WHERE seq = 3")
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER audit_auditentry_no_update")
            cursor.execute("UPDATE audit_auditentry SET action = 'test.rewritten' WHERE seq = 3")
    with pytest.raises(CommandError, match="#3"):
        call_command("audit", "verify")


def test_verify_passes_an_intact_chain(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    audit_record(action="test.one")
    call_command("audit", "verify")
    assert "intact: 1 entries" in capsys.readouterr().out


def test_the_database_refuses_update_and_delete(db: None) -> None:
    audit_record(action="test.one")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'x'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.get().action == "test.one"


def test_no_code_path_updates_or_deletes(db: None) -> None:
    entry = audit_record(action="test.one")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(action="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_entries_name_a_pseudonym_not_the_object(db: None) -> None:
    entry = audit_record(action="test.read", object_kind="cases.case", object_id=42)
    assert entry.object_ref == object_pseudonym("cases.case", 42)
    assert len(entry.object_ref) == 32 and entry.object_ref != "cases.case:42"
    assert object_pseudonym("cases.case", 42) != object_pseudonym("cases.case", 43)
    # Keyed: with another key the same object gets another pseudonym, so a dump alone links nothing.
    with override_settings(AUDIT_PSEUDONYM_KEY="another key entirely"):
        assert object_pseudonym("cases.case", 42) != entry.object_ref
