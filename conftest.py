"""Shared fixtures: the organisations of the scenario and a named person for every role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.test import Client

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "correct horse battery staple"


def pytest_report_header(config: Any) -> str:
    from django.conf import settings as dj_settings

    return f"database: {getattr(dj_settings, 'DATABASE_CHOICE', 'unknown')}"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def orgs(db: None) -> dict[str, Any]:
    from safepassage.accounts.models import Organisation

    made = {}
    for key, name, kind, country in [
        ("moscow", "Russian LGBT Network", "local_group", "RU"),
        ("railroad", "Rainbow Railroad", "relocation_ngo", "CA"),
        ("fund", "Regnbågsfonden", "fund", "SE"),
        ("rfsl", "RFSL", "federation", "SE"),
        ("lithuania", "Ministry of Foreign Affairs of Lithuania", "government", "LT"),
    ]:
        made[key] = Organisation.objects.create(name=name, kind=kind, country=country)
    return made


MakeUser = Callable[..., Any]


@pytest.fixture
def make_user(db: None) -> MakeUser:
    from safepassage.accounts.models import Membership, User

    def make(
        username: str, org: Any = None, role: str = "", *, factor: bool = True, active: bool = True
    ) -> Any:
        user = User(username=username, is_active=active)
        user.set_password(PASSWORD)
        user.save()
        if org is not None and role:
            Membership.objects.create(user=user, organisation=org, role=role)
        if factor:
            Authenticator.objects.create(
                user=user, type=Authenticator.Type.TOTP, data={"secret": get_adapter().encrypt(TOTP_SECRET)}
            )
        return user

    return make


@pytest.fixture
def people(orgs: dict[str, Any], make_user: MakeUser) -> dict[str, Any]:
    """alice the caseworker and olga the org admin in Moscow, bob the caseworker at Rainbow Railroad, and so on."""
    return {
        "alice": make_user("alice", orgs["moscow"], "caseworker"),
        "carl": make_user("carl", orgs["railroad"], "coordinator"),
        "lina": make_user("lina", orgs["lithuania"], "liaison"),
        "tove": make_user("tove", orgs["fund"], "treasurer"),
        "rita": make_user("rita", orgs["rfsl"], "researcher"),
        "olga": make_user("olga", orgs["moscow"], "org_admin"),
        "ada": make_user("ada", orgs["moscow"], "auditor"),
        "pat": make_user("pat", orgs["rfsl"], "platform_admin"),
        "bob": make_user("bob", orgs["railroad"], "caseworker"),
        "otto": make_user("otto", orgs["railroad"], "org_admin"),
        "dora": make_user("dora", orgs["moscow"], "caseworker", active=False),
    }


@pytest.fixture
def login() -> Callable[[Any], Client]:
    """A client logged in as the person, second factor done (as after the TOTP step)."""

    def make(user: Any, *, stepped_up: bool = False) -> Client:
        client = Client()
        client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[0])
        if stepped_up:
            step_up(client)
        return client

    return make


def step_up(client: Client) -> None:
    """Record a second-factor re-authentication just now, as allauth does after the step-up page."""
    import time

    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    session = client.session
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(session["_auth_user_id"])
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "mfa", "type": "totp", "at": time.time(), "reauthenticated": True}
    ]
    session.save()


@pytest.fixture(scope="session")
def audit_table_truncatable(django_db_setup: None, django_db_blocker: Any) -> Any:
    """Lets the flush that ends a transactional test (TRUNCATE) empty the append-only audit table,
    in the test database only and for this session only. The trigger stays on in every real database."""
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.skip("transactional tests run on PostgreSQL")
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_no_truncate")
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_no_truncate")


@pytest.fixture
def vault_runtime(settings: Any) -> Any:
    """A tmpfs runtime directory of the test's own, removed afterwards, so tests never share a sealed state."""
    import shutil
    import uuid
    from pathlib import Path

    from safepassage.vault import keyring

    path = Path("/dev/shm") / f"safepassage-test-{uuid.uuid4().hex[:12]}"  # noqa: S108 (tmpfs on purpose)
    settings.VAULT_RUNTIME_DIR = str(path)
    yield path
    keyring.forget_everything()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def unsealed(db: None, vault_runtime: Any) -> list[str]:
    """An initialised vault (2 of 2 shares), unsealed; the shares, to unseal again."""
    from safepassage.vault import services

    shares = services.vault_init(shares=2, threshold=2)
    for share in shares:
        services.vault_add_share(mnemonic=share)
    return shares
