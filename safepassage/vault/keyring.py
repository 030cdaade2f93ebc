"""The node's unseal material in tmpfs, and every process's view of it.

The master key lives only in memory: reconstructed from trustees' shares, it is written to a file in a
tmpfs directory (SAFEPASSAGE_RUNTIME_DIR, default under /dev/shm) that only the server's user can read.
Every process looks at that file before it decrypts (one stat() per call) and forgets its cached key the
moment the file is gone, so `vault seal` or the panic button make every worker of the node unable to
decrypt at its next request. Shares being collected for an unseal wait in the same directory, so they
can come from different terminals and over time without ever touching a disk.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

CHECK_LABEL = b"safepassage-vault-check-v1"
_lock = threading.Lock()
_cached: tuple[tuple[int, int], bytes] | None = None  # ((inode, mtime_ns), master key)
_forget_callbacks: list[Callable[[], None]] = []


def on_forget(callback: Callable[[], None]) -> None:
    """Run `callback` whenever this process drops its master key (sealed, or replaced by a rotation), so that
    keys derived from it go too."""
    _forget_callbacks.append(callback)


_epoch = 0  # counts this process's drops, so a cache filled during a drop can tell it is stale


def epoch() -> int:
    """Changes whenever this process drops its master key; caches of derived keys keep it with each entry."""
    return _epoch


def _drop_cache() -> None:
    global _cached, _epoch
    _cached = None
    _epoch += 1
    for callback in _forget_callbacks:
        callback()


class VaultError(Exception):
    """Something the person at the terminal or page can act on; the message says what."""


@dataclass(frozen=True)
class Progress:
    have: int
    need: int


def runtime_dir() -> Path:
    path = Path(settings.VAULT_RUNTIME_DIR)
    if not _on_tmpfs(path.parent if not path.exists() else path):
        raise VaultError(f"{path} is not on tmpfs: unseal material must never reach a disk.")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # /dev/shm is writable by everyone: a directory someone else made in advance must not be trusted.
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise VaultError(f"{path} belongs to another user or is open to others; remove it and try again.")
    return path


def _on_tmpfs(path: Path) -> bool:
    if settings.VAULT_ALLOW_ANY_RUNTIME_DIR:
        return True
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return False
    best, fstype = "", ""
    resolved = str(path.resolve())
    for line in mounts:
        parts = line.split()
        inside = len(parts) >= 3 and (resolved == parts[1] or resolved.startswith(parts[1].rstrip("/") + "/"))
        if inside and len(parts[1]) > len(best):
            best, fstype = parts[1], parts[2]
    return fstype in {"tmpfs", "ramfs"}


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def key_check(master: bytes) -> str:
    return hmac.new(master, CHECK_LABEL, hashlib.sha256).hexdigest()


def master_key() -> bytes | None:
    """The master key if this node is unsealed, else None. Cheap enough to call before every decryption."""
    global _cached
    try:
        path = Path(settings.VAULT_RUNTIME_DIR) / "master.key"
        stat = path.stat()
    except OSError:
        with _lock:
            if _cached is not None:
                _drop_cache()
        return None
    stamp = (stat.st_ino, stat.st_mtime_ns)
    with _lock:
        if _cached is not None and _cached[0] == stamp:
            return _cached[1]
        if _cached is not None:
            _drop_cache()
        try:
            key = path.read_bytes()
        except OSError:
            return None
        _cached = (stamp, key)
        return key


def is_sealed() -> bool:
    return master_key() is None


def put_master_key(master: bytes) -> None:
    _write_private(runtime_dir() / "master.key", master)


def next_key() -> bytes | None:
    """The new master key of a rotation under way (tmpfs only, like the master key)."""
    try:
        return (Path(settings.VAULT_RUNTIME_DIR) / "next.key").read_bytes()
    except OSError:
        return None


def put_next_key(master: bytes) -> None:
    _write_private(runtime_dir() / "next.key", master)


def promote_next_key() -> None:
    """End of a rotation: the new master key replaces the old one for every process, in one rename; the old
    one is overwritten and removed."""
    directory = runtime_dir()
    old = directory / "master.old"
    with suppress(FileNotFoundError):
        os.replace(directory / "master.key", old)
    os.replace(directory / "next.key", directory / "master.key")
    _overwrite_and_remove(old)


def _overwrite_and_remove(path: Path) -> None:
    """tmpfs pages are freed on unlink, but not necessarily cleared: overwrite first."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.write(b"\0" * size)
        path.unlink()
    except OSError:
        pass


@contextmanager
def rotation_lock() -> Iterator[None]:
    """One `vault rotate` at a time on this node."""
    fd = os.open(runtime_dir() / "rotate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise VaultError("Another `vault rotate` is running on this node; let it finish.") from exc
        yield
    finally:
        os.close(fd)


def pending_shares() -> list[str]:
    try:
        data = (Path(settings.VAULT_RUNTIME_DIR) / "pending.json").read_text()
    except OSError:
        return []
    shares: list[str] = json.loads(data)
    return shares


def put_pending_shares(shares: list[str]) -> None:
    path = runtime_dir() / "pending.json"
    _overwrite_and_remove(path)
    if shares:
        _write_private(path, json.dumps(shares).encode())


def forget_everything() -> None:
    """Seal: remove the master key and any shares waiting, then forget this process's copy."""
    directory = Path(settings.VAULT_RUNTIME_DIR)
    for name in (
        "master.key",
        "pending.json",
        "next.key",
        "master.old",
        "master.tmp",
        "pending.tmp",
        "next.tmp",
    ):
        _overwrite_and_remove(directory / name)
    with _lock:
        _drop_cache()
