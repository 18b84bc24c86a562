"""The live room in one process: its state in memory, one writer for all its viewers, ticks.

Every process that has viewers of a room subscribes to `room:{id}` on the broker and keeps the
room's current state (session view, stock, recent chat, likes, viewer count) in memory, so a
joining viewer's snapshot costs no database query. Card, stock and session changes go to viewers
at once; chat and likes are coalesced into one `tick` message per room every `room_tick_ms`,
which also carries the viewer count. Each message is encoded once and the same frame is written
to every socket by the room itself (no task or queue per viewer) where the server offers it
(live/wsserver.py); elsewhere a viewer has a bounded queue and a sender task (`Client`).

A slow viewer (its socket's send buffer above the soft limit) skips ticks, which are counted;
card and stock changes are never skipped. If its buffer passes the hard limit it is closed with
1013 (it reconnects and takes a fresh snapshot). The server never buffers without bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update

from livepledge.infra.broker import Broker
from livepledge.infra.clock import utcnow
from livepledge.infra.db import Database
from livepledge.infra.notify import Notifier, room_channel
from livepledge.infra.stopping import Stop, finish
from livepledge.live import rules
from livepledge.live.models import likes, lineup_items, viewer_visits
from livepledge.live.presence import Presence
from livepledge.live.wsserver import RoomWebSocketProtocol, text_frame

log = logging.getLogger("livepledge.live.room")
CLOSE = object()
STOCK_REFRESH_TICKS = 10
RECENT_CHAT = 30  # lines in a snapshot (chat.RECENT_CHAT)


class Client:
    def __init__(self, viewer_key: str, user_id: int | None, queue_size: int) -> None:
        self.viewer_key = viewer_key
        self.user_id = user_id
        self.queue: asyncio.Queue[Any] = asyncio.Queue(queue_size)
        self.dropped = False
        self.skipped = 0

    def offer(self, data: bytes, *, critical: bool, frame: bytes | None = None) -> None:
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


class DirectClient:
    """A viewer whose frames the room writes straight to its socket (live/wsserver.py). Until
    its snapshot is written, what the room broadcasts waits here, so the snapshot comes first."""

    def __init__(self, viewer_key: str, user_id: int | None, protocol: RoomWebSocketProtocol,
                 *, soft_limit: int, hard_limit: int) -> None:
        self.viewer_key = viewer_key
        self.user_id = user_id
        self.protocol = protocol
        self.soft_limit = soft_limit
        self.hard_limit = hard_limit
        self.pending: list[tuple[bytes, bool]] | None = []
        self.dropped = False
        self.skipped = 0

    def offer(self, data: bytes, *, critical: bool, frame: bytes | None = None) -> None:
        if self.dropped:
            return
        if self.pending is not None:
            if critical or len(self.pending) < 64:
                self.pending.append((data, critical))
            else:
                self.skipped += 1
            return
        self._write(frame if frame is not None else text_frame(data), critical)

    def start(self, snapshot: bytes) -> None:
        """Write the snapshot, then whatever was broadcast while it was being built."""
        pending, self.pending = self.pending or [], None
        self._write(text_frame(snapshot), True)
        for data, critical in pending:
            self._write(text_frame(data), critical)

    def _write(self, frame: bytes, critical: bool) -> None:
        # The hot path of a broadcast (once per viewer per message): the transport directly.
        protocol = self.protocol
        transport = protocol.transport
        if protocol.close_sent or transport.is_closing():
            self.dropped = True
            return
        buffered = transport.get_write_buffer_size()
        if buffered > self.soft_limit:
            if not critical:
                self.skipped += 1
                return
            if buffered > self.hard_limit:
                self.dropped = True
                protocol.drop(1013, "slow consumer")
                return
        transport.write(frame)


class Room:
    def __init__(self, hub: RoomHub, session_id: int) -> None:
        self.hub = hub
        self.session_id = session_id
        self.clients: set[Client | DirectClient] = set()
        # Viewers on the room's own listener (live/roomserver.py): written once per tick.
        self.sockets: dict[Any, None] = {}
        self.outbox: list[tuple[bytes, bool]] = []  # (frame, critical) since the last write
        self.keys: dict[str, int] = {}  # viewer key -> sockets of that viewer here
        self.chat_buffer: list[dict[str, Any]] = []
        self.likes_total = 0
        self.local_likes: dict[int, int] = defaultdict(int)
        self.joins: list[tuple[str, datetime]] = []
        self.leaves: list[tuple[str, datetime]] = []
        self.viewers = 0
        self.stock: dict[int, int] = {}
        # What a joining viewer's snapshot is made of, kept current from the broker.
        self.view: dict[str, Any] = {}
        self.recent_chat: deque[dict[str, Any]] = deque(maxlen=RECENT_CHAT * 2)
        self.ticks = 0
        self.frames = 0  # frames handed to sockets (one per viewer per message)
        self.skipped = 0  # ticks a slow viewer did not get
        self._opening: list[bytes] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = Stop()
        self._last_sent: tuple[int, int] = (-1, -1)
        # Logged-in viewers whose socket here sent a heartbeat this minute (fans: watch time).
        self.heartbeats: set[int] = set()
        # Viewers on the room's listener whose heartbeat arrived since the last tick: presence
        # is told once per tick for all of them (live/roomserver.py), not once per heartbeat.
        self.beats: set[str] = set()
        self.minute = int(time.time() // 60)

    async def open(self) -> None:
        """Subscribe, then load the state once; what the broker delivers meanwhile is applied
        after it (the periodic stock refresh settles any stock message older than the read)."""
        from livepledge.live import chat, service

        self._opening = []
        await self.hub.broker.subscribe(room_channel(self.session_id), self.on_message)
        try:
            async with self.hub.db.read() as conn:
                total = (await conn.execute(select(func.coalesce(func.sum(likes.c.count), 0))
                                            .where(likes.c.session_id == self.session_id)))
                self.likes_total = int(total.scalar_one())
                self.view = await service.session_view(conn, self.session_id, utcnow())
            self.recent_chat.extend(await chat.recent_chat(self.hub.db, self.session_id,
                                                           limit=RECENT_CHAT))
            self.viewers = await self.hub.presence.count(self.session_id)
        except BaseException:
            await self.hub.broker.unsubscribe(room_channel(self.session_id), self.on_message)
            raise
        self.stock = {i["id"]: i["stock_remaining"] for i in self.view["lineup"]}
        early, self._opening = self._opening, None
        for data in early:
            await self.on_message("", data)
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
        if self._opening is not None:
            self._opening.append(data)
            return
        message = orjson.loads(data)
        kind = message.get("type")
        if kind == "chat":
            self.chat_buffer.append(message)
        elif kind == "likes":
            self.likes_total += int(message["delta"])
        else:
            if kind == "stock":
                self._set_stock(message["item_id"], message["stock_remaining"])
            elif kind == "session":
                self.view.update(message["session"])
                self.stock.update({i["id"]: i["stock_remaining"] for i in self.view["lineup"]})
            elif kind == "chat_removed":
                gone = message.get("id")
                self.chat_buffer = [c for c in self.chat_buffer if c.get("id") != gone]
                for line in [c for c in self.recent_chat if c.get("id") == gone]:
                    self.recent_chat.remove(line)
            self.broadcast(data, critical=True)

    def _set_stock(self, item_id: int, remaining: int) -> None:
        self.stock[item_id] = remaining
        for item in self.view.get("lineup", ()):
            if item["id"] == item_id:
                item["stock_remaining"] = remaining

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """A joining viewer's first message, from memory: the state as of the last message
        broadcast (what follows it reaches the viewer as events)."""
        view = dict(self.view)
        view["lineup"] = [
            {**item, "sale_state": rules.sale_state(
                session_status=view["status"],
                starts_at=datetime.fromisoformat(item["sale_starts_at"]),
                ends_at=datetime.fromisoformat(item["sale_ends_at"]), now=now)}
            for item in view["lineup"]]
        chat = list(self.recent_chat)[-RECENT_CHAT:]
        return {"type": "snapshot", "session": view, "viewers": self.viewers,
                "likes_total": self.likes_total, "recent_chat": chat,
                "server_time": now.isoformat()}

    def broadcast(self, data: bytes, *, critical: bool) -> None:
        """One encoding of the message, the same frame written to every viewer's socket."""
        frame = text_frame(data)
        clients = list(self.clients)
        for client in clients:
            client.offer(data, critical=critical, frame=frame)
        self.frames += len(clients)
        if self.sockets:
            self.outbox.append((frame, critical))

    def flush_sockets(self) -> None:
        """Write what was broadcast since the last call to every socket of the room's listener:
        the frames joined once into one bytes object, one `transport.write` per viewer. A viewer
        whose unsent bytes pass the soft limit gets only the card/stock/session frames (chat
        ticks are skipped and counted); past the hard limit, with such a frame to send, it is
        cut off (it reconnects to a fresh snapshot). Called at each tick."""
        out = self.outbox
        if not out:
            return
        self.outbox = []
        sockets = self.sockets
        if not sockets:
            return
        every = b"".join([frame for frame, _ in out])
        crucial = [frame for frame, critical in out if critical]
        n, nc = len(out), len(crucial)
        only_crucial = every if nc == n else b"".join(crucial)
        soft, hard = self.hub.soft_limit, self.hub.hard_limit
        delivered = 0
        behind: list[Any] = []
        for sock in sockets:
            transport = sock.transport
            try:
                buffered = transport.get_write_buffer_size()
                if buffered <= soft:
                    transport.write(every)
                    delivered += n
                elif buffered > hard and nc:
                    behind.append(sock)
                else:
                    if nc:
                        transport.write(only_crucial)
                    delivered += nc
                    sock.skipped += n - nc
            except RuntimeError:  # closed under us (uvloop refuses writes): leaving already
                continue
        for sock in behind:
            sock.drop()
        self.frames += delivered

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
        self.flush_sockets()  # card/stock/session frames since the last tick, before any wait
        try:
            await self._tick()
        finally:
            self.flush_sockets()

    async def _tick(self) -> None:
        await self._flush()
        if self.beats:
            beats, self.beats = self.beats, set()
            await self.hub.presence.beat_many(self.session_id, beats)
        self.viewers = await self.hub.presence.count(self.session_id)
        chat, self.chat_buffer = self.chat_buffer, []
        state = (self.viewers, self.likes_total)
        if chat or state != self._last_sent:
            self._last_sent = state
            self.recent_chat.extend(chat)
            tick = {"type": "tick", "chat": chat, "likes_total": self.likes_total,
                    "viewers": self.viewers}
            self.broadcast(orjson.dumps(tick), critical=False)
        if self.ticks % STOCK_REFRESH_TICKS == 0:
            await self._refresh_stock()
        minute = int(time.time() // 60)
        if minute != self.minute:
            ended, self.minute = self.minute, minute
            watched, self.heartbeats = self.heartbeats, set()
            if self.hub.engagement is not None and watched:
                await self.hub.engagement.watched(self.hub.db, self.view["shop"]["id"],
                                                  self.session_id, watched, ended, utcnow())

    async def _refresh_stock(self) -> None:
        """Stock messages from several workers may arrive out of order; once a second the room
        re-reads stock so every client converges on the committed value."""
        async with self.hub.db.read() as conn:
            rows = await conn.execute(select(lineup_items.c.id, lineup_items.c.stock_remaining)
                                      .where(lineup_items.c.session_id == self.session_id))
            for row in rows:
                if self.stock.get(row.id) != row.stock_remaining:
                    self._set_stock(row.id, row.stock_remaining)
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
                stored = await uow.conn.execute(insert(likes).returning(
                    likes.c.id, likes.c.user_id), [
                    {"session_id": self.session_id, "user_id": uid, "count": n, "created_at": now}
                    for uid, n in local.items()])
                if self.hub.engagement is not None:  # fans: affinity for likes
                    await self.hub.engagement.likes(uow, self.view["shop"]["id"],
                                                    self.session_id, dict(local),
                                                    {r.user_id: r.id for r in stored}, now)
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
        self.soft_limit = queue_size * 1024  # unsent bytes of a socket (room's listener)
        self.hard_limit = self.soft_limit * 16
        self.rooms: dict[int, Room] = {}
        self.engagement: Any = None  # fans.service.Engagement: affinity from the room
        self._lock = asyncio.Lock()
        # Rooms whose last viewer left: their loop is storing what is left (close() waits).
        self._retiring: set[Room] = set()

    async def join(self, session_id: int, viewer_key: str, user_id: int | None,
                   protocol: RoomWebSocketProtocol | None = None,
                   ) -> tuple[Room, Client | DirectClient]:
        """Add a viewer. With `protocol` (live/wsserver.py) the room writes its frames itself;
        without, the caller runs a sender task over the client's queue (`Client`)."""
        async with self._lock:
            room = self.rooms.get(session_id)
            if room is None:
                room = Room(self, session_id)
                await room.open()
                self.rooms[session_id] = room
        client: Client | DirectClient
        if protocol is not None:
            soft = self.queue_size * 1024
            client = DirectClient(viewer_key, user_id, protocol, soft_limit=soft,
                                  hard_limit=soft * 16)
        else:
            client = Client(viewer_key, user_id, self.queue_size)
        here = room.keys.get(viewer_key, 0)
        room.keys[viewer_key] = here + 1
        room.clients.add(client)
        room.joins.append((viewer_key, utcnow()))
        if not here:  # presence counts the workers serving a viewer; leave() mirrors this
            await self.presence.join(session_id, viewer_key)
        else:
            await self.presence.beat(session_id, viewer_key)
        return room, client

    async def _room(self, session_id: int) -> Room:
        async with self._lock:
            room = self.rooms.get(session_id)
            if room is None:
                room = Room(self, session_id)
                await room.open()
                self.rooms[session_id] = room
        return room

    async def join_socket(self, session_id: int, sock: Any, now: Any) -> Room | None:
        """A viewer on the room's own listener (live/roomserver.py): presence first, then, in
        one step with no wait, the socket joins the room and its snapshot is written — so the
        snapshot precedes every frame the room writes to it. None if the connection is gone."""
        key = sock.viewer_key
        while True:
            room = await self._room(session_id)
            here = room.keys.get(key, 0)
            room.keys[key] = here + 1
            try:
                if not here:
                    await self.presence.join(session_id, key)
                else:
                    await self.presence.beat(session_id, key)
            except BaseException:
                await self._forget(room, key)
                raise
            if sock.transport.is_closing():
                await self._forget(room, key)
                return None
            if self.rooms.get(session_id) is room:
                break
            # the room's last viewer left meanwhile and it was retired: join a fresh one
            await self._forget(room, key)
        sock.transport.write(text_frame(orjson.dumps(room.snapshot(now()))))
        room.sockets[sock] = None
        room.joins.append((key, utcnow()))
        return room

    def leave_socket(self, room: Room, sock: Any) -> bool:
        """Take a closed socket out of the room at once (its transport no longer takes
        writes); the caller then runs `forget_socket`. False if it was not in the room."""
        if sock not in room.sockets:
            return False
        del room.sockets[sock]
        room.skipped += sock.skipped
        room.leaves.append((sock.viewer_key, utcnow()))
        return True

    async def forget_socket(self, room: Room, sock: Any) -> None:
        """Presence, and the room's retirement if it was the last viewer."""
        await self._forget(room, sock.viewer_key)

    async def _forget(self, room: Room, viewer_key: str) -> None:
        left = room.keys.get(viewer_key, 1) - 1
        if left:
            room.keys[viewer_key] = left
        else:
            room.keys.pop(viewer_key, None)
            await self.presence.leave(room.session_id, viewer_key)
        await self._retire_if_empty(room)

    async def leave(self, room: Room, client: Client | DirectClient) -> None:
        if client not in room.clients:
            return
        room.clients.discard(client)
        room.skipped += client.skipped
        room.leaves.append((client.viewer_key, utcnow()))
        left = room.keys.get(client.viewer_key, 1) - 1
        if left:
            room.keys[client.viewer_key] = left
        else:
            room.keys.pop(client.viewer_key, None)
            await self.presence.leave(room.session_id, client.viewer_key)
        await self._retire_if_empty(room)

    async def _retire_if_empty(self, room: Room) -> None:
        async with self._lock:
            if not room.clients and not room.sockets and self.rooms.get(room.session_id) is room:
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
