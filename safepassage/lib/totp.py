"""Current TOTP codes for a secret: for the demo's printout and for tests that log in."""

from __future__ import annotations

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value


def totp_code(secret: str, at: float | None = None, period: int = 30) -> str:
    counter = int((time.time() if at is None else at) // period)
    return str(format_hotp_value(hotp_value(secret, counter)))
