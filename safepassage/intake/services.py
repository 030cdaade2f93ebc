"""Every write of the intake, public face and staff face. One transaction per action.

Public face: a request or message is sealed to the receiving organisation on arrival and nothing of it can be
read back there; its arrival is not audited (an audit entry would keep the exact time beside it), only counted.
Staff face: every opening, reply and change is audited, naming the request only by its keyed pseudonym.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils.translation import gettext as _
from nacl.public import PublicKey, SealedBox

from safepassage.accounts.models import User
from safepassage.accounts.roles import Action
from safepassage.audit.services import audit_record
from safepassage.intake.codename import mailbox_keys, new_codename
from safepassage.intake.models import (
    WAITING,
    HelpRequest,
    Mailbox,
    MailboxMessage,
    Receiver,
    RequestFile,
    RequestStatus,
    RoutingRule,
    Urgency,
)
from safepassage.intake.uploads import IncomingFile
from safepassage.lib.normalise import contact_handle, phone_e164
from safepassage.vault import files
from safepassage.vault.blind import blind_index
from safepassage.vault.crypto import Undecryptable
from safepassage.vault.fields import opened
from safepassage.vault.intake import arrival_day, arrivals_adopt
from safepassage.vault.models import ArrivalWrap

logger = logging.getLogger(__name__)
M = TypeVar("M")


# What storing can fail with beyond the database: a full disk (files), the shred store (SQLite or PostgreSQL).
STORAGE_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, OSError, sqlite3.Error, psycopg.Error)


class NoReceiver(Exception):
    """No organisation takes requests now."""


def receivers_accepting() -> list[Receiver]:
    """Organisations taking requests now, each with its intake public key (`intake_public_key`): one query,
    which the form and the sealing share."""
    from safepassage.vault.models import IntakeKey

    public_key = IntakeKey.objects.filter(organisation_id=OuterRef("organisation_id")).values("public_key")[
        :1
    ]
    return list(
        Receiver.objects.filter(accepting=True)
        .annotate(intake_public_key=Subquery(public_key))
        .filter(intake_public_key__isnull=False)
    )


def receiver_public_key(receiver: Receiver) -> bytes:
    """The intake public key that receivers_accepting() brought with the receiver."""
    public_key: bytes | memoryview = receiver.intake_public_key  # type: ignore[attr-defined]
    return bytes(public_key)


def _receiver(*, chosen: str, region: str, language: str, receivers: list[Receiver] | None) -> Receiver:
    accepting = {str(r.pk): r for r in (receivers_accepting() if receivers is None else receivers)}
    if not accepting:
        raise NoReceiver
    if chosen in accepting:
        return accepting[chosen]
    for rule in RoutingRule.objects.all():
        if str(rule.receiver_id) not in accepting:
            continue
        if rule.region in ("", region) and rule.language in ("", language):
            return accepting[str(rule.receiver_id)]
    return next(iter(accepting.values()))


def route(*, chosen: str, region: str, language: str, receivers: list[Receiver] | None = None) -> int:
    """The receiving organisation: the requester's choice if it still accepts, else the first routing rule that
    fits, else the only or first accepting organisation."""
    return int(_receiver(chosen=chosen, region=region, language=language, receivers=receivers).pk)


def _store_files(
    owner: HelpRequest,
    organisation_id: int,
    uploads: Iterable[IncomingFile],
    message: MailboxMessage | None,
    stored: list[str],
    public_key: bytes | None = None,
) -> None:
    for upload in uploads:
        row = RequestFile(request=owner, message=message, kind=upload.kind, size=0)
        row.seal_on_arrival(organisation_id, public_key=public_key)
        row.file_id, row.size = files.store(
            row.record_key(), upload.chunks(), place=f"{RequestFile._meta.db_table}/{row.pk}", arrival=True
        )
        stored.append(row.file_id)
        row.name = (upload.name or "")[:200]
        row.save()


def _remove(file_ids: list[str]) -> None:
    for file_id in file_ids:
        files.remove(file_id)


@dataclass(frozen=True)
class Submission:
    situation: str
    location: str
    region: str
    urgency: str
    needs: list[str]
    contact: str
    language: str
    receiver: str = ""


def request_submit(
    submission: Submission, uploads: list[IncomingFile], receivers: list[Receiver] | None = None
) -> str:
    """Store a help request sealed for its organisation; returns the codename, which is stored nowhere.
    `receivers`: receivers_accepting(), when the caller has it already."""
    receiver = _receiver(
        chosen=submission.receiver,
        region=submission.region,
        language=submission.language,
        receivers=receivers,
    )
    organisation_id = int(receiver.pk)
    public_key = receiver_public_key(receiver)
    codename = new_codename()
    keys = mailbox_keys(codename)
    stored: list[str] = []
    try:
        with transaction.atomic():
            mailbox = Mailbox.objects.create(lookup=keys.lookup, public_key=keys.public_key)
            request = HelpRequest(organisation_id=organisation_id, mailbox=mailbox, received_on=arrival_day())
            request.seal_on_arrival(organisation_id, public_key=public_key)
            request.situation = submission.situation
            request.location = submission.location
            request.region = submission.region
            request.urgency_given = submission.urgency
            request.needs = ",".join(submission.needs)
            request.contact = submission.contact
            request.language = submission.language
            request.save()
            _store_files(request, organisation_id, uploads, None, stored, public_key)
    except BaseException:
        _remove(stored)
        raise
    finally:
        for upload in uploads:
            upload.discard()
    return codename


# ------------------------------------------------------------------------------------------------- mailbox


@dataclass(frozen=True)
class ThreadEntry:
    number: int
    sent_on: Any
    from_requester: bool
    body: str  # replies only; the requester's own words are not shown back


@dataclass(frozen=True)
class MailboxView:
    mailbox_id: str
    received_on: Any
    entries: list[ThreadEntry]


def _reply_place(message_id: object) -> bytes:
    return f"{MailboxMessage._meta.db_table}/for_requester/{message_id}".encode()


def mailbox_read(codename: str) -> MailboxView | None:
    """The thread the codename opens, or None. The same queries run either way, so a wrong codename costs the
    time of a right one with nothing new (the KDF dominates both)."""
    keys = mailbox_keys(codename)
    request = (
        HelpRequest.objects.filter(mailbox__lookup=keys.lookup)
        .only("pk", "mailbox_id", "received_on")
        .first()
    )
    messages = list(
        MailboxMessage.objects.filter(request__mailbox__lookup=keys.lookup)
        .only("pk", "number", "direction", "sent_on", "for_requester")
        .order_by("number")
    )
    if request is None:
        return None
    box = SealedBox(keys.private_key)
    entries = []
    for message in messages:
        body = ""
        if message.direction == MailboxMessage.Direction.OUT and message.for_requester:
            try:
                where, _, text = box.decrypt(bytes(message.for_requester)).partition(b"\0")
                body = text.decode() if where == _reply_place(message.pk) else ""
            except Exception:  # a damaged reply must not hide the others
                logger.error("a reply in a mailbox does not open (damaged)")
        entries.append(
            ThreadEntry(
                message.number, message.sent_on, message.direction == MailboxMessage.Direction.IN, body
            )
        )
    return MailboxView(str(request.mailbox_id), request.received_on, entries)


def _numbered(request_id: uuid.UUID, write: Callable[[int], M]) -> M:
    """write(number) in one transaction, with the thread's next message number. Two messages at once may take
    the same number: the unique constraint refuses the later one, which tries again."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                last = MailboxMessage.objects.filter(request_id=request_id).aggregate(n=Max("number"))["n"]
                return write((last or 0) + 1)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def message_send(mailbox_id: str, body: str, uploads: list[IncomingFile]) -> None:
    """A requester's message from the mailbox, sealed for the request's organisation on arrival."""
    request = HelpRequest.objects.filter(mailbox_id=mailbox_id).only("pk", "organisation_id").first()
    if request is None:
        for upload in uploads:
            upload.discard()
        raise ValidationError(_("This mailbox no longer exists."))
    stored: list[str] = []

    def write(number: int) -> MailboxMessage:
        _remove(stored)  # an attempt before this one was refused: its files go
        stored.clear()
        message = MailboxMessage(
            request=request, number=number, direction=MailboxMessage.Direction.IN, sent_on=arrival_day()
        )
        message.seal_on_arrival(request.organisation_id)
        message.body = body
        message.save()
        _store_files(request, request.organisation_id, uploads, message, stored)
        return message

    try:
        _numbered(request.pk, write)
    except BaseException:
        _remove(stored)
        raise
    finally:
        for upload in uploads:
            upload.discard()


# ---------------------------------------------------------------------------------------------- staff face


def _audit(actor: User, action: str, request: HelpRequest) -> None:
    audit_record(actor=actor, action=action, organisation_id=request.organisation_id, obj=request)


def contact_index(contact: str) -> int | None:
    """The blind index of a contact, for duplicate hints: a phone number's, else an e-mail's or handle's."""
    if not contact:
        return None
    return blind_index("phone", contact) or blind_index("contact", contact)


def same_contact(first: str, second: str) -> bool:
    """Whether two contacts are one (after the indexes' normalisation): confirms a hint, which a truncated
    index gives for a few unrelated contacts too."""
    for normalise in (phone_e164, contact_handle):
        one = normalise(first)
        if one:
            return one == normalise(second)
    return False


TRIAGE_BATCH = 200


def triage_arrivals(organisation_id: int, *, batches: int | None = 2) -> int:
    """Unsealed: adopt what arrived for the organisation (its files move into the file store), then fill the
    plain working columns of new requests (urgency, the contact's blind index for duplicates). A page does a
    bounded part (`batches`); `safepassage intake adopt` does all. Returns how many requests were triaged.
    What arrived is untrusted: a value out of place is ignored, a file that will not move is logged."""
    adopted = arrivals_adopt(organisation_id, batches=batches)
    if adopted:
        adopted_ids = [uuid.UUID(data_key_id) for data_key_id in adopted]
        for file_id in RequestFile.objects.filter(data_key_id__in=adopted_ids).values_list(
            "file_id", flat=True
        ):
            try:
                files.adopt(file_id)
            except (OSError, ValueError):
                logger.exception("an arrived file could not be moved into the file store")
    triaged = 0
    done = 0
    while batches is None or done < batches:
        done += 1
        pending = list(
            HelpRequest.objects.filter(organisation_id=organisation_id, triaged=False)
            .exclude(data_key_id__in=ArrivalWrap.objects.values("data_key_id"))  # not adopted yet
            .only("pk", "data_key_id", "urgency_given", "contact", "organisation_id")[:TRIAGE_BATCH]
        )
        if not pending:
            break
        views = {str(v.record.pk): v for v in opened(pending, organisation_id)}
        with transaction.atomic():
            for request in pending:
                view = views[str(request.pk)]
                urgency = view.urgency_given if view.available else ""
                HelpRequest.objects.filter(pk=request.pk).update(
                    urgency=urgency if urgency in Urgency.values else "",
                    contact_index=contact_index(view.contact) if view.available else None,
                    triaged=True,  # also when it cannot be read: tried once, not at every page
                )
                triaged += 1
    return triaged


def request_opened(actor: User, request: HelpRequest) -> None:
    """A member of the receiving organisation opened the request: audited; new becomes "being looked at"; the
    requester's messages count as seen."""
    with transaction.atomic():
        _audit(actor, "intake.request.open", request)
        if request.status == RequestStatus.NEW:
            HelpRequest.objects.filter(pk=request.pk, status=RequestStatus.NEW).update(
                status=RequestStatus.OPEN
            )
            request.status = RequestStatus.OPEN
        MailboxMessage.objects.filter(request=request, seen=False).update(seen=True)


def request_reply(actor: User, request: HelpRequest, body: str) -> MailboxMessage:
    """A reply: sealed for the organisation (the staff's copy) and to the mailbox (the requester's copy)."""

    def write(number: int) -> MailboxMessage:
        message = MailboxMessage(
            request=request,
            number=number,
            direction=MailboxMessage.Direction.OUT,
            sent_on=arrival_day(),
            author=actor,
            seen=True,
        )
        message.seal_for([request.organisation_id])
        message.body = body
        mailbox_public = PublicKey(bytes(Mailbox.objects.get(pk=request.mailbox_id).public_key))
        message.for_requester = SealedBox(mailbox_public).encrypt(
            _reply_place(message.pk) + b"\0" + body.encode()
        )
        message.save()
        if request.status == RequestStatus.NEW:
            HelpRequest.objects.filter(pk=request.pk).update(status=RequestStatus.OPEN)
        _audit(actor, "intake.request.reply", request)
        return message

    return _numbered(request.pk, write)


_MARKS = {
    RequestStatus.SPAM: "intake.request.mark_spam",
    RequestStatus.TRAP: "intake.request.mark_trap",
    RequestStatus.OPEN: "intake.request.reopen",
    RequestStatus.CASE: "intake.request.open_case",
}


def request_mark(actor: User, request: HelpRequest, status: str) -> None:
    """Spam, suspected trap, back to the inbox, or "case opened" (the cases room makes the case itself)."""
    if status not in _MARKS:
        raise ValidationError(_("Unknown status."))
    if status == RequestStatus.OPEN and request.status in WAITING:
        return
    with transaction.atomic():
        HelpRequest.objects.filter(pk=request.pk).update(status=status)
        _audit(actor, _MARKS[RequestStatus(status)], request)
    request.status = status


def request_assign(actor: User, request: HelpRequest, assignee: User | None) -> None:
    """Give the request to a colleague who may triage requests of the same organisation (or to nobody)."""
    if assignee is not None and not assignee.can(Action.REQUESTS_TRIAGE, request.organisation_id):
        raise ValidationError(_("This person cannot answer requests of this organisation."))
    with transaction.atomic():
        HelpRequest.objects.filter(pk=request.pk).update(assignee=assignee)
        _audit(actor, "intake.request.assign", request)
    request.assignee = assignee


def file_opened(actor: User, request: HelpRequest, row: RequestFile) -> None:
    audit_record(actor=actor, action="intake.file.open", organisation_id=request.organisation_id, obj=row)


def file_chunks(row: RequestFile, organisation_id: int) -> Any:
    """The file's plaintext, chunk by chunk, or None when its key is gone (erased)."""
    triage_arrivals(organisation_id)
    try:
        row.open_for(organisation_id)
    except Undecryptable:
        return None
    return files.read(row.record_key(), row.file_id, place=f"{RequestFile._meta.db_table}/{row.pk}")
