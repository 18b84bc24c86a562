"""Export of Livepledge's own tables into canonical Parquet, then the usual audits."""

from __future__ import annotations

import json
import sqlite3

import pyarrow.parquet as pq
from typer.testing import CliRunner

from livepledge.audit.cli import app

runner = CliRunner()

SCHEMA = """
CREATE TABLE live_sessions (id INTEGER PRIMARY KEY, shop_id INTEGER, anchor_id INTEGER);
CREATE TABLE orders (id INTEGER PRIMARY KEY, buyer_id INTEGER, shop_id INTEGER,
  session_id INTEGER, sku_id INTEGER, quantity INTEGER, amount INTEGER, status TEXT,
  created_at TEXT, paid_at TEXT);
CREATE TABLE viewer_visits (id INTEGER PRIMARY KEY, session_id INTEGER, viewer_key TEXT,
  joined_at TEXT, left_at TEXT);
CREATE TABLE chat_messages (id INTEGER PRIMARY KEY, session_id INTEGER, user_id INTEGER,
  text TEXT, created_at TEXT);
CREATE TABLE likes (id INTEGER PRIMARY KEY, session_id INTEGER, user_id INTEGER,
  count INTEGER, created_at TEXT);
CREATE TABLE payments (id INTEGER PRIMARY KEY, order_id INTEGER, amount INTEGER,
  created_at TEXT, status TEXT, reason TEXT);
INSERT INTO live_sessions VALUES (1, 5, 77);
INSERT INTO orders VALUES
  (1, 9, 5, 1, 3, 1, 1000, 'paid', '2026-03-01 02:00:00.000000', NULL),
  (2, 9, 5, 1, 3, 1, 1000, 'paid', '2026-03-01 02:20:00.000000', NULL),
  (3, 9, 5, 1, 3, 1, 1000, 'paid', '2026-03-01 02:40:00.000000', NULL),
  (4, 8, 6, NULL, 3, 1, 1000, 'paid', '2026-03-01 02:40:00.000000', NULL),
  (5, 8, 6, NULL, 3, 1, 1000, 'cancelled', '2026-03-01 02:45:00.000000',
   '2026-03-01 02:46:00.000000'),
  (6, 4, 5, 1, 3, 1, 1000, 'paid', '2026-03-01 05:00:00.000000', NULL);
INSERT INTO payments VALUES (1, 5, 1000, '2026-03-01 02:46:00.000000', 'succeeded', NULL),
  (2, 5, -1000, '2026-03-03 09:00:00.000000', 'succeeded', 'order_cancelled'),
  (3, 5, -500, '2026-03-03 09:00:00.000000', 'succeeded', 'compensation'),
  (4, 4, -300, '2026-03-03 09:00:00.000000', 'failed', 'aftersales');
INSERT INTO viewer_visits VALUES
  (1, 1, 'u:9', '2026-03-01 02:00:00', '2026-03-01 02:10:00'),
  (2, 1, 'u:9', '2026-03-01 02:30:00', '2026-03-01 02:50:00'),
  (3, 1, 'a:xyz', '2026-03-01 02:05:00', NULL),
  (4, 1, 'u:4', '2026-03-01 04:55:00', '2026-03-01 05:10:00');
INSERT INTO chat_messages VALUES (1, 1, 9, 'hi', '2026-03-01 02:01:00');
INSERT INTO likes VALUES (1, 1, 9, 5, '2026-03-01 02:01:00'), (2, 1, 9, 2, '2026-03-01 02:02:00');
"""


def test_export_our_database_and_audit_it(tmp_path):
    db = tmp_path / "livepledge.db"
    with sqlite3.connect(db) as connection:
        connection.executescript(SCHEMA)
    out_dir = tmp_path / "export"
    result = runner.invoke(app, ["export-db", str(out_dir), "--database-url",
                                 f"sqlite+aiosqlite:///{db}"])
    assert result.exit_code == 0, result.stderr
    viewers = pq.read_table(out_dir / "viewers.parquet").to_pylist()
    # A purchase is engagement: u:4 only bought, and is counted with its order.
    assert [(v["viewer_id"], v["chat_count"], v["like_count"], v["order_count"])
            for v in viewers] == [("a:xyz", 0, 0, 0), ("u:4", 0, 0, 1), ("u:9", 1, 7, 3)]
    assert str(viewers[2]["left_at"]) == "2026-03-01 02:50:00+00:00"
    result = runner.invoke(app, ["viewers", str(out_dir / "viewers.parquet"), "--out",
                                 str(tmp_path / "suspects.csv")])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["raw_viewers"], summary["engaged_viewers"]) == (3, 2)
    orders = pq.read_table(out_dir / "orders.parquet").to_pylist()
    assert orders[0]["anchor_id"] == "77" and orders[3]["anchor_id"] is None
    refunded = orders[4]  # paid, then cancelled by the merchant: sold and refunded
    assert (refunded["status"], refunded["refund_amount"], str(refunded["refunded_at"])) == (
        "refunded", 1000, "2026-03-03 09:00:00+00:00")
    out = tmp_path / "brushing.csv"
    result = runner.invoke(app, ["brushing", str(out_dir / "orders.parquet"), "--window",
                                 "3600", "--threshold", "3", "--all-shops", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "5,9", "6,0"]


def test_unreadable_database_is_a_message(tmp_path):
    result = runner.invoke(app, ["export-db", str(tmp_path / "x"), "--database-url",
                                 f"sqlite:///{tmp_path / 'missing' / 'nothing.db'}"])
    assert result.exit_code == 2
    assert "cannot read the database" in result.stderr
