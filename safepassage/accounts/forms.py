"""Forms for joining, inviting and managing people. Errors show next to their field, translated."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from safepassage.accounts.models import Organisation, User
from safepassage.accounts.roles import Role

username_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]{1,39}$",
    _("Use 2 to 40 small letters a–z, digits, dots, dashes or underscores."),
)


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError next to the field it names, or above the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def role_choices(roles: list[str]) -> list[tuple[str, str]]:
    return [(r.value, str(r.label)) for r in Role if r.value in roles]


class OrganisationChoiceMixin:
    """An "organisation" field for people who act for several organisations; hidden when there is one."""

    fields: dict[str, forms.Field]

    def add_organisation_field(self, organisations: list[Organisation]) -> None:
        field = forms.TypedChoiceField(
            label=_("Organisation"), coerce=int, choices=[(o.pk, o.name) for o in organisations]
        )
        if len(organisations) == 1:
            field.widget = forms.HiddenInput()
            field.initial = organisations[0].pk
            field.required = False
            field.empty_value = organisations[0].pk  # type: ignore[assignment]  # returned as is, an int
        self.fields = {"organisation": field, **self.fields}


class InvitationForm(OrganisationChoiceMixin, forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=40,
        validators=[username_validator],
        help_text=_("Not a real name: a work name the person will log in with."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(
        self, *args: Any, roles: list[str], organisations: list[Organisation] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = role_choices(roles)
        if organisations is not None:
            self.add_organisation_field(organisations)

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(self, *args: Any, roles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = role_choices(roles)


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, username: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.username = username

    def clean_password1(self) -> str:
        password = str(self.cleaned_data["password1"])
        validate_password(password, User(username=self.username))
        return password

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("password1")
            and data.get("password2") is not None
            and data["password1"] != data["password2"]
        ):
            self.add_error("password2", _("The two passwords differ."))
        return data
