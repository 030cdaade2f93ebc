"""No client address or user agent reaches the logs or the database."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

ADDRESS = "203.0.113.77"
ADDRESS6 = "2001:db8::7:7"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) SecretBrowser/1.2"


@pytest.fixture
def log_output() -> Any:
    """The output of the configured stderr handler, with its privacy filter."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(old)


def test_logs_keep_no_address_or_user_agent(people: dict[str, Any], log_output: io.StringIO) -> None:
    client = Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT, HTTP_X_FORWARDED_FOR=ADDRESS6)
    client.get("/no-such-page/")  # django.request logs a warning for a 404
    client.post("/accounts/login/", {"login": "alice", "password": "wrong password"})
    logging.getLogger("safepassage.test").warning("client %s with %s via %s", ADDRESS, AGENT, ADDRESS6)
    output = log_output.getvalue()
    assert "Not Found" in output  # the log did receive the request's record
    assert ADDRESS not in output and ADDRESS6 not in output
    assert "SecretBrowser" not in output


def test_the_database_keeps_no_address_or_user_agent(people: dict[str, Any]) -> None:
    client = Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT)
    client.post("/accounts/login/", {"login": "alice", "password": "wrong password"})
    client.post("/accounts/login/", {"login": "alice", "password": "correct horse battery staple"})
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert ADDRESS not in dump.getvalue()
    assert "SecretBrowser" not in dump.getvalue()


def test_views_never_see_the_address(db: None) -> None:
    from django.http import HttpRequest

    from safepassage.accounts.middleware import ClientPseudonymMiddleware

    seen: dict[str, Any] = {}

    def view(request: HttpRequest) -> Any:
        seen.update(request.META)
        seen["client_key"] = request.client_key  # type: ignore[attr-defined]
        return None

    request = HttpRequest()
    request.META = {"REMOTE_ADDR": ADDRESS, "HTTP_USER_AGENT": AGENT}
    ClientPseudonymMiddleware(view)(request)
    assert "REMOTE_ADDR" not in seen and "HTTP_USER_AGENT" not in seen
    assert ADDRESS not in seen["client_key"] and len(seen["client_key"]) == 32


def test_an_access_line_says_what_was_asked_and_nothing_of_who_asked(log_output: io.StringIO) -> None:
    """gunicorn's access log hands its fields to the logger; whatever the format, only method, path and status
    are written. And user agents that do not start like a browser's are recognised too."""
    atoms = {
        "h": ADDRESS,
        "a": "Dalvik/2.1.0 (Linux; U; Android 11; SM-A125F Build/RP1A)",
        "f": "https://example.org/?from=somewhere",
        "r": "POST /help/?lang=ru HTTP/1.1",
        "m": "POST",
        "U": "/help/",
        "q": "lang=ru",
        "s": "200",
        "t": "[02/Dec/2026:18:07:22 +0000]",
    }
    logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s "%(f)s" "%(a)s" %(t)s', atoms)
    logging.getLogger("safepassage.test").warning("agent %s", "Dalvik/2.1.0 (Linux; U; Android 11; SM-A125F)")
    output = log_output.getvalue()
    assert "POST /help/ 200" in output
    for leaked in (ADDRESS, "SM-A125F", "example.org", "18:07:22", "lang=ru"):
        assert leaked not in output, leaked
