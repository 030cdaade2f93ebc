"""The authorization matrix: every URL, method and principal answers as tests/authz_matrix.csv says.

The test walks every URL pattern of the server (ours, allauth's, the admin's, the partner API's),
builds a concrete path whose arguments point at real objects of the Moscow organisation, sends
GET and POST (and PUT and DELETE to the API) as each principal, and compares the outcome with the
committed table. A URL pattern without a row fails, and so does a row whose URL no longer exists.

The table has one row per URL pattern and method: `url` is the URL name (`namespace:name`), or the
route for unnamed patterns; `rule` is the access rule the deny-by-default middleware finds for the
view; `path` is the sampled path with its arguments named, e.g. `/people/{alice}/`. Then one
column per principal, each cell one of:

    ok              2xx
    redirect:NAME   redirect to the page of that URL name, other than the three below
    login           redirect to the log-in page (for a log-out, that is the success)
    enrol           redirect to the second-factor set-up page
    reauth          redirect to re-authentication (step-up before a sensitive action)
    4xx, 5xx        the status code: 403 refused, 404 missing or out of scope, 405 method, 401 API

Principals: anonymous; one person for every role (alice, olga and ada work in Moscow); dora, who
is disabled; otto, org admin of another organisation; nadia, a Moscow org admin who has not set up
a second factor; olga again without a recent re-authentication ("stale"); and a bearer token of
Moscow sent without a session. Every other logged-in principal has re-authenticated just now, so
step-up does not hide the scope checks behind it; the stale column shows step-up itself.

Arguments: person_id is alice, membership_id her Moscow membership, invitation_id and token_id an
invitation and an API token of Moscow, token the link of that invitation, pk of a passkey is
alice's passkey, the admin's object_id is Moscow or alice. Regex patterns (only the admin's app
index and catch-all view) get sample paths from `regex_samples()`, each its own row
`url [sample path]`, and every sample must resolve back to its pattern.

Each request runs against fresh state, inside a savepoint rolled back afterwards and with an empty
cache, so a POST that disables a person or revokes a token changes nothing for the next request.

After a change of views or rules, regenerate the table with

    AUTHZ_MATRIX_WRITE=1 uv run --frozen pytest tests/test_authz_matrix.py

and REVIEW THE DIFF LINE BY LINE before committing it. The table is the specification: a changed
cell is a change of who may do what, and a wrong cell committed is a hole made permanent.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponseBase
from django.test import Client, RequestFactory, override_settings
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern

from conftest import MakeUser
from safepassage.accounts import services as account_services
from safepassage.accounts.middleware import IdleTimeoutMiddleware
from safepassage.accounts.models import Membership, Organisation, User
from safepassage.accounts.rules import rule_for
from safepassage.admin import admin_site
from safepassage.api import services as api_services
from safepassage.audit.models import AuditEntry, Outcome
from safepassage.audit.services import object_pseudonym
from safepassage.intake import services as intake_services
from safepassage.intake.models import HelpRequest, IntakeSettings, Receiver, RequestFile, RoutingRule
from safepassage.vault import files
from tests.webauthn import registration_response

TABLE = Path(__file__).with_name("authz_matrix.csv")
WRITE_ENV = "AUTHZ_MATRIX_WRITE"
REGENERATE = f"if the change is intended: {WRITE_ENV}=1 uv run --frozen pytest tests/test_authz_matrix.py"
BACKEND = "safepassage.accounts.backends.AuthenticationBackend"
API_NAMESPACE = "api"
API_METHODS = ("GET", "POST", "PUT", "DELETE")
WEB_METHODS = ("GET", "POST")
MISSING_ID = "2147483647"

# URL arguments that name an object of an organisation: out of scope they answer 404, audited.
SCOPED_ARGUMENTS = {
    "person_id": "accounts.user",
    "membership_id": "accounts.membership",
    "invitation_id": "accounts.invitation",
    "token_id": "api.apitoken",
    "request_id": "intake.helprequest",
}


# --- principals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    column: str
    username: str = ""  # empty: no session
    fresh: bool = True  # re-authenticated just now, so step-up lets the request through
    bearer: bool = False  # sends the Moscow API token
    in_moscow: bool = False


PRINCIPALS: tuple[Principal, ...] = (
    Principal("anonymous"),
    Principal("caseworker:alice", "alice", in_moscow=True),
    Principal("org_admin:olga", "olga", in_moscow=True),
    Principal("auditor:ada", "ada", in_moscow=True),
    Principal("coordinator:carl", "carl"),
    Principal("liaison:lina", "lina"),
    Principal("treasurer:tove", "tove"),
    Principal("researcher:rita", "rita"),
    Principal("platform_admin:pat", "pat"),
    Principal("disabled:dora", "dora", in_moscow=True),
    Principal("other_org_admin:otto", "otto"),
    Principal("no_factor:nadia", "nadia", in_moscow=True),
    Principal("stale_org_admin:olga", "olga", fresh=False, in_moscow=True),
    Principal("api_token:moscow", bearer=True),
)
BY_COLUMN = {p.column: p for p in PRINCIPALS}


# --- the scene: the objects of Moscow that the paths point at -----------------------------------


@dataclass
class Scene:
    people: dict[str, User]
    # URL argument (or "admin:<model label>") -> (value in the path, name shown in the table)
    arguments: dict[str, tuple[str, str]]
    api_token: str
    audit_baseline: int  # entries above this seq were written by the request being asked
    shares: list[str]  # the vault's, unsealed for the scene (help requests need intake keys)


def passkey_credential(credential_id: bytes) -> dict[str, Any]:
    return registration_response(credential_id)


def _help_request_of(organisation: Organisation) -> tuple[HelpRequest, RequestFile]:
    """A help request sent to the organisation through the public face, with one file."""
    Receiver.objects.create(organisation=organisation, public_name="Moscow")
    intake_services.request_submit(
        intake_services.Submission(
            situation="situation",
            location="location",
            region="",
            urgency="urgent",
            needs=["food"],
            contact="",
            language="ru",
        ),
        [],
    )
    help_request = HelpRequest.objects.get()
    request_file = RequestFile(request=help_request, kind="pdf", size=0)
    request_file.seal_on_arrival(organisation.pk)
    request_file.file_id, request_file.size = files.store(
        request_file.record_key(), [b"%PDF-1.4"], place=f"{RequestFile._meta.db_table}/{request_file.pk}"
    )
    request_file.name = "statement.pdf"
    request_file.save()
    return help_request, request_file


@pytest.fixture
def scene(
    orgs: dict[str, Organisation], people: dict[str, User], make_user: MakeUser, unsealed: list[str]
) -> Scene:
    moscow = orgs["moscow"]
    olga, alice = people["olga"], people["alice"]
    everyone = {**people, "nadia": make_user("nadia", moscow, "org_admin", factor=False)}
    membership = Membership.objects.get(user=alice, organisation=moscow)
    invitation, link = account_services.invitation_create(
        by=olga, organisation=moscow, username="ivan", role="caseworker"
    )
    token_row, token = api_services.api_token_create(
        by=olga, organisation=moscow, name="Moscow CRM", actions=["api.partner.read"], days=30
    )
    passkey = Authenticator.objects.create(
        user=alice,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "alice's key", "credential": passkey_credential(b"alice-key")},
    )
    help_request, request_file = _help_request_of(moscow)
    rule = RoutingRule.objects.create(receiver_id=moscow.pk, region="chechnya")
    IntakeSettings.objects.create(pk=1)
    organisation_type = ContentType.objects.get_for_model(Organisation)
    last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    return Scene(
        people=everyone,
        arguments={
            "person_id": (str(alice.pk), "alice"),
            "membership_id": (str(membership.pk), "alice@moscow"),
            "invitation_id": (str(invitation.pk), "invitation@moscow"),
            "token_id": (str(token_row.pk), "api-token@moscow"),
            "token": (link, "invitation-link@moscow"),
            "request_id": (str(help_request.pk), "help-request@moscow"),
            "file_id": (str(request_file.pk), "request-file@moscow"),
            "passkey": (str(passkey.pk), "alice-passkey"),
            "content_type_id": (str(organisation_type.pk), "organisation-type"),
            "admin:accounts.organisation": (str(moscow.pk), "moscow"),
            "admin:accounts.user": (str(alice.pk), "alice"),
            "admin:intake.receiver": (str(moscow.pk), "receiver-moscow"),
            "admin:intake.routingrule": (str(rule.pk), "routing-rule"),
            "admin:intake.intakesettings": ("1", "intake-settings"),
        },
        api_token=token,
        audit_baseline=last or 0,
        shares=unsealed,
    )


# --- URL patterns and their concrete paths --------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str  # "namespace:name", or the route of an unnamed pattern
    route: str  # the whole route, e.g. "people/<int:person_id>/"
    namespaces: tuple[str, ...]
    regex: bool


def _join(prefix: str, route: str) -> str:
    # As Django joins ResolverMatch.route, so that a sampled path resolves back to the same string.
    return prefix + (route[1:] if route.startswith("^") else route)


def url_patterns() -> list[Pattern]:
    """Every URL pattern of the server, included ones too, in the order of the URL configuration."""
    found: list[Pattern] = []

    def walk(resolver: URLResolver, prefix: str, namespaces: tuple[str, ...], regex: bool) -> None:
        for entry in resolver.url_patterns:
            is_regex = regex or isinstance(entry.pattern, RegexPattern)
            if isinstance(entry, URLResolver):
                inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
                walk(entry, _join(prefix, str(entry.pattern)), inner, is_regex)
            elif isinstance(entry, URLPattern):
                route = _join(prefix, str(entry.pattern))
                key = ":".join((*namespaces, entry.name)) if entry.name else route
                found.append(Pattern(key=key, route=route, namespaces=namespaces, regex=is_regex))

    walk(get_resolver(), "", (), False)
    return found


_ARGUMENT = re.compile(r"<(?:[^>:]+:)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Sample:
    pattern: Pattern
    row: str  # the `url` column
    path: str  # the concrete path requested
    shown: str  # the path with its arguments named
    values: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def methods(self) -> tuple[str, ...]:
        return API_METHODS if self.pattern.namespaces[:1] == (API_NAMESPACE,) else WEB_METHODS

    @property
    def scoped(self) -> tuple[str, str] | None:
        """(argument, object kind) of the organisation-scoped object in the path, if any."""
        return next(
            ((name, SCOPED_ARGUMENTS[name]) for name in self.values if name in SCOPED_ARGUMENTS), None
        )

    def with_value(self, name: str, value: str) -> str:
        """The path with one argument replaced."""
        return fill(self.pattern.route, {**{n: v for n, (v, _label) in self.values.items()}, name: value})


def fill(route: str, values: dict[str, str]) -> str:
    return "/" + _ARGUMENT.sub(lambda m: values[m["name"]], route)


def regex_samples() -> dict[str, list[str]]:
    """Concrete paths for the regex patterns, by row key."""
    app_labels = sorted({model._meta.app_label for model in admin_site._registry})
    return {
        "admin:app_list": [f"/admin/{label}/" for label in app_labels],
        # The admin's catch-all: an unknown page, and a known one without its trailing slash.
        "admin/(?P<url>.*)$": ["/admin/nowhere/", "/admin/accounts/organisation"],
    }


def _argument(scene: Scene, pattern: Pattern, name: str) -> tuple[str, str]:
    if pattern.namespaces[:1] == ("admin",) and name == "object_id":
        if "content_type_id" in pattern.route:
            return scene.arguments["admin:accounts.organisation"]
        app_label, model_name = pattern.route.split("/")[1:3]  # admin/<app>/<model>/<path:object_id>/...
        name = f"admin:{app_label}.{model_name}"
    elif name == "pk" and "webauthn" in pattern.route:
        name = "passkey"
    if name not in scene.arguments:
        raise LookupError(f"No sample value for <{name}> of {pattern.key!r}: add one to the scene fixture.")
    return scene.arguments[name]


def samples(scene: Scene) -> list[Sample]:
    made: list[Sample] = []
    by_regex = regex_samples()
    for pattern in url_patterns():
        if pattern.regex:
            if not by_regex.get(pattern.key):
                raise LookupError(
                    f"No sample paths for the regex pattern {pattern.key!r}: add some to regex_samples()."
                )
            made.extend(
                Sample(pattern, f"{pattern.key} [{path}]", path, path) for path in by_regex[pattern.key]
            )
            continue
        values = {m["name"]: _argument(scene, pattern, m["name"]) for m in _ARGUMENT.finditer(pattern.route)}
        path = fill(pattern.route, {name: value for name, (value, _label) in values.items()})
        shown = fill(pattern.route, {name: "{" + label + "}" for name, (_value, label) in values.items()})
        made.append(Sample(pattern, pattern.key, path, shown, values))
    for sample in made:
        route = resolve(sample.path).route
        assert route == sample.pattern.route, (
            f"{sample.path} resolves to {route!r}, not to {sample.pattern.route!r}"
        )
    return made


def rule_name(path: str) -> str:
    match = resolve(path)
    rule = rule_for(match.func, match.url_name, list(match.namespaces))
    if rule is None:
        return "none"
    return f"{rule.kind}:{rule.action}" if rule.action else rule.kind


# --- asking ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    outcome: str
    denials: list[
        tuple[int | None, str, str]
    ]  # (actor, object kind, object ref) of its "denied" audit entries
    error: str = ""


SPECIAL_REDIRECTS = {
    "account_login": "login",
    "mfa_activate_totp": "enrol",
    "account_reauthenticate": "reauth",
    "mfa_reauthenticate": "reauth",
}


def classify(response: HttpResponseBase) -> str:
    status = response.status_code
    if 200 <= status < 300:
        return "ok"
    if not 300 <= status < 400:
        return str(status)
    target = urlsplit(response["Location"])
    if target.netloc:
        return "redirect:elsewhere"
    try:
        match = resolve(target.path)
    except Resolver404:
        return f"redirect:{target.path}"
    name = match.view_name if match.url_name else match.route
    return SPECIAL_REDIRECTS.get(name, f"redirect:{name}")


def log_in(scene: Scene, principal: Principal) -> str:
    """A session for the principal, as after the second factor; returns its key ("" for none)."""
    if not principal.username:
        return ""
    client = Client()
    user = scene.people[principal.username]
    client.force_login(user, backend=BACKEND)
    session = client.session
    # Seen just now: the idle timeout neither logs out nor rewrites the session on every request.
    session[IdleTimeoutMiddleware.KEY] = int(time.time())
    if principal.fresh:
        # As after allauth's re-authentication page: step-up (ACCOUNT_REAUTHENTICATION_TIMEOUT) passes.
        request = RequestFactory().get("/")
        request.session = session
        request.user = user
        record_authentication(request, user, method="password", reauthenticated=True)
    session.save()
    return str(session.session_key)


@dataclass
class Asker:
    """Sends requests as principals, each against fresh state."""

    scene: Scene
    # One client for the whole run: a new one would load the middleware (and WhiteNoise's file scan) again.
    client: Client = field(default_factory=lambda: Client(raise_request_exception=False))
    sessions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sessions = {p.column: log_in(self.scene, p) for p in PRINCIPALS}

    def ask(self, principal: Principal, method: str, path: str) -> Answer:
        savepoint = transaction.savepoint()
        try:
            cache.clear()
            self.client.cookies = SimpleCookie()
            if self.sessions[principal.column]:
                self.client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[principal.column]
            headers = {"Authorization": f"Bearer {self.scene.api_token}"} if principal.bearer else {}
            if method == "POST":
                response = self.client.post(path, headers=headers)  # an empty form
            else:
                response = self.client.generic(method, path, headers=headers)
            exc_info = getattr(response, "exc_info", None)
            denials = AuditEntry.objects.filter(seq__gt=self.scene.audit_baseline, outcome=Outcome.DENIED)
            return Answer(
                outcome=classify(response),
                denials=list(denials.values_list("actor_id", "object_kind", "object_ref")),
                error=f"{exc_info[0].__name__}: {exc_info[1]}" if exc_info else "",
            )
        finally:
            transaction.savepoint_rollback(savepoint)


Key = tuple[str, str]  # (url, method)
Row = dict[str, str]


@dataclass
class Run:
    scene: Scene  # of the test that asked; its rows are gone after that test
    samples: list[Sample]
    rows: dict[Key, Row]
    answers: dict[tuple[str, str, str], Answer]  # (url, method, principal column) -> answer


# Sessions in the database, so that they outlive the cache being emptied before every request.
@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
def run_matrix(scene: Scene) -> Run:
    asker = Asker(scene)
    run = Run(scene=scene, samples=samples(scene), rows={}, answers={})
    for sample in run.samples:
        rule = rule_name(sample.path)
        for method in sample.methods:
            row: Row = {"url": sample.row, "method": method, "rule": rule, "path": sample.shown}
            for principal in PRINCIPALS:
                answer = asker.ask(principal, method, sample.path)
                run.answers[(sample.row, method, principal.column)] = answer
                row[principal.column] = answer.outcome
            run.rows[(sample.row, method)] = row
    return run


# --- the table ------------------------------------------------------------------------------------

COLUMNS = ["url", "method", "rule", "path", *(p.column for p in PRINCIPALS)]


def write_table(rows: dict[Key, Row]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows.values())
    TABLE.write_text(out.getvalue(), encoding="utf-8")


def read_table() -> tuple[list[str], dict[Key, Row]]:
    if not TABLE.exists():
        return [], {}
    with TABLE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        table = {(row["url"], row["method"]): row for row in reader}
        return list(reader.fieldnames or []), table


def differences(expected: dict[Key, Row], found: dict[Key, Row], header: list[str]) -> Iterator[str]:
    if header != COLUMNS:
        yield f"The columns of tests/{TABLE.name} are {header}, expected {COLUMNS}."
    for key, row in found.items():
        if key not in expected:
            yield f"{key[1]} {key[0]} ({row['path']}) has no row: add a row to tests/{TABLE.name}."
            continue
        for column in COLUMNS[2:]:
            want, got = expected[key].get(column), row[column]
            if want != got:
                yield f"{key[1]} {key[0]}, {column}: the table says {want!r}, the server answers {got!r}."
    for key in expected.keys() - found.keys():
        yield f"{key[1]} {key[0]} has a row in tests/{TABLE.name} but no such URL exists: remove the row."


# --- the tests ------------------------------------------------------------------------------------

_RUNS: dict[str, Run] = {}


@pytest.fixture
def matrix(scene: Scene) -> Run:
    """The whole matrix, asked once for the tests of this module: the requests are the slow part."""
    if "run" not in _RUNS:
        _RUNS["run"] = run_matrix(scene)
    return _RUNS["run"]


def test_every_url_answers_every_principal_as_the_table_says(matrix: Run) -> None:
    if os.environ.get(WRITE_ENV) == "1":
        write_table(matrix.rows)
    header, expected = read_table()
    problems = list(differences(expected, matrix.rows, header))
    assert not problems, f"{len(problems)} differences ({REGENERATE}, and review the diff):\n" + "\n".join(
        problems
    )


def test_no_url_fails_with_a_server_error(matrix: Run) -> None:
    errors = [
        f"{method} {url} as {who}: {answer.error or answer.outcome}"
        for (url, method, who), answer in matrix.answers.items()
        if answer.outcome.startswith("5")
    ]
    assert not errors, "\n".join(errors)


def test_nobody_outside_moscow_reaches_an_object_of_moscow(matrix: Run) -> None:
    reached = [
        f"{method} {sample.row} as {who}: {matrix.rows[(sample.row, method)][who]}"
        for sample in matrix.samples
        if sample.scoped
        for method in sample.methods
        for who, principal in BY_COLUMN.items()
        if not principal.in_moscow
        and matrix.rows[(sample.row, method)][who] not in {"403", "404", "405", "login"}
    ]
    assert not reached, "\n".join(reached)


def test_every_out_of_scope_denial_is_in_the_audit_trail(matrix: Run) -> None:
    silent = []
    for sample in matrix.samples:
        if sample.scoped is None:
            continue
        argument, kind = sample.scoped
        ref = object_pseudonym(kind, sample.values[argument][0])
        for method in sample.methods:
            for who, principal in BY_COLUMN.items():
                answer = matrix.answers[(sample.row, method, who)]
                if answer.outcome != "404":
                    continue
                actor = matrix.scene.people[principal.username].pk if principal.username else None
                if (actor, kind, ref) not in answer.denials:
                    silent.append(
                        f"{method} {sample.row} as {who}: 404 without an audit entry; found {answer.denials}"
                    )
    assert not silent, "\n".join(silent)


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
def test_an_out_of_scope_object_looks_like_a_missing_one(matrix: Run, scene: Scene) -> None:
    """Where otto gets 404 for Moscow's object, olga gets the same for an id that does not exist."""
    asker = Asker(scene)
    olga = BY_COLUMN["org_admin:olga"]
    asked, different = 0, []
    for sample in samples(scene):
        if sample.scoped is None:
            continue
        for method in sample.methods:
            if matrix.rows[(sample.row, method)]["other_org_admin:otto"] != "404":
                continue
            asked += 1
            answer = asker.ask(olga, method, sample.with_value(sample.scoped[0], MISSING_ID))
            if answer.outcome != "404":
                different.append(f"{method} {sample.row} with a missing id as olga: {answer.outcome}")
    assert asked, "otto got 404 nowhere: the scope checks are not in the matrix any more."
    assert not different, "\n".join(different)
