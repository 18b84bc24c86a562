"""Time is always timezone-aware UTC in storage. Rules take `now` as an argument; only entry points
and background jobs read the clock, through this module so tests can substitute it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Test and demo deployments only (LIVEPLEDGE_TEST_CLOCK, refused in production): how far this
# process's clock runs ahead of the wall clock, so a browser test can let a deadline pass.
_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


def offset() -> timedelta:
    return _offset


def set_offset(value: timedelta) -> None:
    """Move this process's clock (tests; the test-clock endpoint). Never backwards past zero
    is not enforced: a test may set any offset and must set it back."""
    global _offset
    _offset = value


def as_utc(value: datetime) -> datetime:
    """Stored datetimes come back naive from SQLite; they are UTC by construction."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
