"""A query cancelled in flight, once or again and again, leaves nothing behind that keeps the event
loop from shutting down, and the database stays usable.

An anyio cancel scope (Starlette's TestClient, any task group) re-delivers its cancellation, and a
task awaiting another task passes each cancellation on. With aiosqlite that once left
SQLAlchemy's graceful-close task waiting for ever on a worker thread that had already ended, and
`asyncio.run` (a server's shutdown) hung (infra/db.py `_SQLiteConnection`)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy import event, text

from livepledge.infra.db import Database

IN_FLIGHT = "select pg_sleep(0.3)"


async def _wait_until_running_sqlite(started: threading.Event) -> None:
    await asyncio.get_running_loop().run_in_executor(None, started.wait)


async def _wait_until_running_pg(db: Database) -> None:
    async with db.read() as watch:
        while not (await watch.execute(text(
                "select count(*) from pg_stat_activity "
                "where state = 'active' and query = :q"), {"q": IN_FLIGHT})).scalar_one():
            await asyncio.sleep(0)


def _round(url: str, yields: int | None) -> dict[str, Any]:
    """One query cancelled twice, `yields` loop turns apart (None: once), in a fresh event
    loop."""
    seen: dict[str, Any] = {}
    started, release = threading.Event(), threading.Event()

    def block() -> int:  # a query that stays in flight until the test lets it go
        started.set()
        release.wait(30)
        return 1

    async def main() -> None:
        db = Database(url)
        if db.is_sqlite:
            event.listen(db.reader.sync_engine, "connect",
                         lambda conn, _record: conn.create_function("block", 0, block))
            query, running = "select block()", _wait_until_running_sqlite(started)
        else:
            query, running = IN_FLIGHT, _wait_until_running_pg(db)

        async def victim() -> None:
            async with db.read() as conn:
                await conn.execute(text(query))

        task = asyncio.create_task(victim())
        await running
        task.cancel()
        if yields is None:  # cancelled once: it waits for the driver to close the connection
            release.set()
        else:
            for _ in range(yields):
                await asyncio.sleep(0)
            task.cancel()  # again, as a cancel scope does
        seen["victim"] = type((await asyncio.gather(task, return_exceptions=True))[0])
        # Whatever the driver still runs for that connection is cancelled, as asyncio.run does
        # at exit, while the query is still in flight; then the query ends.
        left = asyncio.all_tasks() - {asyncio.current_task()}
        for leftover in left:
            leftover.cancel()
        release.set()
        _, stuck = await asyncio.wait(left, timeout=10) if left else (set(), set())
        seen["stuck"] = len(stuck)
        await db.dispose()

        again = Database(url)
        try:
            async with again.read() as conn:
                seen["after"] = (await conn.execute(text("select 41 + 1"))).scalar_one()
        finally:
            await again.dispose()

    asyncio.run(main())
    return seen


def test_a_query_cancelled_in_flight_lets_the_loop_shut_down(database_url: str) -> None:
    """The second cancellation lands at every point of the first one's handling (1-7 loop turns
    later); before the fix, on SQLite, the driver's close task never ended."""
    rounds: list[dict[str, Any]] = []

    def run_all() -> None:
        for yields in (None, *range(1, 8)):
            rounds.append(_round(database_url, yields))

    runner = threading.Thread(target=run_all, daemon=True)
    runner.start()
    runner.join(300)  # a bound on failure, not a wait for success: it returns as soon as done

    assert not runner.is_alive(), f"round {len(rounds)}: the event loop never shut down"
    assert rounds == [{"victim": asyncio.CancelledError, "stuck": 0, "after": 42}] * 8
