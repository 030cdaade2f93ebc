"""Browser fixtures: one Debian Chromium for the session, a fresh guarded context per test, the demo people.

Every context is watched: a console report of a Content Security Policy violation, or a request to any
host but the live server, fails the test that caused it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
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
from safepassage.lib.totp import totp_code

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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
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
    """Makes guarded contexts on the live server; closes and checks them after the test."""
    made: list[tuple[BrowserContext, Guard]] = []

    def make(**kwargs: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, **kwargs)
        context.set_default_timeout(10_000)
        guard = Guard(host=urlsplit(live_server.url).netloc)
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
