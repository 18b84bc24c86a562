"""A campaign to 100,000 fans (issue #13 target: enqueued in under 10 s): the `campaign_send`
deadline's handler, on a shop with that many fan-club members, one in fifty opted out — the
segment evaluated, the frequency cap looked up, and one
notice and one message row written per recipient, in one transaction. Prints JSON with the wall
and CPU time of the send (the work measured) and of a baseline that takes the same path with an
empty segment (everything but the per-recipient work), and the target checked.

    .venv/bin/python bench/campaigns.py [--fans 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from livepledge.accounts.models import shops, users
from livepledge.fans.campaigns import CampaignSend
from livepledge.fans.models import campaigns, fan_members, fan_segments
from livepledge.infra.db import Database, async_url
from livepledge.infra.migrate import upgrade
from livepledge.notices.models import notices

TARGET_SECONDS = 10.0
CHUNK = 5_000


async def seed(db: Database, fans: int, now: datetime) -> None:
    async with db.write() as uow:
        c = uow.conn
        for start in range(0, fans + 1, CHUNK):
            await c.execute(insert(users), [
                {"login": f"f{n}", "display_name": f"f{n}", "password_hash": "-",
                 "role": "buyer", "created_at": now}
                for n in range(start, min(fans + 1, start + CHUNK))])
        await c.execute(insert(shops).values(id=1, name="s", legal_name="s", license_no="s",
                                             created_at=now))
        for start in range(2, fans + 2, CHUNK):
            await c.execute(insert(fan_members), [
                {"shop_id": 1, "user_id": u, "joined_at": now, "affinity": 0, "points": 0,
                 "streak": 0, "tags": [], "campaigns_opt_out": u % 50 == 0}
                for u in range(start, min(fans + 2, start + CHUNK))])
        for n, rule in ((1, {"members_only": True}), (2, {"members_only": True,
                                                           "tags_any": ["nobody"]})):
            await c.execute(insert(fan_segments).values(id=n, shop_id=1, name=f"s{n}",
                                                        filter=rule, created_by=1,
                                                        created_at=now))
            await c.execute(insert(campaigns).values(
                id=n, shop_id=1, segment_id=n, segment_filter=rule, title="新品", body="今晚直播",
                status="scheduled",
                send_at=now, created_by=1, created_at=now))


async def send(db: Database, campaign_id: int, now: datetime) -> tuple[float, float, str]:
    wall, cpu = time.perf_counter(), time.process_time()
    async with db.write() as uow:
        outcome = await CampaignSend().fire(uow, campaign_id, {}, now)
    return time.perf_counter() - wall, time.process_time() - cpu, outcome


async def run(url: str, fans: int) -> dict[str, object]:
    db = Database(url)
    now = datetime.now(UTC)
    await seed(db, fans, now)
    base_wall, base_cpu, _ = await send(db, 2, now)  # the same path, nobody in the segment
    wall, cpu, outcome = await send(db, 1, now)
    async with db.read() as conn:
        written = (await conn.execute(select(func.count()).select_from(notices))).scalar_one()
    await db.dispose()
    return {"database": url.split(":")[0].split("+")[0], "fans": fans,
            "notices_written": written, "outcome": outcome,
            "send_wall_s": round(wall, 2), "send_cpu_s": round(cpu, 2),
            "baseline_wall_s": round(base_wall, 2), "baseline_cpu_s": round(base_cpu, 2),
            "cpu_us_per_recipient": round((cpu - base_cpu) / max(1, written) * 1e6, 1),
            "target": f"enqueued in < {TARGET_SECONDS:.0f} s",
            "meets_target": wall < TARGET_SECONDS}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fans", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(async_url(url))
    print(json.dumps(asyncio.run(run(async_url(url), args.fans)), ensure_ascii=False))


if __name__ == "__main__":
    main()
