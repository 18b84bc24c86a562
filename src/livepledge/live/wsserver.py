"""The WebSocket server path of the live room: one encoded frame, written to every socket.

uvicorn's ASGI path costs, per viewer and per frame, a `websocket.send` message, a decode to
`str` in Starlette and an encode again in uvicorn, a frame built by `websockets`, and (before
this) a task and a queue per viewer to call it. A room broadcasts the same bytes to everyone, so
`RoomWebSocketProtocol` (uvicorn's own sans-I/O `websockets` protocol, which `livepledge serve`
selects) offers the app one more ASGI extension, `livepledge.frames`: the app encodes a frame
once (`text_frame`) and hands the same bytes to each socket's transport. Everything else —
handshake, receiving, ping/pong, closing — stays uvicorn's. Where the extension is missing (a
test client, another server) the room falls back to ASGI sends (live/room.py, `Client`).
docs/decisions.md ("Live room: one frame, written to every socket") has the measurements.
"""

from __future__ import annotations

import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

EXTENSION = "livepledge.frames"


def text_frame(payload: bytes) -> bytes:
    """A complete, unmasked, unfragmented server-to-client text frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class RoomWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and not self.close_sent:
            scope["extensions"][EXTENSION] = self

    # What the room uses (live/room.py, DirectClient): `close_sent`, and `transport` to write
    # complete frames; frames and uvicorn's own writes never interleave (each is one
    # `transport.write` on the event loop's thread). The app is handed the protocol only after
    # the handshake, so the connection is open.

    def open_for_frames(self) -> bool:
        return self.handshake_complete and not self.close_sent \
            and not self.transport.is_closing()

    def drop(self, code: int, reason: str) -> None:
        """Close from the server side without the app's help (a consumer too slow to keep):
        the app's `receive` sees the disconnect, as after `websocket.close`."""
        if not self.open_for_frames():
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
