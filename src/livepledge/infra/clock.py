"""Time is always timezone-aware UTC in storage. Rules take `now` as an argument; only entry points
and background jobs read the clock, through this module so tests can substitute it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Stored datetimes come back naive from SQLite; they are UTC by construction."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
