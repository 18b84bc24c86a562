"""Property tests on the fan club's real service code and database (SQLite): whatever sequence
of credits, spends and grants happens, over several days, each source stays within its daily
cap, points never go below zero, and both totals equal the sums of their histories."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from livepledge.accounts.models import shops, users
from livepledge.fans import rules
from livepledge.fans import service as fans
from livepledge.fans.models import affinity_entries, fan_members, point_entries
from livepledge.infra.db import Database
from livepledge.infra.problems import Problem
from tests.conftest import _migrated

SOURCES = sorted(set(rules.SOURCES) - {"refund"})
OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("award"), st.sampled_from(SOURCES), st.integers(0, 400), st.integers(0, 2)),
    st.tuples(st.just("spend"), st.integers(1, 40), st.just(0), st.integers(0, 2)),
    st.tuples(st.just("grant"), st.integers(1, 40), st.just(0), st.integers(0, 2)),
), max_size=40)
# 15:30 UTC is 23:30 in Shanghai: day offsets and hours cross Shanghai midnights
START = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)


async def _run(url: str, operations: list[tuple[object, ...]]) -> None:
    db = Database(url)
    now = START
    async with db.write() as uow:
        await uow.conn.execute(insert(users).values(id=1, login="f", display_name="f",
                                                    password_hash="-", role="buyer",
                                                    created_at=now))
        await uow.conn.execute(insert(shops).values(id=1, name="s", legal_name="s",
                                                    license_no="s", created_at=now))
        await uow.conn.execute(insert(fan_members).values(
            shop_id=1, user_id=1, joined_at=now, affinity=0, points=0, streak=0, tags=[],
            campaigns_opt_out=False))
    refs = itertools.count()
    for kind, value, units, days in operations:
        now = START + timedelta(days=int(days), minutes=next(refs))
        if kind == "award":
            async with db.write() as uow:
                await fans.do_award(uow, 1, [fans.Award(1, str(value), int(units),
                                                        f"x:{next(refs)}")], now)
        elif kind == "spend":
            try:
                await fans.spend(db, 1, 1, int(value), reason="coupon", ref=f"s{next(refs)}",
                                 now=now)
            except Problem as problem:
                assert problem.code == "insufficient_points"
        else:
            async with db.write() as uow:
                await fans.do_add_points(uow, 1, 1, int(value), reason="test",
                                         ref=f"g{next(refs)}", now=now)
    async with db.read() as conn:
        member = (await conn.execute(select(fan_members))).one()
        per_day = (await conn.execute(select(
            affinity_entries.c.day, affinity_entries.c.source, func.sum(affinity_entries.c.points))
            .group_by(affinity_entries.c.day, affinity_entries.c.source))).all()
        affinity = (await conn.execute(select(func.coalesce(func.sum(
            affinity_entries.c.points), 0)))).scalar_one()
        points, lowest = (await conn.execute(select(func.coalesce(func.sum(
            point_entries.c.delta), 0), func.min(point_entries.c.balance)))).one()
    await db.dispose()
    for _day, source, total in per_day:
        cap = rules.SOURCES[source].daily_cap
        assert cap is not None and 0 < total <= cap
    assert member.affinity == affinity
    assert member.points == points >= 0
    assert lowest is None or lowest >= 0


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPERATIONS)
def test_any_sequence_keeps_caps_and_histories(tmp_path_factory, operations) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fans') / 'lp.db'}"
    _migrated(url)
    asyncio.run(_run(url, operations))
