"""Browser fixtures: one Debian Chromium for the session, a fresh guarded context per test, the demo people.

Every context is watched: a console report of a Content Security Policy violation, or a request to any
host but the live server (or the server its base_url names), fails the test that caused it.

`public_face` starts the public face as production runs it: its own gunicorn process, SAFEPASSAGE_FACE=public,
logged in to the test database as the restricted role of deploy/postgresql/public-face.sql.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import urlopen

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    expect,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

from safepassage.accounts.demo import DEMO_PASSWORD, DemoLogin, load_demo
from safepassage.intake.tests.test_public_role import SQL as PUBLIC_FACE_SQL
from safepassage.intake.tests.test_public_role import psql
from safepassage.lib.totp import totp_code
from tests.postgres_tools import _connection_args

# Playwright's sync API runs an event loop in this thread; Django's ORM would refuse to run beside it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
LOGIN = "/accounts/login/"
SECOND_STEP = "/accounts/2fa/authenticate/"


@pytest.fixture(autouse=True)
def _live_server_tests_flush(audit_table_truncatable: None) -> None:
    """Each live-server test ends with a flush, which must empty the audit table."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@dataclass
class Guard:
    """What a context did that it must not: CSP violations reported on the console, requests to other hosts."""

    host: str
    violations: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def on_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in {"data", "blob", "about"}:
            return
        if parts.netloc != self.host:
            self.foreign_requests.append(request.url)

    def watch(self, page: Page) -> None:
        page.on("console", self.on_console)

    def check(self) -> None:
        assert not self.violations, f"Content Security Policy violations: {self.violations}"
        assert not self.foreign_requests, (
            f"Requests to hosts other than the live server: {self.foreign_requests}"
        )


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer) -> Iterator[NewContext]:
    """Makes guarded contexts on the live server (or on base_url, another server such as the public face, which
    is then the only host the context may reach); closes and checks them after the test."""
    made: list[tuple[BrowserContext, Guard]] = []

    def make(base_url: str | None = None, **kwargs: Any) -> BrowserContext:
        url = base_url or live_server.url
        context = browser.new_context(base_url=url, **kwargs)
        context.set_default_timeout(10_000)
        guard = Guard(host=urlsplit(url).netloc)
        context.on("request", guard.on_request)
        context.on("page", guard.watch)
        made.append((context, guard))
        return context

    yield make
    for context, _guard in made:
        context.close()
    for _context, guard in made:
        guard.check()


@pytest.fixture
def page(new_context: NewContext) -> Page:
    return new_context().new_page()


@pytest.fixture
def demo(live_server: LiveServer, transactional_db: None) -> dict[str, DemoLogin]:
    """The demo people in the live server's database: caseworker, coordinator, ..., platformadmin."""
    return {login.username: login for login in load_demo()}


def current_code() -> str:
    return totp_code(settings.DEMO_TOTP_SECRET)


def next_code() -> str:
    """The code of the next 30-second window: accepted now (one window of tolerance), unused so far."""
    return totp_code(settings.DEMO_TOTP_SECRET, at=time.time() + 30)


def password_step(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(LOGIN)
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()


def code_step(page: Page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    page.locator("form:has(input[name=code]) button[type=submit]").click()


def log_in(page: Page, username: str, code: str | None = None) -> None:
    """Both steps, as a person does: username and password, then the code from the authenticator app."""
    password_step(page, username)
    page.wait_for_url(f"**{SECOND_STEP}")
    code_step(page, code or current_code())
    page.wait_for_url("**/home/")


def switch_language(page: Page, code: str) -> None:
    """Presses the footer button for the language, as a person does; waits for the page in it."""
    page.locator(f"footer form.lang button[value={code}]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def log_out(page: Page) -> None:
    page.locator("header form.logout button[type=submit]").click()
    page.wait_for_url(f"**{LOGIN}")


def confirm_with_second_factor(page: Page) -> None:
    """Answers the step-up page ("Confirm Access") with an authenticator code, as a person would.

    A person with a second factor is asked for it straight away, never for the password alone."""
    page.wait_for_url("**/accounts/2fa/reauthenticate/**")
    code_step(page, next_code())


def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot under var/screenshots/, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000, f"{path} looks empty"
    return path


def shoot_in_each_language(page: Page, name: str) -> None:
    """Screenshots NAME-en, -sv, -ru of the page, switching with the footer buttons; the page starts in English."""
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shoot(page, f"{name}-en")
    for language in ["sv", "ru"]:
        switch_language(page, language)
        shoot(page, f"{name}-{language}")


@dataclass(frozen=True)
class PublicRole:
    """The public face's PostgreSQL role, made by the shipped SQL under a name of this test's own."""

    name: str
    password: str

    def psql(self, sql: str) -> subprocess.CompletedProcess[str]:
        """SQL run by psql logged in as the role, in the test database."""
        db = connection.settings_dict
        args = [
            f"--{option}={db[key]}" for option, key in (("host", "HOST"), ("port", "PORT")) if db.get(key)
        ]
        env = {**os.environ, "PGPASSWORD": self.password}
        if db.get("OPTIONS", {}).get("sslmode"):
            env["PGSSLMODE"] = str(db["OPTIONS"]["sslmode"])
        command = [psql(), *args, f"--username={self.name}", f"--dbname={db['NAME']}", "--no-psqlrc"]
        return subprocess.run(
            [*command, "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=30,
        )


@pytest.fixture
def public_face_role(transactional_db: None) -> Iterator[PublicRole]:
    """deploy/postgresql/public-face.sql run with psql as an operator does, on the (transactional) test database;
    then a password, as an operator gives one (ignored where PostgreSQL trusts local connections).
    Dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL role")
    role = PublicRole(name=f"sp_public_{uuid.uuid4().hex[:10]}", password=secrets.token_urlsafe(24))
    args, env = _connection_args()
    command = [psql(), *args, "--dbname", str(connection.settings_dict["NAME"]), "--no-psqlrc", "--quiet"]
    command += ["-v", "ON_ERROR_STOP=1", "-v", f"role={role.name}", "-v", f"password={role.password}"]
    done = subprocess.run(
        [*command, "-f", str(PUBLIC_FACE_SQL)], capture_output=True, env=env, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    try:
        # On standard input, where psql fills in the variables (it does not in -c); never on a command line.
        done = subprocess.run(
            command,
            input=b"ALTER ROLE :\"role\" PASSWORD :'password';\n",
            capture_output=True,
            env=env,
            check=False,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        yield role
    finally:
        dropped = subprocess.run(
            [*command, "-c", f'DROP OWNED BY "{role.name}"; DROP ROLE "{role.name}"'],
            capture_output=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert dropped.returncode == 0, dropped.stderr.decode(errors="replace")


@dataclass(frozen=True)
class PublicFace:
    """A running public face: its base URL, its role, and the name its database connections carry."""

    url: str
    role: PublicRole
    application_name: str
    log: Path

    def database_users(self) -> set[str]:
        """The PostgreSQL users of the public face's open connections to the test database."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
                [self.application_name, connection.settings_dict["NAME"]],
            )
            return {str(row[0]) for row in cursor.fetchall()}


# Settings that the public face must share with this test process, or that say it runs as it should. Secrets are
# compared by digest so that a failure prints none.
_PROBE = """
import hashlib, json, django
django.setup()
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "SECRET_KEY": hashlib.sha256(s.SECRET_KEY.encode()).hexdigest(),
    "AUDIT_PSEUDONYM_KEY": hashlib.sha256(s.AUDIT_PSEUDONYM_KEY.encode()).hexdigest(),
    "VAULT_SHRED_STORE": str(s.VAULT_SHRED_STORE),
    "VAULT_FILE_DIR": str(s.VAULT_FILE_DIR),
    "INTAKE_CODENAME_KDF": list(s.INTAKE_CODENAME_KDF),
    "INTAKE_QUICK_EXIT_URL": s.INTAKE_QUICK_EXIT_URL,
    "database": [db["NAME"], db["HOST"], str(db["PORT"] or ""), db["USER"]],
    "SAFEPASSAGE_FACE": s.SAFEPASSAGE_FACE,
    "MODE": s.MODE,
    "DEBUG": s.DEBUG,
}))
"""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _public_face_env(role: PublicRole, application_name: str, runtime_dir: Path) -> dict[str, str]:
    """This process's environment, with the settings the public face must share with it given outright, and the
    test database reached as the role."""
    db = connection.settings_dict
    netloc = (
        f"{quote(role.name, safe='')}:{quote(role.password, safe='')}@{quote(str(db['HOST'] or ''), safe='')}"
    )
    if db.get("PORT"):
        netloc += f":{db['PORT']}"
    query = {"application_name": application_name}
    if db.get("OPTIONS", {}).get("sslmode"):
        query["sslmode"] = str(db["OPTIONS"]["sslmode"])
    given = {
        "DJANGO_SETTINGS_MODULE": "safepassage.settings",
        "SAFEPASSAGE_MODE": "test",
        "SAFEPASSAGE_FACE": "public",
        "DATABASE_URL": f"postgres://{netloc}/{quote(str(db['NAME']), safe='')}?{urlencode(query)}",
        "SECRET_KEY": settings.SECRET_KEY,
        "AUDIT_PSEUDONYM_KEY": settings.AUDIT_PSEUDONYM_KEY,
        "SAFEPASSAGE_VAR_DIR": str(settings.VAR_DIR),
        "SAFEPASSAGE_SHRED_STORE": str(settings.VAULT_SHRED_STORE),
        "SAFEPASSAGE_FILE_DIR": str(settings.VAULT_FILE_DIR),
        # Its own: the public face holds no key, and must never see this process's unsealed vault.
        "SAFEPASSAGE_RUNTIME_DIR": str(runtime_dir),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "INTAKE_KDF_PASSES": str(settings.INTAKE_CODENAME_KDF[0]),
        "INTAKE_KDF_MEMORY_KIB": str(settings.INTAKE_CODENAME_KDF[1]),
        "INTAKE_QUICK_EXIT_URL": settings.INTAKE_QUICK_EXIT_URL,
    }
    # No REDIS_URL: one process, local memory; a shared Redis would share flood counters with other runs.
    dropped = {*given, "REDIS_URL"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and key.removesuffix("_FILE") not in dropped
    }
    return {**env, **given}


def _check_public_face_settings(env: dict[str, str], role: PublicRole) -> None:
    """What the public face's settings come to, from its environment, against this process's."""
    db = connection.settings_dict
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    expected = {
        "SECRET_KEY": _digest(settings.SECRET_KEY),
        "AUDIT_PSEUDONYM_KEY": _digest(settings.AUDIT_PSEUDONYM_KEY),
        "VAULT_SHRED_STORE": str(settings.VAULT_SHRED_STORE),
        "VAULT_FILE_DIR": str(settings.VAULT_FILE_DIR),
        "INTAKE_CODENAME_KDF": list(settings.INTAKE_CODENAME_KDF),
        "INTAKE_QUICK_EXIT_URL": settings.INTAKE_QUICK_EXIT_URL,
        "database": [db["NAME"], db["HOST"], str(db["PORT"] or ""), role.name],
        "SAFEPASSAGE_FACE": "public",
        "MODE": "test",
        "DEBUG": False,
    }
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert found == expected, f"the public face's settings differ from this process's: {found} != {expected}"


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _answers(url: str) -> int | None:
    try:
        with urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback server)
            status: int = response.status
            return status
    except OSError:  # refused, reset, timed out, or an HTTP error (URLError is an OSError)
        return None


def _wait_until_up(process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> str:
    """The base URL once the server answers /healthz. gunicorn binds port 0 and says which port it got."""
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the public face exited with {process.returncode}:\n{_tail(log)}")
        if not url:
            listening = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", _tail(log, 200))
            url = listening[1] if listening else ""
        if url and _answers(f"{url}/healthz") == 200:
            return url
        time.sleep(0.1)
    pytest.fail(f"the public face did not answer /healthz within {timeout:.0f} s:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # the master stops its worker gracefully
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        # Its own session (start_new_session): this reaches the master and its worker only.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture
def public_face(public_face_role: PublicRole, tmp_path: Path) -> Iterator[PublicFace]:
    """The public face in a process of its own, as production runs it: gunicorn (one worker: the flood counters
    and spent challenges are in its local memory), SAFEPASSAGE_FACE=public, logged in to the test database as
    the restricted role. It sees what the live server commits (the live server's tests are transactional) and
    shares this process's secret key, shred store and file directory. Stopped afterwards, whatever happened."""
    application_name = f"safepassage-public-face-{uuid.uuid4().hex[:8]}"
    runtime_dir = Path("/dev/shm") / f"safepassage-public-face-{uuid.uuid4().hex[:12]}"  # noqa: S108
    env = _public_face_env(public_face_role, application_name, runtime_dir)
    _check_public_face_settings(env, public_face_role)
    log = tmp_path / "public-face.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "safepassage.wsgi:application",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
        # No access log (no client address logged); no control socket (its default path is shared under $HOME).
        "--no-control-socket",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = _wait_until_up(process, log)
        yield PublicFace(url=url, role=public_face_role, application_name=application_name, log=log)
        assert process.poll() is None, f"the public face exited with {process.returncode}:\n{_tail(log)}"
    finally:
        _stop(process)
        shutil.rmtree(runtime_dir, ignore_errors=True)
        print(f"public face log ({log}):\n{_tail(log)}")  # shown when the test fails
