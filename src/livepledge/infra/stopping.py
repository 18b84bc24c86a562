"""Stopping background loops between rounds, never in the middle of one.

Cancelling a task that is inside a database transaction interrupts the driver mid-call: the
connection is thrown away, an order batch that may already have committed is answered as failed,
and an aiosqlite worker thread can be left reporting to a closed loop. The process's loops
(expiry sweeper, room ticks, order and chat writers) therefore stop cooperatively: `Stop.set()`
ends every wait at once, and a loop looks at the signal only between rounds, so the round in
progress (one transaction, one batch) finishes first.

Loops fed by a queue (the order and chat writers) are stopped by putting `STOP` on it: what was
queued before it is still processed (`take_batch`). Closing waits for a loop with `finish`
(`asyncio.wait`): if the closer is itself cancelled (an anyio cancel scope re-delivers its
cancellation), the loop still finishes its round on its own instead of being cancelled through
the await."""

from __future__ import annotations

import asyncio
from typing import Any

STOP: Any = object()  # the last thing put on a loop's queue


async def take_batch(queue: asyncio.Queue[Any], limit: int) -> tuple[list[Any], bool]:
    """Wait for one item, then take whatever else is queued, up to `limit` (natural batching,
    no linger). Returns (batch, stopping); `STOP` itself is never in the batch, which may then be
    empty."""
    batch = [await queue.get()]
    while len(batch) < limit and not queue.empty():
        batch.append(queue.get_nowait())
    stopping = batch[-1] is STOP  # nothing is queued after it
    if stopping:
        batch.pop()
    return batch, stopping


class Stop:
    def __init__(self) -> None:
        self._set = False
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def rest(self, seconds: float) -> bool:
        """Wait up to `seconds`. True: go on with the next round; False: stop now."""
        if self._set:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _wake, waiter)
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.discard(waiter)
        return not self._set


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def finish(task: asyncio.Task[Any] | None) -> None:
    """Wait for a loop that was told to stop. Its own failure is not the closer's; a cancelled
    closer leaves the loop to finish by itself."""
    if task is None or task.done():
        return
    await asyncio.wait([task])  # asyncio.wait never cancels what it waits for
