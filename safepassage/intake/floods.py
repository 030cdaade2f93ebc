"""Floods and abuse, with no third party: fixed-window counters in the shared cache (Redis in production), and
an optional proof of work on the form.

The proof of work is hashcash-like: the form carries a signed challenge; a browser with JavaScript finds a nonce
whose SHA-256 with the challenge starts with `bits` zero bits (static/intake/pow.js, Web Crypto). A browser
without JavaScript is not refused: its challenge becomes valid on its own after a short wait, so it takes the
slower path. A challenge is accepted once.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import time

from django.core import signing
from django.core.cache import cache
from django.utils.crypto import salted_hmac

_SALT = "safepassage.intake.pow"
CHALLENGE_MAX_AGE = 3600


def now() -> float:
    """The clock of the counters and challenges (a test moves it)."""
    return time.time()


def allow(name: str, limit: int, window_seconds: int) -> bool:
    """Count one event under `name`; False once `limit` events fell in the current window."""
    if limit <= 0:
        return True
    key = f"intake:limit:{name}:{int(now()) // window_seconds}"
    cache.add(key, 0, window_seconds + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window_seconds + 5)
        count = 1
    return count <= limit


def counter_name(kind: str, identifier: str) -> str:
    """A counter's name that does not carry the identifier itself: a counter of a mailbox lives in the cache for
    up to an hour, and must not say in plain which mailbox wrote in which hour (docs/intake.md)."""
    return f"{kind}:{salted_hmac('safepassage.intake.limit', identifier).hexdigest()[:20]}"


def challenge_new(bits: int) -> str:
    return signing.dumps({"n": secrets.token_hex(12), "t": int(now()), "b": bits}, salt=_SALT)


def _leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def solves(challenge: str, proof: str, bits: int) -> bool:
    digest = hashlib.sha256(f"{challenge}:{proof}".encode()).digest()
    return _leading_zero_bits(digest) >= bits


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    WAIT = "wait"  # without a solved puzzle, the challenge is not old enough yet
    BUSY = "busy"  # the slower path's budget for this minute is spent
    SPENT = "spent"  # already used, or not ours
    EXPIRED = "expired"  # the form was open more than an hour
    STALE = "stale"  # made before the proof of work was switched on or made harder


def challenge_check(
    challenge: str, proof: str, *, bits: int, wait_seconds: int, waits_per_minute: int
) -> tuple[Verdict, int]:
    """A form's challenge, checked once; returns the verdict and, for WAIT, the seconds still to wait.

    A solved puzzle passes at once. Without one (no JavaScript) the challenge passes after `wait_seconds`, but
    only `waits_per_minute` such challenges pass per minute across the platform: collecting challenges and
    posting them after the wait is no cheaper than waiting, and floods cannot take the slower path all at
    once. A challenge made for an easier puzzle than the current one (the proof of work was just switched on
    or made harder) must be taken again."""
    try:
        data = signing.loads(challenge, salt=_SALT, max_age=CHALLENGE_MAX_AGE)
    except signing.SignatureExpired:
        return Verdict.EXPIRED, 0
    except signing.BadSignature:
        return Verdict.SPENT, 0
    if int(data["b"]) < bits:
        return Verdict.STALE, 0
    solved = bool(proof) and solves(challenge, proof, int(data["b"]))
    waited = int(now()) - int(data["t"])
    if not solved and waited < wait_seconds:
        return Verdict.WAIT, wait_seconds - waited
    if cache.get(f"intake:pow:{data['n']}") is not None:
        return Verdict.SPENT, 0
    if not solved and bits and not allow("pow-wait", waits_per_minute, 60):
        return Verdict.BUSY, 0
    if not cache.add(f"intake:pow:{data['n']}", 1, CHALLENGE_MAX_AGE + 60):
        return Verdict.SPENT, 0
    return Verdict.ACCEPTED, 0
