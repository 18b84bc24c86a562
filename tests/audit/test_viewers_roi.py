"""Bought viewers and honest ROI."""

from __future__ import annotations

from fractions import Fraction

import duckdb
import pyarrow as pa

from livepledge.audit import roi, viewers
from livepledge.audit.roi import Deal
from livepledge.audit.viewers import ViewerParams


def visits(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """rows: (session, viewer, join second, leave second, chats, likes, orders)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cols = list(zip(*rows, strict=True))
    con.register("_v", pa.table({
        "session_id": list(cols[0]), "viewer_id": list(cols[1]),
        "j": [int(x) for x in cols[2]], "l": [int(x) for x in cols[3]],
        "chat_count": list(cols[4]), "like_count": list(cols[5]), "order_count": list(cols[6]),
    }))
    con.execute("""CREATE TABLE viewers AS SELECT session_id, viewer_id,
                   make_timestamptz(j * 1000000) AS joined_at,
                   make_timestamptz(l * 1000000) AS left_at,
                   chat_count, like_count, order_count FROM _v""")
    return con


def test_silent_burst_is_suspect_and_engaged_viewers_are_counted():
    organic = [("s1", f"o{i}", i * 60, i * 60 + 600, i % 2, 1, 0) for i in range(10)]
    bots = [("s1", f"b{i}", 1000 + (i % 3), 1900, 0, 0, 0) for i in range(5)]
    lonely = [("s1", "quiet", 5000, 5100, 0, 0, 0)]
    con = visits(organic + bots + lonely)
    summary = viewers.detect_bots(con, "viewers", ViewerParams(burst_size=5, burst_seconds=5))
    assert summary.raw_viewers == 16
    assert summary.engaged_viewers == 10
    assert summary.suspect_viewers == 5
    flagged = con.execute("SELECT viewer_id, synchronized_leave FROM viewer_flags "
                          "WHERE is_suspect ORDER BY viewer_id").fetchall()
    assert flagged == [(f"b{i}", True) for i in range(5)]


def test_a_burst_smaller_than_the_floor_is_not_suspect():
    bots = [("s1", f"b{i}", 1000, 1900, 0, 0, 0) for i in range(4)]
    con = visits([*bots, ("s1", "x", 0, 10, 1, 0, 0)])
    summary = viewers.detect_bots(con, "viewers", ViewerParams(burst_size=5, burst_seconds=5))
    assert summary.suspect_viewers == 0


def test_session_out_of_proportion():
    normal = [(s, f"{s}-{i}", i, i + 100, 2, 2, 0) for s in ("a", "b", "c") for i in range(10)]
    padded = [("d", f"d-{i}", i * 100, i * 100 + 50, 1 if i == 0 else 0, 0, 0)
              for i in range(10)]
    con = visits(normal + padded)
    summary = viewers.detect_bots(con, "viewers", ViewerParams())
    assert summary.sessions_out_of_proportion == 1
    rows = {r["session_id"]: r["out_of_proportion"] for r in viewers.session_rows(con)}
    assert rows == {"a": False, "b": False, "c": False, "d": True}


def test_roi_on_gross_and_net():
    deal = Deal(slot_fee_fen=1_000_000, commission_rate=Fraction(1, 5),
                promised_roi=Fraction(3))
    result = roi.evaluate_deal(gross_fen=10_000_000, net_fen=6_000_000, sessions=2, deal=deal)
    # fees = 10,000 yuan slot + 20 % of 100,000 yuan gross = 30,000 yuan.
    assert result.fees_paid_fen == 3_000_000
    assert result.roi_gross == 10_000_000 / 3_000_000
    assert result.roi_net == 2.0
    assert result.promise_met is False
    assert result.fair_commission_fen == 1_200_000
    assert result.overpaid_commission_fen == 800_000


def test_roi_promise_met_exactly_at_the_promised_value():
    deal = Deal(slot_fee_fen=0, commission_rate=Fraction(1, 3), promised_roi=Fraction(3))
    result = roi.evaluate_deal(gross_fen=900, net_fen=900, sessions=1, deal=deal)
    assert result.roi_net == 3.0
    assert result.promise_met is True
