"""Logs a demo user in through the real two-step login (password, then TOTP) and returns the session cookie."""

from __future__ import annotations

import re
import time

import httpx

from bench import BenchError

LOGIN = "/accounts/login/"
SECOND_STEP = "/accounts/2fa/authenticate/"
HOME = "/home/"
SESSION_COOKIE = "sessionid"  # Django's default SESSION_COOKIE_NAME, which settings.py keeps
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _csrf_token(response: httpx.Response) -> str:
    if response.status_code != 200:
        raise BenchError(f"GET {response.request.url.path} answered {response.status_code}")
    match = _CSRF.search(response.text)
    if match is None:
        raise BenchError(f"no CSRF token on {response.request.url.path}")
    return match.group(1)


def candidate_codes(secret: str, period: int = 30) -> list[str]:
    """The codes the server accepts now (MFA_TOTP_TOLERANCE is 1), current one first.

    A code is single-use for one period, so a re-run within 30 s finds the current one spent;
    the next period's code is then still accepted.
    """
    from safepassage.lib.totp import totp_code  # imported late: it needs Django set up (bench.seed)

    now = time.time()
    codes = [totp_code(secret, now), totp_code(secret, now + period), totp_code(secret, now - period)]
    return list(dict.fromkeys(codes))


def log_in(base_url: str, username: str, password: str, totp_secret: str) -> str:
    """The session cookie's value after a full login; raises BenchError if any step goes wrong."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as client:
        token = _csrf_token(client.get(LOGIN))
        answer = client.post(
            LOGIN, data={"csrfmiddlewaretoken": token, "login": username, "password": password}
        )
        if answer.status_code != 302 or answer.headers.get("location") != SECOND_STEP:
            raise BenchError(
                f"password step for {username!r} answered {answer.status_code}, not a second step"
            )
        for code in candidate_codes(totp_secret):
            token = _csrf_token(client.get(SECOND_STEP))
            answer = client.post(SECOND_STEP, data={"csrfmiddlewaretoken": token, "code": code})
            if answer.status_code == 302 and answer.headers.get("location") == HOME:
                break
            if answer.status_code != 200:  # 200 is the form again: this code was refused
                raise BenchError(f"second step answered {answer.status_code}")
        else:
            raise BenchError(f"every TOTP code was refused for {username!r} (rate limit or clock?)")
        session = client.cookies.get(SESSION_COOKIE)
        if not session:
            raise BenchError("logged in, but no session cookie was set")
        home = client.get(HOME)
        if home.status_code != 200:
            raise BenchError(f"GET {HOME} with the new session answered {home.status_code}")
        return session
