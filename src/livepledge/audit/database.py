"""Export Livepledge's own tables to canonical Parquet files, so every audit runs on them.

DuckDB's sqlite/postgres scanners need extensions that are not available offline, so rows are
streamed through SQLAlchemy in batches into Arrow and written with pyarrow's ParquetWriter —
never the whole table in Python memory. Times in our database are UTC (SQLite stores them as
naive UTC text); they are written as timestamp[us, UTC], which the loader reads as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from livepledge.audit.errors import AuditInputError

# A paid order cancelled afterwards was sold, then refunded: exported as `refunded`, with the
# refund's amount and time from its (negative) payment row. `refund_amount` is every refund of
# the order — cancellation, after-sales cases, price protection — so net GMV = gross − all
# refunds; compensation paid on top of a refund is not sales coming back and is left out.
ORDERS_SQL = """
SELECT o.id AS order_id, o.shop_id, o.buyer_id, o.session_id, s.anchor_id, o.sku_id,
       o.quantity, o.amount,
       CASE WHEN o.status = 'cancelled' AND o.paid_at IS NOT NULL THEN 'refunded'
            ELSE o.status END AS status,
       o.created_at, o.paid_at, r.refunded_at, r.refund_amount
FROM orders o LEFT JOIN live_sessions s ON s.id = o.session_id
LEFT JOIN (SELECT order_id, max(created_at) AS refunded_at, -sum(amount) AS refund_amount
           FROM payments WHERE amount < 0 AND status = 'succeeded'
             AND (reason IS NULL OR reason != 'compensation')
           GROUP BY order_id) r ON r.order_id = o.id
ORDER BY o.id
"""

# One row per (session, viewer): first join, last leave, and the viewer's chat, like and order
# counts in that session — a purchase is engagement too (viewer_key is u:<user id> for
# signed-in viewers; anonymous viewers cannot chat, like or buy).
VIEWERS_SQL = """
SELECT v.session_id, v.viewer_key AS viewer_id, min(v.joined_at) AS joined_at,
       max(v.left_at) AS left_at,
       coalesce(max(c.n), 0) AS chat_count, coalesce(max(k.n), 0) AS like_count,
       coalesce(max(p.n), 0) AS order_count
FROM viewer_visits v
LEFT JOIN (SELECT session_id, 'u:' || user_id AS viewer_key, count(*) AS n
           FROM chat_messages GROUP BY session_id, user_id) c
       ON c.session_id = v.session_id AND c.viewer_key = v.viewer_key
LEFT JOIN (SELECT session_id, 'u:' || user_id AS viewer_key, sum(count) AS n
           FROM likes GROUP BY session_id, user_id) k
       ON k.session_id = v.session_id AND k.viewer_key = v.viewer_key
LEFT JOIN (SELECT session_id, 'u:' || buyer_id AS viewer_key, count(*) AS n
           FROM orders WHERE session_id IS NOT NULL GROUP BY session_id, buyer_id) p
       ON p.session_id = v.session_id AND p.viewer_key = v.viewer_key
GROUP BY v.session_id, v.viewer_key
ORDER BY v.session_id, v.viewer_key
"""

TIME = pa.timestamp("us", tz="UTC")
ORDER_SCHEMA = pa.schema([
    ("order_id", pa.string()), ("shop_id", pa.string()), ("buyer_id", pa.string()),
    ("session_id", pa.string()), ("anchor_id", pa.string()), ("sku_id", pa.string()),
    ("quantity", pa.int64()), ("amount", pa.int64()), ("status", pa.string()),
    ("created_at", TIME), ("paid_at", TIME), ("refunded_at", TIME),
    ("refund_amount", pa.int64()),
])
VIEWER_SCHEMA = pa.schema([
    ("session_id", pa.string()), ("viewer_id", pa.string()), ("joined_at", TIME),
    ("left_at", TIME), ("chat_count", pa.int64()), ("like_count", pa.int64()),
    ("order_count", pa.int64()),
])

# Display names for the report (shop name, session titles, anchors' display names).
NAMES_SQL = {
    "shop": "SELECT id, name FROM shops WHERE id = :shop_id",
    "session": "SELECT id, title FROM live_sessions WHERE shop_id = :shop_id",
    "anchor": ("SELECT id, display_name FROM users WHERE id IN "
               "(SELECT anchor_id FROM live_sessions WHERE shop_id = :shop_id)"),
}


async def shop_names(conn: Any, shop_id: int) -> dict[str, dict[str, str]]:
    """{"shop"|"session"|"anchor": {id: name}} for one shop's report."""
    names: dict[str, dict[str, str]] = {}
    for kind, sql in NAMES_SQL.items():
        rows = (await conn.execute(text(sql), {"shop_id": shop_id})).all()
        names[kind] = {str(row[0]): str(row[1]) for row in rows}
    return names


def sync_url(url: str) -> str:
    """Our settings use async drivers; the export reads with the matching sync driver."""
    return url.replace("sqlite+aiosqlite", "sqlite").replace("postgresql+asyncpg", "postgresql")


def _value(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if kind == TIME:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if pa.types.is_string(kind):
        return str(value)
    return int(value)


def _batches(rows: Iterator[Any], schema: pa.Schema, size: int) -> Iterator[pa.RecordBatch]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield _batch(chunk, schema)
            chunk = []
    if chunk:
        yield _batch(chunk, schema)


def _batch(rows: list[Any], schema: pa.Schema) -> pa.RecordBatch:
    columns = [pa.array([_value(row[i], field.type) for row in rows], type=field.type)
               for i, field in enumerate(schema)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _shop_scoped(sql: str, alias: str) -> str:
    """The same query restricted to one shop's rows (`:shop_id`)."""
    head, _, order = sql.rpartition("ORDER BY")
    if alias == "o":
        return f"{head}WHERE o.shop_id = :shop_id\nORDER BY{order}"
    return head.replace(
        "GROUP BY v.session_id, v.viewer_key",
        "WHERE v.session_id IN (SELECT id FROM live_sessions WHERE shop_id = :shop_id)\n"
        "GROUP BY v.session_id, v.viewer_key") + f"ORDER BY{order}"


async def export_shop(conn: Any, shop_id: int, directory: Path, *,
                      batch_rows: int = 50_000) -> dict[str, int]:
    """Write one shop's orders.parquet and viewers.parquet through the application's own async
    connection (SQLite or PostgreSQL), streaming in batches; returns row counts."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, sql, schema, alias in (("orders", ORDERS_SQL, ORDER_SCHEMA, "o"),
                                     ("viewers", VIEWERS_SQL, VIEWER_SCHEMA, "v")):
        result = await conn.stream(text(_shop_scoped(sql, alias)), {"shop_id": shop_id})
        counts[name] = 0
        with pq.ParquetWriter(directory / f"{name}.parquet", schema) as writer:
            async for rows in result.partitions(batch_rows):
                writer.write_batch(_batch(list(rows), schema))
                counts[name] += len(rows)
    return counts


def export_database(url: str, directory: Path, *, batch_rows: int = 100_000) -> dict[str, int]:
    """Write orders.parquet and viewers.parquet (canonical columns); returns row counts."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    try:
        engine = create_engine(sync_url(url))
        with engine.connect() as connection:
            for name, sql, schema in (("orders", ORDERS_SQL, ORDER_SCHEMA),
                                      ("viewers", VIEWERS_SQL, VIEWER_SCHEMA)):
                result = connection.execution_options(stream_results=True).execute(text(sql))
                counts[name] = 0
                with pq.ParquetWriter(directory / f"{name}.parquet", schema) as writer:
                    for batch in _batches(iter(result), schema, batch_rows):
                        writer.write_batch(batch)
                        counts[name] += batch.num_rows
        engine.dispose()
    except (SQLAlchemyError, ModuleNotFoundError) as exc:
        first = str(exc).splitlines()[0]
        raise AuditInputError(f"无法读取数据库 / cannot read the database: {first}") from exc
    return counts
