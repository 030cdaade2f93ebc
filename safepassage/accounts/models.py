"""Organisations, people and their memberships with a role."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from safepassage.accounts.roles import Role, role_grants


class Organisation(models.Model):
    class Kind(models.TextChoices):
        LOCAL_GROUP = "local_group", _("Local group")
        RELOCATION_NGO = "relocation_ngo", _("Relocation NGO")
        FUND = "fund", _("Fund")
        FEDERATION = "federation", _("Federation")
        GOVERNMENT = "government", _("Government")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 two-letter code"))
    city = models.CharField(_("city"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


def _new_stamp() -> str:
    return secrets.token_hex(16)


class User(AbstractUser):
    # Changing the stamp ends every session of the user at once (see _get_session_auth_hash).
    security_stamp = models.CharField(max_length=32, default=_new_stamp, editable=False)
    is_trustee = models.BooleanField(
        _("trustee"), default=False, help_text=_("Holds a share of the master key (platform admins only).")
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django ties sessions to the password hash; we add the stamp so that disabling a user,
        # removing a membership or revoking a factor logs the user out everywhere.
        key_salt = "safepassage.accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.security_stamp}", secret=secret, algorithm="sha256"
        ).hexdigest()

    def rotate_security_stamp(self) -> None:
        self.security_stamp = _new_stamp()

    def roles_in(self, organisation_id: int) -> set[str]:
        return {m.role for m in self.active_memberships() if m.organisation_id == organisation_id}

    def active_memberships(self) -> list[Membership]:
        cache: list[Membership] | None = getattr(self, "_memberships_cache", None)
        if cache is None:
            cache = list(
                self.memberships.select_related("organisation").order_by("organisation__name", "role")
            )
            self._memberships_cache = cache
        return cache

    def organisation_ids(self) -> set[int]:
        return {m.organisation_id for m in self.active_memberships()}

    def can(self, action: str, organisation_id: int | None = None) -> bool:
        """True when one of the user's memberships (in the given organisation, if any) grants the action."""
        if not self.is_active:
            return False
        for membership in self.active_memberships():
            if organisation_id is not None and membership.organisation_id != organisation_id:
                continue
            if role_grants(membership.role, action):
                return True
        return False

    def orgs_where(self, action: str) -> set[int]:
        return {m.organisation_id for m in self.active_memberships() if role_grants(m.role, action)}


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="membership_unique_role"),
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"


class Invitation(models.Model):
    """A one-time, expiring link: joins a new person, or lets an existing one set a new password."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, blank=True)
    username = models.CharField(_("username"), max_length=150)
    # Set for a reset link of an existing person; empty for an invitation of a new one.
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.username} → {self.organisation}"

    @property
    def is_reset(self) -> bool:
        return self.user_id is not None

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and self.expires_at > now

    @property
    def status(self) -> str:
        if self.used_at:
            return pgettext("invitation status", "used")
        if self.revoked_at:
            return pgettext("invitation status", "revoked")
        if self.expires_at <= timezone.now():
            return pgettext("invitation status", "expired")
        return pgettext("invitation status", "open")
