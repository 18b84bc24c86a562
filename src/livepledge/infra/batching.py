"""A queue that commits many small writes in one transaction (chat messages, likes, visits).

Callers await their own item's result, which is set only after COMMIT."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.stopping import STOP, finish, take_batch

T = TypeVar("T")
log = logging.getLogger("livepledge.batching")

CommitFn = Callable[[UnitOfWork, list[T]], Awaitable[list[Any]]]


class BatchQueue(Generic[T]):
    def __init__(self, db: Database, commit: CommitFn[T], *, batch_max: int = 256,
                 name: str = "batch") -> None:
        self.db = db
        self._commit = commit
        self.batch_max = batch_max
        self.name = name
        self._queue: asyncio.Queue[Any] = asyncio.Queue()  # (item, future)s, then STOP
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        """Everything submitted before close is committed; the loop then ends (stopping.py)."""
        self._closed = True
        self._queue.put_nowait(STOP)
        await finish(self._task)

    async def submit(self, item: T) -> Any:
        if self._closed:
            raise RuntimeError(f"{self.name} is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = await take_batch(self._queue, self.batch_max)
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[tuple[T, asyncio.Future[Any]]]) -> None:
        try:
            async with self.db.write() as uow:
                results = await self._commit(uow, [item for item, _ in batch])
        except Exception as exc:
            log.exception("%s batch failed", self.name)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
