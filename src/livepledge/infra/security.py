"""Password hashing (argon2), opaque tokens stored only as SHA-256 digests, CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying a login against a user that does not exist still costs one argon2 verification,
# so response time does not reveal which logins exist.
_DUMMY_HASH = _hasher.hash("livepledge-dummy-password")


def configure_password_hashing(*, time_cost: int, memory_kib: int) -> None:
    """Set the argon2id cost for new hashes (existing hashes keep verifying: the parameters
    are stored inside each hash)."""
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _DUMMY_HASH = _hasher.hash("livepledge-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(session_token: str, secret: str) -> str:
    """CSRF token bound to the browser session (synchronizer token derived by HMAC)."""
    return hmac.new(secret.encode(), session_token.encode(), hashlib.sha256).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
