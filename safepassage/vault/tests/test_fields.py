"""Encrypted model fields: encrypted before the SQL, decrypted lazily and only for readers holding a key,
and erased for good, even against a backup taken before the erasure."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.core import serializers
from django.core.exceptions import FieldError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from safepassage.vault import crypto, services, shredstore
from safepassage.vault.crypto import Undecryptable
from safepassage.vault.fields import opened, with_keys
from safepassage.vault.keyring import VaultError
from safepassage.vault.models import DataKey, DataKeyWrap
from tests.specimens.models import Specimen


def _specimen(organisation: Any, **values: str) -> Specimen:
    record = Specimen(organisation=organisation, code="SP-1")
    record.seal_for([organisation.pk])
    for name, value in values.items():
        setattr(record, name, value)
    record.save()
    return record


@pytest.mark.smoke
def test_values_are_encrypted_before_the_sql(unsealed: None, orgs: dict[str, Any]) -> None:
    with CaptureQueriesContext(connection) as queries:
        record = _specimen(orgs["moscow"], name="Магомед Ибрагимов", location="Грозный, ул. Ленина 5")
    sql = json.dumps([q["sql"] for q in queries.captured_queries], ensure_ascii=False)
    assert "Магомед" not in sql and "Ленина" not in sql
    assert isinstance(record.name, bytes), "the instance keeps ciphertext, not the plaintext"
    stored = Specimen.objects.get(pk=record.pk)
    assert b"Magomed" not in stored.name and "Магомед".encode() not in stored.name
    [view] = opened([stored], orgs["moscow"].pk)
    assert view.name == "Магомед Ибрагимов"
    assert view.location == "Грозный, ул. Ленина 5"
    assert view.contact == "", "an empty field reads as empty"
    assert view.code == "SP-1", "plain fields pass through"


def test_a_plaintext_cannot_reach_the_database_another_way(unsealed: None, orgs: dict[str, Any]) -> None:
    record = _specimen(orgs["moscow"], name="Магомед")
    with pytest.raises(TypeError, match="plaintext"), transaction.atomic():
        Specimen.objects.filter(pk=record.pk).update(name="Магомед")
    with pytest.raises(TypeError, match="no ciphertext"), transaction.atomic():
        Specimen.objects.filter(pk=record.pk).update(name="Магомед".encode())
    for lookup in ("contains", "icontains", "startswith", "iexact", "regex"):
        with CaptureQueriesContext(connection) as queries, pytest.raises(FieldError):
            Specimen.objects.filter(**{f"name__{lookup}": "Магомед"}).exists()
        assert not queries.captured_queries, f"{lookup} sent a query"
    unopened = Specimen.objects.get(pk=record.pk)
    unopened.notes = "a note"
    with pytest.raises(VaultError, match="not open"):
        unopened.save()


@pytest.mark.smoke
def test_only_displayed_fields_are_decrypted(
    unsealed: None, orgs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        _specimen(orgs["moscow"], name=f"name {i}", contact=f"+7916000000{i}", narrative="long story " * 50)
    calls: list[str] = []
    real_open = crypto.open_with

    def counting_open(aead: Any, blob: bytes, aad: str) -> bytes:
        if aad.startswith(Specimen._meta.db_table + "/"):  # a field, not a key
            calls.append(aad.split("/")[1])
        return real_open(aead, blob, aad)

    monkeypatch.setattr(crypto, "open_with", counting_open)
    with CaptureQueriesContext(connection) as queries:
        views = opened(Specimen.objects.order_by("code"), orgs["moscow"].pk)
        names = [view.name for view in views]
    assert sorted(names) == [f"name {i}" for i in range(5)]
    assert calls == ["name"] * 5, "the narrative and contacts were never decrypted"
    assert len(queries) == 2, "one query for the rows, one for all their keys"
    opened(with_keys(Specimen.objects.all(), orgs["moscow"].pk), orgs["moscow"].pk)  # the first finds the key
    with CaptureQueriesContext(connection) as queries:
        views = opened(with_keys(Specimen.objects.order_by("code"), orgs["moscow"].pk)[:3], orgs["moscow"].pk)
        assert [view.contact for view in views] == [f"+7916000000{i}" for i in range(3)]
    assert len(queries) == 1, "with_keys: the keys come with the rows"
    [other] = opened(with_keys(Specimen.objects.all()[:1], orgs["railroad"].pk), orgs["railroad"].pk)
    assert not other.available and other.name == "", "no wrap for another organisation"


def test_another_organisation_reads_only_what_is_shared(unsealed: None, orgs: dict[str, Any]) -> None:
    record = _specimen(orgs["moscow"], name="Магомед")
    [view] = opened([record], orgs["railroad"].pk)
    assert not view.available and view.name == ""
    crypto.data_key_share(
        data_key_id=record.data_key_id,
        from_organisation_id=orgs["moscow"].pk,
        to_organisation_id=orgs["railroad"].pk,
    )
    assert opened([record], orgs["railroad"].pk)[0].name == "Магомед"
    crypto.data_key_unshare(data_key_id=record.data_key_id, organisation_id=orgs["railroad"].pk)
    assert not opened([record], orgs["railroad"].pk)[0].available, "revocation takes effect at once"
    assert opened([record], orgs["moscow"].pk)[0].name == "Магомед"


def test_a_ciphertext_moved_to_another_record_does_not_open(unsealed: None, orgs: dict[str, Any]) -> None:
    first = _specimen(orgs["moscow"], name="Магомед")
    second = _specimen(orgs["moscow"], name="Другой")
    Specimen.objects.filter(pk=second.pk).update(name=first.name)  # ciphertext, copied by an attacker
    Specimen.objects.filter(pk=first.pk).update(location=first.name)
    # A page shows the record as unavailable rather than failing, and never the moved value.
    [moved] = opened([Specimen.objects.get(pk=second.pk)], orgs["moscow"].pk)
    assert moved.name == "" and not moved.available
    [other_field] = opened([Specimen.objects.get(pk=first.pk)], orgs["moscow"].pk)
    assert other_field.location == "" and not other_field.available
    # Read directly, the ciphertext refuses to open in its new place.
    second_row = Specimen.objects.get(pk=second.pk)
    second_row.open_for(orgs["moscow"].pk)
    with pytest.raises(Undecryptable):
        crypto.field_open(
            second_row.record_key(),
            table=Specimen._meta.db_table,
            field="name",
            pk=second_row.pk,
            blob=bytes(second_row.name),
        )


def test_nothing_opens_while_sealed(unsealed: None, orgs: dict[str, Any]) -> None:
    record = _specimen(orgs["moscow"], name="Магомед")
    services.vault_seal()
    with pytest.raises(VaultError, match="sealed"):
        opened([record], orgs["moscow"].pk)


@pytest.mark.smoke
def test_erasure_holds_against_a_backup_taken_before_it(unsealed: None, orgs: dict[str, Any]) -> None:
    erased = _specimen(orgs["moscow"], name="Магомед", narrative="where he hides")
    kept = _specimen(orgs["moscow"], name="Кто-то ещё")
    crypto.data_key_share(
        data_key_id=erased.data_key_id,
        from_organisation_id=orgs["moscow"].pk,
        to_organisation_id=orgs["railroad"].pk,
    )
    rows: list[Any] = [*DataKey.objects.all(), *DataKeyWrap.objects.all(), *Specimen.objects.all()]
    backup = serializers.serialize("json", rows)

    erased.erase()
    assert not DataKeyWrap.objects.filter(data_key_id=erased.data_key_id).exists(), "every wrap is gone"
    assert not opened([Specimen.objects.get(pk=erased.pk)], orgs["moscow"].pk)[0].available

    # The old backup comes back, with every wrap of the erased record's data key, and the vault is unsealed.
    for restored in serializers.deserialize("json", backup):
        restored.save()
    assert DataKeyWrap.objects.filter(data_key_id=erased.data_key_id).count() == 2
    for organisation in (orgs["moscow"], orgs["railroad"]):
        [view] = opened([Specimen.objects.get(pk=erased.pk)], organisation.pk)
        assert not view.available and view.narrative == ""
    assert opened([Specimen.objects.get(pk=kept.pk)], orgs["moscow"].pk)[0].name == "Кто-то ещё", (
        "the rest of the backup still reads"
    )
    assert str(erased.data_key_id) not in shredstore.fetch([str(erased.data_key_id), str(kept.data_key_id)])


def test_the_shred_store_can_be_a_postgresql_database_of_its_own(
    unsealed: list[str], orgs: dict[str, Any], settings: Any
) -> None:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    import psycopg

    server = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}"
    name = f"safepassage_shred_test_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        settings.VAULT_SHRED_STORE = f"{server}/{name}"
        record = _specimen(orgs["moscow"], name="Магомед")
        assert shredstore.count() == 1
        assert opened([record], orgs["moscow"].pk)[0].name == "Магомед"
        record.erase()
        assert shredstore.count() == 0
        assert not opened([Specimen.objects.get(pk=record.pk)], orgs["moscow"].pk)[0].available
    finally:
        shredstore.close()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_damaged_wrap_makes_one_record_unavailable_not_the_page(
    unsealed: list[str], orgs: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    damaged = _specimen(orgs["moscow"], name="Магомед")
    fine = _specimen(orgs["moscow"], name="Другой")
    other = DataKeyWrap.objects.get(data_key_id=fine.data_key_id)
    DataKeyWrap.objects.filter(data_key_id=damaged.data_key_id).update(wrapped=bytes(other.wrapped))
    views = {view.record.pk: view for view in opened(Specimen.objects.all(), orgs["moscow"].pk)}
    assert not views[damaged.pk].available and views[damaged.pk].name == ""
    assert views[fine.pk].name == "Другой"
    assert "does not open" in caplog.text and "Магомед" not in caplog.text


_READ_RESTORED = """
import json, sys
import django
from django.conf import settings
django.setup()
settings.VAULT_RUNTIME_DIR, settings.VAULT_SHRED_STORE = sys.argv[1], sys.argv[2]
from safepassage.vault.fields import opened
from tests.specimens.models import Specimen
views = opened(Specimen.objects.order_by("code"), int(sys.argv[3]))
print(json.dumps({view.code: view.narrative if view.available else None for view in views}, ensure_ascii=False))
"""


@pytest.mark.django_db(transaction=True)
def test_erasure_holds_against_a_pg_dump_taken_before_it(
    audit_table_truncatable: None,
    unsealed: list[str],
    orgs: dict[str, Any],
    vault_runtime: Any,
    settings: Any,
) -> None:
    """A real pg_dump, restored into a database of its own after the erasure, read by another process with the
    vault unsealed: the erased record stays unreadable, the rest of the old dump reads."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    import subprocess
    import sys

    from tests.postgres_tools import drop, find_pg_dump, pg_dump, restore, server_major

    executable, why = find_pg_dump(server_major())
    if executable is None:
        pytest.skip(why)
    moscow = orgs["moscow"].pk
    erased = _specimen(orgs["moscow"], narrative="where he hides")
    erased.code = "A-ERASED"
    erased.save(update_fields=["code"])
    kept = _specimen(orgs["moscow"], narrative="the other one")
    kept.code = "B-KEPT"
    kept.save(update_fields=["code"])
    dump = pg_dump(executable)  # the backup of last night
    erased.erase()

    restored = f"safepassage_restored_{os.getpid()}"
    restore(executable, dump, restored)
    try:
        db = connection.settings_dict
        env = {
            **os.environ,
            "SAFEPASSAGE_MODE": "test",
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{restored}",
        }
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _READ_RESTORED,
                str(vault_runtime),
                str(settings.VAULT_SHRED_STORE),
                str(moscow),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {
            "A-ERASED": None,
            "B-KEPT": "the other one",
        }
    finally:
        drop(executable, restored)


@pytest.mark.smoke
def test_templates_show_sealed_fields_and_never_call_what_alters_data(
    unsealed: list[str], orgs: dict[str, Any]
) -> None:
    from django.template import engines

    record = _specimen(orgs["moscow"], name="Магомед <b>")
    [view] = opened([record], orgs["moscow"].pk)
    template = engines["django"].from_string(
        "{{ row.code }}|{{ row.name }}|{{ row.delete }}|{{ row.missing }}"
    )
    assert template.render({"row": view}) == "SP-1|Магомед &lt;b&gt;||"
    assert Specimen.objects.filter(pk=record.pk).exists(), "row.delete was not called"
