"""Reads for the triage pages. Sealed fields are decrypted only where a page shows them; each read of request
content is audited by the service the view calls (services.request_opened) or here for the inbox list."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import translation

from safepassage.accounts.models import Membership, User
from safepassage.accounts.roles import Action, role_grants
from safepassage.audit.services import audit_record
from safepassage.intake.access import requests_for_user
from safepassage.intake.models import WAITING, HelpRequest, MailboxMessage, Need, Region, RequestFile, Urgency
from safepassage.intake.services import same_contact, triage_arrivals
from safepassage.vault.fields import Opened, opened, with_keys
from safepassage.vault.intake import arrival_day
from safepassage.vault.keyring import is_sealed

PAGE_SIZE = 50
_URGENCY_ORDER = Case(
    When(urgency=Urgency.EMERGENCY, then=Value(0)),
    When(urgency=Urgency.URGENT, then=Value(1)),
    When(urgency=Urgency.NORMAL, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
_NEED_LABELS = dict(Need.choices)


def need_labels(needs: str) -> list[str]:
    return [str(_NEED_LABELS[n]) for n in needs.split(",") if n in _NEED_LABELS]


@dataclass(frozen=True)
class Waiting:
    requests: int
    messages: int


def waiting_counts(user: User) -> Waiting | None:
    """For home pages: how many requests and requesters' messages wait, no content. None when the user does
    not triage requests."""
    organisation_ids = user.orgs_where(Action.REQUESTS_TRIAGE)
    if not organisation_ids:
        return None
    requests = HelpRequest.objects.filter(organisation_id__in=organisation_ids, status__in=WAITING).count()
    messages = MailboxMessage.objects.filter(
        request__organisation_id__in=organisation_ids,
        direction=MailboxMessage.Direction.IN,
        seen=False,
    ).count()
    return Waiting(requests, messages)


@dataclass
class InboxRow:
    view: Opened
    needs: list[str]
    new_messages: int
    possible_duplicate: bool
    age_days: int


@dataclass
class Inbox:
    page: Page[Any]
    rows: list[InboxRow]
    show: str
    sealed: bool
    counts: dict[str, int] = field(default_factory=dict)


def _duplicate_indexes(organisation_ids: set[int]) -> set[tuple[int, int | None]]:
    pairs = (
        HelpRequest.objects.filter(organisation_id__in=organisation_ids, contact_index__isnull=False)
        .values("organisation_id", "contact_index")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    return {(p["organisation_id"], p["contact_index"]) for p in pairs}


def inbox(user: User, *, show: str, page_number: str | None) -> Inbox:
    """Waiting requests first by urgency, then those that waited longest; or the closed ones."""
    organisation_ids = user.orgs_where(Action.REQUESTS_TRIAGE)
    sealed = is_sealed()
    if not sealed:
        for organisation_id in sorted(organisation_ids):
            triage_arrivals(organisation_id)
    mine = requests_for_user(user)
    counts = {
        "waiting": mine.filter(status__in=WAITING).count(),
        "mine": mine.filter(status__in=WAITING, assignee=user).count(),
        "closed": mine.exclude(status__in=WAITING).count(),
    }
    rows: QuerySet[HelpRequest] = mine
    if show == "closed":
        rows = rows.exclude(status__in=WAITING).order_by("-received_on", "pk")
    else:
        rows = rows.filter(status__in=WAITING)
        if show == "mine":
            rows = rows.filter(assignee=user)
        rows = rows.order_by(_URGENCY_ORDER, "received_on", "pk")
    rows = (
        rows.select_related("assignee")
        .only(
            "pk",
            "data_key_id",
            "organisation_id",
            "received_on",
            "status",
            "urgency",
            "assignee__username",
            "contact_index",
            "needs",
        )
        .annotate(
            new_messages=Count(
                "messages", filter=Q(messages__direction=MailboxMessage.Direction.IN, messages__seen=False)
            )
        )
    )
    page = Paginator(rows, PAGE_SIZE).get_page(page_number)
    records = list(page.object_list)
    duplicates = _duplicate_indexes(organisation_ids)
    views: dict[str, Opened] = {}
    by_organisation: dict[int, list[HelpRequest]] = defaultdict(list)
    for record in records:
        by_organisation[record.organisation_id].append(record)
    for organisation_id, group in by_organisation.items():
        if sealed:
            views.update({str(r.pk): opened_unavailable(r) for r in group})
        else:
            views.update({str(v.record.pk): v for v in opened(group, organisation_id)})
    today = arrival_day()
    result = [
        InboxRow(
            view=views[str(r.pk)],
            needs=need_labels(views[str(r.pk)].needs) if not sealed else [],
            new_messages=getattr(r, "new_messages", 0),
            possible_duplicate=(r.organisation_id, r.contact_index) in duplicates,
            age_days=(today - r.received_on).days,
        )
        for r in records
    ]
    if records and not sealed:
        audit_record(actor=user, action="intake.inbox.view", object_kind="intake.helprequest")
    return Inbox(page=page, rows=result, show=show, sealed=sealed, counts=counts)


def opened_unavailable(record: HelpRequest) -> Opened:
    from safepassage.vault.fields import opened_class

    return opened_class(HelpRequest)(record, None)


@dataclass
class Detail:
    request: Opened
    needs: list[str]
    messages: list[Opened]
    files: list[Opened]
    duplicates: list[HelpRequest]
    people: list[tuple[int, str]]
    region: str
    language: str


def request_detail(user: User, request: HelpRequest) -> Detail:
    """Everything of one request for the organisation's triage (the caller audits the opening)."""
    organisation_id = request.organisation_id
    triage_arrivals(organisation_id)
    record = with_keys(HelpRequest.objects.filter(pk=request.pk), organisation_id).first()
    assert record is not None
    view = opened([record], organisation_id)[0]
    messages = opened(
        with_keys(MailboxMessage.objects.filter(request=request).select_related("author"), organisation_id),
        organisation_id,
    )
    attached = opened(
        with_keys(RequestFile.objects.filter(request=request), organisation_id), organisation_id
    )
    duplicates: list[HelpRequest] = []
    if request.contact_index is not None and view.contact:
        # The index narrows to a few candidates (it is truncated on purpose); their contacts confirm.
        candidates = list(
            HelpRequest.objects.filter(organisation_id=organisation_id, contact_index=request.contact_index)
            .exclude(pk=request.pk)
            .only("pk", "data_key_id", "received_on", "status", "contact")
            .order_by("received_on")
        )
        confirmed = {
            other.record.pk
            for other in opened(candidates, organisation_id)
            if other.available and same_contact(view.contact, other.contact)
        }
        duplicates = [other for other in candidates if other.pk in confirmed]
    return Detail(
        request=view,
        needs=need_labels(view.needs),
        messages=messages,
        files=attached,
        duplicates=duplicates,
        people=triage_people(organisation_id),
        region=str(dict(Region.choices).get(view.region, "")) if view.region else "",
        language=_language_name(view.language),
    )


def _language_name(code: str) -> str:
    """The language a request was written in, in that language; "" for a code we do not know (it arrived
    from the public, so it may be anything)."""
    if code not in dict(settings.LANGUAGES):
        return ""
    return str(translation.get_language_info(code)["name_local"])


def triage_people(organisation_id: int) -> list[tuple[int, str]]:
    """Colleagues who may be given a request of this organisation."""
    memberships = Membership.objects.filter(
        organisation_id=organisation_id, user__is_active=True
    ).select_related("user")
    people = {
        m.user_id: m.user.get_username() for m in memberships if role_grants(m.role, Action.REQUESTS_TRIAGE)
    }
    return sorted(people.items(), key=lambda item: item[1])
