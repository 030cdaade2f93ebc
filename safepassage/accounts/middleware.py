"""Request gates: client pseudonym, idle timeout, and deny-by-default access rules."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from safepassage.accounts.rules import rule_for
from safepassage.audit.services import audit_denial
from safepassage.lib.privacy import CLIENT_HEADERS, client_pseudonym

logger = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], HttpResponse]


class ClientPseudonymMiddleware:
    """Turns the client address into a daily-rotating keyed pseudonym, then removes address and agent.

    Rate limits need to tell clients apart; nothing needs to know who they are. After this middleware
    no view, library or log line can see the address or the user agent.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        address = meta.get("REMOTE_ADDR", "")
        if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
            # Behind our own reverse proxy the client is the last hop it added.
            forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                address = forwarded.split(",")[-1].strip()
        request.client_key = client_pseudonym(address or "unknown")  # type: ignore[attr-defined]
        for header in CLIENT_HEADERS:
            meta.pop(header, None)
        return self.get_response(request)


class IdleTimeoutMiddleware:
    """Logs a person out after SESSION_IDLE_TIMEOUT seconds without a request, or SESSION_MAX_AGE after log-in."""

    KEY = "_last_seen"
    STARTED = "_started"

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get(self.KEY)
            started = request.session.setdefault(self.STARTED, now)
            # Sliding writes push the session store's expiry forward, so the maximum age is kept here.
            too_old = now - int(started) > settings.SESSION_COOKIE_AGE
            if too_old or (last is not None and now - int(last) > settings.SESSION_IDLE_TIMEOUT):
                logout(request)
                messages.info(request, _("You were logged out after a while without activity."))
                return redirect(settings.LOGIN_URL)
            # Write at most once a minute, so reading pages does not rewrite the session each time.
            if last is None or now - int(last) >= 60:
                request.session[self.KEY] = now
        return self.get_response(request)


class DenyByDefaultMiddleware:
    """Refuses every view that has no access rule; enforces login, second factor and permission."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        rule = rule_for(view_func, match.url_name if match else None, list(match.namespaces) if match else [])
        if rule is None:
            logger.error("View without an access rule refused: %s", match.view_name if match else "?")
            return forbidden(request, "access.no_rule")
        if rule.kind in {"public", "api"}:
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if rule.kind == "enrol":
            return None
        if not is_mfa_enabled(user):
            messages.warning(request, _("Set up a second factor before you go on."))
            return redirect("mfa_activate_totp")
        if rule.kind == "login":
            return None
        if not user.can(rule.action):
            return forbidden(request, rule.action)
        return None


def forbidden(request: HttpRequest, action: str) -> HttpResponse:
    audit_denial(actor=request.user, action=action)
    return render(request, "403.html", status=403)
