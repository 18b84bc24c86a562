"""What crediting verified watch minutes costs a room of 10,000 logged-in viewers (fans/
service.py `Engagement.watched`): once a minute, one transaction per room and worker upserts a
`fan_watch` row per viewer who sent a heartbeat that minute and credits the engaged fan-club
members. Per heartbeat the room only adds the viewer to a set. Prints JSON: the time of one
minute's credit (cold: first minute; warm: later minutes) with 10 % of viewers engaged members.

    .venv/bin/python bench/fans_watch.py [--viewers 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from livepledge.accounts.models import shops, users
from livepledge.fans.models import fan_members, fan_watch
from livepledge.fans.service import Engagement
from livepledge.infra.db import Database, async_url
from livepledge.infra.migrate import upgrade
from livepledge.live.models import live_sessions


async def run(url: str, viewers: int, minutes: int) -> dict[str, object]:
    db = Database(url)
    now = datetime.now(UTC)
    async with db.write() as uow:
        c = uow.conn
        await c.execute(insert(users), [
            {"login": f"v{n}", "display_name": f"v{n}", "password_hash": "-", "role": "buyer",
             "created_at": now} for n in range(viewers + 1)])
        await c.execute(insert(shops).values(id=1, name="s", legal_name="s", license_no="s",
                                             created_at=now))
        await c.execute(insert(live_sessions).values(
            id=1, shop_id=1, anchor_id=1, title="t", scheduled_at=now, status="live",
            started_at=now, created_at=now))
        members = list(range(2, viewers + 2, 10))  # every tenth viewer: an engaged fan
        await c.execute(insert(fan_members), [
            {"shop_id": 1, "user_id": u, "joined_at": now, "affinity": 0, "points": 0,
             "streak": 0, "tags": [], "campaigns_opt_out": False} for u in members])
        await c.execute(insert(fan_watch), [
            {"session_id": 1, "user_id": u, "shop_id": 1, "minutes": 0, "credited": 0,
             "last_minute": 0, "engaged": True} for u in members])
    watching = set(range(2, viewers + 2))
    engagement = Engagement()
    base = int(now.timestamp() // 60)
    times = []
    for m in range(minutes):
        started = time.perf_counter()
        await engagement.watched(db, 1, 1, watching, base + m, now)
        times.append(time.perf_counter() - started)
    await db.dispose()
    return {"database": url.split(":")[0], "viewers": viewers, "engaged_members": len(members),
            "first_minute_seconds": round(times[0], 3),
            "later_minute_seconds": round(sorted(times[1:])[len(times[1:]) // 2], 3),
            "per_viewer_microseconds": round(sorted(times[1:])[len(times[1:]) // 2]
                                             / viewers * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=4)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(async_url(url))
    print(json.dumps(asyncio.run(run(async_url(url), args.viewers, args.minutes))))


if __name__ == "__main__":
    main()
