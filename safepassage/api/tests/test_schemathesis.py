"""The partner API against its own OpenAPI document: generated requests, with a token and without.

The schema comes from the server's WSGI application, as a partner would fetch it. The application runs
in the test's thread, on the test's database connection, so it sees the token made inside the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.core.result import Ok

from safepassage.api.models import ApiToken
from safepassage.wsgi import application

# Loaded when the module is collected: schemathesis.pytest.from_fixture reads Node._nodeid, which
# pytest 9.2 no longer has. Fetching the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

# Bounded so the run takes seconds.
BOUNDED = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db: None) -> Iterator[None]:
    """After each request Django closes a connection that is inside a transaction, as the test's is.

    Django's test client unhooks the same handler around its requests; the real WSGI application does not.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _expected(case: schemathesis.Case[Any], *, allowed: int) -> set[int]:
    if case.method.upper() != case.operation.method.upper():
        return {405}  # schemathesis also tries methods the operation does not have
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return {allowed, 401}  # a negative case may drop or break the Authorization header
    return {allowed}


@BOUNDED
@schema.parametrize()
def test_the_api_keeps_its_documented_promises_with_a_token(
    case: schemathesis.Case[Any], moscow_token: tuple[ApiToken, str]
) -> None:
    _row, token = moscow_token
    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in _expected(case, allowed=200), response.text


@BOUNDED
@schema.parametrize()
def test_the_api_keeps_its_documented_promises_without_a_token(case: schemathesis.Case[Any]) -> None:
    # Schemathesis also sends made-up Authorization headers here: none of them may get in.
    response = case.call_and_validate()
    assert response.status_code in _expected(case, allowed=401), response.text


def test_the_schema_holds_every_operation() -> None:
    schema.validate()
    labels = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        labels.append(result.ok().label)
    assert labels == ["GET /api/v1/me"]
