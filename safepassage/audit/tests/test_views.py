from __future__ import annotations

from typing import Any

from safepassage.audit.models import AuditEntry
from safepassage.audit.services import audit_record


def test_the_auditor_sees_every_entry_of_the_organisation(people: dict[str, Any], login: Any) -> None:
    audit_record(action="test.first", actor=people["alice"])
    audit_record(action="test.elsewhere", actor=people["bob"])
    page = login(people["ada"]).get("/audit/").content.decode()
    assert "test.first" in page
    assert "test.elsewhere" not in page  # bob works at Rainbow Railroad


def test_reading_the_trail_is_recorded(people: dict[str, Any], login: Any) -> None:
    login(people["ada"]).get("/audit/")
    assert AuditEntry.objects.filter(action="audit.view", actor_id=people["ada"].pk).exists()


def test_the_trail_filters_by_outcome(people: dict[str, Any], login: Any) -> None:
    audit_record(action="test.refused", actor=people["alice"], outcome="denied")
    audit_record(action="test.fine", actor=people["alice"])
    page = login(people["olga"]).get("/audit/", {"outcome": "denied"}).content.decode()
    assert "test.refused" in page and "test.fine" not in page
