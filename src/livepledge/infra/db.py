"""Engines, units of work and the outbox hook.

SQLite (embedded) follows the single-writer discipline: one writer connection that opens its
transactions with BEGIN IMMEDIATE, readers on their own connections, WAL journal. PostgreSQL uses
one pooled engine for both.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

AfterCommit = Callable[[], Awaitable[None] | None]


@dataclass
class UnitOfWork:
    """A write transaction plus the work to run once it has committed (announcements)."""

    conn: AsyncConnection
    after_commit: list[AfterCommit] = field(default_factory=list)

    def on_commit(self, callback: AfterCommit) -> None:
        self.after_commit.append(callback)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # aiosqlite's adapter exposes the sync sqlite3 connection API through the adapter.
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class _SQLiteConnection(aiosqlite.Connection):
    """aiosqlite's connection with a `stop()` that queues its stop only once.

    Each `stop()` queues a close-and-stop for the connection's worker thread, and the thread ends
    at the first. When a query is cancelled twice (an anyio cancel scope re-delivers its
    cancellation; a task awaiting another task passes each cancellation on), SQLAlchemy
    invalidates the connection: its graceful close is interrupted, it force-stops the connection,
    and the close's own clean-up then calls `stop()` again and waits for a thread that has
    already ended. That task never finishes and the event loop can never shut down
    (tests/contract/test_db_cancellation.py reproduces it). Later calls here share the first
    stop's future, which the thread does answer."""

    _stop_future: asyncio.Future[Any] | None = None
    _stop_queued = False

    def stop(self) -> asyncio.Future[Any] | None:
        if not self._stop_queued:
            self._stop_queued = True
            self._stop_future = super().stop()
        return self._stop_future


def _sqlite_engine(url: str, *, echo: bool, pool_size: int, max_overflow: int) -> AsyncEngine:
    async def connect() -> aiosqlite.Connection:
        args, kwargs = engine.sync_engine.dialect.create_connect_args(engine.url)
        connection = _SQLiteConnection(lambda: sqlite3.connect(*args, **kwargs),
                                       iter_chunk_size=64)
        # As SQLAlchemy does for connections it opens itself: a connection nobody closed must
        # not keep the process alive at exit.
        connection._thread.daemon = True
        return await connection

    engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow,
                                 poolclass=AsyncAdaptedQueuePool, async_creator=connect)
    return engine


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 20) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, echo=echo, pool_size=1, max_overflow=0)
            self.reader = _sqlite_engine(url, echo=echo, pool_size=4, max_overflow=4)
            for engine in (self.writer, self.reader):
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.writer.sync_engine, "begin", _begin_immediate)
            event.listen(self.reader.sync_engine, "begin", _begin_deferred)
        else:
            # No pre-ping: it costs a round trip per checkout on the buy path. Connections are
            # recycled every 30 minutes; a connection broken by a database restart fails its
            # request once (a 503) and is discarded by the pool. No overflow: a burst beyond the
            # pool waits for a connection (up to 30 s, then 503) instead of opening and closing
            # extra ones, which the flash-sale profile showed costing more than the queries.
            self.writer = create_async_engine(url, echo=echo, pool_size=pool_size,
                                              max_overflow=0, pool_timeout=30, pool_recycle=1800)
            self.reader = self.writer
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        """A write transaction. Callbacks registered with on_commit run only after COMMIT."""
        async with self.writer.connect() as conn, conn.begin():
            uow = UnitOfWork(conn)
            yield uow
        for callback in uow.after_commit:
            result = callback()
            if asyncio.iscoroutine(result):
                await result

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def async_url(url: str) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database backend: {backend}")


def row_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict with str keys and ISO-8601 datetimes (JSON-ready)."""
    from datetime import datetime

    items = row._mapping.items() if hasattr(row, "_mapping") else row.items()
    return {str(key): value.isoformat() if isinstance(value, datetime) else value
            for key, value in items}
