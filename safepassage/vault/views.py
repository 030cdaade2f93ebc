"""The vault in the browser: status, a trustee's share, and the panic button."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from safepassage.accounts.models import User
from safepassage.accounts.roles import Action
from safepassage.accounts.rules import requires
from safepassage.accounts.stepup import step_up
from safepassage.vault import keyring, services
from safepassage.vault.forms import ShareForm
from safepassage.vault.keyring import VaultError


def needs_unsealed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For staff pages that decrypt: while sealed they say so plainly (503), never a 500."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if keyring.is_sealed():
            return render(request, "vault/sealed.html", status=503)
        return view(request, *args, **kwargs)

    return wrapper


def _context(request: HttpRequest, form: ShareForm | None = None) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)
    trustee = user.is_trustee and user.can(Action.VAULT_UNSEAL)
    return {
        "initialised": services.vault_state() is not None,
        "sealed": keyring.is_sealed(),
        "progress": services.vault_progress(),
        "trustee": trustee,
        "form": form or ShareForm(),
    }


@never_cache
@require_GET
@requires(Action.VAULT_PANIC)
def vault(request: HttpRequest) -> HttpResponse:
    return render(request, "vault/status.html", _context(request))


@never_cache
@require_POST
@requires(Action.VAULT_UNSEAL)
@step_up
def vault_unseal(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not user.is_trustee:
        messages.error(request, _("Only trustees hold shares. Ask a trustee."))
        return redirect("vault")
    form = ShareForm(request.POST)
    if form.is_valid():
        try:
            progress = services.vault_add_share(mnemonic=form.cleaned_data["share"], actor=user)
        except VaultError as exc:
            form.add_error("share", str(exc))
        else:
            if progress.have >= progress.need:
                messages.success(request, _("The server is unsealed."))
            else:
                messages.info(
                    request,
                    _("%(have)d of %(need)d shares entered. The next trustee enters theirs.")
                    % {"have": progress.have, "need": progress.need},
                )
            return redirect("vault")
    return render(request, "vault/status.html", _context(request, form), status=400)


@never_cache
@require_POST
@requires(Action.VAULT_PANIC)
@step_up
def vault_panic(request: HttpRequest) -> HttpResponse:
    services.vault_seal(actor=request.user, panic=True)
    messages.warning(
        request, _("The server is sealed. Trustees must unseal it before anyone can read case data.")
    )
    return redirect("vault")
