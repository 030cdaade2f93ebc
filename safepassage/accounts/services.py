"""Writes on accounts: each checks permission, runs in one transaction, writes the audit entry."""

from __future__ import annotations

import secrets
from datetime import datetime

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safepassage.accounts.models import Invitation, Membership, Organisation, User
from safepassage.accounts.roles import Action, Role
from safepassage.audit.services import audit_record
from safepassage.lib.tokens import token_digest


def _check(by: User, action: Action, organisation_id: int) -> None:
    if not by.can(action, organisation_id):
        raise PermissionDenied


def _check_person(by: User, person: User) -> None:
    """Actions on a whole account (disable, reset link, revoke factors) reach beyond one organisation,
    so they are refused when the person holds a role anywhere the actor does not manage, or is a
    platform admin or trustee."""
    managed = by.orgs_where(Action.MEMBERS_MANAGE)
    roles = list(person.memberships.values_list("organisation_id", "role"))
    if (
        person.is_trustee
        or any(role == Role.PLATFORM_ADMIN for _org, role in roles)
        or any(org not in managed for org, _role in roles)
    ):
        raise ValidationError(
            _("This person also works elsewhere or runs the platform; ask a platform admin to do this.")
        )


def _close_open_links(person: User) -> None:
    Invitation.objects.filter(user=person, used_at=None, revoked_at=None).update(revoked_at=timezone.now())


def _new_link(
    *, by: User, organisation_id: int, username: str, user: User | None = None, role: str = ""
) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organisation_id=organisation_id,
        role=role,
        username=username,
        user=user,
        token_hash=token_digest(token),
        created_by=by,
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    return invitation, token


def grantable_roles(by: User) -> set[str]:
    roles = {r.value for r in Role} - {Role.PLATFORM_ADMIN.value}
    if any(m.role == Role.PLATFORM_ADMIN for m in by.active_memberships()):
        roles.add(Role.PLATFORM_ADMIN.value)
    return roles


def invitation_create(
    *, by: User, organisation: Organisation, username: str, role: str
) -> tuple[Invitation, str]:
    """A one-time link for a new person. Returns the invitation and the token, which is shown once."""
    _check(by, Action.MEMBERS_MANAGE, organisation.pk)
    if role not in grantable_roles(by):
        raise ValidationError({"role": _("You cannot give this role.")})
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken. Choose another.")})
    with transaction.atomic(durable=True):
        if Invitation.objects.filter(
            username__iexact=username, used_at=None, revoked_at=None, expires_at__gt=timezone.now()
        ).exists():
            raise ValidationError({"username": _("An open invitation for this username exists already.")})
        invitation, token = _new_link(by=by, organisation_id=organisation.pk, username=username, role=role)
        audit_record(action="invitation.create", actor=by, organisation_id=organisation.pk, obj=invitation)
    return invitation, token


def reset_link_create(*, by: User, membership: Membership) -> tuple[Invitation, str]:
    """A one-time link for an existing person to set a new password. Admins never set passwords."""
    _check(by, Action.MEMBERS_MANAGE, membership.organisation_id)
    _check_person(by, membership.user)
    with transaction.atomic(durable=True):
        _close_open_links(membership.user)
        invitation, token = _new_link(
            by=by,
            organisation_id=membership.organisation_id,
            username=membership.user.username,
            user=membership.user,
        )
        audit_record(
            action="invitation.reset_link",
            actor=by,
            organisation_id=membership.organisation_id,
            obj=invitation,
        )
    return invitation, token


def invitation_revoke(*, by: User, invitation: Invitation) -> None:
    _check(by, Action.MEMBERS_MANAGE, invitation.organisation_id)
    if invitation.revoked_at is not None or invitation.used_at is not None:
        return
    with transaction.atomic(durable=True):
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            action="invitation.revoke", actor=by, organisation_id=invitation.organisation_id, obj=invitation
        )


def invitation_find(*, token: str, now: datetime | None = None) -> Invitation | None:
    """The usable invitation behind a token, or None (unknown, used, revoked and expired look alike)."""
    invitation = (
        Invitation.objects.select_related("organisation", "user")
        .filter(token_hash=token_digest(token))
        .first()
    )
    if invitation is None or not invitation.is_usable(now):
        return None
    return invitation


def invitation_accept(*, token: str, password: str) -> User:
    """Use the link once: create the person and their membership, or set a new password."""
    with transaction.atomic(durable=True):
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .filter(token_hash=token_digest(token))
            .select_related("user")
            .first()
        )
        if invitation is None or not invitation.is_usable():
            raise ValidationError(
                _("This link is not valid any more. Ask your organisation's admin for a new one.")
            )
        user = invitation.user or User(username=invitation.username)
        validate_password(password, user)
        user.set_password(password)
        user.rotate_security_stamp()
        try:
            if invitation.user is None:
                user.save()
                Membership.objects.create(
                    user=user, organisation_id=invitation.organisation_id, role=invitation.role
                )
            else:
                user.save(update_fields=["password", "security_stamp"])
        except IntegrityError as exc:
            raise ValidationError(
                _("This username is taken. Ask your organisation's admin for a new link.")
            ) from exc
        invitation.used_at = timezone.now()
        invitation.save(update_fields=["used_at"])
        audit_record(
            action="invitation.accept", actor=user, organisation_id=invitation.organisation_id, obj=invitation
        )
    return user


def person_set_active(*, by: User, membership: Membership, active: bool) -> None:
    """Disable or enable a person. Disabling ends all their sessions at once."""
    _check(by, Action.MEMBERS_MANAGE, membership.organisation_id)
    person = membership.user
    if person.pk == by.pk:
        raise ValidationError(_("You cannot disable your own account."))
    _check_person(by, person)
    with transaction.atomic(durable=True):
        if not active:
            _close_open_links(person)
        person.is_active = active
        person.rotate_security_stamp()
        person.save(update_fields=["is_active", "security_stamp"])
        audit_record(
            action="person.enable" if active else "person.disable",
            actor=by,
            organisation_id=membership.organisation_id,
            obj=person,
        )


def membership_add(*, by: User, person: User, organisation: Organisation, role: str) -> Membership:
    _check(by, Action.MEMBERS_MANAGE, organisation.pk)
    if role not in grantable_roles(by):
        raise ValidationError({"role": _("You cannot give this role.")})
    with transaction.atomic(durable=True):
        membership, created = Membership.objects.get_or_create(
            user=person, organisation=organisation, role=role
        )
        if created:
            audit_record(action="membership.add", actor=by, organisation_id=organisation.pk, obj=membership)
    return membership


def membership_remove(*, by: User, membership: Membership) -> None:
    """Remove a role. The person's sessions end at once, so the role is gone from every open page."""
    _check(by, Action.MEMBERS_MANAGE, membership.organisation_id)
    if membership.role == Role.PLATFORM_ADMIN and Role.PLATFORM_ADMIN.value not in grantable_roles(by):
        raise ValidationError(_("You cannot remove this role."))
    if membership.user_id == by.pk and membership.role == Role.ORG_ADMIN:
        raise ValidationError(_("You cannot remove your own admin role."))
    with transaction.atomic(durable=True):
        person = membership.user
        audit_record(
            action="membership.remove", actor=by, organisation_id=membership.organisation_id, obj=membership
        )
        membership.delete()
        if not person.memberships.exists():
            _close_open_links(person)
        person.rotate_security_stamp()
        person.save(update_fields=["security_stamp"])


def factors_revoke(*, by: User, membership: Membership) -> tuple[Invitation, str]:
    """For a lost phone or key: remove every second factor and the password, end all sessions,
    and return a one-time link with which the person sets a new password and enrols a new factor.
    Without the link, whoever holds the old password cannot enrol a factor of their own."""
    _check(by, Action.MEMBERS_MANAGE, membership.organisation_id)
    person = membership.user
    if person.pk == by.pk:
        raise ValidationError(_("Ask another admin to revoke your own factors."))
    _check_person(by, person)
    with transaction.atomic(durable=True):
        Authenticator.objects.filter(user=person).delete()
        person.set_unusable_password()
        person.rotate_security_stamp()
        person.save(update_fields=["password", "security_stamp"])
        _close_open_links(person)
        invitation, token = _new_link(
            by=by, organisation_id=membership.organisation_id, username=person.username, user=person
        )
        audit_record(
            action="mfa.revoke_all", actor=by, organisation_id=membership.organisation_id, obj=person
        )
        audit_record(
            action="invitation.reset_link",
            actor=by,
            organisation_id=membership.organisation_id,
            obj=invitation,
        )
    return invitation, token
