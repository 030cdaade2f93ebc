"""Every response carries the privacy headers; no page references another host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

STATIC = Path(__file__).resolve().parents[2] / "static"
EXTERNAL = re.compile(
    r"""(?:src|srcset)\s*=\s*["']\s*(?:https?:)?//|<link[^>]+href\s*=\s*["']\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import[^;]*//""",
    re.IGNORECASE,
)


def _plain_paths() -> list[str]:
    """Every URL without parameters, walked from the resolver (admin and API included)."""
    paths: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern) and "<" not in route and "(?P" not in route:
                paths.append(
                    "/" + (prefix + route).lstrip("^").rstrip("$").replace("\\Z", "").replace("^", "")
                )

    walk(get_resolver().url_patterns, "")
    return sorted(set(paths))


def _assert_headers(response: Any) -> None:
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for source in re.findall(r"(?:https?:)?//[^\s;]+|\*", csp):
        pytest.fail(f"CSP allows another host: {source}")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.smoke
def test_every_page_has_the_headers_and_no_other_host(people: dict[str, Any], login: Any) -> None:
    clients = [Client(), login(people["olga"]), login(people["pat"]), login(people["alice"])]
    seen = 0
    for client in clients:
        for path in _plain_paths():
            response = client.get(path, follow=False)
            _assert_headers(response)
            if response.get("Content-Type", "").startswith("text/html"):
                body = response.content.decode()
                assert not EXTERNAL.search(body), f"{path} references another host"
                assert "<script>" not in body.replace(" ", ""), f"{path} has an inline script"
                seen += 1
    assert seen > 20


def test_stylesheets_and_static_files_load_nothing_from_elsewhere() -> None:
    for path in STATIC.rglob("*"):
        if path.suffix in {".css", ".html", ".svg"}:
            assert not EXTERNAL.search(path.read_text(encoding="utf-8")), path


@pytest.mark.smoke
def test_hsts_is_sent_over_tls(db: None) -> None:
    response = Client().get("/accounts/login/", secure=True)
    assert "max-age=31536000" in response["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in Client().get("/accounts/login/")


def test_staff_pages_are_not_kept_in_the_browser_cache(people: dict[str, Any], login: Any) -> None:
    assert "no-store" in login(people["alice"]).get("/home/")["Cache-Control"]


@pytest.mark.smoke
def test_health_and_readiness(db: None) -> None:
    assert Client().get("/healthz").json() == {"status": "alive"}
    assert Client().get("/readyz").json() == {"status": "ready", "vault": "sealed"}
