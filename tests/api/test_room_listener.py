"""The room's own listener (LIVEPLEDGE_ROOM_PORT, live/roomserver.py) over a real server process
and real sockets: the handshake, frames from the client as RFC 6455 has them (masked,
fragmented, ping, binary, close), and the page pointed at it. The room's behaviour through it
(snapshot + events, presence, chat, likes, moderation, cookies from another site) is
tests/api/test_room_ws.py, run on both paths."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any

import httpx
import pytest
import websockets
from websockets.frames import Close

from tests.conftest import free_port, lp_env, seed_demo

pytestmark = pytest.mark.slow


@pytest.fixture
def room(tmp_path, server_factory) -> tuple[Any, dict[str, Any], str]:  # type: ignore[no-untyped-def]
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=5)
    port = free_port()
    server = server_factory({**env, "LIVEPLEDGE_ROOM_PORT": str(port)})
    return server, demo, f"ws://127.0.0.1:{port}/ws/sessions/{demo['session_id']}"


async def _raw(port: int, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    return reader, writer


def _upgrade(path: str, port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode()


async def test_handshake_refusals_are_plain_http(room) -> None:  # type: ignore[no-untyped-def]
    _, _, url = room
    port = int(url.split(":")[2].split("/")[0])
    for path, status in (("/ws/sessions/999", b"403"), ("/elsewhere", b"404")):
        reader, writer = await _raw(port, _upgrade(path, port))
        line = await asyncio.wait_for(reader.readline(), 10)
        assert line.split()[1] == status
        writer.close()
    reader, writer = await _raw(port, b"GET /ws/sessions/1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await asyncio.wait_for(reader.readline(), 10)).split()[1] == b"400"
    writer.close()


async def test_ping_fragments_and_replies(room) -> None:  # type: ignore[no-untyped-def]
    _, demo, url = room
    async with websockets.connect(url + "?device=t1") as ws:
        assert json.loads(await ws.recv())["type"] == "snapshot"
        await asyncio.wait_for(await ws.ping(b"abc"), 10)  # answered with a pong
        await ws.send(iter(['{"type":', '"chat", "text": "hi"}']))  # one message, two frames
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        while reply["type"] != "error":
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["problem"]["code"] == "unauthenticated"
    token = demo["buyer_tokens"][0]
    async with websockets.connect(url + "?device=t2",
                                  additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert json.loads(await ws.recv())["type"] == "snapshot"
        await ws.send(json.dumps({"type": "chat", "text": "听得见吗"}))
        lines: list[str] = []
        while not lines:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            lines = [c["text"] for c in message.get("chat", [])]
        assert lines == ["听得见吗"]


async def test_a_binary_frame_closes_with_1003(room) -> None:  # type: ignore[no-untyped-def]
    _, _, url = room
    async with websockets.connect(url) as ws:
        await ws.recv()
        await ws.send(b"\x00\x01")
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd == Close(1003, "text frames only")


async def test_an_unmasked_client_frame_is_a_protocol_error(room) -> None:  # type: ignore[no-untyped-def]
    _, _, url = room
    port = int(url.split(":")[2].split("/")[0])
    reader, writer = await _raw(port, _upgrade(url.split(str(port), 1)[1], port))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 101 ")
    payload = b'{"type":"heartbeat"}'
    writer.write(bytes((0x81, len(payload))) + payload)  # no mask bit: not allowed from a client
    data = await asyncio.wait_for(reader.read(), 10)  # the snapshot, then the close; then EOF
    assert data.endswith(bytes((0x88, 16)) + struct.pack("!H", 1002) + b"protocol error")
    writer.close()


async def test_the_live_page_points_at_the_listener(room) -> None:  # type: ignore[no-untyped-def]
    server, demo, url = room
    port = url.split(":")[2].split("/")[0]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = (await http.get(f"/live/{demo['session_id']}")).text
    assert f'data-room-port="{port}"' in page
    assert 'data-room-url=""' in page


async def test_heartbeats_on_the_listener_keep_a_viewer_counted(tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]
    """Heartbeats reach presence in one batch per tick: a viewer who sends them stays counted
    past the presence TTL, one who does not drops out."""
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_PRESENCE_TTL_SECONDS="2")
    demo = seed_demo(env, buyers=1, stock=5)
    port = free_port()
    server = server_factory({**env, "LIVEPLEDGE_ROOM_PORT": str(port)})
    sid = demo["session_id"]
    url = f"ws://127.0.0.1:{port}/ws/sessions/{sid}"
    async with websockets.connect(url + "?device=beating") as beating, \
            websockets.connect(url + "?device=silent") as silent, \
            httpx.AsyncClient(base_url=server.base_url) as http:
        await beating.recv()
        await silent.recv()

        async def count() -> int:
            return (await http.get(f"/api/v1/sessions/{sid}/viewers")).json()["viewers"]

        assert await count() == 2

        async def until_one_is_gone() -> int:
            while (n := await count()) == 2:
                await beating.send('{"type": "heartbeat"}')
                await asyncio.sleep(0.3)  # the heartbeat period of this test
            return n

        assert await asyncio.wait_for(until_one_is_gone(), 15) == 1
