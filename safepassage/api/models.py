"""Tokens for partner systems: scoped to one organisation and a set of actions, hashed at rest."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from safepassage.accounts.models import Organisation, User
from safepassage.accounts.roles import Action


class ApiToken(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    # The public part of the token, to find the row; the whole token is only kept as a SHA-256 hash.
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64)
    actions = models.JSONField(_("permissions"), default=list)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_on = models.DateField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def action_labels(self) -> list[str]:
        labels = {a.value: str(a.label) for a in Action}
        return [labels.get(action, action) for action in self.actions]

    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
