"""Who may claim a targeted coupon (fan level, saved segment), answered on the claim path
without a query per claim (docs/fans.md, "Targeted coupons").

- Fan level: the chat badge's cache (`service.BadgeCache`): each (shop, fan) read at most once
  per 60 s per process, forgotten at once in this process on joining, leaving and new levels.
- Segment: the segment's whole membership is computed once (one read of the shop's fan facts,
  evaluated in memory, as the segment list does) and kept as a set for `ttl` seconds per
  process; concurrent misses share one computation. A burst of 10,000 claims therefore costs
  one computation, not 10,000 queries.

So eligibility may be up to `ttl` seconds old: a fan who just reached the level or entered the
segment may be refused for up to a minute, and one who just left it may still claim. The
budget and per-buyer limit are never stale (the database re-checks them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from livepledge.fans import rules
from livepledge.fans.models import fan_segments
from livepledge.fans.segments import load_facts, to_filter
from livepledge.fans.service import BadgeCache
from livepledge.infra.db import Database
from livepledge.infra.singleflight import SingleFlight

SEGMENT_TTL_SECONDS = 60.0


class TargetingCache:
    def __init__(self, db: Database, badges: BadgeCache, *, ttl: float = SEGMENT_TTL_SECONDS,
                 clock: Callable[[], float] | None = None) -> None:
        self.db = db
        self.badges = badges
        self.ttl = ttl
        self._clock = clock or time.monotonic
        self._segments: dict[int, tuple[float, frozenset[int]]] = {}
        self._loading: SingleFlight[int, frozenset[int]] = SingleFlight()
        self.segment_reads = 0  # computations made (tests, benchmarks)

    async def level(self, shop_id: int, user_id: int) -> int:
        """The fan's level in the shop's club, 0 for a non-member (cached, see above)."""
        badge = await self.badges.badge(shop_id, user_id)
        return int(badge["level"]) if badge else 0

    async def segment_members(self, shop_id: int, segment_id: int,
                              now: datetime) -> frozenset[int]:
        hit = self._segments.get(segment_id)
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        return await self._loading.run(segment_id,
                                       lambda: self._load(shop_id, segment_id, now))

    async def _load(self, shop_id: int, segment_id: int, now: datetime) -> frozenset[int]:
        self.segment_reads += 1
        async with self.db.read() as conn:
            row = (await conn.execute(select(fan_segments.c.shop_id, fan_segments.c.filter)
                                      .where(fan_segments.c.id == segment_id))).first()
            # A deleted segment, or another shop's, selects nobody.
            facts = await load_facts(conn, shop_id, now) \
                if row is not None and row.shop_id == shop_id else []
        members = frozenset()
        if row is not None and row.shop_id == shop_id:
            f = to_filter(row.filter)
            members = frozenset(fan.user_id for fan in facts if rules.matches(f, fan, now))
        if len(self._segments) > 10_000:
            self._segments.clear()
        self._segments[segment_id] = (self._clock() + self.ttl, members)
        return members

    def forget_segment(self, segment_id: int) -> None:
        self._segments.pop(segment_id, None)

    async def eligible(self, shop_id: int, user_id: int, *, min_level: int | None,
                       segment_id: int | None, now: datetime) -> bool:
        """Every targeting condition given holds for this fan (per the caches above)."""
        if min_level is not None and await self.level(shop_id, user_id) < min_level:
            return False
        if segment_id is not None:
            return user_id in await self.segment_members(shop_id, segment_id, now)
        return True
