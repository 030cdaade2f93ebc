"""Form for issuing a partner API token."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from safepassage.accounts.forms import OrganisationChoiceMixin
from safepassage.accounts.models import Organisation
from safepassage.accounts.roles import TOKEN_ACTIONS


class ApiTokenForm(OrganisationChoiceMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Which partner system uses it."))
    actions = forms.MultipleChoiceField(
        label=_("Permissions"),
        widget=forms.CheckboxSelectMultiple,
        choices=lambda: [(a.value, a.label) for a in sorted(TOKEN_ACTIONS)],
    )
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, initial=90)

    def __init__(self, *args: Any, organisations: list[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_organisation_field(organisations)

    def clean_days(self) -> int:
        days = int(self.cleaned_data["days"])
        if days > settings.API_TOKEN_MAX_DAYS:
            raise forms.ValidationError(
                _("A token is valid for at most %(max)d days."), params={"max": settings.API_TOKEN_MAX_DAYS}
            )
        return days
