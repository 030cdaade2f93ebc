"""The trustee's share, typed into a page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ShareForm(forms.Form):
    share = forms.CharField(
        label=_("Your share"),
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}
        ),
        help_text=_("The 33 words on your paper, in order, separated by spaces."),
    )
