"""A security-key answer that cannot be read gets a message on every page that takes one, never a 500.

These go through allauth's views, so they need MFA_FORMS in settings pointing at safepassage.accounts.mfa_forms.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from allauth.core import context
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal import auth
from django.contrib.messages import get_messages
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse
from fido2 import cbor
from fido2.utils import websafe_encode
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import PASSWORD, MakeUser
from safepassage.accounts.mfa_forms import LoginWebAuthnForm, SignupWebAuthnForm
from tests.webauthn import registration_response

SECOND_STEP = "/accounts/2fa/authenticate/"
REAUTHENTICATE = "/accounts/2fa/webauthn/reauthenticate/"
ADD = "/accounts/2fa/webauthn/add/"
UNREADABLE = "The security key's answer could not be read. Try again."

# Names from the WebAuthn JSON encoding, so that generated objects get past the first lookups in fido2.
_KEYS = st.sampled_from(
    [
        "id",
        "rawId",
        "type",
        "response",
        "clientDataJSON",
        "authenticatorData",
        "signature",
        "userHandle",
        "attestationObject",
        "transports",
        "clientExtensionResults",
        "authenticatorAttachment",
    ]
) | st.text(max_size=8)
_BASE64URL = st.binary(max_size=48).map(websafe_encode)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | _BASE64URL
    | st.sampled_from(["public-key", "webauthn.get", "webauthn.create"])
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=6),
    max_leaves=25,
)
_CLIENT_DATA = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["webauthn.get", "webauthn.create"]) | st.text(max_size=8),
        "challenge": _BASE64URL,
        "origin": st.sampled_from(["http://testserver", "https://example.org"]),
    },
    optional={"crossOrigin": st.booleans()},
).map(lambda data: websafe_encode(json.dumps(data).encode()))
_ATTESTATION_OBJECT = st.fixed_dictionaries(
    {
        "fmt": st.sampled_from(["none", "packed", "fido-u2f"]),
        "attStmt": st.just({}),
        "authData": st.binary(max_size=80),
    }
).map(lambda data: websafe_encode(cbor.encode(data)))
# Well-formed on the outside, nonsense inside: this is what reaches fido2's binary decoding.
SHAPED = st.fixed_dictionaries(
    {
        "id": _BASE64URL,
        "rawId": _BASE64URL,
        "type": st.just("public-key"),
        "response": st.fixed_dictionaries(
            {"clientDataJSON": _CLIENT_DATA | _BASE64URL},
            optional={
                "authenticatorData": _BASE64URL,
                "signature": _BASE64URL,
                "userHandle": _BASE64URL,
                "attestationObject": _ATTESTATION_OBJECT | _BASE64URL,
            },
        ),
    },
    optional={"clientExtensionResults": JSON_VALUES},
)
# What a client can put in the hidden field: any JSON, a WebAuthn-shaped object, or text that is not JSON.
CREDENTIALS = JSON_VALUES.map(json.dumps) | SHAPED.map(json.dumps) | st.text(max_size=80)

EXAMPLES = ['{"id": "AAAA"}', "0", "false", "[1]", '"text"', "{", ""]

HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _with_examples(test: Any) -> Any:
    for credential in EXAMPLES:
        test = example(credential=credential)(test)
    return test


def _messages(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def alice_has_a_key(people: dict[str, Any]) -> Authenticator:
    """A registered security key for alice, so that the security-key pages are open to her."""
    registration = registration_response(b"alice's key", host="testserver", scheme="https")
    return Authenticator.objects.create(
        user=people["alice"],
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "key", "credential": registration},
    )


@pytest.fixture
def at_second_step(people: dict[str, Any], alice_has_a_key: Authenticator) -> Client:
    """A client that has given alice's password and now faces the second-factor page."""
    client = Client()
    response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == SECOND_STEP
    return client


def test_an_unreadable_answer_at_log_in_is_a_message(at_second_step: Client) -> None:
    at_second_step.get(SECOND_STEP)
    response = at_second_step.post(SECOND_STEP, {"credential": '{"id": "AAAA"}'})
    assert response.status_code == 200
    assert response.context["webauthn_form"].errors["credential"] == [UNREADABLE]
    assert at_second_step.get(reverse("home")).status_code == 302


@HYPOTHESIS
@_with_examples
@given(credential=CREDENTIALS)
def test_the_second_factor_page_answers_any_credential_without_a_server_error(
    at_second_step: Client, credential: str
) -> None:
    cache.clear()  # so throttling does not stop the answer before it is read
    at_second_step.get(SECOND_STEP)  # a fresh challenge, as the page gives the browser
    response = at_second_step.post(SECOND_STEP, {"credential": credential})
    assert response.status_code == 200
    assert response.context["webauthn_form"].errors["credential"]


@HYPOTHESIS
@_with_examples
@given(credential=CREDENTIALS)
def test_the_security_key_step_up_answers_any_credential_without_a_server_error(
    people: dict[str, Any], alice_has_a_key: Authenticator, login: Any, credential: str
) -> None:
    cache.clear()
    client = login(people["alice"], stepped_up=True)
    assert client.get(REAUTHENTICATE).status_code == 200
    response = client.post(REAUTHENTICATE, {"credential": credential})
    # allauth sends a failed step-up back to the log-in page, with the reason as a message.
    assert response.status_code == 302 and response["Location"] == reverse("account_login")
    assert _messages(response)


@HYPOTHESIS
@_with_examples
@given(credential=CREDENTIALS)
def test_adding_a_security_key_answers_any_credential_without_a_server_error(
    people: dict[str, Any], login: Any, credential: str
) -> None:
    cache.clear()
    client = login(people["alice"], stepped_up=True)
    client.get(ADD)
    response = client.post(ADD, {"name": "key", "credential": credential})
    assert response.status_code == 200
    assert response.context["form"].errors["credential"]
    assert not Authenticator.objects.filter(type=Authenticator.Type.WEBAUTHN).exists()


@pytest.fixture
def newbie(make_user: MakeUser) -> Any:
    return make_user("newbie", factor=False)


def _request() -> Any:
    request = RequestFactory().post("/")
    request.session = SessionStore()
    return request


# Passkey log-in and sign-up are switched off, so these forms have no page; they are hardened all the same.
@HYPOTHESIS
@_with_examples
@given(credential=CREDENTIALS)
def test_the_passkey_login_form_answers_any_credential_with_an_error(db: None, credential: str) -> None:
    with context.request_context(_request()):
        auth.begin_authentication(None)
        form = LoginWebAuthnForm(data={"credential": credential})
        assert not form.is_valid()
        assert form.errors["credential"]


@HYPOTHESIS
@_with_examples
@given(credential=CREDENTIALS)
def test_the_passkey_signup_form_answers_any_credential_with_an_error(newbie: Any, credential: str) -> None:
    with context.request_context(_request()):
        auth.begin_registration(newbie, True)
        form = SignupWebAuthnForm(user=newbie, data={"name": "key", "credential": credential})
        assert not form.is_valid()
        assert form.errors["credential"]
