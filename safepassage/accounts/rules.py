"""Access rules for views: every view is public, needs a logged-in person, or needs a named action.

Deny by default: DenyByDefaultMiddleware refuses any view without a rule. Our own views carry their
rule through the decorators below; views of libraries get theirs from THIRD_PARTY, by URL name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse

from safepassage.accounts.roles import Action

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Rule:
    kind: str  # "public", "login", "action", "api", "enrol"
    action: str = ""


PUBLIC = Rule("public")
LOGIN = Rule("login")  # any logged-in person with a second factor
ENROL = Rule("enrol")  # logged in, second factor may still be missing (enrolment pages)
API = Rule("api")  # partner API: the API authenticates its own tokens


def needs(action: Action) -> Rule:
    return Rule("action", action.value)


def _mark(rule: Rule) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


def public(view: F) -> F:
    return _mark(PUBLIC)(view)


def login_only(view: F) -> F:
    return _mark(LOGIN)(view)


def requires(action: Action) -> Callable[[F], F]:
    """Marks the view for the middleware and checks again inside it.

    The second check matters where a view runs without the middleware in front, as when allauth
    resumes a POST after step-up re-authentication.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated or not user.can(action):
                from safepassage.accounts.middleware import forbidden

                return forbidden(request, action.value)
            response: HttpResponse = view(request, *args, **kwargs)
            return response

        return _mark(needs(action))(checked)  # type: ignore[return-value]

    return decorate


# Views we do not write, by URL name. Everything here was read and judged; a new URL of a library
# gets no rule and so is refused until someone adds it here.
THIRD_PARTY: dict[str, Rule] = {
    "account_login": PUBLIC,
    "account_logout": ENROL,
    "account_inactive": PUBLIC,
    "account_reauthenticate": ENROL,  # enrolment itself asks to confirm the password
    "account_change_password": LOGIN,
    "mfa_authenticate": PUBLIC,  # the second step of a log-in, before the person is logged in
    "mfa_reauthenticate": LOGIN,
    "mfa_index": ENROL,
    "mfa_activate_totp": ENROL,
    "mfa_deactivate_totp": LOGIN,
    "mfa_view_recovery_codes": ENROL,
    "mfa_generate_recovery_codes": ENROL,
    "mfa_download_recovery_codes": ENROL,
    "mfa_list_webauthn": ENROL,
    "mfa_add_webauthn": ENROL,
    "mfa_reauthenticate_webauthn": LOGIN,
    "mfa_remove_webauthn": LOGIN,
    "mfa_edit_webauthn": LOGIN,
    "set_language": PUBLIC,
    "javascript-catalog": PUBLIC,
}

# URL namespaces with their own gate: the admin checks ADMIN_SITE in SafePassageAdminSite,
# the API authenticates tokens in safepassage.api.
THIRD_PARTY_NAMESPACES: dict[str, Rule] = {
    "admin": needs(Action.ADMIN_SITE),
    "api": API,
}


def rule_for(view_func: Any, url_name: str | None, namespaces: list[str]) -> Rule | None:
    rule = getattr(view_func, "access_rule", None)
    if isinstance(rule, Rule):
        return rule
    if namespaces and namespaces[0] in THIRD_PARTY_NAMESPACES:
        return THIRD_PARTY_NAMESPACES[namespaces[0]]
    if url_name and not namespaces:
        return THIRD_PARTY.get(url_name)
    return None
