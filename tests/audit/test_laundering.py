"""Return laundering: gross vs net, late refunds, linked buyer groups."""

from __future__ import annotations

from fractions import Fraction

import duckdb
import pyarrow as pa

from livepledge.audit import laundering
from livepledge.audit.laundering import LaunderingParams


def sales_table(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    names = ["order_id", "shop_id", "buyer_id", "created_at", "session_id", "anchor_id",
             "amount", "status", "refunded_at", "refund_amount", "device_id", "address_hash",
             "ip", "payment_account"]
    table = pa.table({n: [r.get(n) for r in rows] for n in names})
    con.register("_rows", table)
    con.execute("""CREATE TABLE orders AS SELECT * REPLACE (
                       CAST(created_at AS TIMESTAMPTZ) AS created_at,
                       CAST(refunded_at AS TIMESTAMPTZ) AS refunded_at,
                       CAST(amount AS BIGINT) AS amount,
                       CAST(refund_amount AS BIGINT) AS refund_amount) FROM _rows""")
    return con


def order(i: int, buyer: str, amount: int, **extra) -> dict:
    base = {"order_id": str(i), "shop_id": "1", "buyer_id": buyer, "session_id": "s1",
            "anchor_id": "A", "amount": amount, "status": "paid",
            "created_at": "2026-03-01 20:00:00", "device_id": f"d-{buyer}"}
    base.update(extra)
    return base


def test_gross_net_and_late_refunds():
    con = sales_table([
        order(1, "a", 10000),
        order(2, "b", 20000, refunded_at="2026-03-03 10:00:00"),  # early, full
        order(3, "c", 30000, refunded_at="2026-03-09 10:00:00", refund_amount=5000),  # late
        order(4, "d", 40000, status="cancelled"),  # never sold
        order(5, "e", 50000, status="refunded"),  # refund status, no time: not "late"
    ])
    summary = laundering.detect_laundering(con, "orders", LaunderingParams(
        settlement_days=7, commission_rate=Fraction(1, 10)))
    assert summary.gross_fen == 110000
    assert summary.refunded_fen == 75000
    assert summary.net_fen == 35000
    assert summary.late_refunded_fen == 5000
    assert summary.commission_on_late_refunds_fen == 500
    assert summary.groups_flagged == 0
    day = laundering.gmv_by(con, "day")
    assert [(d["key"], d["gross"], d["net"]) for d in day] == [("2026-03-01", 110000, 35000)]


def test_buyers_sharing_a_device_who_refund_everything_are_one_flagged_group():
    late = "2026-03-10 12:00:00"
    rows = [order(1, "r1", 90000, refunded_at=late, device_id="X"),
            order(2, "r2", 80000, refunded_at=late, device_id="X", address_hash="H"),
            order(3, "r3", 70000, refunded_at=late, device_id="Y", address_hash="H"),
            order(4, "ok", 1000), order(5, "ok", 1000), order(6, "ok", 1000,
                                                               refunded_at=late)]
    con = sales_table(rows)
    summary = laundering.detect_laundering(con, "orders", LaunderingParams())
    assert summary.groups_flagged == 1
    assert summary.buyers_flagged == 3
    group = laundering.flagged_groups(con)[0]
    assert group["buyers"] == ["r1", "r2", "r3"]
    assert group["orders"] == 3
    assert group["refund_rate"] == 1.0
    assert group["late_refunds"] == 3
    assert group["shared"] == ["address_hash:H", "device_id:X"]
    assert group["order_ids"] == ["1", "2", "3"]


def test_a_lone_buyer_needs_late_refunds_to_be_flagged():
    rows = [order(i, "solo", 1000, refunded_at="2026-03-02 12:00:00") for i in range(4)]
    con = sales_table(rows)
    assert laundering.detect_laundering(con, "orders", LaunderingParams()).groups_flagged == 0
    rows = [order(i, "solo", 1000, refunded_at="2026-03-12 12:00:00") for i in range(4)]
    con = sales_table(rows)
    assert laundering.detect_laundering(con, "orders", LaunderingParams()).groups_flagged == 1


def test_late_refunds_by_anchor_carry_the_commission():
    rows = [order(1, "a", 10000, anchor_id="A1", refunded_at="2026-03-20 00:00:00"),
            order(2, "b", 30000, anchor_id="A2", refunded_at="2026-03-20 00:00:00"),
            order(3, "c", 30000, anchor_id="A2")]
    con = sales_table(rows)
    params = LaunderingParams(commission_rate=Fraction(1, 5))
    laundering.detect_laundering(con, "orders", params)
    assert laundering.late_refunds_by_anchor(con, params) == [
        {"anchor_id": "A2", "late_orders": 1, "late_refunded": 30000, "gross": 60000,
         "commission_on_late_refunds": 6000},
        {"anchor_id": "A1", "late_orders": 1, "late_refunded": 10000, "gross": 10000,
         "commission_on_late_refunds": 2000},
    ]
