"""The requester's forms (public face) and the triage forms (staff face). Every message is short, plain and
translated; a refused form keeps what the requester wrote."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from safepassage.intake.models import Need, Receiver, Region, Urgency
from safepassage.intake.uploads import ALLOWED_KINDS, IncomingFile

ANY_RECEIVER = ""


class PlainText(forms.CharField):
    """Text as typed; refuses what could not be read as UTF-8 (it arrives as U+FFFD) and control characters."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, strip=True, **kwargs)
        self.error_messages["max_length"] = _(
            "This is too long: at most %(limit_value)d characters, and it has %(show_value)d."
        )

    def clean(self, value: Any) -> Any:
        cleaned = super().clean(value)
        if "\ufffd" in cleaned:
            raise ValidationError(
                _("Some characters could not be read. Please check the text and send it again."),
                code="encoding",
            )
        if any(ord(c) < 32 and c not in "\n\r\t" for c in cleaned):
            raise ValidationError(_("The text contains characters that are not allowed."), code="control")
        return cleaned


def _file_problem(upload: IncomingFile) -> str:
    name = upload.name or _("A file")
    if upload.problem == "too_big":
        return str(
            _("%(name)s is larger than %(mb)d MB.") % {"name": name, "mb": settings.INTAKE_MAX_FILE_MB}
        )
    if upload.problem == "too_many":
        return ngettext(
            "You can send at most %(count)d file.",
            "You can send at most %(count)d files.",
            settings.INTAKE_MAX_FILES,
        ) % {"count": settings.INTAKE_MAX_FILES}
    if upload.problem == "storage":
        return str(
            _("%(name)s could not be received right now. Send without it, or try again later.")
            % {"name": name}
        )
    if upload.problem == "empty":
        return str(_("%(name)s is empty.") % {"name": name})
    return str(_("%(name)s is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.") % {"name": name})


class FilesMixin:
    """Files come from the sealing upload handler (uploads.py); the form checks what each one turned out to be."""

    files: Any

    def clean_uploads(self) -> list[IncomingFile]:
        uploads = (
            [f for f in self.files.getlist("attachments") if isinstance(f, IncomingFile)]
            if self.files
            else []
        )
        problems = [_file_problem(f) for f in uploads if f.problem]
        if problems:
            for upload in uploads:
                upload.discard()
            raise ValidationError(list(dict.fromkeys(problems)))
        return uploads


def files_help() -> str:
    return str(
        _("Optional. Up to %(count)d photos or PDF documents, %(mb)d MB each.")
        % {"count": settings.INTAKE_MAX_FILES, "mb": settings.INTAKE_MAX_FILE_MB}
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class HelpRequestForm(FilesMixin, forms.Form):
    situation = PlainText(
        label=_("What is happening?"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Write as much or as little as you want. Any language is fine."),
    )
    location = PlainText(
        label=_("Where are you now?"), max_length=500, help_text=_("A town or an area is enough.")
    )
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices, required=False)
    urgency = forms.ChoiceField(
        label=_("How urgent is it?"), choices=Urgency.choices, widget=forms.RadioSelect
    )
    needs = forms.MultipleChoiceField(
        label=_("What do you need?"),
        choices=Need.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    contact = PlainText(
        label=_("A safe way to reach you (optional)"),
        max_length=300,
        required=False,
        help_text=_("Only if it is safe for you. You can always read our answers here with your codename."),
    )
    receiver = forms.ChoiceField(label=_("Who should receive this?"), required=False)
    attachments = forms.Field(
        label=_("Photos or documents"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": ",".join(sorted(ALLOWED_KINDS.values()))}),
    )
    consent = forms.BooleanField(
        label=_("I have read who will see this and I agree."),
        error_messages={"required": _("Please read the text above and tick the box.")},
    )
    challenge = forms.CharField(required=False, widget=forms.HiddenInput)
    proof = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args: Any, receivers: list[Receiver], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = files_help()
        field = self.fields["receiver"]
        assert isinstance(field, forms.ChoiceField)
        if len(receivers) > 1:
            field.choices = [(ANY_RECEIVER, _("Choose for me"))] + [
                (str(r.pk), r.public_name) for r in receivers
            ]
        else:
            del self.fields["receiver"]

    def clean_attachments(self) -> list[IncomingFile]:
        return self.clean_uploads()


class MailboxForm(forms.Form):
    codename = forms.CharField(
        label=_("Your codename"),
        max_length=200,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
        help_text=_("The seven words you were given."),
    )
    draft = forms.CharField(required=False, max_length=10_000, widget=forms.HiddenInput)


class MessageForm(FilesMixin, forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    body = PlainText(label=_("Your message"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 5}))
    attachments = forms.Field(label=_("Photos or documents"), required=False, widget=MultipleFileInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = files_help()

    def clean_attachments(self) -> list[IncomingFile]:
        return self.clean_uploads()


# ------------------------------------------------------------------------------------------------ staff face


class ReplyForm(forms.Form):
    body = PlainText(
        label=_("Reply to the requester"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("They read it with their codename. Your name and your organisation are not shown."),
    )


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(label=_("Assign to"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Nobody")), *people]
