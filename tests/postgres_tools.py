"""PostgreSQL's own tools for tests that need a real dump: pg_dump of the test database, and psql to restore it."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from django.db import connection


def server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def find_pg_dump(major: int) -> tuple[str | None, str]:
    """The newest pg_dump on PATH or under /usr/lib/postgresql, if it can dump this server (pg_dump refuses a
    server newer than itself); else None and what was found instead."""
    candidates = {
        path for path in [shutil.which("pg_dump"), *glob.glob("/usr/lib/postgresql/*/bin/pg_dump")] if path
    }
    versions: list[tuple[int, str]] = []
    for path in sorted(candidates):
        answer = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        match = re.search(r"(\d+)(?:\.\d+)*", answer.stdout)
        if answer.returncode == 0 and match:
            versions.append((int(match[1]), path))
    usable = sorted(v for v in versions if v[0] >= major)
    if usable:
        return usable[-1][1], ""
    found = ", ".join(f"{path} ({v})" for v, path in versions) or "none"
    return None, (
        f"the server is PostgreSQL {major} and no pg_dump of version {major} or newer is installed "
        f"(found: {found}); install postgresql-client-{major}"
    )


def _connection_args() -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    args: list[str] = []
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [option, str(db[key])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    if db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = str(db["OPTIONS"]["sslmode"])
    return args, env


def restore(executable: str, dump: bytes, database: str) -> None:
    """Load a plain dump into a new database `database` (dropped first if it exists), with the psql beside
    pg_dump."""
    psql = str(Path(executable).with_name("psql"))
    args, env = _connection_args()
    for sql in (f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"'):
        done = subprocess.run(
            [psql, *args, "--dbname", "postgres", "-c", sql], capture_output=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    done = subprocess.run(
        [psql, *args, "--dbname", database, "-v", "ON_ERROR_STOP=1", "--quiet"],
        input=dump,
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def drop(executable: str, database: str) -> None:
    psql = str(Path(executable).with_name("psql"))
    args, env = _connection_args()
    subprocess.run(
        [psql, *args, "--dbname", "postgres", "-c", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
        capture_output=True,
        env=env,
        check=False,
    )


def pg_dump(executable: str) -> bytes:
    """A full plain-text dump (schema and every row of every table) of the test database."""
    args, env = _connection_args()
    command = [
        executable,
        "--no-owner",
        "--no-privileges",
        "--encoding=UTF8",
        "--dbname",
        str(connection.settings_dict["NAME"]),
        *args,
    ]
    done = subprocess.run(command, capture_output=True, env=env, check=False, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout
