"""SingleFlight: one run per key for concurrent callers; errors reach every caller; a cancelled
waiter does not cancel the run; a later call runs again."""

from __future__ import annotations

import asyncio

import pytest

from livepledge.infra.singleflight import SingleFlight


async def test_concurrent_callers_share_one_run_per_key():
    flight: SingleFlight[str, int] = SingleFlight()
    runs: list[str] = []
    gate = asyncio.Event()

    async def work(key: str) -> int:
        runs.append(key)
        await gate.wait()
        return len(runs)

    tasks = [asyncio.create_task(flight.run(k, lambda k=k: work(k))) for k in "aaab"]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == [2, 2, 2, 2]
    assert sorted(runs) == ["a", "b"]
    assert await flight.run("a", lambda: work("a")) == 3  # finished runs are not reused


async def test_an_error_reaches_every_caller_and_is_not_kept():
    flight: SingleFlight[str, int] = SingleFlight()
    gate = asyncio.Event()

    async def failing() -> int:
        await gate.wait()
        raise LookupError("gone")

    tasks = [asyncio.create_task(flight.run("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r) for r in results] == [LookupError] * 3

    async def ok() -> int:
        return 7
    assert await flight.run("k", ok) == 7


async def test_a_cancelled_waiter_does_not_cancel_the_run():
    flight: SingleFlight[str, str] = SingleFlight()
    gate = asyncio.Event()

    async def work() -> str:
        await gate.wait()
        return "done"

    runner = asyncio.create_task(flight.run("k", work))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(flight.run("k", work))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.set()
    assert await runner == "done"
