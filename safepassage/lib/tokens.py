"""One-time links and API tokens are random enough that a plain SHA-256 is the right hash at rest."""

from __future__ import annotations

import hashlib


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
