"""Runs the server as production would: collectstatic and migrate, then gunicorn workers on loopback."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import BenchError
from bench.environment import ROOT


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


class Manage:
    """`safepassage ARGS` in the project's venv with ENV, started at once; wait() raises if it failed."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "safepassage", *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait(self) -> None:
        output, _ = self.proc.communicate()
        if self.proc.returncode != 0:
            raise BenchError(f"`safepassage {' '.join(self.args)}` failed:\n{tail(output)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def manage(env: dict[str, str], *args: str) -> None:
    Manage(env, *args).wait()


def free_port() -> int:
    # Ask the kernel for an unused loopback port; gunicorn binds it a moment later.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn exited with {proc.returncode}:\n{tail(_read(log_path))}")
        if _healthy(port):
            return
        time.sleep(0.1)
    raise BenchError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{tail(_read(log_path))}")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()  # SIGTERM: the master stops its workers gracefully
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        # Its own session (start_new_session), so this reaches only the master and its workers.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextmanager
def gunicorn(env: dict[str, str], workers: int, log_path: Path, ready_timeout: float = 30.0) -> Iterator[str]:
    """Starts gunicorn on a free loopback port, yields its base URL, and always stops it."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "safepassage.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        # No --access-logfile: gunicorn then writes no access log, so no client address is logged.
        # No control socket: its default path is shared under $HOME and would clash with another run.
        "--no-control-socket",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_ready(proc, port, log_path, ready_timeout)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)
