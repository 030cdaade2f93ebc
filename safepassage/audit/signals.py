"""Log-ins, log-outs, failed log-ins and changes of second factors go to the audit trail."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed
from allauth.mfa.signals import (
    authentication_failed,
    authenticator_added,
    authenticator_removed,
    authenticator_reset,
)
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from safepassage.audit.models import Outcome
from safepassage.audit.services import audit_record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action="auth.login", actor=user, obj=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action="auth.logout", actor=user, obj=user)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # The typed name is pseudonymised: repeated attempts on one account link up, the name is not kept.
    name = str(credentials.get("username") or credentials.get("login") or "").strip().lower()
    audit_record(
        action="auth.login_failed", object_kind="accounts.username", object_id=name, outcome=Outcome.FAILED
    )


@receiver(password_changed)
def _password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action="auth.password_changed", actor=user, obj=user)


@receiver(authenticator_added)
def _factor_added(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    audit_record(action=f"mfa.{authenticator.type}.added", actor=user, obj=authenticator)


@receiver(authenticator_removed)
def _factor_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    audit_record(action=f"mfa.{authenticator.type}.removed", actor=user, obj=authenticator)


@receiver(authenticator_reset)
def _factor_reset(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    audit_record(action=f"mfa.{authenticator.type}.reset", actor=user, obj=authenticator)


@receiver(authentication_failed)
def _factor_failed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    action = "auth.reauthenticate_failed" if kwargs.get("reauthentication") else "auth.second_factor_failed"
    audit_record(action=action, obj=user, outcome=Outcome.FAILED)
