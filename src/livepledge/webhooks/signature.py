"""Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric `v1`).

Pure and dependency-free on purpose: the sender signs with `sign`, and `verify` is what a
receiver runs — the same steps as the standard-library example in docs/fans.md.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the secret's bytes
(the base64 text after `whsec_`); the `webhook-signature` header is a space-separated list of
`v1,<base64 HMAC-SHA256>`, one per secret in use (two for a day after a rotation)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Iterable

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for at least 24
TOLERANCE_SECONDS = 300  # a receiver refuses timestamps further than this from its clock


def new_secret() -> str:
    return PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded text after `whsec_`."""
    return base64.b64decode(secret.removeprefix(PREFIX), validate=True)


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign(secrets: Iterable[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,...` per secret, space-separated."""
    return " ".join(signature(s, webhook_id, timestamp, body) for s in secrets)


def headers(secrets: Iterable[str], webhook_id: str, timestamp: int,
            body: bytes) -> dict[str, str]:
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secrets, webhook_id, timestamp, body)}


def verify(secret: str, *, webhook_id: str, webhook_timestamp: str, webhook_signature: str,
           body: bytes, now: float, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when one of the header's `v1` signatures is ours for this id, timestamp and body,
    and the timestamp is within `tolerance` seconds of `now` (either way: a replayed old
    delivery and a forged future one both fail)."""
    try:
        timestamp = int(webhook_timestamp)
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    try:
        expected = signature(secret, webhook_id, timestamp, body).encode()
    except ValueError:  # not a whsec_ secret
        return False
    return any(hmac.compare_digest(expected, candidate.encode())
               for candidate in webhook_signature.split(" ") if candidate.startswith("v1,"))
