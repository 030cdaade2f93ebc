"""The intake's part of the bench, in the bench process: make the bench's organisation a receiver of help
requests with no flood limit, build the help form's POSTs as a browser sends them, count what they stored,
measure what one submission costs piece by piece, and remove everything the submissions left.

The server side is the real help form (/help/, sealed on arrival) and its plain twin (bench.intake_views).
Django models are imported inside the functions: they need the app registry that bench.seed.setup_django fills.
"""

from __future__ import annotations

import html
import random
import re
import secrets
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench import BenchError
from bench.vault import specimen_values

SEALED_PATH = "/help/"
PLAIN_PATH = "/bench/help/plain/"  # bench.intake_views.help_form_plain
# Plain rows of the baseline: the code is this prefix and 17 hex digits of the mailbox's id (purge() finds them).
PLAIN_CODE_PREFIX = "IN-"
FORM_VARIANTS = 64  # distinct submissions, cycled
BREAKDOWN_REPS = 30
SHRED_THREADS = 4
SHRED_SECONDS = 1.0
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_ACTION = re.compile(r'<form method="post" action="([^"]*)"')
_REGIONS = ("chechnya", "north_caucasus", "russia", "abroad", "")
_URGENCIES = ("emergency", "urgent", "normal")
_NEEDS = ("shelter", "food", "medical", "documents", "leave", "other")


# ---------------------------------------------------------------------------------------------- set up, clean up


def prepare(organisation_id: int) -> tuple[str, dict[str, Any] | None]:
    """The organisation receives requests (a Receiver row; its intake key exists once the vault was unsealed)
    and the global flood limit is off (requests_per_minute 0: floods.allow lets everything through). Returns what
    it did and the intake settings as they were, for restore_settings()."""
    from safepassage.accounts.models import Organisation
    from safepassage.intake.models import IntakeSettings, Receiver
    from safepassage.intake.services import receivers_accepting
    from safepassage.vault.models import IntakeKey

    if not IntakeKey.objects.filter(organisation_id=organisation_id).exists():
        raise BenchError("the bench's organisation has no intake key: the vault was not unsealed")
    # As the demo makes it (load_demo makes receivers of two organisations), should it not have.
    name = Organisation.objects.values_list("name", flat=True).get(pk=organisation_id)
    receiver, _ = Receiver.objects.get_or_create(
        organisation_id=organisation_id, defaults={"public_name": name}
    )
    if not receiver.accepting:
        Receiver.objects.filter(pk=receiver.pk).update(accepting=True)
    if organisation_id not in {r.pk for r in receivers_accepting()}:
        raise BenchError("the bench's organisation does not accept requests")
    found = IntakeSettings.objects.filter(pk=1).values().first()
    previous: dict[str, Any] | None = None if found is None else dict(found)
    IntakeSettings.objects.update_or_create(pk=1, defaults={"requests_per_minute": 0, "proof_of_work": False})
    return (
        f"organisation {organisation_id} receives requests, no flood limit; {purge(organisation_id)}",
        previous,
    )


def restore_settings(previous: dict[str, Any] | None) -> None:
    from safepassage.intake.models import IntakeSettings

    if previous is None:
        IntakeSettings.objects.filter(pk=1).delete()
    else:
        IntakeSettings.objects.filter(pk=1).update(**{k: v for k, v in previous.items() if k != "id"})


def purge(organisation_id: int | None = None) -> str:
    """Removes what submissions stored: the help requests of the organisation (of every one when None; the bench's
    database holds no one else's), their keys and mailboxes, the baseline's plain rows and the mailboxes left
    without a request; then every shred-store secret whose data key is gone. Says what it removed."""
    from django.db import transaction

    from safepassage.intake.models import HelpRequest, Mailbox, MailboxMessage, RequestFile
    from safepassage.vault.models import ArrivalWrap, DataKey, DataKeyWrap
    from tests.specimens.models import PlainSpecimen

    requests = HelpRequest.objects.all()
    plain = PlainSpecimen.objects.filter(code__startswith=PLAIN_CODE_PREFIX)
    if organisation_id is not None:
        requests = requests.filter(organisation_id=organisation_id)
        plain = plain.filter(organisation_id=organisation_id)
    with transaction.atomic():
        keys = set(requests.values_list("data_key_id", flat=True))
        keys.update(RequestFile.objects.filter(request__in=requests).values_list("data_key_id", flat=True))
        keys.update(MailboxMessage.objects.filter(request__in=requests).values_list("data_key_id", flat=True))
        removed_requests, _ = requests.delete()  # files and messages go with them
        removed_plain, _ = plain.delete()
        Mailbox.objects.filter(request__isnull=True).delete()
        # Arrival keys no request, file or message uses (made by a step of the breakdown, say) go too.
        unused = ArrivalWrap.objects.all()
        for model in (HelpRequest, RequestFile, MailboxMessage):
            unused = unused.exclude(data_key_id__in=model.objects.values_list("data_key_id", flat=True))
        keys.update(unused.values_list("data_key_id", flat=True))
        ArrivalWrap.objects.filter(data_key_id__in=keys).delete()
        DataKeyWrap.objects.filter(data_key_id__in=keys).delete()
        DataKey.objects.filter(pk__in=keys).delete()
    secrets_removed = _forget_orphan_secrets()
    _vacuum(
        HelpRequest, RequestFile, MailboxMessage, Mailbox, ArrivalWrap, DataKeyWrap, DataKey, PlainSpecimen
    )
    return f"removed {removed_requests} stored rows, {removed_plain} plain, {secrets_removed} shred secrets"


def _vacuum(*models: Any) -> None:
    """PostgreSQL: the deleted rows are dead tuples that every sequential scan still reads until a VACUUM (and
    autovacuum may be off). PlainSpecimen's grew tenfold in a few runs and slowed the vault's plain page."""
    from django.db import connection

    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


def _forget_orphan_secrets() -> int:
    """Shred secrets whose data key row is gone, forgotten in one transaction (shredstore.forget would take one
    synchronous write each). Only while no server runs: a secret is written before its data key row."""
    from safepassage.vault import shredstore
    from safepassage.vault.models import DataKey

    store = shredstore._store()  # the bench's own store (var/bench/); no batch forget in its API
    stored = {str(row[0]) for row in store.execute("SELECT id FROM shred_secret")}
    orphans = sorted(stored - {str(pk) for pk in DataKey.objects.values_list("pk", flat=True)})
    if not orphans:
        return 0
    store.execute("BEGIN")
    try:
        for start in range(0, len(orphans), 500):
            batch = orphans[start : start + 500]
            marks = ", ".join("?" for _ in batch)
            store.execute(f"DELETE FROM shred_secret WHERE id IN ({marks})", batch)  # noqa: S608
        store.execute("COMMIT")
    except BaseException:
        store.execute("ROLLBACK")
        raise
    return len(orphans)


def stored(organisation_id: int) -> tuple[int, int]:
    """(sealed help requests, plain baseline rows) the organisation holds now."""
    from safepassage.intake.models import HelpRequest
    from tests.specimens.models import PlainSpecimen

    return (
        HelpRequest.objects.filter(organisation_id=organisation_id).count(),
        PlainSpecimen.objects.filter(
            organisation_id=organisation_id, code__startswith=PLAIN_CODE_PREFIX
        ).count(),
    )


# ------------------------------------------------------------------------------------------------ the POSTs


def _fields(index: int, organisation_id: int) -> list[tuple[str, str]]:
    """What one requester types, in the form's order after the hidden fields."""
    values = specimen_values(index)
    rng = random.Random(index)
    needs = rng.sample(_NEEDS, rng.randint(1, 3))
    return [
        ("situation", values["narrative"]),
        ("location", values["location"]),
        ("region", rng.choice(_REGIONS)),
        ("urgency", rng.choice(_URGENCIES)),
        *(("needs", need) for need in needs),
        ("contact", values["contact"] if index % 4 else ""),
        # Only read when several organisations receive (the form then has the field): the bench's one.
        ("receiver", str(organisation_id)),
    ]


def _part(boundary: bytes, name: str, value: str) -> bytes:
    return (
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n\r\n'
        + value.encode()
        + b"\r\n"
    )


@dataclass(frozen=True)
class FormPosts:
    """Multipart POSTs of the help form as a browser sends them (an empty file input included), each with a
    fresh one-time challenge signed here with the server's SECRET_KEY (floods.challenge_new, proof of work off).
    `query` is what the form's action adds to the path (the page's language)."""

    query: str
    headers: dict[str, str]
    head: bytes  # up to the challenge
    tails: tuple[bytes, ...]  # after it, one per variant of what is written

    def body(self) -> bytes:
        from safepassage.intake import floods

        return self.head + floods.challenge_new(0).encode() + secrets.choice(self.tails)


def form_posts(base_url: str, organisation_id: int) -> FormPosts:
    """GETs the form once, for what a browser would send back with it (its action's query; the CSRF cookie and
    token, should it have them), and builds the POSTs."""
    answer = httpx.get(base_url + SEALED_PATH, timeout=30)
    if answer.status_code != 200 or 'name="challenge"' not in answer.text:
        raise BenchError(f"GET {SEALED_PATH} answered {answer.status_code} without the form")
    action = _ACTION.search(answer.text)
    query = html.unescape(action.group(1)) if action else ""
    if query and not query.startswith("?"):
        raise BenchError(f"the form on {SEALED_PATH} posts elsewhere ({query}): the bench would miss it")
    token = _CSRF.search(answer.text)
    return build_posts(
        organisation_id, query, token.group(1) if token else "", answer.cookies.get("csrftoken") or ""
    )


def build_posts(organisation_id: int, query: str, token: str = "", cookie: str = "") -> FormPosts:
    """The POSTs, FORM_VARIANTS different submissions for the organisation; the CSRF token and cookie if given."""
    boundary = f"----BenchFormBoundary{secrets.token_hex(8)}".encode()
    head = _part(boundary, "csrfmiddlewaretoken", token) if token else b""
    head += b"--" + boundary + b'\r\nContent-Disposition: form-data; name="challenge"\r\n\r\n'
    tails = []
    for index in range(FORM_VARIANTS):
        tail = b"\r\n" + _part(boundary, "proof", "")
        for name, value in _fields(index, organisation_id):
            tail += _part(boundary, name, value)
        tail += (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="attachments"; filename=""\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n\r\n"
        )
        tail += _part(boundary, "consent", "on") + b"--" + boundary + b"--\r\n"
        tails.append(tail)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"}
    if cookie:
        headers["Cookie"] = f"csrftoken={cookie}"
    return FormPosts(query=query, headers=headers, head=head, tails=tuple(tails))


def check_post(base_url: str, path: str, posts: FormPosts, expect: str) -> None:
    """One POST, which must be answered 200 with the codename page."""
    answer = httpx.post(base_url + path, content=posts.body(), headers=posts.headers, timeout=30)
    if answer.status_code != 200 or expect not in answer.text:
        errors = re.findall(r'<div class="errors"[^>]*>(.*?)</div>', answer.text, re.DOTALL)
        raise BenchError(
            f"POST {path} answered {answer.status_code} without the codename page"
            f"{': ' + re.sub(r'<[^>]+>', ' ', errors[0]).strip() if errors else ''}"
        )


# ----------------------------------------------------------------------------------------------- the breakdown


def _median_ms(operation: Callable[[], object], reps: int = BREAKDOWN_REPS) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        operation()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _submission(index: int, organisation_id: int) -> Any:
    from safepassage.intake.services import Submission

    fields = _fields(index, organisation_id)
    values = dict(fields)
    return Submission(
        situation=values["situation"],
        location=values["location"],
        region=values["region"],
        urgency=values["urgency"],
        needs=[value for name, value in fields if name == "needs"],
        contact=values["contact"],
        language="en",
        receiver=values["receiver"],
    )


def _shred_writes_per_s(threads: int, seconds: float) -> float:
    """Shred-store secrets written per second by THREADS threads at once, each with its own connection as each
    server worker has: what the store lets through when several submissions arrive together."""
    from safepassage.vault import shredstore

    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def write(slot: int) -> None:
        try:
            while time.monotonic() < deadline:
                shredstore.create(str(uuid.uuid4()))
                counts[slot] += 1
        finally:
            shredstore.close()

    start = time.monotonic()
    workers = [threading.Thread(target=write, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - start)


@contextmanager
def _timed(owner: Any, name: str, spent: list[float]) -> Iterator[None]:
    """While in the block, every call of OWNER.NAME adds its milliseconds to SPENT."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - start) * 1000)

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _views_ms(organisation_id: int) -> tuple[float, float]:
    """Medians of the whole POST, sealed and plain alternately, through Django's handler in this process."""
    from django.conf import settings
    from django.test import Client

    import bench.intake_views  # noqa: F401 (the URLconf imports it too: the plain POST's swap)

    posts = build_posts(organisation_id, "")
    client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "testserver")
    times: dict[str, list[float]] = {SEALED_PATH: [], PLAIN_PATH: []}
    for _ in range(BREAKDOWN_REPS):
        for path, spent in times.items():
            body = posts.body()
            start = time.perf_counter()
            answer = client.generic("POST", path, body, content_type=posts.headers["Content-Type"])
            spent.append((time.perf_counter() - start) * 1000)
            if answer.status_code != 200 or b'id="codename"' not in answer.content:
                raise BenchError(f"POST {path} in process answered {answer.status_code} without the codename")
    return statistics.median(times[SEALED_PATH]), statistics.median(times[PLAIN_PATH])


def breakdown(organisation_id: int) -> dict[str, Any]:
    """Medians, in this process, of the steps of one submission as request_submit takes them (sealed) and as the
    baseline does (plain), each step timed on its own inside the same transaction; and both services whole."""
    from django.db import transaction

    from bench.intake_views import plain_row, sealed_submit, submit_plain
    from safepassage.intake.codename import mailbox_keys, new_codename
    from safepassage.intake.models import HelpRequest, Mailbox
    from safepassage.intake.services import receiver_public_key, receivers_accepting, route
    from safepassage.vault import crypto, shredstore
    from safepassage.vault import intake as arrivals
    from safepassage.vault.fields import sealed_field_names
    from safepassage.vault.intake import arrival_day

    table = HelpRequest._meta.db_table
    columns = sealed_field_names(HelpRequest)
    parts: dict[str, list[float]] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        parts.setdefault(name, []).append((now - since) * 1000)
        return now

    def sealed_steps(index: int) -> None:
        submission = _submission(index, organisation_id)
        t = time.perf_counter()
        receivers = receivers_accepting()  # the view's one query, which brings the intake public keys too
        chosen = route(
            chosen=submission.receiver,
            region=submission.region,
            language=submission.language,
            receivers=receivers,
        )
        public_key = receiver_public_key(next(r for r in receivers if r.pk == chosen))
        t = lap("route", t)
        keys = mailbox_keys(new_codename())
        t = lap("codename_kdf", t)
        with transaction.atomic():
            mailbox = Mailbox.objects.create(lookup=keys.lookup, public_key=keys.public_key)
            t = lap("mailbox_insert", t)
            request = HelpRequest(organisation_id=chosen, mailbox=mailbox, received_on=arrival_day())
            key_query: list[float] = []
            shred_write: list[float] = []
            with _timed(arrivals, "intake_public_key", key_query), _timed(shredstore, "create", shred_write):
                request.seal_on_arrival(chosen, public_key=public_key)
            start = t
            t = lap("arrival_key", t)
            parts.setdefault("arrival_key_query", []).append(sum(key_query))
            parts.setdefault("arrival_shred_store_write", []).append(sum(shred_write))
            rest = (t - start) * 1000 - sum(key_query) - sum(shred_write)
            parts.setdefault("arrival_key_rows_and_box", []).append(rest)
            values = {
                "situation": submission.situation,
                "location": submission.location,
                "region": submission.region,
                "urgency_given": submission.urgency,
                "needs": ",".join(submission.needs),
                "contact": submission.contact,
                "language": submission.language,
            }
            # What SealedTextField.pre_save does with each str, done first so the insert is timed alone.
            for name, value in values.items():
                column = columns[name]
                setattr(
                    request,
                    name,
                    crypto.field_seal(
                        request.record_key(), table=table, field=column, pk=request.pk, value=value
                    ),
                )
            t = lap("seal_7_fields", t)
            request.save()
            t = lap("sealed_insert", t)
        lap("sealed_commit", t)

    def plain_steps(index: int) -> None:
        submission = _submission(index, organisation_id)
        t = time.perf_counter()
        chosen = route(
            chosen=submission.receiver,
            region=submission.region,
            language=submission.language,
            receivers=receivers_accepting(),
        )
        keys = mailbox_keys(new_codename())
        t = time.perf_counter()
        with transaction.atomic():
            mailbox = Mailbox.objects.create(lookup=keys.lookup, public_key=keys.public_key)
            t = time.perf_counter()
            plain_row(chosen, mailbox.pk, submission)
            t = lap("plain_insert", t)
        lap("plain_commit", t)

    for index in range(BREAKDOWN_REPS):  # alternated, so neither has the warmer caches
        sealed_steps(index)
        plain_steps(index)
    submissions = [_submission(index, organisation_id) for index in range(FORM_VARIANTS)]
    counter = iter(range(10**6))
    shred_ms = _median_ms(lambda: shredstore.create(str(uuid.uuid4())))
    request_submit_ms = _median_ms(lambda: sealed_submit(submissions[next(counter) % FORM_VARIANTS], []))
    submit_plain_ms = _median_ms(lambda: submit_plain(submissions[next(counter) % FORM_VARIANTS]))
    shred_concurrent = _shred_writes_per_s(SHRED_THREADS, SHRED_SECONDS)
    view_sealed_ms, view_plain_ms = _views_ms(organisation_id)
    medians = {name: round(statistics.median(times), 3) for name, times in parts.items()}
    return {
        **{f"{name}_ms": value for name, value in medians.items()},
        "shred_store_write_ms": round(shred_ms, 3),
        "shred_store_writes_per_s_one_thread": round(1000 / shred_ms) if shred_ms else None,
        "shred_store_writes_per_s_concurrent": round(shred_concurrent),
        "shred_store_threads": SHRED_THREADS,
        "request_submit_ms": round(request_submit_ms, 3),
        "submit_plain_ms": round(submit_plain_ms, 3),
        "view_sealed_ms": round(view_sealed_ms, 3),
        "view_plain_ms": round(view_plain_ms, 3),
        "view_rest_sealed_ms": round(view_sealed_ms - request_submit_ms, 3),
        "view_rest_plain_ms": round(view_plain_ms - submit_plain_ms, 3),
        "method": f"median of {BREAKDOWN_REPS} repetitions in the bench process (test mode, one thread, "
        "PostgreSQL and the shred store as the server has them): the steps of request_submit timed one by one "
        "(route includes receivers_accepting(), the view's query that also brings the intake public keys; "
        "arrival_key is seal_on_arrival: arrival_key_query, an intake public key's SELECT, 0 when the key came "
        "with the receivers; "
        "arrival_shred_store_write, the record's secret; arrival_key_rows_and_box, the rest: the DataKey and "
        "ArrivalWrap INSERTs and the sealed box; seal_7_fields is what pre_save does; sealed_insert is the "
        "INSERT alone), the "
        "baseline's insert and commit, shred_store_write alone, and request_submit and submit_plain whole; "
        f"shred-store writes per second by {SHRED_THREADS} threads at once for {SHRED_SECONDS:.0f} s; "
        "view_*: the same multipart POST through Django's test client (every middleware, the form, the answer "
        "page; no HTTP, no gunicorn), alternated; view_rest_*: view minus the service (request_submit or "
        "submit_plain), i.e. what both POSTs share",
    }
