"""The audit trail's filter."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from safepassage.audit.models import Outcome


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False, max_length=64)
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("Any")), *Outcome.choices]
    )
