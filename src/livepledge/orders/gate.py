"""The flash-sale stock gate: reserves quantity and checks the per-buyer limit atomically, in front
of the database, so most requests of a burst (sold out, over the limit) are answered without a
write. The database stays the system of record and re-checks both conditions in the batched commit
(`orders/writer.py`), so a gate that drifts can under-sell for a moment but never over-sell.

The gate also remembers the reference (`buyer:idempotency key`) of every order of the item, so
a rejection never needs a database read to rule out a repeated request, and a repeat whose first
request is still being written is recognised (`known`) and can wait for that order.

Embedded: `LocalStockGate` (one process; reservations are plain dict updates between awaits).
Scale-out: `RedisStockGate` (one Lua script per reservation, over the lean multiplexed client of
`infra/resp.py`). Both pass tests/contract/.

Dead workers (scale-out): every worker keeps a short-lived liveness key in Redis, refreshed by a
heartbeat thread (so a busy event loop does not make a live worker look dead), and every Redis
reservation records its worker. A pending reservation whose worker's key is gone can be released
by anyone within seconds (`orphan`, `settle_stale`), instead of after the 60 s lease: see
docs/decisions.md, "Dead workers' reservations".
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from livepledge.infra.resp import RespClient, RespScript
from livepledge.infra.singleflight import SingleFlight

log = logging.getLogger("livepledge.orders.gate")


@dataclass(frozen=True)
class ItemStock:
    """What the gate needs to start gating an item, read from the database."""

    remaining: int
    bought: dict[int, int]
    references: set[str] = field(default_factory=set)  # buyer:key of every order of the item


Loader = Callable[[int], Awaitable[ItemStock]]


@dataclass(frozen=True)
class Reservation:
    outcome: str  # reserved | sold_out | over_limit | known (a repeat of an earlier request)
    bought_before: int  # units this buyer held before this request
    token: str = ""

    @property
    def is_reserved(self) -> bool:
        return self.outcome == "reserved"


class StockGate(Protocol):
    async def reserve(self, item_id: int, buyer_id: int, quantity: int, limit: int,
                      *, reference: str) -> Reservation: ...
    async def confirm(self, item_id: int, reservations: list[Reservation]) -> None: ...
    async def release(self, item_id: int, buyer_id: int, quantity: int,
                      reservation: Reservation | None = None) -> None: ...
    async def remaining(self, item_id: int) -> int | None: ...
    async def forget(self, item_id: int) -> None: ...
    async def reclaim_orphan(self, item_id: int, reference: str,
                             committed: Callable[[], Awaitable[bool]]) -> bool: ...
    async def close(self) -> None: ...


@dataclass
class _LocalItem:
    remaining: int
    bought: dict[int, int] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)  # reservations not yet confirmed/released
    known: set[str] = field(default_factory=set)  # references of orders, written or in flight


class LocalStockGate:
    def __init__(self, loader: Loader) -> None:
        self._loader = loader
        self._items: dict[int, _LocalItem] = {}
        self._loading: SingleFlight[int, _LocalItem] = SingleFlight()

    async def _item(self, item_id: int) -> _LocalItem:
        item = self._items.get(item_id)
        if item is not None:
            return item
        return await self._loading.run(item_id, lambda: self._load(item_id))

    async def _load(self, item_id: int) -> _LocalItem:
        stock = await self._loader(item_id)
        item = _LocalItem(stock.remaining, dict(stock.bought), known=set(stock.references))
        self._items[item_id] = item
        return item

    async def reserve(self, item_id: int, buyer_id: int, quantity: int, limit: int,
                      *, reference: str) -> Reservation:
        item = await self._item(item_id)
        # No await between the checks and the update: atomic within the event loop.
        bought = item.bought.get(buyer_id, 0)
        if reference in item.known:
            return Reservation("known", bought)
        if bought + quantity > limit:
            return Reservation("over_limit", bought)
        if item.remaining < quantity:
            return Reservation("sold_out", bought)
        item.remaining -= quantity
        item.bought[buyer_id] = bought + quantity
        if reference:
            item.pending.add(reference)
            item.known.add(reference)
        return Reservation("reserved", bought, reference)

    async def confirm(self, item_id: int, reservations: list[Reservation]) -> None:
        item = self._items.get(item_id)
        if item is not None:
            item.pending.difference_update(r.token for r in reservations)

    async def release(self, item_id: int, buyer_id: int, quantity: int,
                      reservation: Reservation | None = None) -> None:
        item = self._items.get(item_id)
        if item is None:
            return  # not gated in this process: the database already holds the truth
        token = reservation.token if reservation else ""
        if token:
            # A reservation gives its units back once, and only while still pending (like the
            # Redis gate): a second release of it, or a release after confirm, is a no-op.
            if token not in item.pending:
                return
            item.pending.discard(token)
            item.known.discard(token)  # no order was written under this reference
        item.remaining += quantity
        left = item.bought.get(buyer_id, 0) - quantity
        if left > 0:
            item.bought[buyer_id] = left
        else:
            item.bought.pop(buyer_id, None)

    async def remaining(self, item_id: int) -> int | None:
        item = self._items.get(item_id)
        return None if item is None else item.remaining

    async def forget(self, item_id: int) -> None:
        self._items.pop(item_id, None)

    async def reclaim_orphan(self, item_id: int, reference: str,
                             committed: Callable[[], Awaitable[bool]]) -> bool:
        return False  # one process: a reservation's worker is this process, alive

    async def close(self) -> None:
        self._items.clear()


_RESERVE = """
local remaining = redis.call('GET', KEYS[1])
if not remaining then return {-1, 0} end
remaining = tonumber(remaining)
local qty = tonumber(ARGV[2])
local bought = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if redis.call('SISMEMBER', KEYS[4], ARGV[4]) == 1 then return {3, bought} end
if bought + qty > tonumber(ARGV[3]) then return {2, bought} end
if remaining < qty then return {1, bought} end
redis.call('DECRBY', KEYS[1], qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
redis.call('SADD', KEYS[4], ARGV[4])
return {0, bought}
"""

_LOAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[4])
local pairs_end = 2 + 2 * tonumber(ARGV[2])
for i = 3, pairs_end, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = pairs_end + 1, #ARGV do redis.call('SADD', KEYS[4], ARGV[i]) end
return 1
"""

_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' then
  if redis.call('HDEL', KEYS[3], ARGV[3]) == 0 and ARGV[4] ~= 'settled' then
    redis.call('HDEL', KEYS[5], ARGV[3])
    return 0
  end
  redis.call('SREM', KEYS[4], ARGV[3])
  if ARGV[4] == 'reclaim' then redis.call('HSET', KEYS[5], ARGV[3], ARGV[2]) end
end
redis.call('INCRBY', KEYS[1], ARGV[2])
local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2]))
if left <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1
"""

# Confirm after commit. A reservation no longer pending but marked reclaimed was released by
# another worker that took this one for dead (its liveness key had expired) while its order was
# still being written: the order is committed, so take its units back in the gate (the database
# was right all along; this keeps the gate from drifting). Returns how many were taken back.
_CONFIRM = """
local retaken = 0
for i = 1, #ARGV do
  if redis.call('HDEL', KEYS[3], ARGV[i]) == 0 then
    local qty = redis.call('HGET', KEYS[5], ARGV[i])
    if qty then
      redis.call('HDEL', KEYS[5], ARGV[i])
      if redis.call('EXISTS', KEYS[1]) == 1 then
        redis.call('DECRBY', KEYS[1], qty)
        redis.call('HINCRBY', KEYS[2], string.match(ARGV[i], '^([^:]*)'), qty)
        redis.call('SADD', KEYS[4], ARGV[i])
      end
      retaken = retaken + 1
    end
  end
end
return retaken
"""

_OUTCOMES = {0: "reserved", 1: "sold_out", 2: "over_limit", 3: "known"}


class RedisStockGate:
    """Keys per item: remaining (string), bought (hash buyer → units), pending (hash reservation
    → JSON naming its worker), refs (set), reclaimed (hash reservation → units, released by
    another worker while its own worker was taken for dead). A reservation stays pending until
    its order is committed (`confirm`) or given back (`release`). Pendings whose worker's
    liveness key (`{prefix}:worker:{id}`, refreshed every `heartbeat_seconds`, expiring after
    `worker_ttl`) is gone, or older than a lease, are settled by `settle_stale` (deps.py)."""

    def __init__(self, url: str, loader: Loader, *, prefix: str = "lp:gate",
                 reply_timeout: float = 5.0, worker_ttl: float = 5.0,
                 heartbeat_seconds: float = 1.0) -> None:
        # The lean multiplexed client (infra/resp.py): the buy path makes one call per press.
        self._url = url
        self._redis = RespClient(url, reply_timeout=reply_timeout)
        self._loader = loader
        self._prefix = prefix
        self._reserve = RespScript(self._redis, _RESERVE)
        self._load = RespScript(self._redis, _LOAD)
        self._release = RespScript(self._redis, _RELEASE)
        self._confirm = RespScript(self._redis, _CONFIRM)
        self._loading: SingleFlight[int, None] = SingleFlight()
        self.worker_id = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.worker_ttl = worker_ttl
        self.heartbeat_seconds = heartbeat_seconds
        self._heart: threading.Thread | None = None
        self._heart_stop = threading.Event()
        self._starting: SingleFlight[int, None] = SingleFlight()

    def _keys(self, item_id: int) -> list[str]:
        base = f"{self._prefix}:{{{item_id}}}"  # hash tag: one Redis Cluster slot per item
        return [f"{base}:remaining", f"{base}:bought", f"{base}:pending", f"{base}:refs",
                f"{base}:reclaimed"]

    def alive_key(self, worker: str) -> str:
        return f"{self._prefix}:worker:{worker}"

    @property
    def _workers_key(self) -> str:
        return f"{self._prefix}:workers"

    # --- liveness -----------------------------------------------------------------------

    async def start(self) -> None:
        """Announce this worker alive (before its first reservation) and start its heartbeat.
        Idempotent; `reserve` calls it on first use."""
        if self._heart is None:
            await self._starting.run(0, self._start)

    async def _start(self) -> None:
        if self._heart is not None:
            return
        await self._redis.call("SET", self.alive_key(self.worker_id), os.getpid(), "PX",
                               int(self.worker_ttl * 1000))
        await self._redis.call("SADD", self._workers_key, self.worker_id)
        self._heart = threading.Thread(target=self._beat_forever, daemon=True,
                                       name=f"gate-heartbeat-{self.worker_id}")
        self._heart.start()

    def _beat_forever(self) -> None:
        """A thread, not an asyncio task: a worker whose event loop is busy or blocked for a
        while is slow, not dead, and must keep its reservations. Only a dead process (or one cut
        off from Redis for longer than the TTL) stops beating."""
        import redis  # the synchronous client, for this one thread

        client = redis.Redis.from_url(self._url, socket_timeout=self.heartbeat_seconds,
                                      socket_connect_timeout=self.heartbeat_seconds)
        ttl_ms = int(self.worker_ttl * 1000)
        try:
            while not self._heart_stop.wait(self.heartbeat_seconds):
                try:
                    pipe = client.pipeline(transaction=False)
                    pipe.set(self.alive_key(self.worker_id), os.getpid(), px=ttl_ms)
                    pipe.sadd(self._workers_key, self.worker_id)
                    pipe.execute()
                except Exception as exc:  # Redis away: retried on the next beat
                    log.warning("gate heartbeat failed: %s", exc)
        finally:
            client.close()

    async def dead_workers(self) -> set[str]:
        """Workers registered with the gate whose liveness key has expired."""
        workers = [w.decode() for w in await self._redis.call("SMEMBERS", self._workers_key)]
        dead = set()
        for worker in workers:
            if not await self._redis.call("EXISTS", self.alive_key(worker)):
                dead.add(worker)
        return dead

    async def forget_workers(self, workers: set[str]) -> None:
        """Unregister dead workers once none of their reservations is pending any more."""
        if workers:
            await self._redis.call("SREM", self._workers_key, *sorted(workers))

    async def orphan(self, item_id: int, reference: str) -> dict[str, object] | None:
        """The pending reservation `reference`, if its worker is dead (its liveness key gone)."""
        raw = await self._redis.call("HGET", self._keys(item_id)[2], reference)
        if raw is None:
            return None
        record = orjson.loads(raw)
        worker = record.get("w")
        if not worker or await self._redis.call("EXISTS", self.alive_key(str(worker))):
            return None
        record["token"] = reference
        return record  # type: ignore[no-any-return]

    async def reclaim_orphan(self, item_id: int, reference: str,
                             committed: Callable[[], Awaitable[bool]]) -> bool:
        """If the reservation `reference` belongs to a dead worker, settle it now: confirmed if
        its order is in the database, else released. True when it was released (the caller may
        reserve again in its place)."""
        record = await self.orphan(item_id, reference)
        if record is None:
            return False
        is_committed = await committed()
        return await self.settle_stale(item_id, record, committed=is_committed) and not is_committed

    async def _ensure_loaded(self, item_id: int) -> None:
        """Load the item into Redis from the database. Single flight per process: the first
        burst finds the item unloaded on every one of its concurrent requests, and one database
        read serves them all (the Lua load is a no-op if another worker loaded it first)."""
        await self._loading.run(item_id, lambda: self._load_item(item_id))

    async def _load_item(self, item_id: int) -> None:
        stock = await self._loader(item_id)
        args: list[int | str] = [stock.remaining, len(stock.bought)]
        for buyer, qty in stock.bought.items():
            args.extend((buyer, qty))
        args.extend(sorted(stock.references))
        await self._load(self._keys(item_id), args)

    async def reserve(self, item_id: int, buyer_id: int, quantity: int, limit: int,
                      *, reference: str) -> Reservation:
        if self._heart is None:
            await self.start()
        keys = self._keys(item_id)
        record = orjson.dumps({"buyer": buyer_id, "qty": quantity, "ref": reference,
                               "at": time.time(), "w": self.worker_id})
        args = [buyer_id, quantity, limit, reference, record]
        code, bought = await self._reserve(keys, args)
        if code == -1:
            await self._ensure_loaded(item_id)
            code, bought = await self._reserve(keys, args)
        return Reservation(_OUTCOMES[code], bought, reference if code == 0 else "")

    async def confirm(self, item_id: int, reservations: list[Reservation]) -> None:
        refs = [r.token for r in reservations if r.token]
        if refs:
            retaken = await self._confirm(self._keys(item_id), refs)
            if retaken:
                log.warning("%d reservation(s) of item %s were reclaimed while their orders were "
                            "being committed (this worker was taken for dead); taken back",
                            retaken, item_id)

    async def release(self, item_id: int, buyer_id: int, quantity: int,
                      reservation: Reservation | None = None) -> None:
        token = reservation.token if reservation else ""
        mode = "pending" if token else "settled"
        await self._release(self._keys(item_id), [buyer_id, quantity, token, mode])

    async def remaining(self, item_id: int) -> int | None:
        value = await self._redis.call("GET", self._keys(item_id)[0])
        return None if value is None else int(value)

    async def forget(self, item_id: int) -> None:
        await self._redis.call("DEL", *self._keys(item_id))

    async def stale_pending(self, item_id: int, *, older_than: float,
                            dead: set[str] | frozenset[str] = frozenset()
                            ) -> list[dict[str, object]]:
        """Pendings older than `older_than` seconds, or made by one of the `dead` workers."""
        flat = await self._redis.call("HGETALL", self._keys(item_id)[2])
        cutoff = time.time() - older_than
        stale = []
        for token, raw in zip(flat[::2], flat[1::2], strict=True):
            record = orjson.loads(raw)
            if record["at"] < cutoff or record.get("w") in dead:
                record["token"] = token.decode()
                stale.append(record)
        return stale

    async def settle_stale(self, item_id: int, record: dict[str, object], *,
                           committed: bool) -> bool:
        """Settle a reservation whose worker is dead (or that outlived the lease): forget it if
        its order is committed, else give its units back (marked reclaimed, so that a worker
        that was only slow takes them back when it confirms). True if this call settled it
        (several workers may race to; one wins)."""
        token = str(record["token"])
        if committed:
            return bool(await self._redis.call("HDEL", self._keys(item_id)[2], token))
        return bool(await self._release(self._keys(item_id), [
            int(record["buyer"]), int(record["qty"]), token, "reclaim"]))  # type: ignore[call-overload]

    async def gated_items(self) -> list[int]:
        items, cursor = [], b"0"
        while True:
            cursor, keys = await self._redis.call("SCAN", cursor, "MATCH",
                                                  f"{self._prefix}:*:pending", "COUNT", 500)
            for key in keys:
                text = key.decode()
                items.append(int(text[text.index("{") + 1:text.index("}")]))
            if cursor == b"0":
                return items

    async def close(self) -> None:
        if self._heart is not None:
            self._heart_stop.set()
            self._heart.join(timeout=5)
            self._heart = None
            try:  # a clean stop: the writer has settled every reservation of this worker
                await self._redis.call("DEL", self.alive_key(self.worker_id))
                await self._redis.call("SREM", self._workers_key, self.worker_id)
            except Exception as exc:
                log.warning("could not unregister the gate worker: %s", exc)
        await self._redis.close()
