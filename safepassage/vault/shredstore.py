"""The shred store: one random secret per sensitive record, kept outside the main database.

A record's fields are encrypted under HMAC(shred secret, data key); the data key is in the database (wrapped per
organisation), the shred secret is here. Erasing a record forgets its secret, so its ciphertext can no longer
be read from the live database *or from any database dump taken before the erasure*: the dump holds the data key
but never the secret. The secrets are not encrypted again: without the data key, which needs the master key,
a secret is 32 random bytes that open nothing.

The store is a SQLite file (one node) or a PostgreSQL database other than the main one (several app servers).
Deleted rows are overwritten (SQLite's secure_delete; a VACUUM of the table on PostgreSQL). Back the store up
apart from the database, with short retention: erasure holds against old store backups once they have expired.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings

_local = threading.local()
_SCHEMA = "CREATE TABLE IF NOT EXISTS shred_secret (id VARCHAR(36) PRIMARY KEY, secret {blob} NOT NULL)"


class _Store:
    """A connection to the store, one per thread and process."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.postgres = location.startswith(("postgres://", "postgresql://"))
        self.mark = "%s" if self.postgres else "?"
        if self.postgres:
            import psycopg

            self.connection: Any = psycopg.connect(location, autocommit=True)
        else:
            path = Path(location)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            self.connection = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            for pragma in ("secure_delete = ON", "journal_mode = DELETE", "synchronous = FULL"):
                self.connection.execute(f"PRAGMA {pragma}")
        if not self._has_table():  # a role that may only insert (the public face's) cannot run DDL
            self.connection.execute(_SCHEMA.format(blob="BYTEA" if self.postgres else "BLOB"))

    def _has_table(self) -> bool:
        if self.postgres:
            found = self.connection.execute("SELECT to_regclass('shred_secret')").fetchone()
        else:
            found = self.connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'shred_secret'"
            ).fetchone()
        return bool(found and found[0])

    def execute(self, sql: str, params: Iterable[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.execute(sql.replace("?", self.mark), tuple(params))
        rows: list[tuple[Any, ...]] = cursor.fetchall() if cursor.description else []
        return rows


def _store() -> _Store:
    location = str(settings.VAULT_SHRED_STORE)
    store: _Store | None = getattr(_local, "store", None)
    if store is None or store.location != location or getattr(_local, "pid", None) != os.getpid():
        store = _Store(location)
        _local.store, _local.pid = store, os.getpid()
    return store


def close() -> None:
    """Close this thread's connection to the store."""
    store: _Store | None = getattr(_local, "store", None)
    if store is not None:
        store.connection.close()
        _local.store = None


def create(record_id: str) -> bytes:
    """A fresh secret for a new record, durably stored before the record is."""
    secret = secrets.token_bytes(32)
    _store().execute("INSERT INTO shred_secret (id, secret) VALUES (?, ?)", (record_id, secret))
    return secret


def fetch(record_ids: Iterable[str]) -> dict[str, bytes]:
    """The secrets of these records that still exist (an erased record's is gone)."""
    ids = list(dict.fromkeys(record_ids))
    found: dict[str, bytes] = {}
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        marks = ", ".join("?" for _ in batch)
        for record_id, secret in _store().execute(
            f"SELECT id, secret FROM shred_secret WHERE id IN ({marks})",  # noqa: S608 (placeholders only)
            batch,
        ):
            found[str(record_id)] = bytes(secret)
    return found


def forget(record_id: str) -> None:
    """Erase one record's secret for good, overwriting the deleted row."""
    store = _store()
    store.execute("DELETE FROM shred_secret WHERE id = ?", (record_id,))
    if store.postgres:
        store.execute("VACUUM shred_secret")


def count() -> int:
    return int(_store().execute("SELECT COUNT(*) FROM shred_secret")[0][0])
