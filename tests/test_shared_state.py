"""State that several server processes must share lives in Redis: a TOTP code used by one is refused by another."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.cache import caches
from django.test import override_settings

from safepassage.lib.totp import totp_code

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/14"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

OTHER_PROCESS = """
import django, sys
django.setup()
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
user_id, secret, code = int(sys.argv[1]), sys.argv[2], sys.argv[3]
factor = Authenticator(user_id=user_id, type="totp", data={"secret": get_adapter().encrypt(secret)})
print("accepted" if TOTP(factor).validate_code(code) else "refused")
"""


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up() and not os.environ.get("CI"), reason="no Redis at 127.0.0.1:6379")
def test_a_totp_code_used_in_one_process_is_refused_in_another() -> None:
    user_id = uuid.uuid4().int % 10**9  # a fresh user id, so earlier runs leave nothing behind
    code = totp_code(SECRET)
    env = {**os.environ, "SAFEPASSAGE_MODE": "test", "DJANGO_SETTINGS_MODULE": "safepassage.settings"}
    env["REDIS_URL"] = REDIS_URL
    first = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(user_id), SECRET, code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert first.stdout.strip() == "accepted"
    redis_cache = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    with override_settings(CACHES=redis_cache):
        factor = Authenticator(user_id=user_id, type="totp", data={"secret": get_adapter().encrypt(SECRET)})
        assert TOTP(factor).validate_code(code) is False
        caches["default"].close()
