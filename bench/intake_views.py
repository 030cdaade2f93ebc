"""The baseline of the intake benchmark: the help form's POST, storing what was written in plain columns.

`help_form_plain` is safepassage.intake.views.help_form itself (its decorators, form class, validation, one-time
challenge, flood limit, answer page), run with one difference: where help_form calls
`services.request_submit`, this request gets `submit_plain`. That keeps request_submit's steps (routing, the
codename and its KDF, one transaction with the `Mailbox` row) but writes a `PlainSpecimen` row where
request_submit writes a `HelpRequest` sealed on arrival (a fresh data key with its shred-store secret, sealed
to the organisation's intake key, and seven fields encrypted under it). So the two POSTs differ by the sealing
only, and the baseline follows help_form as it changes.

The swap: importing this module (the bench's URLconf does, in the server of the vault and intake pages) puts
`_submit` in `services.request_submit`; it calls the real request_submit unless the request came through
help_form_plain (one ContextVar read more for a sealed POST). Should help_form stop calling it through the
module, the plain POSTs would store sealed requests: bench.intake.stored() counts both kinds and the run then
fails. Served by the bench's own URLs only, never by the site's.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from bench.intake import PLAIN_CODE_PREFIX
from safepassage.intake import services
from safepassage.intake.codename import mailbox_keys, new_codename
from safepassage.intake.models import Mailbox
from safepassage.intake.views import help_form
from tests.specimens.models import PlainSpecimen

_plain: ContextVar[bool] = ContextVar("bench_intake_plain", default=False)
sealed_submit = services.request_submit  # the real one, before the swap


def plain_code(mailbox_id: object) -> str:
    return f"{PLAIN_CODE_PREFIX}{str(mailbox_id).replace('-', '')[:17]}"


def submit_plain(submission: services.Submission, receivers: Any = None) -> str:
    """request_submit with plain columns instead of the sealed record; returns the codename. No files (the bench
    sends none)."""
    organisation_id = services.route(
        chosen=submission.receiver,
        region=submission.region,
        language=submission.language,
        receivers=receivers,
    )
    codename = new_codename()
    keys = mailbox_keys(codename)
    with transaction.atomic():
        mailbox = Mailbox.objects.create(lookup=keys.lookup, public_key=keys.public_key)
        plain_row(organisation_id, mailbox.pk, submission)
    return codename


def plain_row(organisation_id: int, mailbox_id: object, submission: services.Submission) -> PlainSpecimen:
    """The baseline's one row: what the sealed request holds, in plain columns."""
    return PlainSpecimen.objects.create(
        organisation_id=organisation_id,
        code=plain_code(mailbox_id),
        name="",
        contact=submission.contact,
        location=submission.location,
        narrative=submission.situation,
        notes=f"region={submission.region}; urgency={submission.urgency}; "
        f"needs={','.join(submission.needs)}; language={submission.language}",
    )


def _submit(submission: services.Submission, uploads: Any, *args: Any, **kwargs: Any) -> str:
    if not _plain.get():
        return sealed_submit(submission, uploads, *args, **kwargs)
    for upload in uploads:
        upload.discard()
    return submit_plain(submission, *args, **kwargs)


services.request_submit = _submit


@functools.wraps(help_form)  # its marks too: the access rule, csrf_exempt
def help_form_plain(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """help_form, storing in plain columns (see the module's docstring)."""
    token = _plain.set(True)
    try:
        response: HttpResponse = help_form(request, *args, **kwargs)
        return response
    finally:
        _plain.reset(token)
