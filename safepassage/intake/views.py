"""Views of the intake. Public face: the help form, the codename page, the mailbox (no login, no session, no
JavaScript needed). Staff face: the triage inbox and a request's page."""

from __future__ import annotations

import functools
import logging
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safepassage.accounts.forms import add_service_errors
from safepassage.accounts.models import User
from safepassage.accounts.roles import Action
from safepassage.accounts.rules import public, requires
from safepassage.intake import floods, selectors, services
from safepassage.intake.access import request_file_get_for_user, request_get_for_user
from safepassage.intake.forms import AssignForm, HelpRequestForm, MailboxForm, MessageForm, ReplyForm
from safepassage.intake.models import IntakeSettings, RequestStatus
from safepassage.intake.uploads import ALLOWED_KINDS, IncomingFile, SealingUploadHandler

logger = logging.getLogger(__name__)
_TOKEN_SALT = "safepassage.intake.mailbox"  # noqa: S105 (a signing namespace, not a secret)


def _public(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(
        request, template, {"quick_exit": settings.INTAKE_QUICK_EXIT_URL, **context}, status=status
    )
    response["Cache-Control"] = "no-store"
    return response


def _discard_uploads(request: HttpRequest) -> None:
    for name in request.FILES:
        for upload in request.FILES.getlist(name):
            if isinstance(upload, IncomingFile):
                upload.discard()


def _cross_site(request: HttpRequest) -> bool:
    """A POST sent by another site's page (the browser says so): refused, so that no page elsewhere can open
    its own mailbox in a requester's browser and have them write into it."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin") or ""
    return bool(origin) and origin != "null" and origin.split("://", 1)[-1] != request.get_host()


def apply_language(request: HttpRequest) -> None:
    """`?lang=` in the requester's links and forms picks the language: never a cookie."""
    chosen = request.GET.get("lang", "")
    if chosen in dict(settings.LANGUAGES):
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen


def _requester_face(view: Any) -> Any:
    """What every public intake view shares.

    No cookie: the requester's device keeps no trace of the visit. So there is no CSRF cookie either; what a
    forged cross-site POST could do here is send a request or message, which anyone can, and the forms carry
    their own signed one-time tokens (the form's challenge, the mailbox's handle); a POST the browser marks as
    sent from another site is refused all the same. The language comes from the browser, or `?lang=` in the
    page's links and forms. Uploads are encrypted as they arrive: the sealing handler is in place before
    anything reads the body.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        apply_language(request)
        if request.method == "POST" and _cross_site(request):
            return _public(request, "403.html", {"base": "intake/base.html", "public": True}, status=403)
        request.upload_handlers = [SealingUploadHandler(request)]
        if request.method != "POST":
            response: HttpResponse = view(request, *args, **kwargs)
            return response
        try:
            response = view(request, *args, **kwargs)
        except Exception:  # the database, the cache or the disk failed where no form could say so
            logger.exception("a requester's POST failed")
            _discard_uploads(request)
            return _public(request, "intake/unavailable.html", {"kept": _kept_text(request)}, status=503)
        return response

    return csrf_exempt(wrapped)


_KEPT_FIELDS = ("situation", "location", "contact", "body", "draft")


def _kept_text(request: HttpRequest) -> list[str]:
    """What the requester wrote, to show back when nothing could be stored (never the codename)."""
    try:
        return [request.POST[name] for name in _KEPT_FIELDS if request.POST.get(name)]
    except Exception:  # the body itself could not be read
        return []


def _language() -> str:
    return (get_language() or settings.LANGUAGE_CODE)[:2]


_NOT_SAVED = gettext_lazy(
    "Your request could not be saved. Nothing was sent: please press Send again in a minute."
)
_CHALLENGE_ANSWERS = {
    floods.Verdict.SPENT: gettext_lazy(
        "This form was sent already. If you did not see your codename, press Send again: it becomes a new "
        "request with a new codename."
    ),
    floods.Verdict.STALE: gettext_lazy("Please press Send again. Nothing was sent yet."),
    floods.Verdict.EXPIRED: gettext_lazy(
        "The form was open a long time, so nothing was sent yet. Your text is still here: press Send again."
    ),
    floods.Verdict.BUSY: gettext_lazy(
        "Many people are writing right now. Nothing was sent yet: please wait a minute and press Send again."
    ),
}


@never_cache
@require_http_methods(["GET", "POST"])
@public
@_requester_face
def help_form(request: HttpRequest) -> HttpResponse:
    """The request form. Nothing is stored until the whole form is valid; then one transaction."""
    receivers = services.receivers_accepting()
    switches = IntakeSettings.current()
    pow_bits = switches.proof_of_work_bits if switches.proof_of_work else 0
    if not receivers:
        return _public(request, "intake/closed.html", {}, status=503)
    if request.method != "POST":
        form = HelpRequestForm(receivers=receivers, initial={"challenge": floods.challenge_new(pow_bits)})
        return _public(request, "intake/form.html", {"form": form, "pow_bits": pow_bits})
    form = HelpRequestForm(request.POST, request.FILES, receivers=receivers)
    status = 400
    spent = False  # the challenge was used up (or is no good): the form comes back with a new one
    if form.is_valid():
        data = form.cleaned_data
        verdict, left = floods.challenge_check(
            data["challenge"],
            data["proof"],
            bits=pow_bits,
            wait_seconds=switches.proof_of_work_wait_seconds if pow_bits else 0,
            waits_per_minute=switches.proof_of_work_waits_per_minute,
        )
        spent = verdict != floods.Verdict.WAIT
        if verdict == floods.Verdict.WAIT:
            status = 429
            form.add_error(
                None,
                _(
                    "To protect this service from floods, please wait %(seconds)d seconds, "
                    "then press Send again. Nothing was sent yet."
                )
                % {"seconds": left},
            )
        elif verdict != floods.Verdict.ACCEPTED:
            status = 429
            form.add_error(None, _CHALLENGE_ANSWERS[verdict])
        elif not floods.allow("requests", switches.requests_per_minute, 60):
            status = 429
            form.add_error(None, _CHALLENGE_ANSWERS[floods.Verdict.BUSY])
        else:
            submission = services.Submission(
                situation=data["situation"],
                location=data["location"],
                region=data["region"],
                urgency=data["urgency"],
                needs=data["needs"],
                contact=data["contact"],
                language=_language(),
                receiver=data.get("receiver", ""),
            )
            try:
                codename = services.request_submit(submission, data["attachments"], receivers)
            except services.NoReceiver:
                return _public(request, "intake/closed.html", {}, status=503)
            except services.STORAGE_ERRORS:
                logger.exception("a help request could not be stored")
                status = 503
                form.add_error(None, _NOT_SAVED)
            else:
                return _public(request, "intake/sent.html", {"codename": codename})
    _discard_uploads(request)
    # The text stays; files must be chosen again. A used-up challenge is replaced, an unused one kept (so the
    # slower path's wait does not start again).
    data = request.POST.copy()
    if spent or not data.get("challenge"):
        data["challenge"] = floods.challenge_new(pow_bits)
        data["proof"] = ""
    form.data = data  # shown with the errors already found
    if request.FILES and "attachments" not in form.errors:
        form.add_error("attachments", _("Please choose your files again."))
    return _public(request, "intake/form.html", {"form": form, "pow_bits": pow_bits}, status=status)


_HANDLE_PREFIX = "intake:mailbox-handle:"


def _mailbox_handle(mailbox_id: str) -> str:
    """What the thread page carries instead of the mailbox's id: a random handle, kept in the cache while the
    page may send, so the page on the requester's device does not hold the database's key of their request."""
    handle = secrets.token_urlsafe(18)
    cache.set(_HANDLE_PREFIX + handle, mailbox_id, settings.INTAKE_MAILBOX_TOKEN_SECONDS)
    return signing.dumps(handle, salt=_TOKEN_SALT)


def _mailbox_of(token: str) -> str | None:
    try:
        handle = signing.loads(token, salt=_TOKEN_SALT, max_age=settings.INTAKE_MAILBOX_TOKEN_SECONDS)
    except signing.BadSignature:
        return None
    found = cache.get(_HANDLE_PREFIX + str(handle))
    return str(found) if found else None


@never_cache
@require_http_methods(["GET", "POST"])
@public
@_requester_face
def mailbox(request: HttpRequest) -> HttpResponse:
    """The requester comes back with the codename and reads the replies."""
    if request.method != "POST":
        return _public(request, "intake/mailbox.html", {"form": MailboxForm()})
    form = MailboxForm(request.POST)
    if not form.is_valid():
        return _public(request, "intake/mailbox.html", {"form": form}, status=400)
    if not floods.allow("mailbox-visits", IntakeSettings.current().mailbox_visits_per_minute, 60):
        form.add_error(None, _("Many people are here right now. Please wait a minute and try again."))
        return _public(request, "intake/mailbox.html", {"form": form}, status=429)
    thread = services.mailbox_read(form.cleaned_data["codename"])
    if thread is None:
        form.add_error("codename", _("Nothing was found for this codename. Check the words and try again."))
        return _public(request, "intake/mailbox.html", {"form": form}, status=200)
    message = MessageForm(
        initial={"token": _mailbox_handle(thread.mailbox_id), "body": form.cleaned_data["draft"]}
    )
    return _public(request, "intake/thread.html", {"thread": thread, "form": message})


@never_cache
@require_POST
@public
@_requester_face
def mailbox_send(request: HttpRequest) -> HttpResponse:
    """A message from the requester's mailbox page; the form carries an expiring handle of the mailbox."""
    form = MessageForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        mailbox_id = _mailbox_of(form.cleaned_data["token"])
        if mailbox_id is None:
            _discard_uploads(request)
            # The text is kept: it comes back in the message form once the codename is entered again.
            again = MailboxForm(initial={"draft": form.cleaned_data["body"]})
            notice = _(
                "This page was open too long. Enter your codename again; your message was not sent yet."
            )
            return _public(request, "intake/mailbox.html", {"form": again, "notice": notice}, status=400)
        switches = IntakeSettings.current()
        if not floods.allow(floods.counter_name("mailbox", mailbox_id), switches.messages_per_hour, 3600):
            status = 429
            form.add_error(
                None,
                _("You have sent many messages in the last hour. Nothing was sent: please try again later."),
            )
        elif not floods.allow("messages", switches.messages_per_minute, 60):
            status = 429
            form.add_error(
                None, _("Many people are writing right now. Nothing was sent: please try again in a minute.")
            )
        else:
            try:
                services.message_send(mailbox_id, form.cleaned_data["body"], form.cleaned_data["attachments"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            except services.STORAGE_ERRORS:
                logger.exception("a requester's message could not be stored")
                status = 503
                form.add_error(
                    None,
                    _("Your message could not be saved. Nothing was sent: please try again in a minute."),
                )
            else:
                return _public(request, "intake/message_sent.html", {})
    _discard_uploads(request)
    return _public(request, "intake/thread.html", {"thread": None, "form": form}, status=status)


# ---------------------------------------------------------------------------------------------- staff face


def _request_id(value: str) -> uuid.UUID:
    return uuid.UUID(str(value))


@require_GET
@requires(Action.REQUESTS_TRIAGE)
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    show = request.GET.get("show", "waiting")
    if show not in {"waiting", "mine", "closed"}:
        show = "waiting"
    box = selectors.inbox(user, show=show, page_number=request.GET.get("page"))
    return render(request, "intake/inbox.html", {"inbox": box})


def _detail(
    request: HttpRequest, help_request: Any, *, reply: ReplyForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    detail = selectors.request_detail(user, help_request)
    services.request_opened(user, help_request)
    assign = AssignForm(people=detail.people, initial={"assignee": help_request.assignee_id})
    return render(
        request,
        "intake/request.html",
        {
            "detail": detail,
            "help_request": help_request,
            "reply_form": reply or ReplyForm(),
            "assign_form": assign,
            "statuses": RequestStatus,
        },
        status=status,
    )


@require_GET
@requires(Action.REQUESTS_TRIAGE)
def request_page(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    return _detail(request, request_get_for_user(user, request_id))


@require_POST
@requires(Action.REQUESTS_TRIAGE)
def request_reply(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    help_request = request_get_for_user(user, request_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _detail(request, help_request, reply=form, status=400)
    services.request_reply(user, help_request, form.cleaned_data["body"])
    return redirect("intake_request", request_id=help_request.pk)


@require_POST
@requires(Action.REQUESTS_TRIAGE)
def request_mark(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    help_request = request_get_for_user(user, request_id)
    try:
        services.request_mark(user, help_request, request.POST.get("status", ""))
    except ValidationError:
        return _detail(request, help_request, status=400)
    return redirect("intake_request", request_id=help_request.pk)


@require_POST
@requires(Action.REQUESTS_TRIAGE)
def request_assign(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    help_request = request_get_for_user(user, request_id)
    form = AssignForm(request.POST, people=selectors.triage_people(help_request.organisation_id))
    if not form.is_valid():
        return _detail(request, help_request, status=400)
    chosen = form.cleaned_data["assignee"]
    assignee = User.objects.filter(pk=chosen).first() if chosen else None
    services.request_assign(user, help_request, assignee)
    return redirect("intake_request", request_id=help_request.pk)


@require_GET
@requires(Action.REQUESTS_TRIAGE)
def request_file(
    request: HttpRequest, request_id: uuid.UUID, file_id: uuid.UUID
) -> HttpResponse | StreamingHttpResponse:
    """A file, decrypted as it streams out; always a download (never shown inline), under a neutral name."""
    user = request.user
    assert isinstance(user, User)
    help_request = request_get_for_user(user, request_id)
    row = request_file_get_for_user(user, help_request, file_id)
    chunks = services.file_chunks(row, help_request.organisation_id)
    if chunks is None:
        return _detail(request, help_request, status=404)
    services.file_opened(user, help_request, row)
    response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
    extension = row.kind if row.kind in ALLOWED_KINDS else "bin"
    response["Content-Disposition"] = f'attachment; filename="request-file.{extension}"'
    response["Cache-Control"] = "no-store"
    return response
