"""The room's own WebSocket listener: a raw asyncio Protocol per viewer, in the same worker.

uvicorn holds, per WebSocket, its protocol object, `websockets`' sans-I/O parser and an ASGI
handler task with its own coroutine frames: 34–37 KB per idle viewer, and a message through
four layers. A live room has thousands of viewers who mostly listen, so with
`LIVEPLEDGE_ROOM_PORT` set each worker also listens on that port (SO_REUSEPORT, so several
workers share it) for `GET /ws/sessions/{id}` only, with:

- one `RoomSocket` per viewer (`__slots__`, no task, no queue, no parser object): the handshake
  is parsed here (RFC 6455 §4.2), frames from the client are parsed here (§5.2, masked, at most
  `MAX_MESSAGE` bytes), ping/pong/close answered here;
- authentication, the session check and every client message handled by the same code as the
  ASGI path (`deps.principal_for`, `live.api._handle`): heartbeats, chat, likes, moderation;
- the room writing its frames: what a room broadcasts is collected and written once per tick to
  every socket as one `transport.write` of bytes encoded once (live/room.py, `flush_sockets`);
  a slow viewer gets only card/stock/session frames, never chat ticks, and is cut off above the
  hard limit.

A task exists per viewer only while a client message is being handled (a heartbeat, a chat
post). Sockets silent for `IDLE_SECONDS` (the page sends a heartbeat every 10 s) are closed.
docs/decisions.md ("Live room: its own listener") has the measurements; docs/settings.md how an
operator turns it on and how the page finds it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import re
import secrets
import struct
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import orjson
from starlette.requests import HTTPConnection

from livepledge.infra.problems import Problem
from livepledge.live.wsserver import text_frame

if TYPE_CHECKING:
    from livepledge.live.room import Room

log = logging.getLogger("livepledge.live.roomserver")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PATH = re.compile(r"/ws/sessions/(\d{1,18})")
MAX_HEAD = 16 * 1024
MAX_MESSAGE = 65536  # as uvicorn's ws_max_size in `livepledge serve`
MAX_INBOX = 16  # client messages waiting to be handled before reading pauses
IDLE_SECONDS = 60.0
SWEEP_SECONDS = 15.0

HANDSHAKE, OPEN, CLOSED = 0, 1, 2
HEARTBEAT = re.compile(r'\s*\{\s*"type"\s*:\s*"heartbeat"\s*\}\s*')


def close_frame(code: int, reason: str = "") -> bytes:
    payload = struct.pack("!H", code) + reason.encode()[:120]
    return bytes((0x88, len(payload))) + payload


def _http(status: str, body: str = "") -> bytes:
    data = body.encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data


def _unmask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def parse_upgrade(head: str) -> str | tuple[int, Any, dict[str, str], list[tuple[bytes, bytes]]]:
    """The request head of a WebSocket upgrade to /ws/sessions/{id} (RFC 6455 §4.2.1): the
    session, the target, headers (lower-case names) and the ASGI headers; else the HTTP status
    to answer with."""
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    headers: dict[str, str] = {}
    raw_headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            return "400 Bad Request"
        name, value = name.strip().lower(), value.strip()
        headers[name] = value
        raw_headers.append((name.encode("latin-1"), value.encode("latin-1")))
    if len(parts) != 3 or parts[0] != "GET" or not parts[2].startswith("HTTP/1."):
        return "400 Bad Request"
    target = urlsplit(parts[1])
    match = PATH.fullmatch(target.path)
    if match is None:
        return "404 Not Found"
    if headers.get("upgrade", "").lower() != "websocket" \
            or "upgrade" not in headers.get("connection", "").lower() \
            or headers.get("sec-websocket-version") != "13" \
            or len(headers.get("sec-websocket-key", "")) != 24:
        return "400 Bad Request"
    return int(match[1]), target, headers, raw_headers


class RoomSocket(asyncio.Protocol):
    """One viewer's connection. After the handshake this is the viewer's whole footprint in
    Python: the room keeps it in a dict and writes to `transport`."""

    __slots__ = ("buf", "busy", "close_sent", "fragments", "inbox", "last", "listener",
                 "principal", "room", "skipped", "state", "transport", "viewer_key")

    def __init__(self, listener: RoomListener) -> None:
        self.listener = listener
        self.transport: Any = None
        self.buf = bytearray()
        self.state = HANDSHAKE
        self.room: Room | None = None
        self.viewer_key = ""
        self.principal: Any = None
        self.skipped = 0  # chat ticks not written because the viewer was slow
        self.last = 0.0
        self.inbox: list[str] | None = None
        self.busy = False
        self.fragments: bytearray | None = None
        self.close_sent = False

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.last = time.monotonic()
        self.listener.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = CLOSED
        self.listener.connections.discard(self)
        room, self.room = self.room, None
        # out of the room now: a closed transport must not be written to by the next tick
        if room is not None and self.listener.hub.leave_socket(room, self):
            self.listener.spawn(self.listener.hub.forget_socket(room, self))

    def data_received(self, data: bytes) -> None:
        self.last = time.monotonic()
        buf = self.buf
        buf += data
        if self.state == HANDSHAKE:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._refuse("431 Request Header Fields Too Large")
                return
            head = bytes(buf[:end]).decode("latin-1")
            del buf[:end + 4]
            self.state = OPEN  # frames that follow wait in buf until the room is joined
            self.transport.pause_reading()
            self.listener.spawn(self._open(head))
            return
        if self.room is not None:
            self._frames()

    # --- the handshake ----------------------------------------------------------------------

    def _refuse(self, status: str, body: str = "") -> None:
        self.state = CLOSED
        self.transport.write(_http(status, body))
        self.transport.close()

    async def _open(self, head: str) -> None:
        from livepledge.deps import principal_for
        from livepledge.live import service

        request = parse_upgrade(head)
        if isinstance(request, str):
            self._refuse(request)
            return
        session_id, target, headers, raw_headers = request
        key = headers["sec-websocket-key"]
        listener = self.listener
        rt = listener.app.state.runtime
        # The page is served by the main port of the same host, so a cookie is believed from an
        # Origin on this host at any port (live/roomserver.py; docs/security.md); from any other
        # origin the socket is anonymous, as on the main port (cross-site WebSocket hijacking).
        origin = headers.get("origin")
        host = headers.get("host", "")
        if origin is not None and urlsplit(origin).hostname == urlsplit(f"//{host}").hostname:
            raw_headers = [(k, origin.split("://", 1)[-1].encode("latin-1")) if k == b"host"
                           else (k, v) for k, v in raw_headers]
        peer = self.transport.get_extra_info("peername") or ("", 0)
        scope = {"type": "websocket", "path": target.path, "raw_path": target.path.encode(),
                 "query_string": target.query.encode("latin-1"), "headers": raw_headers,
                 "app": listener.app, "client": peer[:2], "scheme": "ws",
                 "server": None, "root_path": ""}
        try:
            principal = await principal_for(HTTPConnection(scope), check_csrf=False)
            if session_id not in rt.rooms.rooms:  # an open room proves the session exists
                async with rt.db.read() as conn:
                    await service.access_session(conn, session_id)
        except Problem as problem:
            # as uvicorn answers a socket the app closes before accepting it
            self._refuse("403 Forbidden", f"{problem.code}\n")
            return
        except Exception as exc:
            log.warning("room %s: a viewer could not be checked (%s: %s); 503", session_id,
                        type(exc).__name__, exc)
            self._refuse("503 Service Unavailable", "try again later\n")
            return
        if self.state == CLOSED or self.transport.is_closing():
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept
                             + b"\r\n\r\n")
        device = (parse_qs(target.query).get("device") or [""])[0] or secrets.token_hex(8)
        self.principal = principal
        self.viewer_key = f"u:{principal.user_id}" if principal else f"a:{device[:64]}"
        try:
            # presence first; then the socket joins the room and its snapshot is written in the
            # same step, so every frame the room writes to it comes after the snapshot
            room = await rt.rooms.join_socket(session_id, self, rt.now)
        except Exception as exc:  # the room could not be opened (e.g. a pool timeout)
            log.warning("room %s: a viewer could not join (%s: %s); closed with 1013",
                        session_id, type(exc).__name__, exc)
            self.close(1013, "try again later")
            return
        if room is None:  # the connection went away meanwhile
            return
        self.room = room
        self.transport.resume_reading()
        if self.buf:
            self._frames()

    # --- frames from the client ---------------------------------------------------------------

    def _frames(self) -> None:
        buf = self.buf
        while self.state == OPEN:
            if len(buf) < 2:
                return
            b0, b1 = buf[0], buf[1]
            opcode = b0 & 0x0F
            n = b1 & 0x7F
            pos = 2
            if b0 & 0x70 or not b1 & 0x80:  # reserved bits, or a client frame not masked
                self.close(1002, "protocol error")
                return
            if n == 126:
                if len(buf) < 4:
                    return
                n = int.from_bytes(buf[2:4], "big")
                pos = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = int.from_bytes(buf[2:10], "big")
                pos = 10
            if n > MAX_MESSAGE:
                self.close(1009, "message too big")
                return
            if len(buf) < pos + 4 + n:
                return
            mask = bytes(buf[pos:pos + 4])
            payload = _unmask(bytes(buf[pos + 4:pos + 4 + n]), mask)
            del buf[:pos + 4 + n]
            self._frame(b0 & 0x80, opcode, payload)

    def _control(self, fin: int, opcode: int, payload: bytes) -> None:
        """Control frames: never fragmented, at most 125 bytes (RFC 6455 §5.5)."""
        if not fin or len(payload) > 125:
            self.close(1002, "protocol error")
        elif opcode == 9:
            self.transport.write(bytes((0x8A, len(payload))) + payload)
        elif opcode == 8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1000
            self.close(code if 1000 <= code < 5000 and code not in (1004, 1005, 1006)
                       else 1002)
        elif opcode != 10:
            self.close(1002, "protocol error")

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode >= 8:
            self._control(fin, opcode, payload)
            return
        if opcode == 2 or (opcode == 0 and self.fragments is None) \
                or (opcode == 1 and self.fragments is not None) or opcode not in (0, 1):
            if opcode == 2:
                log.warning("/ws/sessions: binary frame from a client; closed with 1003")
                self.close(1003, "text frames only")
            else:
                self.close(1002, "protocol error")
            return
        if not fin:  # a fragmented message (RFC 6455 §5.4)
            self.fragments = (self.fragments or bytearray()) + payload
            if len(self.fragments) > MAX_MESSAGE:
                self.close(1009, "message too big")
            return
        if self.fragments is not None:
            payload, self.fragments = bytes(self.fragments + payload), None
        try:
            text = payload.decode()
        except UnicodeDecodeError:
            self.close(1007, "invalid UTF-8")
            return
        self._message(text)

    def _message(self, text: str) -> None:
        if HEARTBEAT.fullmatch(text) and self.room is not None:
            # The most frequent message (every viewer, every 10 s): noted for the room's next
            # tick, which tells presence about all of them at once; no task.
            self.room.beats.add(self.viewer_key)
            if self.principal is not None:
                self.room.heartbeats.add(self.principal.user_id)
            return
        if self.inbox is None:
            self.inbox = []
        self.inbox.append(text)
        if len(self.inbox) >= MAX_INBOX:
            self.transport.pause_reading()
        if not self.busy:
            self.busy = True
            self.listener.spawn(self._serve())

    async def _serve(self) -> None:
        """Handle this viewer's messages in order, with the ASGI path's own handler."""
        from livepledge.live.api import _handle

        rt = self.listener.app.state.runtime
        try:
            while self.inbox and self.room is not None:
                raw = self.inbox.pop(0)
                if len(self.inbox) == MAX_INBOX - 1:
                    self.transport.resume_reading()
                reply = await _handle(rt, self.room, self.principal, self.viewer_key, raw)
                if reply is not None and self.state == OPEN and not self.close_sent:
                    self.transport.write(text_frame(orjson.dumps(reply)))
        finally:
            self.busy = False
            self.inbox = None

    # --- closing ----------------------------------------------------------------------------

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame and end the connection (its buffered frames are sent first)."""
        if self.state == CLOSED or self.close_sent:
            return
        self.close_sent = True
        self.state = CLOSED
        with contextlib.suppress(Exception):
            self.transport.write(close_frame(code, reason))
        self.transport.close()

    def drop(self) -> None:
        """A viewer more than the hard limit behind: cut off at once (the page reconnects and
        takes a fresh snapshot); its unsent megabyte is not kept."""
        self.close_sent = True
        self.state = CLOSED
        self.transport.abort()


class RoomListener:
    """The room port of one worker."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.hub = app.state.runtime.rooms
        self.connections: set[RoomSocket] = set()
        self.server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: RoomSocket(self), host, port,
                                               reuse_port=True, backlog=4096)
        self._sweeper = loop.create_task(self._sweep())
        return int(self.server.sockets[0].getsockname()[1])

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            cutoff = time.monotonic() - IDLE_SECONDS
            for sock in [s for s in self.connections if s.last < cutoff]:
                sock.close(1001, "idle")

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for sock in list(self.connections):
            sock.close(1001, "server shutting down")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while self.connections and loop.time() < deadline:  # their connection_lost has run
            await asyncio.sleep(0.01)
        if self._tasks:  # then presence is told they left, before the runtime closes
            await asyncio.wait(list(self._tasks), timeout=5)
