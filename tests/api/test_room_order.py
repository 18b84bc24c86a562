"""The snapshot is always a viewer's first message, even when events arrive while it is built
(the competing events are injected at that exact point, not left to chance)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from livepledge.app import create_app
from livepledge.config import Settings
from livepledge.demo import seed
from livepledge.infra.db import Database
from livepledge.live import api as live_api
from tests.conftest import _migrated


def test_snapshot_comes_first_then_the_events_that_raced_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"
    _migrated(url)

    async def seed_demo() -> int:
        db = Database(url)
        try:
            return (await seed(db, buyers=1, stock=5)).session_id
        finally:
            await db.dispose()

    session_id = asyncio.run(seed_demo())
    original = live_api._snapshot

    async def snapshot_with_events_racing_it(rt, room):  # type: ignore[no-untyped-def]
        room.broadcast(orjson.dumps({"type": "tick", "chat": [], "likes_total": 0,
                                     "viewers": 1}), critical=False)
        room.broadcast(orjson.dumps({"type": "stock", "item_id": 1, "stock_remaining": 4}),
                       critical=True)
        return await original(rt, room)

    monkeypatch.setattr(live_api, "_snapshot", snapshot_with_events_racing_it)
    app = create_app(Settings(database_url=url, password_time_cost=1, password_memory_kib=8192))
    with TestClient(app) as client, client.websocket_connect(f"/ws/sessions/{session_id}") as ws:
        kinds = [ws.receive_json()["type"] for _ in range(3)]

    assert kinds == ["snapshot", "tick", "stock"]
