"""Who is calling (`Principal`), and the cache of validated tokens that spares the buy path a
token query.

Two tiers: each process keeps the principals it validated for up to `ttl` seconds; with Redis
(the scale-out shape) they are also shared through Redis for the same lifetime, so a buyer whose
token one worker validated is known to every worker (behind a load balancer a buyer's presses
land on any worker). An entry never outlives `ttl` from its database read, whichever tier it
comes from. Revocation (logout, shop membership changes) clears this process at once, bumps a
shared generation so no worker takes an older shared entry again, and is published on the
broker so the other processes drop their own tier too, in milliseconds; one that misses the
message (Redis pub/sub delivers at most once) drops it within `ttl` (docs/settings.md,
`LIVEPLEDGE_TOKEN_CACHE_SECONDS`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import orjson

from livepledge.accounts import rules
from livepledge.infra.broker import Broker
from livepledge.infra.resp import RespClient


@dataclass(frozen=True)
class Principal:
    user_id: int
    login: str
    display_name: str
    role: str
    shop_roles: dict[int, str] = field(default_factory=dict)

    def can_manage(self, shop_id: int) -> bool:
        return self.shop_roles.get(shop_id) in rules.MANAGE_ROLES

    def is_member(self, shop_id: int) -> bool:
        return shop_id in self.shop_roles

    @property
    def is_operator(self) -> bool:
        """A platform operator: decides escalated after-sales cases (accounts/rules.py)."""
        return self.role == rules.OPERATOR


_GENERATION_KEY = "lp:tok:generation"
TOKENS_CHANNEL = "lp:tokens"  # "drop your own tier": a revocation, told to every worker
MAX_LOCAL_ENTRIES = 100_000


@dataclass(frozen=True)
class Stamp:
    """The cache generations seen before a database read: an entry read under an older
    generation than the current one is never cached (a revocation may have happened meanwhile)."""

    local: int
    shared: int


class TokenCache:
    def __init__(self, ttl: float, shared: RespClient | None = None,
                 broker: Broker | None = None) -> None:
        self.ttl = ttl
        self.shared = shared
        self.broker = broker
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._generation = 0

    async def start(self) -> None:
        if self.broker is not None:
            await self.broker.subscribe(TOKENS_CHANNEL, self._on_revocation)

    async def _on_revocation(self, _channel: str, _data: bytes) -> None:
        self.drop_local()

    def drop_local(self) -> None:
        """Forget this process's tier; a read in progress is not cached either (its stamp)."""
        self._generation += 1
        self._entries.clear()

    def get(self, digest: str) -> Principal | None:
        """This process's tier: no I/O."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _put_local(self, digest: str, principal: Principal, expires_wall: float) -> None:
        if len(self._entries) >= MAX_LOCAL_ENTRIES:
            self._entries.clear()
        self._entries[digest] = (time.monotonic() + (expires_wall - time.time()), principal)

    async def lookup(self, digest: str) -> tuple[Principal | None, Stamp]:
        """The shared tier (one Redis round trip; none without Redis), and the stamp to pass to
        `put` after reading the database on a miss."""
        local = self._generation
        if self.shared is None or self.ttl <= 0:
            return None, Stamp(local, 0)
        generation, raw = await self.shared.call("MGET", _GENERATION_KEY, _key(digest))
        stamp = Stamp(local, int(generation or 0))
        if raw is None:
            return None, stamp
        entry = orjson.loads(raw)
        if entry["g"] != stamp.shared or entry["exp"] <= time.time():
            return None, stamp
        principal = Principal(user_id=entry["u"], login=entry["l"], display_name=entry["d"],
                              role=entry["r"], shop_roles={int(k): v for k, v in entry["s"]})
        if local == self._generation:
            self._put_local(digest, principal, entry["exp"])
        return principal, stamp

    async def put(self, digest: str, principal: Principal, stamp: Stamp) -> None:
        """Cache a principal read from the database after `lookup` gave `stamp`."""
        if self.ttl <= 0 or stamp.local != self._generation:
            return
        expires = time.time() + self.ttl
        self._put_local(digest, principal, expires)
        if self.shared is None:
            return
        entry = {"u": principal.user_id, "l": principal.login, "d": principal.display_name,
                 "r": principal.role, "s": list(principal.shop_roles.items()),
                 "exp": expires, "g": stamp.shared}
        await self.shared.call("SET", _key(digest), orjson.dumps(entry), "PX",
                               max(1, int(self.ttl * 1000)))

    async def forget(self) -> None:
        """After a revocation or a membership change: drop this process's tier, retire every
        shared entry, and tell the other processes to drop theirs. Redis pub/sub delivers that
        at most once: a worker that misses it still drops the entry within `ttl`."""
        self.drop_local()
        if self.shared is not None:
            await self.shared.call("INCR", _GENERATION_KEY)
        if self.broker is not None:
            await self.broker.publish(TOKENS_CHANNEL, b"revoked")

    async def close(self) -> None:
        if self.broker is not None:
            await self.broker.unsubscribe(TOKENS_CHANNEL, self._on_revocation)
        if self.shared is not None:
            await self.shared.close()


def _key(digest: str) -> str:
    return f"lp:tok:{digest}"
