"""What the public intake stores: help requests, the requester's mailbox and its messages, attached files, and
how requests find their organisation.

Everything a requester writes is sealed on arrival (vault.intake.arrival_key_create): the public face seals it
to the receiving organisation's public key and cannot read it back. Plain columns hold only what staff need to
sort and count (status, urgency once triaged, the day of arrival); no address, user agent or time finer than the
day is kept. docs/intake.md has the design.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from safepassage.vault.fields import SealedRecord, SealedTextField


class Urgency(models.TextChoices):
    EMERGENCY = "emergency", _("In danger now")
    URGENT = "urgent", _("Within days")
    NORMAL = "normal", _("Not urgent")


class Need(models.TextChoices):
    SHELTER = "shelter", _("A safe place to stay")
    FOOD = "food", _("Food")
    MEDICAL = "medical", _("Medical care")
    DOCUMENTS = "documents", _("Documents")
    LEAVE = "leave", _("Leaving the country")
    OTHER = "other", pgettext_lazy("need", "Other")


class Region(models.TextChoices):
    """Coarse, for routing only (the exact place is free text and sealed)."""

    CHECHNYA = "chechnya", _("Chechnya")
    NORTH_CAUCASUS = "north_caucasus", _("Elsewhere in the North Caucasus")
    RUSSIA = "russia", _("Elsewhere in Russia")
    ABROAD = "abroad", _("Another country")
    UNSAID = "", _("I would rather not say")


class Receiver(models.Model):
    """An organisation that takes help requests from the public face, as requesters see it."""

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="receiver", primary_key=True
    )
    accepting = models.BooleanField(_("accepts requests"), default=True)
    public_name = models.CharField(
        _("name shown to requesters"), max_length=100, help_text=_("Keep it harmless to be seen on a screen.")
    )

    class Meta:
        ordering = ["public_name"]
        verbose_name = _("request receiver")
        verbose_name_plural = _("request receivers")

    def __str__(self) -> str:
        return self.public_name


class RoutingRule(models.Model):
    """When the requester lets us choose: the first rule (lowest order) whose region and language fit decides.
    An empty region or language fits any."""

    order = models.PositiveSmallIntegerField(_("order"), default=10)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    receiver = models.ForeignKey(Receiver, on_delete=models.CASCADE, related_name="rules")

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return f"{self.order}: {self.region or '*'} / {self.language or '*'} → {self.receiver}"


class IntakeSettings(models.Model):
    """The platform admin's switches for floods (one row)."""

    proof_of_work = models.BooleanField(
        _("proof of work on the form"),
        default=False,
        help_text=_("Switch on under attack: browsers with JavaScript solve a puzzle, others wait a little."),
    )
    proof_of_work_bits = models.PositiveSmallIntegerField(_("puzzle difficulty (bits)"), default=18)
    proof_of_work_wait_seconds = models.PositiveSmallIntegerField(
        _("wait without JavaScript (seconds)"), default=30
    )
    proof_of_work_waits_per_minute = models.PositiveIntegerField(
        _("forms without JavaScript accepted per minute under attack"), default=30
    )
    requests_per_minute = models.PositiveIntegerField(_("new requests per minute, all together"), default=120)
    messages_per_hour = models.PositiveIntegerField(_("messages per hour, per mailbox"), default=20)
    messages_per_minute = models.PositiveIntegerField(_("messages per minute, all together"), default=120)
    mailbox_visits_per_minute = models.PositiveIntegerField(
        _("codenames tried per minute, all together"), default=300
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="intakesettings_single_row")]
        verbose_name = _("intake settings")
        verbose_name_plural = _("intake settings")

    def __str__(self) -> str:
        return str(_("intake settings"))

    @classmethod
    def current(cls) -> IntakeSettings:
        found = cls.objects.filter(pk=1).first()
        return found if found is not None else cls(pk=1)


class Mailbox(models.Model):
    """The requester's mailbox, found by a slow KDF of the codename (never stored). Replies are sealed to
    `public_key`, whose private half only the codename derives."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lookup = models.BinaryField(unique=True)
    public_key = models.BinaryField()

    def __str__(self) -> str:
        return "mailbox"


class RequestStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Being looked at")
    CASE = "case", _("Case opened")
    SPAM = "spam", _("Spam")
    TRAP = "trap", _("Suspected trap")


WAITING = (RequestStatus.NEW, RequestStatus.OPEN)


class HelpRequest(SealedRecord):
    """One request from the public. Its fields are sealed for the receiving organisation on arrival."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    mailbox = models.OneToOneField(Mailbox, on_delete=models.PROTECT, related_name="request")
    received_on = models.DateField()
    # Staff's working columns, plain: set once the request has been opened on the staff face.
    status = models.CharField(max_length=8, choices=RequestStatus.choices, default=RequestStatus.NEW)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged = models.BooleanField(default=False)  # its arrival key adopted, urgency and index filled
    contact_index = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Sealed: what the requester wrote.
    situation = SealedTextField()
    location = SealedTextField()
    region = SealedTextField()
    urgency_given = SealedTextField()
    needs = SealedTextField()  # Need values joined by ","
    contact = SealedTextField()
    language = SealedTextField()

    objects: models.Manager[HelpRequest] = models.Manager()

    class Meta:
        indexes = [models.Index(fields=["organisation", "status", "received_on"])]

    def __str__(self) -> str:
        return "help request"


class RequestFile(SealedRecord):
    """A file sent with a request or a later message, stored encrypted under its own record key."""

    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="files")
    message = models.ForeignKey(
        "MailboxMessage", null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    file_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=10)  # jpeg, png, webp, pdf: what its bytes are, not what it was called
    size = models.PositiveIntegerField()
    name = SealedTextField()

    objects: models.Manager[RequestFile] = models.Manager()

    def __str__(self) -> str:
        return "request file"


class MailboxMessage(SealedRecord):
    """A message in a request's thread: from the requester (sealed for the organisation on arrival), or a reply
    from staff (sealed for the organisation, and a copy sealed to the mailbox for the requester)."""

    class Direction(models.TextChoices):
        IN = "in", _("From the requester")
        OUT = "out", _("Reply")

    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="messages")
    number = models.PositiveIntegerField()
    direction = models.CharField(max_length=3, choices=Direction.choices)
    sent_on = models.DateField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    seen = models.BooleanField(default=False)  # by staff: a requester's message not yet opened shows as new
    body = SealedTextField()
    for_requester = models.BinaryField(null=True, blank=True)

    objects: models.Manager[MailboxMessage] = models.Manager()

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["request", "number"], name="mailboxmessage_number")]

    def __str__(self) -> str:
        return "message"
