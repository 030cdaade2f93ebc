"""Staff pages of the accounts room: home, people of my organisation, invitations, joining."""

from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safepassage.accounts import access, selectors, services
from safepassage.accounts.forms import InvitationForm, RoleForm, SetPasswordForm, add_service_errors
from safepassage.accounts.models import Invitation, Organisation, User
from safepassage.accounts.roles import Action
from safepassage.accounts.rules import login_only, public, requires
from safepassage.accounts.services import grantable_roles
from safepassage.accounts.stepup import step_up
from safepassage.audit.services import audit_record


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@require_GET
@login_only
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(request, "accounts/home.html", {"sections": selectors.home_sections(user)})


@require_GET
@requires(Action.MEMBERS_VIEW)
def people(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    # Who works where, and whose factors are missing, is sensitive: the read is recorded.
    audit_record(action="people.view", actor=user)
    invitations = (
        access.invitations_for_user(user).select_related("organisation").order_by("-created_at")[:50]
    )
    return render(
        request,
        "accounts/people.html",
        {
            "people": selectors.people_with_factor_flag(user),
            "invitations": invitations,
            "can_manage": user.can(Action.MEMBERS_MANAGE),
        },
    )


@require_GET
@requires(Action.MEMBERS_VIEW)
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    target = access.person_get_for_user(user, person_id)
    audit_record(action="person.view", actor=user, obj=target)
    memberships = target.memberships.filter(
        organisation_id__in=user.orgs_where(Action.MEMBERS_VIEW)
    ).select_related("organisation")
    manageable = user.orgs_where(Action.MEMBERS_MANAGE)
    # Account-wide buttons act through a membership in an organisation the admin manages.
    managed_membership = next((m for m in memberships if m.organisation_id in manageable), None)
    return render(
        request,
        "accounts/person.html",
        {
            "person": target,
            "memberships": memberships,
            "manageable": manageable,
            "managed_membership": managed_membership,
            "role_form": RoleForm(roles=sorted(grantable_roles(user))),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@requires(Action.MEMBERS_MANAGE)
@step_up
def invite(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    roles = sorted(grantable_roles(user))
    organisations = list(Organisation.objects.filter(pk__in=user.orgs_where(Action.MEMBERS_MANAGE)))
    form = InvitationForm(request.POST or None, roles=roles, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        organisation = access.organisation_get_for_user(
            user, form.cleaned_data["organisation"], Action.MEMBERS_MANAGE
        )
        try:
            invitation, token = services.invitation_create(
                by=user,
                organisation=organisation,
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _show_link(request, invitation, token)
    ttl_days = max(1, round(settings.INVITATION_TTL.total_seconds() / 86400))
    return render(request, "accounts/invite.html", {"form": form, "ttl_days": ttl_days})


def _show_link(request: HttpRequest, invitation: Invitation, token: str) -> HttpResponse:
    link = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
    # Logged-in pages are sent with no-store (PrivacyHeadersMiddleware): the link stays out of caches.
    return render(request, "accounts/link_once.html", {"invitation": invitation, "link": link})


@require_POST
@requires(Action.MEMBERS_MANAGE)
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    user = _user(request)
    invitation = access.invitation_get_for_user(user, invitation_id)
    services.invitation_revoke(by=user, invitation=invitation)
    messages.success(request, _("The link no longer works."))
    return redirect("people")


@require_POST
@requires(Action.MEMBERS_MANAGE)
def person_disable(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _set_active(request, membership_id, active=False)


@require_POST
@requires(Action.MEMBERS_MANAGE)
@step_up
def person_enable(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _set_active(request, membership_id, active=True)


def _set_active(request: HttpRequest, membership_id: int, *, active: bool) -> HttpResponse:
    user = _user(request)
    membership = access.membership_get_for_user(user, membership_id)
    try:
        services.person_set_active(by=user, membership=membership, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("The account is enabled.") if active else _("The account is disabled and its sessions ended."),
        )
    return redirect("person", person_id=membership.user_id)


@require_POST
@requires(Action.MEMBERS_MANAGE)
@step_up
def role_add(request: HttpRequest, membership_id: int) -> HttpResponse:
    user = _user(request)
    membership = access.membership_get_for_user(user, membership_id)
    form = RoleForm(request.POST, roles=sorted(grantable_roles(user)))
    if form.is_valid():
        try:
            services.membership_add(
                by=user,
                person=membership.user,
                organisation=membership.organisation,
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The role was added."))
    else:
        messages.error(request, _("Choose a role from the list."))
    return redirect("person", person_id=membership.user_id)


@require_POST
@requires(Action.MEMBERS_MANAGE)
def role_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    user = _user(request)
    membership = access.membership_get_for_user(user, membership_id)
    person_id = membership.user_id
    try:
        services.membership_remove(by=user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The role was removed and the person's sessions ended."))
    if access.people_for_user(user).filter(pk=person_id).exists():
        return redirect("person", person_id=person_id)
    return redirect("people")


@never_cache
@require_POST
@requires(Action.MEMBERS_MANAGE)
@step_up
def reset_link(request: HttpRequest, membership_id: int) -> HttpResponse:
    user = _user(request)
    membership = access.membership_get_for_user(user, membership_id)
    invitation, token = services.reset_link_create(by=user, membership=membership)
    return _show_link(request, invitation, token)


@never_cache
@require_POST
@requires(Action.MEMBERS_MANAGE)
@step_up
def factors_revoke(request: HttpRequest, membership_id: int) -> HttpResponse:
    user = _user(request)
    membership = access.membership_get_for_user(user, membership_id)
    try:
        invitation, token = services.factors_revoke(by=user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("person", person_id=membership.user_id)
    messages.success(request, _("Every second factor and the password were revoked; the sessions ended."))
    return _show_link(request, invitation, token)


@never_cache
@require_http_methods(["GET", "POST"])
@public
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_find(token=token)
    if invitation is None:
        return render(request, "accounts/link_invalid.html", status=404)
    form = SetPasswordForm(request.POST or None, username=invitation.username)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.invitation_accept(token=token, password=form.cleaned_data["password1"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if is_mfa_enabled(person):
                # A reset link replaces the password, never the second factor: log in with both.
                messages.success(request, _("Your password is set. Log in with it and your second factor."))
                return redirect("account_login")
            login(request, person, backend="safepassage.accounts.backends.AuthenticationBackend")
            # The password was typed just now: count it as fresh, so enrolment does not ask for it again.
            record_authentication(request, person, "password", reauthenticated=True)
            messages.success(request, _("Your password is set. Now set up your second factor."))
            return redirect("mfa_activate_totp")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})
