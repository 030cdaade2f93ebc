"""Staff pages for partner API tokens: list, issue (shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from safepassage.accounts.access import organisation_get_for_user
from safepassage.accounts.forms import add_service_errors
from safepassage.accounts.models import Organisation, User
from safepassage.accounts.roles import Action
from safepassage.accounts.rules import requires
from safepassage.accounts.stepup import step_up
from safepassage.api import services
from safepassage.api.access import api_token_get_for_user, api_tokens_for_user
from safepassage.api.forms import ApiTokenForm


@never_cache
@require_http_methods(["GET", "POST"])
@requires(Action.API_TOKENS_MANAGE)
@step_up
def tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    organisations = list(Organisation.objects.filter(pk__in=user.orgs_where(Action.API_TOKENS_MANAGE)))
    form = ApiTokenForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        org = organisation_get_for_user(user, form.cleaned_data["organisation"], Action.API_TOKENS_MANAGE)
        try:
            row, token = services.api_token_create(
                by=user,
                organisation=org,
                name=form.cleaned_data["name"],
                actions=form.cleaned_data["actions"],
                days=form.cleaned_data["days"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return render(request, "api/token_once.html", {"row": row, "token": token})
    rows = api_tokens_for_user(user).select_related("organisation")
    return render(request, "api/tokens.html", {"form": form, "rows": rows})


@require_POST
@requires(Action.API_TOKENS_MANAGE)
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    token = api_token_get_for_user(user, token_id)
    services.api_token_revoke(by=user, token=token)
    messages.success(request, _("The token no longer works."))
    return redirect("api_tokens")
