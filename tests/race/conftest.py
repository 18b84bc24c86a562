"""The deployment shapes every race test runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.race.race_support import SHAPES, Shape


@pytest.fixture(params=SHAPES)
def shape(request: pytest.FixtureRequest, tmp_path: Path) -> Shape:
    """sqlite: one process, embedded gate. postgresql: one process, embedded gate.
    postgresql+redis: the scale-out shape, two workers sharing the Redis gate."""
    if request.param == "sqlite":
        return Shape("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}", "", 1)
    pg_url = request.getfixturevalue("pg_url")
    if request.param == "postgresql":
        return Shape("postgresql", pg_url, "", 1)
    return Shape("postgresql+redis", pg_url, request.getfixturevalue("redis_url"), 2)
