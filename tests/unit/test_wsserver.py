"""live/wsserver.py on a real uvicorn server: the extension is offered after the handshake,
frames written by the room arrive as text messages, and `drop` closes with the given code."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
import websockets

from livepledge.live.wsserver import EXTENSION, RoomWebSocketProtocol, text_frame


async def test_frames_and_drop_over_a_real_uvicorn() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        protocol = scope["extensions"][EXTENSION]
        await send({"type": "websocket.accept"})
        assert protocol.open_for_frames()
        protocol.transport.write(text_frame("快照 snapshot".encode()))
        protocol.transport.write(text_frame(b"x" * 70_000))
        protocol.drop(1013, "slow consumer")
        assert (await receive())["type"] == "websocket.disconnect"
        assert not protocol.open_for_frames()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           ws=RoomWebSocketProtocol, lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as ws:
            assert await ws.recv() == "快照 snapshot"
            assert await ws.recv() == "x" * 70_000
            await ws.wait_closed()
            assert (ws.close_code, ws.close_reason) == (1013, "slow consumer")
    finally:
        server.should_exit = True
        await serving
