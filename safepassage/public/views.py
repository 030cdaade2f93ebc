"""Public pages: entry, health, readiness."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from safepassage.accounts.rules import public
from safepassage.intake.views import apply_language
from safepassage.vault.keyring import is_sealed


@require_GET
@public
def index(request: HttpRequest) -> HttpResponse:
    if settings.SAFEPASSAGE_FACE == "public":
        return redirect("intake_form")
    if request.user.is_authenticated:
        return redirect("home")
    # The plain, cookie-free layout of the requester's pages: a person at risk may land here first.
    apply_language(request)
    context = {"intake": settings.SAFEPASSAGE_FACE == "all", "quick_exit": settings.INTAKE_QUICK_EXIT_URL}
    return render(request, "public/index.html", context)


@never_cache
@require_GET
@public
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
@public
def readyz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unready"}, status=503)
    # Sealed or unsealed, and nothing else.
    return JsonResponse({"status": "ready", "vault": "sealed" if is_sealed() else "unsealed"})
