"""The public face under its own PostgreSQL role (deploy/postgresql/public-face.sql): the whole requester's flow
works, and the role can read nothing it does not need, nor change or delete anything."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from safepassage.intake.models import HelpRequest, MailboxMessage, Receiver
from safepassage.intake.tests.test_flow import FORM, challenge_of, codename_of
from tests.postgres_tools import _connection_args

# Committed, not rolled back: the role's SQL takes table locks (row-level security) that an open test
# transaction would hold against it.
pytestmark = pytest.mark.django_db(transaction=True)

SQL = Path(__file__).resolve().parents[3] / "deploy" / "postgresql" / "public-face.sql"


def psql() -> str:
    found = shutil.which("psql") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))), None)
    if found is None:
        pytest.fail("psql is needed to run the shipped SQL as an operator would (install postgresql-client)")
    return str(found)


@pytest.fixture
def public_role(transactional_db: None, audit_table_truncatable: None) -> Iterator[str]:
    """The role made by the shipped SQL, run with psql like an operator, under a name of this test's own."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL role")
    role = f"sp_public_{uuid.uuid4().hex[:10]}"
    args, env = _connection_args()
    command = [psql(), *args, "--dbname", str(connection.settings_dict["NAME"]), "-v", "ON_ERROR_STOP=1"]
    done = subprocess.run(
        [*command, "-v", f"role={role}", "--quiet", "-f", str(SQL)], capture_output=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    yield role
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    subprocess.run(
        [*command, "-c", f'DROP OWNED BY "{role}"; DROP ROLE "{role}"'],
        capture_output=True,
        env=env,
        check=False,
    )


def as_role(role: str) -> None:
    """From here on (until RESET ROLE), every query of this connection runs as the role."""
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')


def refused(sql: str, params: tuple[Any, ...] = ()) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        return "permission denied" in str(exc) or "row-level security" in str(exc)
    return False


def test_the_requesters_whole_flow_runs_under_the_public_role(
    unsealed: list[str], orgs: dict[str, Any], public_role: str
) -> None:
    Receiver.objects.create(organisation=orgs["moscow"], public_name="Moscow group")
    as_role(public_role)
    client = Client()
    page = client.get("/help/")
    assert page.status_code == 200
    sent = client.post("/help/", {**FORM, "challenge": challenge_of(page.content.decode())})
    assert sent.status_code == 200, sent.content.decode()[:2000]
    codename = codename_of(sent)
    thread = client.post("/help/mailbox/", {"codename": codename})
    assert "No answer yet" in thread.content.decode()
    token = re.search(r'name="token" value="([^"]+)"', thread.content.decode())
    assert token
    written = client.post("/help/mailbox/send/", {"token": token.group(1), "body": "Ещё одно сообщение."})
    assert written.status_code == 200, written.content.decode()[:2000]

    # What the role cannot do, on the rows it has just written too.
    for sql in [
        "SELECT situation FROM intake_helprequest",
        "SELECT body FROM intake_mailboxmessage",
        "SELECT name FROM intake_requestfile",
        "SELECT private_wrapped FROM vault_intakekey",
        "SELECT wrapped FROM vault_datakeywrap",
        "SELECT sealed FROM vault_arrivalwrap",
        "SELECT wrapped FROM vault_organisationkey",
        "SELECT key_check FROM vault_vaultstate",
        "SELECT username, password FROM accounts_user",
        "SELECT name FROM accounts_organisation",
        "SELECT * FROM audit_auditentry",
        "SELECT * FROM django_session",
        "UPDATE intake_helprequest SET status = 'spam'",
        "DELETE FROM intake_mailboxmessage",
        "DELETE FROM intake_mailbox",
        "INSERT INTO vault_datakeywrap (data_key_id, organisation_id, organisation_key_id, wrapped) "
        "VALUES (gen_random_uuid(), 1, 1, '')",
        "CREATE TABLE intake_extra (id int)",
    ]:
        assert refused(sql), f"the public role may: {sql}"

    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert HelpRequest.objects.count() == 1
    assert MailboxMessage.objects.filter(direction="in").count() == 1

    # Rows shaped like staff's work are refused, even with every column it may write: a "reply" that would
    # reach the requester as if from staff, a request that arrives already triaged.
    request = HelpRequest.objects.get()
    message = MailboxMessage.objects.get()
    as_role(public_role)
    forged_reply = (
        "INSERT INTO intake_mailboxmessage (id, data_key_id, request_id, number, direction, sent_on, seen, body, "
        "for_requester) VALUES (gen_random_uuid(), %s, %s, 9, %s, CURRENT_DATE, false, %s, %s)"
    )
    for direction, for_requester in [("out", b"sealed to the mailbox"), ("in", b"sealed to the mailbox")]:
        assert refused(
            forged_reply, (message.data_key_id, request.pk, direction, b"x" * 40, for_requester)
        ), f"the public role may insert a {direction} message with a copy for the requester"
    forged_request = (
        "INSERT INTO intake_helprequest (id, data_key_id, organisation_id, mailbox_id, received_on, status, urgency, "
        "triaged, situation, location, region, urgency_given, needs, contact, language) VALUES (gen_random_uuid(), "
        "%s, %s, %s, CURRENT_DATE, %s, '', false, '', '', '', '', '', '', '')"
    )
    assert refused(
        forged_request, (request.data_key_id, request.organisation_id, request.mailbox_id, "spam")
    ), "the public role may insert a request marked as spam"
    # Values that would break staff's pages: a day out of range, a message number at the integer's end, a
    # file of another kind or under a name the file store would not give.
    assert refused(
        forged_request.replace("CURRENT_DATE", "'-infinity'"),
        (request.data_key_id, request.organisation_id, request.mailbox_id, "new"),
    ), "the public role may date a request at -infinity"
    assert refused(
        forged_reply.replace(", 9, ", ", 2147483647, "),
        (message.data_key_id, request.pk, "in", b"x" * 40, None),
    ), "the public role may number a message at the integer's end"
    forged_file = (
        "INSERT INTO intake_requestfile (id, data_key_id, request_id, message_id, file_id, kind, size, name) "
        "VALUES (gen_random_uuid(), %s, %s, NULL, %s, %s, 10, %s)"
    )
    for file_id, kind in [("../../etc/passwd", "pdf"), ("0f0e7a52-31c4-4a0e-9a44-38d0e1f4f5b1", "html")]:
        assert refused(forged_file, (request.data_key_id, request.pk, file_id, kind, b"x" * 40)), (
            file_id,
            kind,
        )


def test_in_a_postgresql_shred_store_the_public_face_may_only_add_secrets(
    settings: Any, audit_table_truncatable: None
) -> None:
    """deploy/postgresql/public-face-shred-store.sql: the public face adds a secret for what arrives, and can
    neither read one nor erase one (which would shred that record for good)."""
    import psycopg

    from safepassage.vault import shredstore

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL role")
    suffix = uuid.uuid4().hex[:10]
    database, role = f"sp_shred_{suffix}", f"sp_public_{suffix}"
    args, env = _connection_args()
    db = connection.settings_dict
    host, port, user = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432, db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""

    def run(*command: str, dbname: str = "postgres") -> None:
        done = subprocess.run(
            [psql(), *args, "--dbname", dbname, *command], capture_output=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    run("-c", f'CREATE DATABASE "{database}"')
    try:
        settings.VAULT_SHRED_STORE = f"postgresql://{user}{password}@{host}:{port}/{database}"
        shredstore.create("made-by-the-staff-face")  # the staff face's first use makes the table
        shredstore.close()
        run(
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            f"role={role}",
            "--quiet",
            "-f",
            str(SQL.with_name("public-face-shred-store.sql")),
            dbname=database,
        )
        settings.VAULT_SHRED_STORE = f"postgresql://{role}@{host}:{port}/{database}"
        assert len(shredstore.create("arrived")) == 32
        for attempt in (
            lambda: shredstore.fetch(["made-by-the-staff-face"]),
            lambda: shredstore.forget("made-by-the-staff-face"),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                attempt()
    finally:
        shredstore.close()
        run("-c", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        run("-c", f'DROP ROLE IF EXISTS "{role}"')
