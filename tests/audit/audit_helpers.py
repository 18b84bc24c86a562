"""Shared helpers for the audit tests: build canonical order tables in DuckDB."""

from __future__ import annotations

from fractions import Fraction

import duckdb
import pyarrow as pa

from livepledge.audit import brushing
from livepledge.audit.brushing import BrushingParams

_con: duckdb.DuckDBPyConnection | None = None


def connection() -> duckdb.DuckDBPyConnection:
    global _con
    if _con is None:
        _con = duckdb.connect()
        _con.execute("SET TimeZone = 'UTC'")
        _con.execute("SET threads = 1")
    return _con


def orders_table(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> str:
    """rows: (shop_id, buyer_id, seconds since epoch) → table `orders` with canonical columns."""
    table = pa.table({
        "order_id": [str(i) for i in range(len(rows))],
        "shop_id": [str(r[0]) for r in rows],
        "buyer_id": [str(r[1]) for r in rows],
        "seconds": pa.array([float(r[2]) for r in rows], type=pa.float64()),
    })
    con.register("_rows", table)
    con.execute("""CREATE OR REPLACE TABLE orders AS SELECT order_id, shop_id, buyer_id,
                   make_timestamptz(CAST(round(seconds * 1000000) AS BIGINT)) AS created_at
                   FROM _rows""")
    con.unregister("_rows")
    return "orders"


def detect(rows: list[tuple], window: float | Fraction, threshold: float | Fraction,
           rule: str = "period-share", all_shops: bool = True,
           step: float | Fraction = 1) -> dict[str, str]:
    """step 1: the official whole-second windows (the default); step 0: continuous."""
    con = connection()
    orders_table(con, rows)
    params = BrushingParams(Fraction(window), Fraction(threshold), rule, Fraction(step))
    brushing.detect_brushing(con, "orders", params)
    return brushing.result_dict(con, "orders", all_shops=all_shops)
