"""Return-laundered sales (退款洗单): GMV that comes back as refunds, and who sends it back.

Definitions (docs/audit.md):
- an order counts in gross GMV unless its status says it never completed (cancelled, unpaid,
  expired, closed before payment); gross = Σ amount;
- an order is refunded when it has `refunded_at`, a positive `refund_amount`, or a refund status;
  the refunded money is `refund_amount` when given, else the whole amount; net = gross − refunds;
- a late refund is one made more than `settlement_days` after the order: the anchor's or MCN's
  commission on it was already settled ("commission paid on sales later refunded");
- buyers are joined into groups (connected components) when they share a device, an address
  hash, an IP or a payment account; a group is flagged when it has ≥ `min_orders` orders and
  refunds ≥ `min_refund_rate` of its gross, and either has ≥ 2 buyers or ≥ `min_late` late
  refunds. Every flagged group lists its buyers, shared identifiers and orders. An identifier
  shared by more than MAX_TOKEN_BUYERS buyers links nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import duckdb

NOT_SOLD = ("cancelled", "canceled", "unpaid", "pending_payment", "expired", "已取消", "未付款",
            "待付款", "交易关闭")
REFUND_STATUSES = ("refunded", "returned", "refund", "已退款", "退款成功", "退货退款", "已退货")
LINK_COLUMNS = ("device_id", "address_hash", "ip", "payment_account")
# An identifier shared by more buyers than this (a carrier-grade NAT IP, a pickup station
# address) links nobody: it would merge unrelated buyers into one giant group.
MAX_TOKEN_BUYERS = 50


@dataclass(frozen=True)
class LaunderingParams:
    settlement_days: int = 7
    commission_rate: Fraction = Fraction(1, 5)
    min_orders: int = 3
    min_refund_rate: Fraction = Fraction(4, 5)
    min_late: int = 2


@dataclass(frozen=True)
class LaunderingSummary:
    gross_fen: int
    refunded_fen: int
    net_fen: int
    late_refunded_fen: int
    commission_on_late_refunds_fen: int
    groups_flagged: int
    buyers_flagged: int


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def prepare_sales(con: duckdb.DuckDBPyConnection, orders: str, params: LaunderingParams) -> None:
    """sales: one row per sold order with gross, refunded and late-refund amounts in fen."""
    days = int(params.settlement_days)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sales AS
        SELECT * EXCLUDE (status_key),
               CASE WHEN refunded_fen > 0 AND refunded_at IS NOT NULL
                    AND refunded_at > created_at + to_days({days}) THEN refunded_fen ELSE 0 END
                   AS late_fen
        FROM (
            SELECT order_id, shop_id, buyer_id, session_id, anchor_id, created_at, refunded_at,
                   coalesce(amount, 0) AS gross_fen, status_key,
                   CASE WHEN refund_amount > 0 THEN least(refund_amount, coalesce(amount, 0))
                        WHEN refunded_at IS NOT NULL
                             OR status_key IN ({_in_list(REFUND_STATUSES)})
                        THEN coalesce(amount, 0) ELSE 0 END AS refunded_fen,
                   device_id, address_hash, ip, payment_account
            FROM (SELECT *, lower(coalesce(status, '')) AS status_key FROM {orders})
            WHERE status_key NOT IN ({_in_list(NOT_SOLD)})
        )
    """)


def gmv_by(con: duckdb.DuckDBPyConnection, key: str, limit: int | None = None) -> list[dict]:
    """Gross, refunded, net GMV and return rate per `key` (session_id, anchor_id, shop_id, day)."""
    limit_sql = f"LIMIT {int(limit)}" if limit else ""
    # The local calendar day (session time zone) is only computed when asked for.
    source = "(SELECT *, CAST(created_at AS DATE) AS day FROM sales)" if key == "day" else "sales"
    rows = con.execute(f"""
        SELECT CAST({key} AS VARCHAR) AS key, count(*) AS orders, sum(gross_fen) AS gross,
               sum(refunded_fen) AS refunded, sum(gross_fen) - sum(refunded_fen) AS net,
               count(*) FILTER (WHERE refunded_fen > 0) AS refunded_orders,
               sum(late_fen) AS late_refunded
        FROM {source} WHERE {key} IS NOT NULL GROUP BY {key}
        ORDER BY {'day' if key == 'day' else 'sum(gross_fen) DESC, key'} {limit_sql}
    """).fetchall()
    names = ("key", "orders", "gross", "refunded", "net", "refunded_orders", "late_refunded")
    result = []
    for row in rows:
        item = dict(zip(names, row, strict=True))
        item["key"] = str(item["key"])
        item["return_rate"] = item["refunded"] / item["gross"] if item["gross"] else 0.0
        result.append(item)
    return result


def _groups(con: duckdb.DuckDBPyConnection) -> None:
    """buyer_groups(buyer_id, group_id): connected components over shared identifiers."""
    parts = []
    for c in LINK_COLUMNS:
        # Cheap first cut: a value used by a single buyer has min = max.
        parts.append(f"""
            SELECT DISTINCT buyer_id, '{c}:' || {c} AS token FROM sales
            SEMI JOIN (SELECT {c} AS v FROM sales WHERE {c} IS NOT NULL GROUP BY {c}
                       HAVING min(buyer_id) < max(buyer_id)) s
            ON sales.{c} = s.v""")
    con.execute("CREATE OR REPLACE TEMP TABLE buyer_tokens AS " + " UNION ".join(parts))
    con.execute(f"""DELETE FROM buyer_tokens WHERE token IN (SELECT token FROM buyer_tokens
                    GROUP BY token HAVING count(*) > {MAX_TOKEN_BUYERS})""")
    con.execute("""CREATE OR REPLACE TEMP TABLE buyer_groups AS
                   SELECT DISTINCT buyer_id, buyer_id AS group_id FROM buyer_tokens""")
    for _ in range(64):  # label propagation: each round spreads the smallest id one hop
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _next_groups AS
            WITH token_min AS (
                SELECT t.token, min(g.group_id) AS g FROM buyer_tokens t
                JOIN buyer_groups g USING (buyer_id) GROUP BY t.token
            )
            SELECT t.buyer_id, least(min(m.g), min(b.group_id)) AS group_id
            FROM buyer_tokens t JOIN token_min m USING (token)
            JOIN buyer_groups b USING (buyer_id) GROUP BY t.buyer_id
        """)
        diff = con.execute("""SELECT count(*) FROM _next_groups n JOIN buyer_groups g
                              USING (buyer_id) WHERE n.group_id <> g.group_id""").fetchone()[0]
        con.execute("CREATE OR REPLACE TEMP TABLE buyer_groups AS SELECT * FROM _next_groups")
        if diff == 0:
            break


def detect_laundering(con: duckdb.DuckDBPyConnection, orders: str,
                      params: LaunderingParams) -> LaunderingSummary:
    """Leaves `sales`, `buyer_groups` and `laundering_groups` temp tables; returns totals."""
    prepare_sales(con, orders, params)
    _groups(con)
    rate_num, rate_den = params.min_refund_rate.numerator, params.min_refund_rate.denominator
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE laundering_groups AS
        WITH per_buyer AS (
            SELECT buyer_id, count(*) AS orders, sum(gross_fen) AS gross,
                   sum(refunded_fen) AS refunded, count(*) FILTER (WHERE late_fen > 0)
                   AS late_refunds, sum(late_fen) AS late_fen
            FROM sales GROUP BY buyer_id
        ), totals AS (
            SELECT coalesce(g.group_id, p.buyer_id) AS group_id, sum(orders) AS orders,
                   sum(gross) AS gross, sum(refunded) AS refunded,
                   sum(late_refunds) AS late_refunds, sum(late_fen) AS late_fen,
                   count(*) AS buyer_count
            FROM per_buyer p LEFT JOIN buyer_groups g USING (buyer_id)
            GROUP BY coalesce(g.group_id, p.buyer_id)
            HAVING sum(orders) >= {int(params.min_orders)} AND sum(gross) > 0
               AND sum(refunded) * {rate_den} >= {rate_num} * sum(gross)
               AND (count(*) >= 2 OR sum(late_refunds) >= {int(params.min_late)})
        ), members AS (
            SELECT coalesce(g.group_id, s.buyer_id) AS group_id, s.*
            FROM sales s LEFT JOIN buyer_groups g USING (buyer_id)
            WHERE coalesce(g.group_id, s.buyer_id) IN (SELECT group_id FROM totals)
        ), evidence AS (
            SELECT group_id, list(DISTINCT buyer_id ORDER BY buyer_id) AS buyers,
                   list(DISTINCT shop_id ORDER BY shop_id) AS shops,
                   list(order_id ORDER BY created_at, order_id)[1:50] AS order_ids
            FROM members GROUP BY group_id
        ), tokens AS (
            SELECT g.group_id, list(DISTINCT t.token ORDER BY t.token)[1:10] AS shared
            FROM buyer_tokens t JOIN buyer_groups g USING (buyer_id) GROUP BY g.group_id
        )
        SELECT t.*, e.buyers, e.shops, e.order_ids,
               CAST(t.refunded AS DOUBLE) / t.gross AS refund_rate,
               coalesce(k.shared, []) AS shared
        FROM totals t JOIN evidence e USING (group_id) LEFT JOIN tokens k USING (group_id)
    """)
    return _summary(con, params)


def _summary(con: duckdb.DuckDBPyConnection, params: LaunderingParams) -> LaunderingSummary:
    gross, refunded, late = con.execute(
        "SELECT coalesce(sum(gross_fen), 0), coalesce(sum(refunded_fen), 0), "
        "coalesce(sum(late_fen), 0) FROM sales").fetchone()
    groups, buyers = con.execute(
        "SELECT count(*), coalesce(sum(buyer_count), 0) FROM laundering_groups").fetchone()
    commission = round(Fraction(int(late)) * params.commission_rate)
    return LaunderingSummary(int(gross), int(refunded), int(gross) - int(refunded), int(late),
                             int(commission), int(groups), int(buyers))


def flagged_groups(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[dict]:
    rows = con.execute(f"""
        SELECT group_id, buyers, buyer_count, orders, gross, refunded, refund_rate,
               late_refunds, late_fen, shops, shared, order_ids
        FROM laundering_groups ORDER BY refunded DESC, group_id LIMIT {int(limit)}
    """).fetchall()
    names = ("group_id", "buyers", "buyer_count", "orders", "gross", "refunded", "refund_rate",
             "late_refunds", "late_refunded", "shops", "shared", "order_ids")
    return [dict(zip(names, row, strict=True)) for row in rows]


def late_refunds_by_anchor(con: duckdb.DuckDBPyConnection, params: LaunderingParams,
                           limit: int = 50) -> list[dict]:
    """Commission settled on sales refunded after the cut-off, per anchor."""
    rows = con.execute(f"""
        SELECT anchor_id, count(*) FILTER (WHERE late_fen > 0) AS late_orders,
               sum(late_fen) AS late_refunded, sum(gross_fen) AS gross
        FROM sales WHERE anchor_id IS NOT NULL GROUP BY anchor_id HAVING sum(late_fen) > 0
        ORDER BY sum(late_fen) DESC, anchor_id LIMIT {int(limit)}
    """).fetchall()
    return [{"anchor_id": a, "late_orders": n, "late_refunded": late, "gross": gross,
             "commission_on_late_refunds": round(Fraction(int(late)) * params.commission_rate)}
            for a, n, late, gross in rows]
