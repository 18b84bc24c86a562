"""The live room in one process: viewers' WebSocket queues, ticks, presence.

Every process that has viewers of a room subscribes to `room:{id}` on the broker. Card, stock and
session changes go to clients at once; chat and likes are coalesced into one `tick` message per
room every `room_tick_ms`, which also carries the viewer count. A client whose bounded queue is
full skips ticks; if even a card or stock change cannot be queued it is dropped (it reconnects and
takes a fresh snapshot). The server never buffers without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update

from livepledge.infra.broker import Broker
from livepledge.infra.clock import utcnow
from livepledge.infra.db import Database
from livepledge.infra.notify import Notifier, room_channel
from livepledge.infra.stopping import Stop, finish
from livepledge.live.models import likes, lineup_items, viewer_visits
from livepledge.live.presence import Presence

log = logging.getLogger("livepledge.live.room")
CLOSE = object()
STOCK_REFRESH_TICKS = 10


class Client:
    def __init__(self, viewer_key: str, user_id: int | None, queue_size: int) -> None:
        self.viewer_key = viewer_key
        self.user_id = user_id
        self.queue: asyncio.Queue[Any] = asyncio.Queue(queue_size)
        self.dropped = False
        self.skipped = 0

    def offer(self, data: bytes, *, critical: bool) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            if not critical:
                self.skipped += 1
                return
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(CLOSE)


class Room:
    def __init__(self, hub: RoomHub, session_id: int) -> None:
        self.hub = hub
        self.session_id = session_id
        self.clients: set[Client] = set()
        self.chat_buffer: list[dict[str, Any]] = []
        self.likes_total = 0
        self.local_likes: dict[int, int] = defaultdict(int)
        self.joins: list[tuple[str, datetime]] = []
        self.leaves: list[tuple[str, datetime]] = []
        self.viewers = 0
        self.stock: dict[int, int] = {}
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = Stop()
        self._last_sent: tuple[int, int] = (-1, -1)

    async def open(self) -> None:
        async with self.hub.db.read() as conn:
            total = (await conn.execute(select(func.coalesce(func.sum(likes.c.count), 0)).where(
                likes.c.session_id == self.session_id))).scalar_one()
            self.likes_total = int(total)
        await self.hub.broker.subscribe(room_channel(self.session_id), self.on_message)
        self._task = asyncio.create_task(self._tick_loop(), name=f"room-{self.session_id}")

    async def close(self) -> None:
        """The tick loop ends after its current tick and stores what is left (stopping.py)."""
        self._stop.set()
        await self.hub.broker.unsubscribe(room_channel(self.session_id), self.on_message)
        await finish(self._task)

    @property
    def closed(self) -> bool:
        return self._stop.is_set and (self._task is None or self._task.done())

    async def on_message(self, _channel: str, data: bytes) -> None:
        message = orjson.loads(data)
        kind = message.get("type")
        if kind == "chat":
            self.chat_buffer.append(message)
        elif kind == "likes":
            self.likes_total += int(message["delta"])
        else:
            if kind == "stock":
                self.stock[message["item_id"]] = message["stock_remaining"]
            self.broadcast(data, critical=True)

    def broadcast(self, data: bytes, *, critical: bool) -> None:
        for client in list(self.clients):
            client.offer(data, critical=critical)

    async def _tick_loop(self) -> None:
        interval = self.hub.tick_seconds
        while await self._stop.rest(interval):
            try:
                await self.tick()
            except Exception:
                log.exception("room %s tick failed", self.session_id)
        try:
            await self._flush()
        except Exception:
            log.exception("room %s final flush failed", self.session_id)

    async def tick(self) -> None:
        self.ticks += 1
        await self._flush()
        self.viewers = await self.hub.presence.count(self.session_id)
        chat, self.chat_buffer = self.chat_buffer, []
        state = (self.viewers, self.likes_total)
        if chat or state != self._last_sent:
            self._last_sent = state
            tick = {"type": "tick", "chat": chat, "likes_total": self.likes_total,
                    "viewers": self.viewers}
            self.broadcast(orjson.dumps(tick), critical=False)
        if self.ticks % STOCK_REFRESH_TICKS == 0:
            await self._refresh_stock()

    async def _refresh_stock(self) -> None:
        """Stock messages from several workers may arrive out of order; once a second the room
        re-reads stock so every client converges on the committed value."""
        async with self.hub.db.read() as conn:
            rows = await conn.execute(select(lineup_items.c.id, lineup_items.c.stock_remaining)
                                      .where(lineup_items.c.session_id == self.session_id))
            for row in rows:
                if self.stock.get(row.id) != row.stock_remaining:
                    self.stock[row.id] = row.stock_remaining
                    self.broadcast(orjson.dumps({"type": "stock", "item_id": row.id,
                                                 "stock_remaining": row.stock_remaining}),
                                   critical=True)

    async def _flush(self) -> None:
        """Store likes and visits gathered since the last tick, then announce the likes."""
        local, self.local_likes = self.local_likes, defaultdict(int)
        joins, self.joins = self.joins, []
        leaves, self.leaves = self.leaves, []
        if not (local or joins or leaves):
            return
        now = utcnow()
        async with self.hub.db.write() as uow:
            if local:
                await uow.conn.execute(insert(likes), [
                    {"session_id": self.session_id, "user_id": uid, "count": n, "created_at": now}
                    for uid, n in local.items()])
            if joins:
                await uow.conn.execute(insert(viewer_visits), [
                    {"session_id": self.session_id, "viewer_key": key, "joined_at": at}
                    for key, at in joins])
            for key, at in leaves:
                await uow.conn.execute(update(viewer_visits).where(
                    viewer_visits.c.session_id == self.session_id,
                    viewer_visits.c.viewer_key == key, viewer_visits.c.left_at.is_(None),
                ).values(left_at=at))
        if local:
            await self.hub.notifier.room(self.session_id,
                                         {"type": "likes", "delta": sum(local.values())})


class RoomHub:
    def __init__(self, db: Database, broker: Broker, notifier: Notifier, presence: Presence, *,
                 tick_ms: int, queue_size: int) -> None:
        self.db = db
        self.broker = broker
        self.notifier = notifier
        self.presence = presence
        self.tick_seconds = tick_ms / 1000
        self.queue_size = queue_size
        self.rooms: dict[int, Room] = {}
        self._lock = asyncio.Lock()
        # Rooms whose last viewer left: their loop is storing what is left (close() waits).
        self._retiring: set[Room] = set()

    async def join(self, session_id: int, viewer_key: str, user_id: int | None) -> tuple[Room,
                                                                                       Client]:
        async with self._lock:
            room = self.rooms.get(session_id)
            if room is None:
                room = Room(self, session_id)
                await room.open()
                self.rooms[session_id] = room
        client = Client(viewer_key, user_id, self.queue_size)
        is_new_here = not any(c.viewer_key == viewer_key for c in room.clients)
        room.clients.add(client)
        room.joins.append((viewer_key, utcnow()))
        if is_new_here:  # presence counts the workers serving a viewer; leave() mirrors this
            await self.presence.join(session_id, viewer_key)
        else:
            await self.presence.beat(session_id, viewer_key)
        return room, client

    async def leave(self, room: Room, client: Client) -> None:
        room.clients.discard(client)
        room.leaves.append((client.viewer_key, utcnow()))
        if not any(c.viewer_key == client.viewer_key for c in room.clients):
            await self.presence.leave(room.session_id, client.viewer_key)
        async with self._lock:
            if not room.clients and self.rooms.get(room.session_id) is room:
                del self.rooms[room.session_id]
                self._retiring.add(room)
                try:
                    await room.close()
                finally:
                    if room.closed:
                        self._retiring.discard(room)

    def like(self, room: Room, user_id: int, count: int) -> None:
        room.local_likes[user_id] += count

    async def close(self) -> None:
        for room in [*self.rooms.values(), *self._retiring]:
            await room.close()
        self.rooms.clear()
        self._retiring.clear()
