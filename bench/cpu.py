"""CPU time spent during a measured stretch, by who spent it: the gunicorn under test, PostgreSQL, the bench
process (its clients), and everything else on the machine. Read from /proc (Linux); elsewhere there are no
figures. A throughput goal is out of reach when the CPU one request costs, times the goal, exceeds the cores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PROC = Path("/proc")


def _busy_ticks() -> int | None:
    """Ticks every CPU spent not idle (nor waiting on I/O) since boot."""
    try:
        fields = (_PROC / "stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(value) for value in fields[:8]]
    return sum(values) - values[3] - values[4]  # idle, iowait


def _process_ticks() -> dict[int, tuple[str, int]]:
    """pid -> (command line, user + system ticks) of every process now."""
    found: dict[int, tuple[str, int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (command, int(fields[11]) + int(fields[12]))
    return found


@dataclass(frozen=True)
class Snapshot:
    busy: int | None
    processes: dict[int, tuple[str, int]]


def snapshot() -> Snapshot:
    return Snapshot(_busy_ticks(), _process_ticks() if _PROC.is_dir() else {})


def spent(
    before: Snapshot, after: Snapshot, server_port: int, database: str, requests: int
) -> dict[str, Any]:
    """CPU milliseconds per request of the server on SERVER_PORT (its master and workers: the bind address is in
    their command line), of PostgreSQL's backends serving DATABASE, of this process; and the share of the
    machine's busy time spent by anything else. Processes that came and went between the snapshots count as
    anything else."""
    if before.busy is None or after.busy is None or not requests:
        return {}
    hz = os.sysconf("SC_CLK_TCK")
    bind = f"127.0.0.1:{server_port}"
    groups = {"server": 0, "postgres": 0, "bench_process": 0}
    for pid, (command, ticks) in after.processes.items():
        earlier = before.processes.get(pid)
        if earlier is None or earlier[0] != command:
            continue
        delta = ticks - earlier[1]
        if bind in command:
            groups["server"] += delta
        elif command.startswith("postgres:") and f" {database} " in command:
            groups["postgres"] += delta
        elif pid == os.getpid():
            groups["bench_process"] += delta
    busy = after.busy - before.busy
    other = max(0, busy - sum(groups.values()))
    cpus = os.cpu_count() or 1
    per_request = {name: round(ticks * 1000 / hz / requests, 2) for name, ticks in groups.items()}
    total = sum(per_request.values())
    return {
        **{f"{name}_cpu_ms_per_request": value for name, value in per_request.items()},
        "cpus": cpus,
        "other_processes_share_of_busy": round(other / busy, 3) if busy else None,
        # If the server, the database and the clients had every core: what that CPU per request allows.
        "cpu_bound_ceiling_rps": round(cpus * 1000 / total) if total else None,
        "method": "user + system ticks from /proc between the start and the end of the measured part, divided "
        "by the requests of both kinds (postgres: the backends of the bench's database; PostgreSQL's shared "
        "writers count as other); other: the machine's busy time (/proc/stat) minus these",
    }
