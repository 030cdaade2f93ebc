"""Settings for the test suite: the project's settings on a real PostgreSQL.

PostgreSQL: DATABASE_URL if set, else 127.0.0.1:5432 if it answers, else a throwaway cluster
started from the installed PostgreSQL binaries (pytest-postgresql's executor). SAFEPASSAGE_TEST_DB=sqlite
runs the smoke suite on the embedded SQLite instead. DATABASE_CHOICE says which was used.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import tempfile
from pathlib import Path

os.environ.setdefault("SAFEPASSAGE_MODE", "test")

import dj_database_url

from safepassage.settings import *  # noqa: F403
from safepassage.settings import VAR_DIR


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _throwaway_cluster() -> str:
    from pytest_postgresql.executor import PostgreSQLExecutor

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl") or ""]
    pg_ctl = candidates[-1]
    if not pg_ctl:
        raise RuntimeError(
            "No PostgreSQL reachable and no pg_ctl installed: install PostgreSQL (make test does)."
        )
    datadir = tempfile.mkdtemp(prefix="safepassage-pg-")
    port = 55432
    executor = PostgreSQLExecutor(
        executable=pg_ctl,
        host="127.0.0.1",
        port=port,
        datadir=datadir,
        unixsocketdir=datadir,
        logfile=os.path.join(datadir, "log"),
        startparams="-w",
        dbname="postgres",
        user="postgres",
        password="",
    )
    executor.start()

    def stop() -> None:
        executor.stop()
        shutil.rmtree(datadir, ignore_errors=True)

    atexit.register(stop)
    return f"postgres://postgres@127.0.0.1:{port}/safepassage"


# This run's own directory for the files it writes (test database, shred store, encrypted files), removed at exit.
_run_dir = Path(tempfile.gettempdir()) / f"safepassage-test-run-{os.getpid()}"

if os.environ.get("SAFEPASSAGE_TEST_DB") == "sqlite":
    DATABASE_CHOICE = "embedded SQLite (smoke suite)"
    # A test database file per run, so that parallel smoke runs never delete each other's database.
    _run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "test.sqlite3"),
            "OPTIONS": {"transaction_mode": "IMMEDIATE"},
            "TEST": {"NAME": str(_run_dir / "test-smoke.sqlite3")},
        }
    }
elif os.environ.get("DATABASE_URL"):
    DATABASE_CHOICE = "PostgreSQL from DATABASE_URL"
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
elif _reachable("127.0.0.1", 5432):
    DATABASE_CHOICE = "PostgreSQL at 127.0.0.1:5432"
    DATABASES = {"default": dj_database_url.parse("postgres://postgres@127.0.0.1:5432/safepassage")}
else:
    DATABASE_CHOICE = "throwaway PostgreSQL cluster (pytest-postgresql)"
    DATABASES = {"default": dj_database_url.parse(_throwaway_cluster())}

# Argon2id as in production, with a small cost so the suite stays quick.
PASSWORD_HASHERS = ["tests.hashers.QuickArgon2PasswordHasher"]

# A test database per run, so that parallel runs on one server (developers, CI, helpers) never collide.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": f"test_safepassage_{os.getpid()}"}

# A vault runtime directory of this run's own, so a demo unsealed on the same machine is not seen here.
VAULT_RUNTIME_DIR = f"/dev/shm/safepassage-test-run-{os.getpid()}"  # noqa: S108 (tmpfs on purpose)
atexit.register(shutil.rmtree, VAULT_RUNTIME_DIR, True)
# The shred store and encrypted files of this run, likewise.
VAULT_SHRED_STORE = str(_run_dir / "shred-store.sqlite3")
# Checked once per key in tests, so that counted queries stay exact; a test sets 0 to check every time.
VAULT_VERIFY_SECONDS = 3600.0
VAULT_FILE_DIR = _run_dir / "files"
atexit.register(shutil.rmtree, _run_dir, True)

# A test-only room with one of every sensitive field kind (tests/specimens).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.specimens"]  # noqa: F405
