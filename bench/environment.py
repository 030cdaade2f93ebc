"""The server's environment for a bench run: production mode, secret key, database and cache.

The bench loads demo accounts whose password is published, so it only ever uses a database of its own:
BENCH_DATABASE_URL, else safepassage_bench on the local PostgreSQL, else SQLite under var/bench/. It never
inherits DATABASE_URL, which on a server names the real database. Its vault is its own too: a tmpfs runtime
directory named after the bench database, and a shred store and file directory under var/bench/.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from psycopg import sql

from bench import BenchError

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "safepassage_bench"
PG_BENCH_URL = f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
REDIS_BENCH_URL = "redis://127.0.0.1:6379/15"
# The bench process and the server of the vault pages: the project's settings plus the specimens room.
VAULT_SETTINGS = "bench.vault_settings"

# Inherited variables that would make the bench server differ from a plain production start, or point it
# at the real database.
_DROPPED = (
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY_FILE",
    "REDIS_URL",
    "GUNICORN_CMD_ARGS",
    "SECURE_SSL_REDIRECT",
    "SAFEPASSAGE_BEHIND_PROXY",
    "SAFEPASSAGE_RUNTIME_DIR",
    "SAFEPASSAGE_SHRED_STORE",
    "SAFEPASSAGE_FILE_DIR",
    "VAULT_ALLOW_ANY_RUNTIME_DIR",
)


@dataclass(frozen=True)
class BenchEnv:
    """Environment variables for the server, and what was chosen, said without credentials."""

    variables: dict[str, str]
    database: str
    cache: str

    def with_mode(self, mode: str, settings_module: str = "safepassage.settings") -> dict[str, str]:
        return {**self.variables, "SAFEPASSAGE_MODE": mode, "DJANGO_SETTINGS_MODULE": settings_module}


def secret_key(bench_dir: Path) -> str:
    """A generated key, kept under var/bench/ so re-runs can still read the TOTP secrets sealed under it."""
    path = bench_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def redis_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def local_postgres() -> str | None:
    """The bench database on the local PostgreSQL, created if missing; None when nothing answers."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_BENCH_DB,)).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PG_BENCH_DB)))
    except psycopg.OperationalError:
        return None
    return PG_BENCH_URL


def build(bench_dir: Path = BENCH_DIR) -> BenchEnv:
    bench_dir.mkdir(parents=True, exist_ok=True)
    variables = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    variables.update(
        {
            "DJANGO_SETTINGS_MODULE": "safepassage.settings",
            "SAFEPASSAGE_MODE": "production",
            "SECRET_KEY": secret_key(bench_dir),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SAFEPASSAGE_TLS": "false",
        }
    )
    if bench_url := os.environ.get("BENCH_DATABASE_URL"):
        if bench_url == os.environ.get("DATABASE_URL"):
            raise BenchError(
                "BENCH_DATABASE_URL is the same as DATABASE_URL: the bench loads demo accounts with a "
                "published password, so give it a database of its own"
            )
        variables["DATABASE_URL"] = bench_url
        database = f"{bench_url.split(':', 1)[0]} from BENCH_DATABASE_URL"
    elif (url := local_postgres()) is not None:
        variables["DATABASE_URL"] = url
        database = f"postgresql 127.0.0.1:5432/{PG_BENCH_DB}"
    else:
        sqlite_path = bench_dir / "safepassage.sqlite3"
        variables["DATABASE_URL"] = f"sqlite:///{sqlite_path}"
        database = f"sqlite {sqlite_path.relative_to(ROOT)}"
    if redis_answers(REDIS_BENCH_URL):
        variables["REDIS_URL"] = REDIS_BENCH_URL
        cache = f"redis {REDIS_BENCH_URL} (cache and sessions)"
    else:
        cache = "local memory per worker (sessions in the database)"
    # One runtime directory per bench database and user, as the settings' default is per database; the run
    # unseals it at the start and seals it at the end (bench.vault).
    tag = hashlib.sha256(variables["DATABASE_URL"].encode()).hexdigest()[:12]
    variables["SAFEPASSAGE_RUNTIME_DIR"] = f"/dev/shm/safepassage-bench-{os.getuid()}-{tag}"  # noqa: S108 (tmpfs)
    variables["SAFEPASSAGE_SHRED_STORE"] = str(bench_dir / "shred-store.sqlite3")
    variables["SAFEPASSAGE_FILE_DIR"] = str(bench_dir / "files")
    return BenchEnv(variables=variables, database=database, cache=cache)
