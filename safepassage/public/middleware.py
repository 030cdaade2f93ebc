"""Headers on every response that Django's SecurityMiddleware and django-csp do not set."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class PrivacyHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # A seized laptop's browser cache must not hold staff pages.
            response.headers["Cache-Control"] = "no-store"
        return response


class PublicFaceMiddleware:
    """On the public face only (SAFEPASSAGE_FACE=public): a session cookie, whoever sent it, is ignored, so no
    request there ever loads a session or a user (the public face's database role may not read them)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.COOKIES.pop(settings.SESSION_COOKIE_NAME, None)
        return self.get_response(request)
