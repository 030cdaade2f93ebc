"""The bench run: prepare the database, start gunicorn, log in, drive the load, write the report."""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType
from typing import Any

from bench import BenchError, environment, report
from bench.environment import BENCH_DIR, ROOT
from bench.load import Scenario, drive
from bench.seed import seed, setup_django
from bench.server import Manage, gunicorn, manage
from bench.session import SESSION_COOKIE, log_in

WORKERS = 3
CLIENTS = 2
ROUNDS = 150  # per client; every round sends each scenario once
WARMUP_ROUNDS = 10  # per client, not measured: workers import and connect lazily on first requests
TIME_CAP = 20.0  # seconds for the measured part; it stops early rather than run on
USERNAME = "orgadmin"
BASELINE = "healthz"
REPORT = BENCH_DIR / "report.json"


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM would end the process without unwinding; as SystemExit the finally blocks stop gunicorn.
    raise SystemExit(128 + signum)


def _run(started: float) -> int:
    env = environment.build()
    print(f"bench: database {env.database}; cache {env.cache}", flush=True)
    production = env.with_mode("production")
    # collectstatic touches no database, so it runs alongside migrate and the demo data.
    collectstatic = Manage(production, "collectstatic", "--noinput", "--verbosity", "0")
    try:
        manage(production, "migrate", "--noinput", "--verbosity", "0")
        setup_django(env.with_mode("test"))
        # Django's LOGGING (root at INFO) now applies here too; httpx's per-request lines are noise.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        login = seed(USERNAME)
        collectstatic.wait()
    finally:
        collectstatic.stop()
    print(
        f"bench: migrated, collected static files, loaded the demo in {time.monotonic() - started:.1f} s",
        flush=True,
    )

    step = time.monotonic()
    with gunicorn(production, WORKERS, BENCH_DIR / "gunicorn.log") as base_url:
        print(
            f"bench: gunicorn ×{WORKERS} on {base_url} ready in {time.monotonic() - step:.1f} s", flush=True
        )
        step = time.monotonic()
        port = int(base_url.rsplit(":", 1)[1])
        session = log_in(base_url, login.username, login.password, login.totp_secret)
        print(
            f"bench: logged in as {USERNAME} (password + TOTP) in {time.monotonic() - step:.1f} s", flush=True
        )
        scenarios = [
            Scenario("login_page", "/accounts/login/"),
            Scenario("home", "/home/", {"Cookie": f"{SESSION_COOKIE}={session}"}, needs_login=True),
            Scenario(BASELINE, "/healthz"),
        ]
        step = time.monotonic()
        drive(port, scenarios, CLIENTS, WARMUP_ROUNDS, time_cap=10.0)
        print(f"bench: warmed up in {time.monotonic() - step:.1f} s", flush=True)
        result = drive(port, scenarios, CLIENTS, ROUNDS, TIME_CAP)

    all_figures = [report.figures(result, s.name) for s in scenarios]
    baseline = next(f for f in all_figures if f.name == BASELINE)
    errors = sum(f.errors for f in all_figures)
    run: dict[str, Any] = {
        "database": env.database,
        "cache": env.cache,
        "server": f"gunicorn, {WORKERS} sync workers, SAFEPASSAGE_MODE=production, 127.0.0.1",
        "clients": CLIENTS,
        "rounds_per_client": ROUNDS,
        "warmup_rounds_per_client": WARMUP_ROUNDS,
        "requests": len(result.samples),
        "errors": errors,
        "seconds": round(result.elapsed, 3),
        "overall_rps": round(len(result.samples) / result.elapsed, 1) if result.elapsed else None,
        "time_capped": result.capped,
        "baseline": BASELINE,
        "rps_method": "clients / mean latency of the scenario's 2xx answers (Little's law, closed loop)",
    }
    report.write(REPORT, report.rows(all_figures, baseline), run)

    print(
        f"bench: {len(result.samples)} requests from {CLIENTS} clients in {result.elapsed:.1f} s"
        f"{' (stopped at the time cap)' if result.capped else ''}, scenarios interleaved"
    )
    print(report.summary(all_figures, baseline))
    print(f"bench: report in {REPORT.relative_to(ROOT)}")
    if errors:
        print(f"bench: {errors} responses were not 2xx (see 'statuses' in the report)", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    try:
        code = _run(started)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    print(f"bench: done in {time.monotonic() - started:.1f} s")
    return code
