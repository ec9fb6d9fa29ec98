"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>".

Sent as ``Tandem-Signature: t=<unix seconds>,v1=<hex>``. Signing the timestamp with the body
lets a receiver refuse a captured request replayed later (`verify` with a tolerance). This
module is also the receiver-side helper integrators can copy: it depends on nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Tandem-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "Tandem-Event"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The request does not carry a valid signature."""


class StaleTimestamp(SignatureError):
    """Signed, but too long ago (or in the future): a replay is refused."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for `body` sent at `timestamp` (now by default)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={_digest(secret, ts, body)}"


def verify(secret: str, header: str | None, body: bytes, *,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> int:
    """Check a received signature; returns its timestamp or raises SignatureError."""
    if not header:
        raise SignatureError("missing signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature does not match")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise StaleTimestamp(f"timestamp is {int(current - timestamp)} s off; refusing a replay")
    return timestamp
