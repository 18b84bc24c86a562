"""Issue #16.5: a binary frame closes the socket with 1003 and one log line (no traceback per
frame); a snapshot that cannot be built (pool timeout in a join storm) closes it with 1013 and
leaves the ASGI protocol intact."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from livepledge.app import create_app
from livepledge.config import Settings
from livepledge.demo import seed
from livepledge.infra.db import Database
from livepledge.live import api as live_api
from tests.conftest import _migrated


def _session(tmp_path: Path) -> tuple[str, int]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"
    _migrated(url)

    async def seed_demo() -> int:
        db = Database(url)
        try:
            return (await seed(db, buyers=1, stock=5)).session_id
        finally:
            await db.dispose()

    return url, asyncio.run(seed_demo())


def _app(url: str):  # type: ignore[no-untyped-def]
    return create_app(Settings(database_url=url, password_time_cost=1, password_memory_kib=8192))


def _problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_binary_frame_closes_with_1003_and_one_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url, session_id = _session(tmp_path)
    caplog.set_level(logging.INFO)
    with TestClient(_app(url)) as client, \
            client.websocket_connect(f"/ws/sessions/{session_id}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        caplog.clear()
        ws.send_bytes(b"\x00\x01binary")
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_text()
    assert closed.value.code == 1003
    problems = _problems(caplog)
    assert [r.name for r in problems] == ["livepledge.live.api"]
    assert problems[0].exc_info is None
    assert "binary" in problems[0].getMessage()


def test_a_failed_snapshot_closes_with_1013(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, session_id = _session(tmp_path)

    async def pool_timeout(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise TimeoutError("QueuePool limit of size 4 overflow 4 reached")

    monkeypatch.setattr(live_api, "_snapshot", pool_timeout)
    caplog.set_level(logging.INFO)
    with TestClient(_app(url)) as client:
        with client.websocket_connect(f"/ws/sessions/{session_id}") as ws, \
                pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1013
        # The server is still healthy and the room is left: nobody is counted as watching.
        assert client.get(f"/api/v1/sessions/{session_id}/viewers").json() == {"viewers": 0}
    problems = _problems(caplog)
    assert [r.name for r in problems] == ["livepledge.live.api"]
    assert problems[0].exc_info is None
    assert "snapshot" in problems[0].getMessage()
