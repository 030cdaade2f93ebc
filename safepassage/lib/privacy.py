"""Keeps client addresses and user agents out of logs and out of the request."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

from django.conf import settings
from django.utils import timezone

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Loose IPv6: at least two colon groups of hex, with or without "::".
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")
_USER_AGENT = re.compile(
    r"(?:Mozilla|Opera|Dalvik)/\d[^\"]*|(?:curl|Wget|okhttp|python-requests|python-httpx)/[\w.]+"
)

# Request headers that carry who the client is; removed before any view or library sees them.
CLIENT_HEADERS = (
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_TRUE_CLIENT_IP",
)


def redact(text: str) -> str:
    text = _IPV4.sub("[address]", text)
    # IPv6 needs "::" or five groups or more, so clock times like 12:30:45 stay readable.
    text = _IPV6.sub(
        lambda m: "[address]" if "::" in m.group(0) or m.group(0).count(":") >= 4 else m.group(0), text
    )
    return _USER_AGENT.sub("[agent]", text)


class PrivacyLogFilter(logging.Filter):
    """Rewrites every record's message without addresses or user agents."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            # An access line says what was asked and answered, nothing of who asked: not the address, the
            # agent, the referrer or the query (gunicorn's atoms: m method, U path, s status).
            atoms = record.args
            record.msg = f"{atoms.get('m', '-')} {atoms.get('U', '-')} {atoms.get('s', '-')}"
            record.args = ()
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        # The request object rides along on django.request records; formatters must not reach it.
        if hasattr(record, "request"):
            record.request = None
        return True


def client_pseudonym(address: str) -> str:
    """A keyed, daily-rotating pseudonym of a client address, for rate limits only.

    The key changes each UTC day, so yesterday's pseudonyms cannot be linked to today's,
    and without the server's secret they cannot be turned back into addresses.
    """
    day = timezone.now().strftime("%Y-%m-%d")
    key = hmac.new(settings.SECRET_KEY.encode(), f"client-pseudonym:{day}".encode(), hashlib.sha256).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]
