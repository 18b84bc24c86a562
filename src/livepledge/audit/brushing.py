"""Order brushing (刷单) detection by concentration in time windows.

Definition (issue #4, docs/audit.md): a shop brushes when some closed time window [s, s + W],
anywhere in continuous time, holds orders with  orders ÷ distinct buyers ≥ T.  Orders that lie
in at least one such brushing window are the shop's brushing-period orders. The suspicious buyers
of a brushing shop are the buyers with the largest share of those orders (ties: all of them).

Why it is exact and fast (proof in docs/audit.md): the set of orders in [s, s + W] only changes
when s passes t − W (an order enters; closed end) or passes t (an order leaves, just after s = t).
So every window content is the content of one of
    (a) [t_j − W, t_j]      for an order time t_j   (just after an entry), or
    (b) (t_i, t_i + W]      for an order time t_i   (just after an exit),
and both families are RANGE window frames that DuckDB evaluates in one sort per shop.  An order
o lies in a brushing window of family (a) iff some brushing anchor t_j ∈ [t_o, t_o + W], and of
family (b) iff some brushing anchor t_i ∈ [t_o − W, t_o).  Times are integer microseconds, so
"just after" is + 1 µs.  [t_i, t_i + W] windows alone are not enough: with W = 10 and orders at
0 (x), 5 (a), 8 (a), 12 (y) only (0, 10] holds {a, a} (ratio 2).

Before the windows, an exact filter keeps only the orders that can matter: a brushing window has
a buyer with ≥ ⌈T⌉ of its orders (the mean per buyer is ≥ T), those orders span ≤ W, so every
order of a brushing window lies within W of a "hot" order — one belonging to a run of ⌈T⌉
orders of one buyer in one shop spanning ≤ W.  Windows around no hot order are never brushing,
and windows around a hot order lose no order to the filter.  A second filter (`_candidates`)
keeps only anchors whose window can reach T given a DISTINCT-free lower bound on its buyers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import duckdb

SUSPECT_RULES = ("period-share", "buyer-share")


@dataclass(frozen=True)
class BrushingParams:
    window_seconds: Fraction
    threshold: Fraction
    suspect_rule: str = "period-share"
    # Windows start at whole multiples of this many seconds (Unix time): 1 is the official
    # Shopee Code League 2020 reading ("00:00:00 ~ 01:00:00, 00:00:01 ~ 01:00:01, …");
    # 0 lets a window start anywhere in continuous time.
    step_seconds: Fraction = Fraction(1)

    @property
    def window_us(self) -> int:
        return int(self.window_seconds * 1_000_000)

    @property
    def step_us(self) -> int:
        return int(self.step_seconds * 1_000_000)


@dataclass(frozen=True)
class BrushingSummary:
    shops: int
    brushing_shops: int
    orders_considered: int
    orders_in_periods: int
    periods: int


def detect_brushing(con: duckdb.DuckDBPyConnection, orders: str,
                    params: BrushingParams) -> BrushingSummary:
    """Run the detector on `orders` (a table or view with shop_id, buyer_id, order_id,
    created_at TIMESTAMPTZ) and leave the evidence in temp tables:

    - brush_orders(shop_id, buyer_id, order_id, t)   orders in the union of brushing windows
    - brush_periods(shop_id, period_no, start_us, end_us, orders, buyers, max_ratio)
    - brush_shops(shop_id, buyer_ids, suspects, suspect_orders, orders_in_periods, periods,
      max_ratio)
    """
    w = params.window_us
    k = max(1, math.ceil(params.threshold))
    num, den = params.threshold.numerator, params.threshold.denominator
    # The shops, once: counted for the summary, and their ids by 32-bit hash for the zones.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _b_shops AS
                    SELECT shop_id, hash(shop_id) >> 32 AS sh
                    FROM (SELECT DISTINCT shop_id FROM {orders})""")
    _relevant_orders(con, orders, w, k)
    if params.step_us > 0:
        _grid_windows(con, w, params.step_us, num, den, k)
    else:
        _continuous_windows(con, w, num, den, k)
    _periods(con)
    _suspects(con, orders, params.suspect_rule)
    return _summary(con, orders)


def _continuous_windows(con: duckdb.DuckDBPyConnection, w: int, num: int, den: int,
                        k: int) -> None:
    """step 0: windows [s, s + W] for any real s, through the (a)/(b) frame families."""
    _candidates(con, w, num, den, k)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _b_win AS
        SELECT shop_id, buyer_id, order_id, t,
               cand_a AND a_cnt * {den} >= {num} * a_dst AS a_brush,
               cand_b AND b_cnt > 0 AND b_cnt * {den} >= {num} * b_dst AS b_brush,
               a_lo, b_lo, b_hi, a_cnt, a_dst, b_cnt, b_dst
        FROM (
            SELECT *,
                   CAST(count(*) OVER wa AS HUGEINT) AS a_cnt,
                   CAST(count(DISTINCT buyer_id) OVER wa AS HUGEINT) AS a_dst,
                   min(t) OVER wa AS a_lo,
                   CAST(count(*) OVER wb AS HUGEINT) AS b_cnt,
                   CAST(count(DISTINCT buyer_id) OVER wb AS HUGEINT) AS b_dst,
                   min(t) OVER wb AS b_lo, max(t) OVER wb AS b_hi
            FROM _b_cand_rel
            WINDOW wa AS (PARTITION BY shop_id ORDER BY t
                          RANGE BETWEEN {w} PRECEDING AND CURRENT ROW),
                   wb AS (PARTITION BY shop_id ORDER BY t
                          RANGE BETWEEN 1 FOLLOWING AND {w} FOLLOWING)
        )
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE brush_orders AS
        SELECT shop_id, buyer_id, order_id, t FROM (
            SELECT *,
                   coalesce(bool_or(a_brush) OVER (PARTITION BY shop_id ORDER BY t
                            RANGE BETWEEN CURRENT ROW AND {w} FOLLOWING), false)
                   OR coalesce(bool_or(b_brush) OVER (PARTITION BY shop_id ORDER BY t
                            RANGE BETWEEN {w} PRECEDING AND 1 PRECEDING), false) AS in_period
            FROM _b_win
            WHERE shop_id IN (SELECT shop_id FROM _b_win WHERE a_brush OR b_brush)
        ) WHERE in_period
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _b_spans AS
        SELECT DISTINCT shop_id, a_lo AS lo, t AS hi,
               CAST(a_cnt AS DOUBLE) / a_dst AS ratio FROM _b_win WHERE a_brush
        UNION
        SELECT DISTINCT shop_id, b_lo, b_hi, CAST(b_cnt AS DOUBLE) / b_dst
        FROM _b_win WHERE b_brush
    """)


def _grid_windows(con: duckdb.DuckDBPyConnection, w: int, step: int, num: int, den: int,
                  k: int) -> None:
    """step > 0: windows [s, s + W] whose start s is a whole multiple of `step` (µs, Unix time).

    On the grid the content of [s, s + W] only changes at the first grid start ≥ t − W (order
    t enters) and at the first grid start > t (order t leaves).  So every content is the one of
    a window starting at  ceil_grid(t − W)  or at  floor_grid(t) + step  for an order time t.
    Each such window is represented by a probe row at its END e = s + W, and the frame
    RANGE BETWEEN W PRECEDING AND CURRENT ROW of the probe is exactly [s, s + W].

    The filters stay exact: a grid window is also a continuous window, so every order of a
    brushing grid window is within W of a hot order (_b_rel).  The DISTINCT-free bound picks
    candidate probes; their frames lie inside the zones (±W around the candidates), which hold
    every _b_rel order they contain, and only candidate probes may brush.
    """
    def floor_grid(x: str) -> str:
        return f"({x} - ((({x}) % {step}) + {step}) % {step})"

    def ceil_grid(x: str) -> str:
        return f"(-{floor_grid(f'-({x})')})"

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _b_probe AS
        SELECT DISTINCT shop_id, e AS t FROM (
            SELECT shop_id, {ceil_grid(f't - {w}')} + {w} AS e FROM _b_rel
            UNION ALL
            SELECT shop_id, {floor_grid('t')} + {step + w} AS e FROM _b_rel
        )
    """)
    frame = f"PARTITION BY shop_id ORDER BY t RANGE BETWEEN {w} PRECEDING AND CURRENT ROW"
    if k == 1:
        con.execute("CREATE OR REPLACE TEMP TABLE _b_cand_rel AS SELECT * FROM _b_rel")
        con.execute("CREATE OR REPLACE TEMP TABLE _b_cand_probe AS SELECT * FROM _b_probe")
    else:
        bound = f"n * {den} >= {num} * (s + CASE WHEN n > s THEN 1 ELSE 0 END)"
        _frame_counts(con, "_b_probe_counts", "_b_probe", w)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _b_cand_probe AS
            SELECT shop_id, t FROM (
                SELECT shop_id, t, CAST(n AS HUGEINT) AS n, CAST(s AS HUGEINT) AS s
                FROM _b_probe_counts)
            WHERE n > 0 AND {bound}
        """)
        _zones(con, "_b_cand_zone", "_b_cand_probe", w)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _b_cand_rel AS
            SELECT o.shop_id, o.buyer_id, o.order_id, o.t
            FROM (SELECT * FROM _b_rel WHERE shop_id IN (SELECT shop_id FROM _b_cand_zone)) o
            ASOF JOIN _b_cand_zone z ON o.shop_id = z.shop_id AND o.t >= z.lo
            WHERE o.t <= z.hi
        """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _b_gwin AS
        SELECT shop_id, buyer_id, order_id, t, probe,
               probe AND cnt > 0 AND cnt * {den} >= {num} * dst AS brush, cnt, dst, lo, hi
        FROM (
            SELECT *,
                   CAST(count(*) FILTER (WHERE NOT probe) OVER wa AS HUGEINT) AS cnt,
                   CAST(count(DISTINCT buyer_id) OVER wa AS HUGEINT) AS dst,
                   min(t) FILTER (WHERE NOT probe) OVER wa AS lo,
                   max(t) FILTER (WHERE NOT probe) OVER wa AS hi
            FROM (SELECT shop_id, buyer_id, order_id, t, FALSE AS probe FROM _b_cand_rel
                  UNION ALL
                  SELECT shop_id, NULL, NULL, t, TRUE FROM _b_cand_probe
                  WHERE shop_id IN (SELECT shop_id FROM _b_cand_rel))
            WINDOW wa AS ({frame})
        )
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE brush_orders AS
        SELECT shop_id, buyer_id, order_id, t FROM (
            SELECT *, coalesce(bool_or(brush) OVER (PARTITION BY shop_id ORDER BY t
                               RANGE BETWEEN CURRENT ROW AND {w} FOLLOWING), false) AS in_period
            FROM _b_gwin
            WHERE shop_id IN (SELECT shop_id FROM _b_gwin WHERE brush)
        ) WHERE in_period AND NOT probe
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _b_spans AS
        SELECT DISTINCT shop_id, lo, hi, CAST(cnt AS DOUBLE) / dst AS ratio
        FROM _b_gwin WHERE brush
    """)


def _relevant_orders(con: duckdb.DuckDBPyConnection, orders: str, w: int, k: int) -> None:
    """_b_rel: orders within W of a hot order (see module docstring), as integer µs times.

    Two passes over the whole table, both on integers: (1) one global sort by a 64-bit
    (shop, buyer) key and time finds the buyers that ordered more than once in a shop
    (`_b_pairs`) and the runs of k orders of one pair spanning ≤ W (`_b_hot`); (2) a hash join
    on (shop, time bucket) keeps the orders inside the merged zones around hot orders.

    Hash keys stay exact here.  A collision of two (shop, buyer) pairs merges their orders,
    which can only add hot orders and non-single pairs (more orders kept, a weaker single-buyer
    bound), never remove one.  A collision of two shops' `hash(shop_id)` keeps some orders of
    the other shop: any superset of the orders within W of the hot orders is exact (a window
    on kept orders that contains no hot order has every buyer below k orders), and every later
    step partitions by the real shop_id.
    """
    if k == 1:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _b_rel AS
            SELECT shop_id, buyer_id, order_id, epoch_us(created_at) AS t, 0 AS single
            FROM {orders}""")
        return
    # One global sort, no PARTITION BY (DuckDB's per-partition window state is what made this
    # slow); rows of another pair are told apart by comparing keys.  Kept: the rows whose next
    # row has the same pair (every pair with ≥ 2 orders has one), with the run check.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _b_multi AS
        SELECT pair, t, run_pair = pair AND run_end - t <= {w} AS run, run_end FROM (
            SELECT pair, t, lead(pair) OVER w AS next_pair,
                   lead(pair, {k - 1}) OVER w AS run_pair, lead(t, {k - 1}) OVER w AS run_end
            FROM (SELECT {_pair_key('shop_id', 'buyer_id')} AS pair,
                         epoch_us(created_at) AS t FROM {orders})
            WINDOW w AS (ORDER BY pair, t)
        ) WHERE next_pair = pair
    """)
    con.execute("CREATE OR REPLACE TEMP TABLE _b_pairs AS SELECT DISTINCT pair FROM _b_multi")
    # The hot orders of a run starting at t lie in [t, run_end], run_end − t ≤ W, so the union
    # of [h − W, h + W] over them is [t − W, run_end + W]: the run's two ends give the same
    # zones as all its orders.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _b_hot AS
        SELECT DISTINCT pair >> 32 AS shop_id, unnest([t, run_end]) AS t
        FROM _b_multi WHERE run
    """)
    _zones(con, "_b_zone", "_b_hot", w)
    # Zones are disjoint and at least 2W + 1 µs long, so a bucket of 2W µs meets at most two.
    # They are keyed by the shop's real id (every id with that 32-bit hash), so that the join
    # below is on a plain column: DuckDB then filters the scan by shop before reading the other
    # columns (most orders are in shops without any hot order).
    bucket = max(2 * w, 1)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _b_zone_bucket AS
        SELECT s.shop_id, z.lo, z.hi,
               unnest(range({_floor_div('z.lo', bucket)}, {_floor_div('z.hi', bucket)} + 1)) AS b
        FROM _b_zone z JOIN _b_shops s ON s.sh = z.shop_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _b_near AS
        SELECT o.shop_id, o.buyer_id, o.order_id, o.t
        FROM (SELECT shop_id, buyer_id, order_id, epoch_us(created_at) AS t FROM {orders}) o
        JOIN _b_zone_bucket z ON z.shop_id = o.shop_id AND z.b = {_floor_div('o.t', bucket)}
        WHERE o.t BETWEEN z.lo AND z.hi
    """)
    # A statement of its own: in one query the optimiser probed _b_pairs with all 10 M orders
    # before the zone join (1.6 s of hashing), instead of with the 2.6 % kept.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _b_rel AS
        SELECT o.*, CASE WHEN p.pair IS NULL THEN 1 ELSE 0 END AS single
        FROM _b_near o LEFT JOIN _b_pairs p ON p.pair = {_pair_key('o.shop_id', 'o.buyer_id')}
    """)


def _pair_key(shop: str, buyer: str) -> str:
    """SQL of a 64-bit (shop, buyer) key: 32 bits of hash(shop) over 32 bits of hash(buyer).

    Sorting by it groups a shop's pairs together, and the shop's 32 bits (`pair >> 32`) need
    no column of their own.  Collisions only merge pairs (see `_relevant_orders`)."""
    return (f"(((hash({shop}) >> 32) << 32) | (hash({buyer}) & CAST(4294967295 AS UBIGINT)))")


def _floor_div(x: str, d: int) -> str:
    """SQL for floor(x / d) in integers (DuckDB's // truncates towards zero)."""
    return f"(({x}) - ((({x}) % {d}) + {d}) % {d}) // {d}"


def _frame_counts(con: duckdb.DuckDBPyConnection, out: str, ends: str, span: int) -> None:
    """out(shop_id, t, n, s): for each (shop_id, t) of `ends`, the _b_rel orders of the shop in
    the frame [t − span, t] (n) and how many of them are single (s); n = 0 when span < 0.

    One running sum over one global sort, no RANGE frame and no PARTITION BY (DuckDB evaluates
    RANGE frames per row with a segment tree and keeps state per partition, which cost seconds
    here): every order enters at its time (+1) and leaves at its time + span (−1), a frame end
    sorts after the entries and before the exits of its own time, so the running sum at the
    end counts the orders with t − span ≤ time ≤ t.
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH codes AS MATERIALIZED (  -- referenced four times: one deterministic code per shop
            SELECT shop_id, dense_rank() OVER (ORDER BY shop_id) AS sc
            FROM (SELECT DISTINCT shop_id FROM _b_rel)
        )
        SELECT codes.shop_id, t, n, s FROM (
            -- only integers pass through the sort
            SELECT sc, t, kind, sum(d) OVER w AS n, sum(ds) OVER w AS s
            FROM (SELECT sc, t, 0 AS kind, 1 AS d, single AS ds
                  FROM _b_rel JOIN codes USING (shop_id)
                  UNION ALL SELECT sc, t, 1, 0, 0 FROM {ends} JOIN codes USING (shop_id)
                  UNION ALL SELECT sc, t + {span}, 2, -1, -single
                            FROM _b_rel JOIN codes USING (shop_id))
            WINDOW w AS (ORDER BY sc, t, kind ROWS UNBOUNDED PRECEDING)
        ) c JOIN codes USING (sc) WHERE kind = 1
    """)


def _zones(con: duckdb.DuckDBPyConnection, zones: str, anchors: str, w: int) -> None:
    """Merge [t − W, t + W] around each (shop_id, t) of `anchors` into disjoint zones."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {zones} AS
        SELECT shop_id, min(t) - {w} AS lo, max(t) + {w} AS hi FROM (
            SELECT shop_id, t, sum(CASE WHEN t - prev_t <= {2 * w} THEN 0 ELSE 1 END)
                   OVER (PARTITION BY shop_id ORDER BY t ROWS UNBOUNDED PRECEDING) AS zone
            FROM (SELECT shop_id, t, lag(t) OVER (PARTITION BY shop_id ORDER BY t) AS prev_t
                  FROM (SELECT DISTINCT shop_id, t FROM {anchors}))
        ) GROUP BY shop_id, zone
    """)


def _candidates(con: duckdb.DuckDBPyConnection, w: int, num: int, den: int, k: int) -> None:
    """_b_cand_rel: the orders within W of a candidate anchor, with the anchor flags.

    A window with n orders of which s are "single" (their buyer ordered once in the shop, so
    each is a distinct buyer) has at least s + [n > s] buyers; it can only reach the ratio T
    when n ≥ T · (s + [n > s]).  Anchors passing this bound are candidates; a brushing window
    is always a candidate's frame, which lies within W of it, so the exact windows are computed
    on the orders near candidates only, and only candidate anchors may brush.
    """
    if k == 1:
        con.execute("""CREATE OR REPLACE TEMP TABLE _b_cand_rel AS
                       SELECT *, TRUE AS cand_a, TRUE AS cand_b FROM _b_rel""")
        return
    bound = "{n} * {den} >= {num} * ({s} + CASE WHEN {n} > {s} THEN 1 ELSE 0 END)"
    cand_a = bound.format(n="na", s="sa", num=num, den=den)
    cand_b = "nb > 0 AND " + bound.format(n="nb", s="sb", num=num, den=den)
    # (a) frames [t − W, t] end at the anchor t; (b) frames (t, t + W] = [t + W − (W − 1),
    # t + W] end at t + W (empty when W = 0).
    con.execute("CREATE OR REPLACE TEMP TABLE _b_anchor AS SELECT DISTINCT shop_id, t FROM _b_rel")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _b_anchor_b AS
                    SELECT shop_id, t + {w} AS t FROM _b_anchor""")
    _frame_counts(con, "_b_counts_a", "_b_anchor", w)
    _frame_counts(con, "_b_counts_b", "_b_anchor_b", w - 1)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _b_flags AS
        SELECT shop_id, t, {cand_a} AS cand_a, {cand_b} AS cand_b FROM (
            SELECT a.shop_id, a.t,
                   CAST(a.n AS HUGEINT) AS na, CAST(a.s AS HUGEINT) AS sa,
                   CAST(b.n AS HUGEINT) AS nb, CAST(b.s AS HUGEINT) AS sb
            FROM _b_counts_a a JOIN _b_counts_b b
              ON b.shop_id = a.shop_id AND b.t = a.t + {w}
        ) WHERE {cand_a} OR {cand_b}
    """)
    _zones(con, "_b_cand_zone", "_b_flags", w)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _b_cand_rel AS
        SELECT o.shop_id, o.buyer_id, o.order_id, o.t,
               coalesce(f.cand_a, false) AS cand_a, coalesce(f.cand_b, false) AS cand_b
        FROM (SELECT * FROM _b_rel WHERE shop_id IN (SELECT shop_id FROM _b_cand_zone)) o
        ASOF JOIN _b_cand_zone z ON o.shop_id = z.shop_id AND o.t >= z.lo
        LEFT JOIN _b_flags f ON f.shop_id = o.shop_id AND f.t = o.t
        WHERE o.t <= z.hi
    """)


def _periods(con: duckdb.DuckDBPyConnection) -> None:
    """Merge the spans (first to last order) of overlapping brushing windows into periods."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE brush_periods AS
        WITH ordered AS (
            SELECT *, max(hi) OVER (PARTITION BY shop_id ORDER BY lo, hi
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_hi
            FROM _b_spans
        ), grouped AS (
            SELECT *, sum(CASE WHEN prev_hi IS NULL OR lo > prev_hi THEN 1 ELSE 0 END)
                      OVER (PARTITION BY shop_id ORDER BY lo, hi ROWS UNBOUNDED PRECEDING)
                      AS period_no
            FROM ordered
        ), periods AS (
            SELECT shop_id, period_no, min(lo) AS start_us, max(hi) AS end_us,
                   max(ratio) AS max_ratio
            FROM grouped GROUP BY shop_id, period_no
        )
        SELECT p.shop_id, p.period_no, p.start_us, p.end_us, p.max_ratio,
               count(o.order_id) AS orders, count(DISTINCT o.buyer_id) AS buyers
        FROM periods p LEFT JOIN brush_orders o
          ON o.shop_id = p.shop_id AND o.t BETWEEN p.start_us AND p.end_us
        GROUP BY ALL
    """)


def _suspects(con: duckdb.DuckDBPyConnection, orders: str, rule: str) -> None:
    if rule == "buyer-share":
        score = "CAST(n_in AS DOUBLE) / n_total"
        totals = f"""JOIN (SELECT o.shop_id, o.buyer_id, count(*) AS n_total FROM {orders} o
                     SEMI JOIN per_buyer p ON o.shop_id = p.shop_id AND o.buyer_id = p.buyer_id
                     GROUP BY ALL) tot USING (shop_id, buyer_id)"""
    else:
        score, totals = "CAST(n_in AS DOUBLE)", ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE brush_shops AS
        WITH per_buyer AS (
            SELECT shop_id, buyer_id, count(*) AS n_in FROM brush_orders GROUP BY ALL
        ), scored AS (
            SELECT shop_id, buyer_id, n_in, {score} AS score FROM per_buyer {totals}
        ), ranked AS (
            SELECT *, max(score) OVER (PARTITION BY shop_id) AS best,
                   sum(n_in) OVER (PARTITION BY shop_id) AS orders_in_periods,
                   bool_and(regexp_full_match(buyer_id, '-?[0-9]{{1,30}}'))
                       OVER (PARTITION BY shop_id) AS numeric_ids
            FROM scored
        )
        SELECT r.shop_id,
               string_agg(buyer_id, '&' ORDER BY CASE WHEN numeric_ids
                          THEN CAST(buyer_id AS HUGEINT) END, buyer_id) AS buyer_ids,
               list(buyer_id ORDER BY CASE WHEN numeric_ids
                    THEN CAST(buyer_id AS HUGEINT) END, buyer_id) AS suspects,
               max(n_in) AS suspect_orders, max(orders_in_periods) AS orders_in_periods,
               max(p.periods) AS periods, max(p.max_ratio) AS max_ratio
        FROM ranked r JOIN (SELECT shop_id, count(*) AS periods, max(max_ratio) AS max_ratio
                            FROM brush_periods GROUP BY shop_id) p USING (shop_id)
        WHERE score = best
        GROUP BY r.shop_id
    """)


def _summary(con: duckdb.DuckDBPyConnection, orders: str) -> BrushingSummary:
    shops = con.execute("SELECT count(shop_id) FROM _b_shops").fetchone()[0]
    brushing = con.execute("SELECT count(*) FROM brush_shops").fetchone()[0]
    considered = con.execute("SELECT count(*) FROM _b_cand_rel").fetchone()[0]
    in_periods = con.execute("SELECT count(*) FROM brush_orders").fetchone()[0]
    periods = con.execute("SELECT count(*) FROM brush_periods").fetchone()[0]
    return BrushingSummary(int(shops), int(brushing), int(considered), int(in_periods),
                           int(periods))


def output_relation(con: duckdb.DuckDBPyConnection, orders: str, *,
                    all_shops: bool) -> str:
    """SQL of the contract output: shop_id, buyer_ids ('0' when the shop did not brush)."""
    if all_shops:
        base = f"""SELECT s.shop_id, coalesce(b.buyer_ids, '0') AS buyer_ids
                   FROM (SELECT DISTINCT shop_id FROM {orders}) s
                   LEFT JOIN brush_shops b USING (shop_id)"""
    else:
        base = "SELECT shop_id, buyer_ids FROM brush_shops"
    numeric = con.execute(
        f"SELECT coalesce(bool_and(regexp_full_match(shop_id, '-?[0-9]{{1,30}}')), true) "
        f"FROM ({base})"
    ).fetchone()[0]
    order = "CAST(shop_id AS HUGEINT), shop_id" if numeric else "shop_id"
    return f"SELECT shop_id, buyer_ids FROM ({base}) ORDER BY {order}"


def write_csv(con: duckdb.DuckDBPyConnection, orders: str, out: str, *,
              all_shops: bool) -> int:
    """Write the contract CSV (header `shop_id,buyer_ids`); returns the number of rows."""
    sql = output_relation(con, orders, all_shops=all_shops)
    con.execute(f"CREATE OR REPLACE TEMP TABLE brush_output AS {sql}")
    target = out.replace("'", "''")
    con.execute(f"COPY (FROM brush_output ORDER BY rowid) TO '{target}' (FORMAT csv, HEADER true)")
    return int(con.execute("SELECT count(*) FROM brush_output").fetchone()[0])


def result_dict(con: duckdb.DuckDBPyConnection, orders: str, *,
                all_shops: bool = True) -> dict[str, str]:
    """The contract output as {shop_id: buyer_ids}; for tests and small data."""
    sql = output_relation(con, orders, all_shops=all_shops)
    return {shop: buyers for shop, buyers in con.execute(sql).fetchall()}
