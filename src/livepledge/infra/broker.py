"""Publish/subscribe between the processes that serve one live room.

Embedded: an in-process broker. Scale-out: Redis pub/sub. Both pass tests/contract/test_broker.py.
Messages are bytes; a subscriber gets them in publish order per channel. The broker never buffers
without bound: subscribers consume with their own bounded queues (see live/room.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

log = logging.getLogger("livepledge.broker")
Handler = Callable[[str, bytes], Awaitable[None] | None]


class Broker(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, channel: str, message: bytes) -> None: ...
    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None: ...
    async def subscribe(self, channel: str, handler: Handler) -> None: ...
    async def unsubscribe(self, channel: str, handler: Handler) -> None: ...


def redis_client(url: str, *, max_connections: int = 64,  # type: ignore[no-untyped-def]
                 socket_timeout: float | None = None):
    """An asyncio Redis client whose pool makes callers wait for a free connection. redis-py's
    default pool raises MaxConnectionsError at 100 concurrent commands, which a flash-sale burst
    reaches in one worker (tests/contract/test_stock_gate_contract.py found it)."""
    import redis.asyncio as redis

    pool = redis.BlockingConnectionPool.from_url(url, max_connections=max_connections,
                                                 timeout=30, socket_timeout=socket_timeout)
    return redis.Redis.from_pool(pool)


async def _dispatch(handler: Handler, channel: str, message: bytes) -> None:
    result = handler(channel, message)
    if asyncio.iscoroutine(result):
        await result


class InProcessBroker:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, channel: str, message: bytes) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                await _dispatch(handler, channel, message)
            except Exception:  # like Redis: a faulty subscriber never fails the publisher
                log.exception("handler of %s failed", channel)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for channel, message in messages:
            await self.publish(channel, message)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers.setdefault(channel, []).append(handler)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel, [])
        if handler in handlers:
            handlers.remove(handler)
        if not handlers:
            self._handlers.pop(channel, None)


class RedisBroker:
    """One Redis pub/sub connection per process, fanned out locally to handlers."""

    def __init__(self, url: str) -> None:
        self._redis = redis_client(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._handlers: dict[str, list[Handler]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        # A dummy subscription so the pubsub connection exists before the reader starts.
        await self._pubsub.subscribe("livepledge:hello")
        self._reader = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # connection blip: redis-py reconnects on next call
                await asyncio.sleep(0.1)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            for handler in list(self._handlers.get(channel, ())):
                try:
                    await _dispatch(handler, channel, message["data"])
                except Exception:  # one faulty handler must not stop the room
                    log.exception("handler of %s failed", channel)

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        await self._redis.aclose()

    async def publish(self, channel: str, message: bytes) -> None:
        await self._redis.publish(channel, message)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """In order, in one round trip (a batch of orders announces each of them)."""
        if not messages:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, message in messages:
                pipe.publish(channel, message)
            await pipe.execute()

    async def subscribe(self, channel: str, handler: Handler) -> None:
        first = channel not in self._handlers
        self._handlers.setdefault(channel, []).append(handler)
        if first:
            await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel, [])
        if handler in handlers:
            handlers.remove(handler)
        if not handlers and channel in self._handlers:
            del self._handlers[channel]
            await self._pubsub.unsubscribe(channel)
