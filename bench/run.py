"""The bench run: prepare the database, start gunicorn, log in, drive the load; then the vault's part (unseal the
bench's vault, seed specimens, micro-benchmarks, a second gunicorn serving the same page of sealed and of plain
rows, interleaved); then the intake's (a third gunicorn taking the help form's POST sealed on arrival and the same
POST stored in plain columns, interleaved); write the report."""

from __future__ import annotations

import logging
import re
import signal
import sys
import time
from types import FrameType
from typing import Any

import httpx

from bench import BenchError, cpu, environment, intake, report, vault
from bench.environment import BENCH_DIR, ROOT, VAULT_SETTINGS, BenchEnv
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
# The vault page: one client, so the ratio compares requests and not queueing; both versions in every round.
VAULT_WORKERS = 2
VAULT_CLIENTS = 1
VAULT_ROUNDS = 300
VAULT_WARMUP_ROUNDS = 20
VAULT_TIME_CAP = 40.0
VAULT_GOAL = 1.2  # sealed page p50 / plain page p50
SEALED_PAGE = "specimens_sealed"
PLAIN_PAGE = "specimens_plain"
# The help form's POST: several clients, for throughput; both versions in every round of every client.
INTAKE_WORKERS = 4
INTAKE_CLIENTS = 4
INTAKE_ROUNDS = 150
INTAKE_WARMUP_ROUNDS = 5
INTAKE_TIME_CAP = 12.0
INTAKE_GOAL_RPS = 200.0  # sealed submissions per second
INTAKE_GOAL_RATIO = 0.8  # sealed submissions per second / plain ones
SEALED_POST = "intake_sealed"
PLAIN_POST = "intake_plain"
CODENAME_MARK = 'id="codename"'
_TBODY = re.compile(r"<tbody>(.*?)</tbody>", re.DOTALL)


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
        # The vault settings are the project's plus the specimens room: this migrates both.
        manage(env.with_mode("production", VAULT_SETTINGS), "migrate", "--noinput", "--verbosity", "0")
        setup_django(env.with_mode("test", VAULT_SETTINGS))
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

    try:
        vault_section, vault_errors = _vault(env, login.username, session)
        intake_section, intake_errors = _intake(env, login.username)
    finally:
        vault.seal()

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
    report.write(REPORT, report.rows(all_figures, baseline), run, vault_section, intake_section)

    print(
        f"bench: {len(result.samples)} requests from {CLIENTS} clients in {result.elapsed:.1f} s"
        f"{' (stopped at the time cap)' if result.capped else ''}, scenarios interleaved"
    )
    print(report.summary(all_figures, baseline))
    _print_vault(vault_section)
    _print_intake(intake_section)
    print(f"bench: report in {REPORT.relative_to(ROOT)}")
    if errors or vault_errors or intake_errors:
        print(
            f"bench: {errors + vault_errors + intake_errors} responses were not 2xx, or not the expected page, "
            "or stored nothing (see 'statuses' and 'intake.stored' in the report)",
            file=sys.stderr,
        )
        return 1
    return 0


def _table(base_url: str, path: str, session: str) -> str:
    """The table body of one specimens page, checked to hold a whole page of rows."""
    answer = httpx.get(base_url + path, cookies={SESSION_COOKIE: session}, timeout=30)
    if answer.status_code != 200:
        raise BenchError(f"GET {path} answered {answer.status_code}")
    match = _TBODY.search(answer.text)
    if match is None or match.group(1).count("<tr>") != vault.PAGE_SIZE:
        raise BenchError(f"GET {path} did not show a table of {vault.PAGE_SIZE} rows")
    return match.group(1)


def _vault(env: BenchEnv, username: str, session: str) -> tuple[dict[str, Any], int]:
    """The vault's part of the bench: its section of the report, and how many answers were not 2xx."""
    from django.db import connections

    from safepassage.accounts.models import User

    step = time.monotonic()
    try:
        unsealed = vault.unseal()
        organisation_id = vault.organisation_of(User.objects.get(username=username))
        seeded = vault.seed_specimens(organisation_id)
        print(f"bench: vault: {unsealed}; {seeded} ({time.monotonic() - step:.1f} s)", flush=True)
        step = time.monotonic()
        micro = vault.micro(organisation_id)
        in_process = vault.breakdown(organisation_id)
        print(f"bench: vault: micro-benchmarks in {time.monotonic() - step:.1f} s", flush=True)
    finally:
        # The bench process needs no connection while it measures the server.
        connections.close_all()

    from bench.vault_urls import PLAIN_PATH, SEALED_PATH

    step = time.monotonic()
    log_path = BENCH_DIR / "gunicorn-vault.log"
    with gunicorn(env.with_mode("production", VAULT_SETTINGS), VAULT_WORKERS, log_path) as base_url:
        print(
            f"bench: gunicorn ×{VAULT_WORKERS} ({VAULT_SETTINGS}) on {base_url} ready in "
            f"{time.monotonic() - step:.1f} s",
            flush=True,
        )
        port = int(base_url.rsplit(":", 1)[1])
        cookie = {"Cookie": f"{SESSION_COOKIE}={session}"}
        scenarios = [
            Scenario(SEALED_PAGE, SEALED_PATH, cookie, needs_login=True),
            Scenario(PLAIN_PAGE, PLAIN_PATH, cookie, needs_login=True),
        ]
        drive(port, scenarios, VAULT_CLIENTS, VAULT_WARMUP_ROUNDS, time_cap=20.0)
        # The same rows on both pages: the sealed one decrypted every shown field (none read "").
        if _table(base_url, SEALED_PATH, session) != _table(base_url, PLAIN_PATH, session):
            raise BenchError("the sealed and the plain page do not show the same table")
        result = drive(port, scenarios, VAULT_CLIENTS, VAULT_ROUNDS, VAULT_TIME_CAP)

    sealed = report.figures(result, SEALED_PAGE)
    plain = report.figures(result, PLAIN_PAGE)
    ratio = sealed.p50_ms / plain.p50_ms if sealed.p50_ms is not None and plain.p50_ms else None
    ratio_p95 = sealed.p95_ms / plain.p95_ms if sealed.p95_ms is not None and plain.p95_ms else None
    section: dict[str, Any] = {
        "micro": micro.as_dict(),
        "page": {
            "sealed_p50_ms": None if sealed.p50_ms is None else round(sealed.p50_ms, 3),
            "plain_p50_ms": None if plain.p50_ms is None else round(plain.p50_ms, 3),
            "ratio_p50": None if ratio is None else round(ratio, 3),
            "sealed_p95_ms": None if sealed.p95_ms is None else round(sealed.p95_ms, 3),
            "plain_p95_ms": None if plain.p95_ms is None else round(plain.p95_ms, 3),
            "ratio_p95": None if ratio_p95 is None else round(ratio_p95, 3),
            "goal_ratio_p50": VAULT_GOAL,
            "meets_goal": ratio is not None and ratio <= VAULT_GOAL,
            "what": f"page 1 of {vault.SEEDED} specimens ordered by code: {vault.PAGE_SIZE} rows × "
            f"{len(vault.SHOWN)} fields ({', '.join(vault.SHOWN)}), same template; sealed rows read "
            "through opened(), plain rows from PlainSpecimen",
            "sealed_path": SEALED_PATH,
            "plain_path": PLAIN_PATH,
            "server": f"gunicorn, {VAULT_WORKERS} sync workers, SAFEPASSAGE_MODE=production, "
            f"DJANGO_SETTINGS_MODULE={VAULT_SETTINGS}, 127.0.0.1",
            "clients": VAULT_CLIENTS,
            "rounds": VAULT_ROUNDS,
            "warmup_rounds": VAULT_WARMUP_ROUNDS,
            "requests": len(result.samples),
            "seconds": round(result.elapsed, 3),
            "time_capped": result.capped,
            "order": "both pages in every round, in a shuffled order",
        },
        # The same rows as the other scenarios, with the plain page as the baseline.
        "scenarios": report.rows([sealed, plain], plain),
        "in_process_ms": in_process,
    }
    return section, sealed.errors + plain.errors


def _print_vault(section: dict[str, Any]) -> None:
    micro, page = section["micro"], section["page"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} ms"

    print(
        f"vault: {micro['encryptions_per_s']:,} field encryptions/s, {micro['decryptions_per_s']:,} "
        f"decryptions/s ({micro['value_chars']} characters)"
    )
    ratio = page["ratio_p50"]
    verdict = "within" if page["meets_goal"] else "ABOVE"
    print(
        f"vault: page of {vault.PAGE_SIZE} rows × {len(vault.SHOWN)} fields, {page['requests']} requests "
        f"interleaved: p50 sealed {ms(page['sealed_p50_ms'])}, plain {ms(page['plain_p50_ms'])}, "
        f"×{'-' if ratio is None else f'{ratio:.3f}'} ({verdict} the goal of ×{page['goal_ratio_p50']})"
    )
    parts = section["in_process_ms"]
    print(
        f"vault: in process: rows {parts['sealed_rows_query_ms']:.2f} ms sealed / "
        f"{parts['plain_rows_query_ms']:.2f} ms plain, record keys {parts['record_keys_open_ms']:.2f} ms, "
        f"150 decryptions {parts['decrypt_150_fields_ms']:.2f} ms"
    )


def _intake(env: BenchEnv, username: str) -> tuple[dict[str, Any], int]:
    """The intake's part of the bench: its section of the report, and how many POSTs failed or stored nothing."""
    from django.conf import settings
    from django.db import connections

    from safepassage.accounts.models import User
    from safepassage.vault import shredstore

    step = time.monotonic()
    database = str(settings.DATABASES["default"]["NAME"])
    organisation_id = vault.organisation_of(User.objects.get(username=username))
    done, previous = intake.prepare(organisation_id)
    try:
        print(f"bench: intake: {done} ({time.monotonic() - step:.1f} s)", flush=True)
        step = time.monotonic()
        try:
            in_process = intake.breakdown(organisation_id)
            removed = intake.purge(organisation_id)
        finally:
            # The bench process needs no connection while it measures the server.
            connections.close_all()
            shredstore.close()
        print(
            f"bench: intake: in-process breakdown in {time.monotonic() - step:.1f} s ({removed})", flush=True
        )

        step = time.monotonic()
        log_path = BENCH_DIR / "gunicorn-intake.log"
        with gunicorn(env.with_mode("production", VAULT_SETTINGS), INTAKE_WORKERS, log_path) as base_url:
            print(
                f"bench: gunicorn ×{INTAKE_WORKERS} ({VAULT_SETTINGS}) on {base_url} ready in "
                f"{time.monotonic() - step:.1f} s",
                flush=True,
            )
            port = int(base_url.rsplit(":", 1)[1])
            posts = intake.form_posts(base_url, organisation_id)
            sealed_path, plain_path = intake.SEALED_PATH + posts.query, intake.PLAIN_PATH + posts.query
            for path in (sealed_path, plain_path):
                intake.check_post(base_url, path, posts, CODENAME_MARK)
            expect = CODENAME_MARK.encode()
            scenarios = [
                Scenario(SEALED_POST, sealed_path, posts.headers, body=posts.body, expect=expect),
                Scenario(PLAIN_POST, plain_path, posts.headers, body=posts.body, expect=expect),
            ]
            warmup = drive(port, scenarios, INTAKE_CLIENTS, INTAKE_WARMUP_ROUNDS, time_cap=10.0)
            before = cpu.snapshot()
            result = drive(port, scenarios, INTAKE_CLIENTS, INTAKE_ROUNDS, INTAKE_TIME_CAP)
            cpu_spent = cpu.spent(before, cpu.snapshot(), port, database, len(result.samples))
        stored_sealed, stored_plain = intake.stored(organisation_id)
        removed = intake.purge(organisation_id)
    finally:
        intake.restore_settings(previous)
        connections.close_all()
        shredstore.close()
    print(f"bench: intake: {removed} after the run", flush=True)

    sealed = report.figures(result, SEALED_POST)
    plain = report.figures(result, PLAIN_POST)

    def answered(name: str) -> int:
        # The checking POST, and every 2xx codename page of the warm-up and of the measured part.
        return 1 + sum(
            f.requests - f.errors for f in (report.figures(warmup, name), report.figures(result, name))
        )

    expected_sealed, expected_plain = answered(SEALED_POST), answered(PLAIN_POST)
    # A codename page for a request that was not stored would be the worst of errors: count it as one.
    lost = max(0, expected_sealed - stored_sealed) + max(0, expected_plain - stored_plain)
    ratio = sealed.rps / plain.rps if sealed.rps is not None and plain.rps else None
    ok_posts = sum(f.requests - f.errors for f in (sealed, plain))

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    section: dict[str, Any] = {
        "sealed_p50_ms": ms(sealed.p50_ms),
        "plain_p50_ms": ms(plain.p50_ms),
        "sealed_p95_ms": ms(sealed.p95_ms),
        "plain_p95_ms": ms(plain.p95_ms),
        "sealed_rps": None if sealed.rps is None else round(sealed.rps, 1),
        "plain_rps": None if plain.rps is None else round(plain.rps, 1),
        "ratio": None if ratio is None else round(ratio, 3),
        "goal_sealed_rps": INTAKE_GOAL_RPS,
        "goal_ratio": INTAKE_GOAL_RATIO,
        "meets_goal_rps": sealed.rps is not None and sealed.rps >= INTAKE_GOAL_RPS,
        "meets_goal_ratio": ratio is not None and ratio >= INTAKE_GOAL_RATIO,
        "measured_posts_per_s": round(ok_posts / result.elapsed, 1) if result.elapsed else None,
        "what": "the help form's POST end to end on loopback, multipart as a browser sends it (a fresh one-time "
        "challenge each, an empty file input, ~500 characters of situation, the bench's organisation chosen): "
        f"sealed = {sealed_path} (help_form: request_submit seals it on arrival); plain = {plain_path} (help_form "
        "too, its request_submit swapped for the same steps storing a PlainSpecimen row, bench.intake_views). "
        f"An answer counts when it is 200 and holds {CODENAME_MARK}",
        "method": "sealed_rps and plain_rps: clients / mean latency of the scenario's counted answers (Little's "
        "law, closed loop), only the POST timed; ratio = sealed_rps / plain_rps; measured_posts_per_s: both "
        "kinds together, counted answers / seconds",
        "flood_limit": "IntakeSettings.requests_per_minute set to 0 (no limit) and proof of work off for the run, "
        "then restored",
        "sealed_path": sealed_path,
        "plain_path": plain_path,
        "server": f"gunicorn, {INTAKE_WORKERS} sync workers, SAFEPASSAGE_MODE=production, "
        f"DJANGO_SETTINGS_MODULE={VAULT_SETTINGS}, 127.0.0.1",
        "clients": INTAKE_CLIENTS,
        "rounds_per_client": INTAKE_ROUNDS,
        "warmup_rounds_per_client": INTAKE_WARMUP_ROUNDS,
        "requests": len(result.samples),
        "seconds": round(result.elapsed, 3),
        "time_capped": result.capped,
        "order": "both POSTs in every round of every client, in a shuffled order",
        "stored": {
            "sealed": stored_sealed,
            "plain": stored_plain,
            "sealed_answered": expected_sealed,
            "plain_answered": expected_plain,
            "removed_after": removed,
        },
        "scenarios": report.rows([sealed, plain], plain),
        "cpu": cpu_spent,
        "in_process_ms": in_process,
    }
    return section, sealed.errors + plain.errors + lost


def _print_intake(section: dict[str, Any]) -> None:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} ms"

    def per_s(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}/s"

    ratio = section["ratio"]
    print(
        f"intake: form POST, {section['requests']} requests from {section['clients']} clients interleaved: "
        f"sealed {per_s(section['sealed_rps'])} (p50 {ms(section['sealed_p50_ms'])}), plain "
        f"{per_s(section['plain_rps'])} (p50 {ms(section['plain_p50_ms'])}); "
        f"{'within' if section['meets_goal_rps'] else 'BELOW'} the goal of {section['goal_sealed_rps']:.0f}/s, "
        f"×{'-' if ratio is None else f'{ratio:.3f}'} of the baseline "
        f"({'within' if section['meets_goal_ratio'] else 'BELOW'} the goal of ×{section['goal_ratio']})"
    )
    parts = section["in_process_ms"]
    print(
        f"intake: in process, sealed / plain: the view {parts['view_sealed_ms']:.2f} / "
        f"{parts['view_plain_ms']:.2f} ms, the service {parts['request_submit_ms']:.2f} / "
        f"{parts['submit_plain_ms']:.2f} ms; both: codename KDF {parts['codename_kdf_ms']:.2f} ms, routing "
        f"{parts['route_ms']:.2f} ms, mailbox {parts['mailbox_insert_ms']:.2f} ms"
    )
    print(
        f"intake: in process, sealing: arrival key {parts['arrival_key_ms']:.2f} ms (key query "
        f"{parts['arrival_key_query_ms']:.2f}, shred-store write {parts['arrival_shred_store_write_ms']:.2f}, "
        f"rows and box {parts['arrival_key_rows_and_box_ms']:.2f}), 7 fields {parts['seal_7_fields_ms']:.2f} ms; "
        f"insert {parts['sealed_insert_ms']:.2f} / {parts['plain_insert_ms']:.2f} ms, commit "
        f"{parts['sealed_commit_ms']:.2f} / {parts['plain_commit_ms']:.2f} ms; shred store alone "
        f"{parts['shred_store_write_ms']:.2f} ms, {parts['shred_store_writes_per_s_concurrent']}/s by "
        f"{parts['shred_store_threads']} threads"
    )
    used = section["cpu"]
    if used:
        print(
            f"intake: CPU per POST: gunicorn {used['server_cpu_ms_per_request']:.1f} ms, PostgreSQL "
            f"{used['postgres_cpu_ms_per_request']:.1f} ms, clients {used['bench_process_cpu_ms_per_request']:.1f} ms "
            f"on {used['cpus']} CPUs: at most ~{used['cpu_bound_ceiling_rps']}/s; other processes took "
            f"{used['other_processes_share_of_busy']:.0%} of the busy CPU time"
        )


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
