"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) of session-record entries.

An entry's bytes are what its leaf hash covers, so the same entry must have one encoding
everywhere: keys sorted by UTF-16 code units, no whitespace, numbers in ECMAScript form, strings
with the minimal escapes, UTF-8. The `rfc8785` package implements the scheme; entries hold only
strings, integers (|n| < 2^53), booleans, null, lists and objects (no floats: money is fen)."""

from __future__ import annotations

import json
from typing import Any

import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalError(ValueError):
    pass


def canonical(value: Any) -> bytes:
    """The RFC 8785 encoding of an entry."""
    _check(value)
    return rfc8785.dumps(value)


def parse_canonical(data: bytes) -> dict[str, Any]:
    """Parse an entry and insist it is canonical (a re-encoded entry would hash differently)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CanonicalError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise CanonicalError("an entry is a JSON object")
    if canonical(value) != data:
        raise CanonicalError("not in RFC 8785 canonical form")
    return value


def _check(value: Any) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer {value} is outside ±(2^53-1)")
        return
    if isinstance(value, float):
        raise CanonicalError("entries carry no floating-point numbers")
    if isinstance(value, list | tuple):
        for item in value:
            _check(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError("object keys are strings")
            _check(item)
        return
    raise CanonicalError(f"{type(value).__name__} has no JSON form")
