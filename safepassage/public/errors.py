"""Error pages in the person's language, without stack traces or details."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    """The requester's pages keep their own plain layout, with the quick exit; staff pages the staff layout."""
    context = {}
    face = settings.SAFEPASSAGE_FACE
    if face == "public" or (face == "all" and request.path.startswith("/help/")):
        context = {"base": "intake/base.html", "quick_exit": settings.INTAKE_QUICK_EXIT_URL, "public": True}
    return render(request, template, context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, "400.html", 400)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, "403.html", 403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(request, "403_csrf.html", 403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, "404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(request, "500.html", 500)
