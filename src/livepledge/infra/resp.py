"""A lean Redis client for the hot paths: one multiplexed RESP2 connection per process.

Every caller writes its command to the same socket at once and waits on a future; replies come
back in order and resolve those futures first-in, first-out. Commands from many concurrent
requests therefore share one connection and are pipelined by TCP itself, with no pool to check
out from and no per-command objects beyond one future. Measured on the development machine, an
`EVALSHA` costs ~10 µs of client CPU here against ~95 µs through redis-py's asyncio client
(docs/decisions.md), and the flash-sale buy path makes one per press.

Scope, on purpose: RESP2 request/reply commands (no pub/sub, no blocking commands, no
MULTI across awaits), one Redis server (keys of an item share a hash tag, so a cluster proxy
works), `redis://` and `rediss://` URLs with user, password and database number. Everything
else (the broker, presence, rate limits) uses redis-py.

Failure semantics: if the connection is lost, every command still waiting fails with
`RespConnectionError`; whether Redis executed it is unknown (the stock gate's reservation lease
covers exactly that case). The next command reconnects. A Redis that stops answering without
closing the connection (hung, paused, a network path black-holing packets) is treated the same:
when the oldest command has waited `reply_timeout` seconds, the connection is dropped and every
waiting command fails with `RespTimeoutError`. One timer per connection watches the oldest
command, so the check costs a clock read per command. A caller that is cancelled while waiting
does not desynchronise the connection: its reply is read and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

Value = Any  # int | str | bytes | None | list[Value] | RespError


class RespError(Exception):
    """An error reply from Redis, e.g. `NOSCRIPT ...` or `WRONGTYPE ...`."""


class RespConnectionError(ConnectionError):
    """The connection to Redis failed or was lost; the command's effect is unknown."""


class RespTimeoutError(RespConnectionError, TimeoutError):
    """Redis did not answer in time; the connection was dropped, the command's effect is
    unknown."""


class RespProtocolError(RespConnectionError):
    """Redis sent bytes that are not RESP2, or a reply nobody asked for."""


_INCOMPLETE = object()
_CRLF = b"\r\n"
_TYPES = frozenset(b":$*+-")


def parse(buf: bytes | bytearray, pos: int) -> tuple[Value, int] | object:
    """Parse one RESP2 value starting at `pos`: (value, next position), or `_INCOMPLETE` when
    `buf` does not yet hold all of it. Error replies are returned as `RespError` values."""
    if pos >= len(buf):
        return _INCOMPLETE
    kind = buf[pos]
    if kind not in _TYPES:
        raise RespProtocolError(f"unexpected RESP type byte {kind!r}")
    end = buf.find(_CRLF, pos)
    if end < 0:
        return _INCOMPLETE
    line = bytes(buf[pos + 1:end])
    after = end + 2
    if kind == 58:  # ':' integer
        return int(line), after
    if kind == 36:  # '$' bulk string
        return _bulk(buf, int(line), after)
    if kind == 42:  # '*' array
        return _array(buf, int(line), after)
    if kind == 43:  # '+' simple string
        return line.decode(), after
    if kind == 45:  # '-' error
        return RespError(line.decode(errors="replace")), after
    raise RespProtocolError(f"unexpected RESP type byte {kind!r}")


def _bulk(buf: bytes | bytearray, size: int, start: int) -> tuple[Value, int] | object:
    if size < 0:
        return None, start
    if len(buf) < start + size + 2:
        return _INCOMPLETE
    if buf[start + size:start + size + 2] != _CRLF:
        raise RespProtocolError("bulk string not terminated by CRLF")
    return bytes(buf[start:start + size]), start + size + 2


def _array(buf: bytes | bytearray, count: int, start: int) -> tuple[Value, int] | object:
    if count < 0:
        return None, start
    items: list[Value] = []
    for _ in range(count):
        parsed = parse(buf, start)
        if parsed is _INCOMPLETE:
            return _INCOMPLETE
        value, start = parsed  # type: ignore[misc]
        items.append(value)
    return items, start


def encode(args: Sequence[object]) -> bytes:
    """A command as a RESP2 array of bulk strings. Accepts bytes, str (UTF-8) and int."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int) and not isinstance(arg, bool):
            data = b"%d" % arg
        else:
            raise TypeError(f"Redis arguments are bytes, str or int, not {type(arg).__name__}")
        parts.append(b"$%d\r\n" % len(data))
        parts.append(data)
        parts.append(_CRLF)
    return b"".join(parts)


class _Protocol(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, reply_timeout: float) -> None:
        self.loop = loop
        self.reply_timeout = reply_timeout
        self.transport: asyncio.Transport | None = None
        self.waiters: deque[asyncio.Future[Value]] = deque()
        self.sent_at: deque[float] = deque()  # loop time each waiter's command was written
        self.watchdog: asyncio.TimerHandle | None = None
        self.buffer = bytearray()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def send(self, command: bytes) -> asyncio.Future[Value]:
        future: asyncio.Future[Value] = self.loop.create_future()
        self.expect(future)
        assert self.transport is not None
        self.transport.write(command)
        return future

    def expect(self, future: asyncio.Future[Value]) -> None:
        """The next reply not yet claimed belongs to `future`."""
        now = self.loop.time()
        self.waiters.append(future)
        self.sent_at.append(now)
        if self.watchdog is None:
            self.watchdog = self.loop.call_at(now + self.reply_timeout, self._check)

    def _check(self) -> None:
        """The oldest command waiting decides: overdue drops the connection, otherwise look
        again when it would be."""
        self.watchdog = None
        if not self.sent_at or self.lost:
            return
        due = self.sent_at[0] + self.reply_timeout
        if self.loop.time() < due:
            self.watchdog = self.loop.call_at(due, self._check)
            return
        self._fail(RespTimeoutError(f"Redis did not answer within {self.reply_timeout:g} s"))
        assert self.transport is not None
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        pos = 0
        try:
            while pos < len(buffer):
                parsed = parse(buffer, pos)
                if parsed is _INCOMPLETE:
                    break
                value, pos = parsed  # type: ignore[misc]
                if not self.waiters:
                    raise RespProtocolError("a reply arrived that no command asked for")
                future = self.waiters.popleft()
                self.sent_at.popleft()
                if future.done():
                    continue  # its caller was cancelled; the reply is dropped
                if isinstance(value, RespError):
                    future.set_exception(value)
                else:
                    future.set_result(value)
        except (RespProtocolError, ValueError) as exc:
            self._fail(RespProtocolError(f"Redis protocol error: {exc}"))
            assert self.transport is not None
            self.transport.abort()
            return
        del buffer[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RespConnectionError(f"connection to Redis lost: {exc or 'closed'}"))

    def _fail(self, error: RespConnectionError) -> None:
        self.lost = True
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        self.sent_at.clear()
        while self.waiters:
            future = self.waiters.popleft()
            if not future.done():
                future.set_exception(error)


class RespClient:
    """`await client.call("GET", "key")`. Connects on first use and after a loss."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0,
                 reply_timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"expected a redis:// or rediss:// URL, not {parts.scheme!r}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        path = parts.path.strip("/")
        self.db = int(path) if path else 0
        self.tls = parts.scheme == "rediss"
        self.connect_timeout = connect_timeout
        self.reply_timeout = reply_timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None
        self._closed = False

    async def call(self, *args: object) -> Value:
        if not args:
            # Redis answers nothing to an empty command, which would shift every later reply.
            raise ValueError("a Redis command needs at least its name")
        protocol = self._protocol
        if protocol is None or protocol.lost:
            protocol = await self._connect()
        return await protocol.send(encode(args))

    async def _connect(self) -> _Protocol:
        if self._closed:
            raise RespConnectionError("the Redis client is closed")
        if self._connecting is None:
            # Its own task: a caller cancelled while waiting for the connection cancels neither
            # the connection nor the other callers waiting for it.
            self._connecting = asyncio.ensure_future(self._establish())
            # Retrieved even when every caller was cancelled (no "never retrieved" warning).
            self._connecting.add_done_callback(
                lambda task: task.cancelled() or task.exception())
        return await asyncio.shield(self._connecting)

    async def _establish(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            protocol = await asyncio.wait_for(self._open(loop), self.connect_timeout)
        except (RespConnectionError, RespError):
            raise
        except Exception as exc:
            raise RespConnectionError(
                f"cannot connect to Redis at {self.host}:{self.port}: {exc!r}") from exc
        finally:
            self._connecting = None
        if self._closed:  # closed while connecting
            assert protocol.transport is not None
            protocol.transport.close()
            raise RespConnectionError("the Redis client is closed")
        self._protocol = protocol
        return protocol

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Protocol:
        context = ssl.create_default_context() if self.tls else None
        _, protocol = await loop.create_connection(
            lambda: _Protocol(loop, self.reply_timeout), self.host, self.port, ssl=context)
        try:
            if self.password is not None:
                auth = ([self.username] if self.username else []) + [self.password]
                await protocol.send(encode(["AUTH", *auth]))
            if self.db:
                await protocol.send(encode(["SELECT", self.db]))
        except BaseException:
            if protocol.transport is not None:
                protocol.transport.close()
            raise
        return protocol

    async def close(self) -> None:
        self._closed = True
        connecting = self._connecting
        if connecting is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(connecting)
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
            protocol.connection_lost(None)


class RespScript:
    """A Lua script run with EVALSHA, falling back to EVAL (which caches it) after NOSCRIPT,
    e.g. when Redis restarted or SCRIPT FLUSH ran."""

    def __init__(self, client: RespClient, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # Redis names scripts by SHA-1

    async def __call__(self, keys: Sequence[str], args: Sequence[object]) -> Value:
        try:
            return await self.client.call("EVALSHA", self.sha, len(keys), *keys, *args)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            return await self.client.call("EVAL", self.source, len(keys), *keys, *args)
