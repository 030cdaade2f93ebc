"""Sets Django up in the bench process (test mode, the server's database) and loads the demo data.

The `demo` command refuses production mode, so this calls load_demo() directly, against the same
DATABASE_URL and SECRET_KEY as the production-mode server. It refuses a database that holds anyone but
the demo accounts: loading them there would open it with a published password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import django

from bench import BenchError


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    totp_secret: str


def setup_django(env: dict[str, str]) -> None:
    """Configures Django here from ENV; must run before anything imports models or settings."""
    # Exactly ENV: what the bench left out of it (DATABASE_URL_FILE, REDIS_URL, ...) must not reach Django here.
    for name in set(os.environ) - set(env):
        del os.environ[name]
    os.environ.update(env)
    django.setup()


def seed(username: str) -> Login:
    """Loads the demo (idempotent) and makes sure USERNAME can log in with the demo password and TOTP."""
    # Imported here: models need the app registry that setup_django() fills.
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator
    from cryptography.fernet import InvalidToken
    from django.conf import settings
    from django.db import connections

    from safepassage.accounts.demo import DEMO_PASSWORD, LOGINS, load_demo
    from safepassage.accounts.models import User

    try:
        # Checked before load_demo() writes anything. The count only: the names are not the bench's to print.
        others = User.objects.exclude(username__in=[login.username for login in LOGINS]).count()
        if others:
            raise BenchError(
                f"the database {settings.DATABASES['default']['NAME']!s} holds {others} account(s) besides "
                "the demo ones; the bench loads demo accounts with a published password, so it runs only on "
                "a database of its own: point BENCH_DATABASE_URL at an empty one"
            )
        existing = User.objects.filter(username=username).first()
        if existing is not None and not existing.check_password(DEMO_PASSWORD):
            raise BenchError(
                f"{username!r} in this database is not the demo account; not benching against it"
            )
        load_demo()
        user = User.objects.get(username=username)
        adapter = get_adapter()
        totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
        try:
            secret: str | None = adapter.decrypt(totp.data["secret"])
        except InvalidToken:
            secret = None
        if secret != settings.DEMO_TOTP_SECRET:
            # The database outlived var/bench/secret_key (e.g. after `make clean`), so the demo secret
            # is sealed under an old key. It is the known demo secret: seal it again under this one.
            totp.data = {**totp.data, "secret": adapter.encrypt(settings.DEMO_TOTP_SECRET)}
            totp.save(update_fields=["data"])
    finally:
        # The bench process needs no connection while it measures the server.
        connections.close_all()
    return Login(username=username, password=DEMO_PASSWORD, totp_secret=settings.DEMO_TOTP_SECRET)
