"""Synthetic order and viewer exports with planted fraud, and their ground truth.

Everything is generated inside DuckDB from `range()` and `hash()` so 10 M rows take seconds and
never pass through Python. The data is deterministic for a given seed.

Orders (one row per order):
- organic orders spread over `days` days across `shops` shops with a skewed size distribution;
  buyers come from a large pool, plus a few loyal buyers per shop; ~15 % are returned within
  1–10 days;
- planted brushing: in 2 % of shops, one or two brushing buyers (ids ≥ 900000000) place bursts
  of 4–6 orders within 20 minutes, twice;
- planted return laundering: in 1 % of sessions a ring of 3–5 buyers sharing one device and one
  address hash buys expensive items and refunds all of them 8–12 days later, after the 7-day
  settlement cut-off.

Viewers (one row per visit): organic viewers with chat/like/order counts; planted bots: in 10 %
of sessions, 50–200 viewers join within 3 seconds, leave together and never interact.

Ground truth goes to `truth_*.csv` files beside the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

START = "2026-03-01 00:00:00"
BRUSH_BUYER_BASE = 900_000_000
RING_BUYER_BASE = 800_000_000


@dataclass(frozen=True)
class SynthSpec:
    orders: int = 100_000
    shops: int = 500
    days: int = 30
    seed: int = 7
    sessions_per_shop_day: int = 1


def _u(expr: str, seed: int, salt: int) -> str:
    """A uniform number in [0, 1) from a hash of `expr` (deterministic)."""
    return f"((hash({expr}, {seed}, {salt}) % 1000003) / 1000003.0)"


def orders_sql(spec: SynthSpec) -> str:
    """SQL producing the synthetic order export (canonical column names, local times)."""
    s = spec.seed
    organic = f"""
        SELECT i,
               CAST(floor({spec.shops} * pow({_u('i', s, 1)}, 2)) AS BIGINT) + 1 AS shop,
               CASE WHEN {_u('i', s, 2)} < 0.1
                    THEN 500000000 + CAST(floor({spec.shops} * pow({_u('i', s, 1)}, 2)) AS BIGINT)
                         * 20 + CAST(hash(i, {s}, 3) % 20 AS BIGINT)
                    ELSE CAST(hash(i, {s}, 4) % {max(spec.orders // 4, 10)} AS BIGINT) + 1
               END AS buyer,
               CAST({_u('i', s, 5)} * {spec.days * 86400} AS BIGINT) AS sec,
               FALSE AS planted
        FROM range({spec.orders}) r(i)
    """
    brushing = f"""
        SELECT 1000000000 + shop * 1000 + burst * 100 + n AS i, shop,
               {BRUSH_BUYER_BASE} + shop * 2 + (n % brushers) AS buyer,
               start + CAST({_u("shop * 1000 + burst * 100 + n", s, 7)} * 1200 AS BIGINT) AS sec,
               TRUE AS planted
        FROM (SELECT shop, burst,
                     1 + CAST(hash(shop * 7919 + 8, {s}) % 2 AS BIGINT) AS brushers,
                     CAST({_u('shop * 10 + burst', s, 9)} * ({spec.days} * 86400 - 1200)
                          AS BIGINT) AS start,
                     4 + CAST(hash(shop, burst, {s}) % 3 AS BIGINT) AS size
              FROM range(1, {spec.shops} + 1) a(shop), range(2) b(burst)
              WHERE hash(shop, {s}, 10) % 50 = 0) bursts,
             LATERAL (SELECT n FROM range(size * brushers) c(n))
    """
    return f"""
        WITH base AS ({organic} UNION ALL {brushing}),
        enriched AS (
            SELECT *, CAST(sec // 86400 AS BIGINT) AS day,
                   shop * 1000 + CAST(sec // 86400 AS BIGINT) AS session
            FROM base
        ),
        rings AS (
            SELECT session, r AS member
            FROM (SELECT DISTINCT session FROM enriched WHERE hash(session, {s}, 11) % 100 = 0),
                 range(3 + CAST(hash(session, {s}, 12) % 3 AS BIGINT)) m(r)
        ),
        laundering AS (
            SELECT 2000000000 + session * 10 + member * 2 + k AS i,
                   session // 1000 AS shop,
                   {RING_BUYER_BASE} + session * 10 + member AS buyer,
                   (session % 1000) * 86400 + 72000 + member * 60 + k * 17 AS sec,
                   FALSE AS planted, session % 1000 AS day, session
            FROM rings, range(2) o(k)
        ),
        everything AS (
            SELECT *, FALSE AS ring FROM enriched
            UNION ALL SELECT *, TRUE AS ring FROM laundering
        )
        SELECT CAST(i AS VARCHAR) AS order_id,
               CAST(shop AS VARCHAR) AS shop_id,
               CAST(buyer AS VARCHAR) AS buyer_id,
               strftime(TIMESTAMP '{START}' + to_seconds(sec), '%Y-%m-%d %H:%M:%S')
                   AS created_at,
               CAST(session AS VARCHAR) AS session_id,
               'A' || CAST(shop % 700 AS VARCHAR) AS anchor_id,
               CASE WHEN ring THEN 200000 + CAST(hash(i, {s}, 13) % 300000 AS BIGINT)
                    ELSE 990 + CAST(hash(i, {s}, 14) % 30000 AS BIGINT) END AS amount,
               CASE WHEN ring OR {_u('i', s, 15)} < 0.15 THEN 'refunded' ELSE 'paid' END
                   AS status,
               CASE WHEN ring THEN strftime(TIMESTAMP '{START}' + to_seconds(sec)
                                            + to_days(8 + CAST(hash(i, {s}, 16) % 5 AS BIGINT)),
                                            '%Y-%m-%d %H:%M:%S')
                    WHEN {_u('i', s, 15)} < 0.15 THEN strftime(TIMESTAMP '{START}'
                         + to_seconds(sec + 86400 + CAST(hash(i, {s}, 17) % 777600 AS BIGINT)),
                         '%Y-%m-%d %H:%M:%S') END AS refunded_at,
               CASE WHEN ring THEN 'dev-ring-' || CAST(session AS VARCHAR)
                    ELSE 'dev-' || CAST(buyer AS VARCHAR) END AS device_id,
               CASE WHEN ring THEN 'addr-ring-' || CAST(session AS VARCHAR)
                    ELSE 'addr-' || CAST(buyer AS VARCHAR) END AS address_hash,
               planted
        FROM everything
    """


def viewers_sql(spec: SynthSpec, sessions: int) -> str:
    """SQL producing a viewer visit export for `sessions` sessions (with `is_bot` truth)."""
    s = spec.seed
    return f"""
        WITH sess AS (
            SELECT v AS session, 20 + CAST(hash(v, {s}, 20) % 400 AS BIGINT) AS organic,
                   hash(v, {s}, 21) % 10 = 0 AS has_bots,
                   50 + CAST(hash(v, {s}, 22) % 150 AS BIGINT) AS bots,
                   CAST(hash(v, {s}, 23) % 3000 AS BIGINT) + 300 AS burst_at
            FROM range(1, {sessions} + 1) r(v)
        ), organic AS (
            SELECT session, 'v' || CAST(session AS VARCHAR) || '-' || CAST(n AS VARCHAR) AS vid,
                   CAST({_u('session * 100000 + n', s, 24)} * 7200 AS BIGINT) AS joined,
                   60 + CAST({_u('session * 100000 + n', s, 25)} * 2400 AS BIGINT) AS stay,
                   CASE WHEN {_u('session * 100000 + n', s, 26)} < 0.45
                        THEN 1 + CAST(hash(session, n, {s}) % 12 AS BIGINT) ELSE 0 END AS chats,
                   CASE WHEN {_u('session * 100000 + n', s, 27)} < 0.6
                        THEN 1 + CAST(hash(session, n, {s}, 1) % 40 AS BIGINT) ELSE 0 END
                        AS likes,
                   CASE WHEN {_u('session * 100000 + n', s, 28)} < 0.05 THEN 1 ELSE 0 END
                        AS orders,
                   FALSE AS is_bot
            FROM sess, LATERAL (SELECT n FROM range(organic) x(n))
        ), bots AS (
            SELECT session, 'b' || CAST(session AS VARCHAR) || '-' || CAST(n AS VARCHAR),
                   burst_at + CAST(hash(session, n, {s}, 2) % 3 AS BIGINT),
                   900 + CAST(hash(session, {s}, 3) % 2 AS BIGINT), 0, 0, 0, TRUE
            FROM sess, LATERAL (SELECT n FROM range(bots) x(n)) WHERE has_bots
        )
        SELECT CAST(session AS VARCHAR) AS session_id, vid AS viewer_id,
               strftime(TIMESTAMP '{START}' + to_seconds(joined), '%Y-%m-%d %H:%M:%S')
                   AS joined_at,
               strftime(TIMESTAMP '{START}' + to_seconds(joined + stay), '%Y-%m-%d %H:%M:%S')
                   AS left_at,
               chats AS chat_count, likes AS like_count, orders AS order_count, is_bot
        FROM (SELECT * FROM organic UNION ALL SELECT * FROM bots)
    """


def write_orders(con: duckdb.DuckDBPyConnection, spec: SynthSpec, directory: Path, *,
                 fmt: str = "csv") -> Path:
    """Write orders.<fmt> plus truth_brushing.csv and truth_laundering.csv; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _synth_orders AS {orders_sql(spec)}")
    out = directory / f"orders.{fmt}"
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    con.execute(f"COPY (SELECT * EXCLUDE (planted) FROM _synth_orders) TO '{out}' ({options})")
    con.execute(f"""COPY (
        SELECT shop_id, string_agg(DISTINCT buyer_id, '&' ORDER BY buyer_id) AS buyer_ids
        FROM _synth_orders WHERE planted GROUP BY shop_id ORDER BY CAST(shop_id AS BIGINT)
    ) TO '{directory / "truth_brushing.csv"}' (FORMAT csv, HEADER true)""")
    con.execute(f"""COPY (
        SELECT DISTINCT buyer_id FROM _synth_orders WHERE device_id LIKE 'dev-ring-%'
        ORDER BY buyer_id
    ) TO '{directory / "truth_laundering.csv"}' (FORMAT csv, HEADER true)""")
    con.execute("DROP TABLE _synth_orders")
    return out


def write_viewers(con: duckdb.DuckDBPyConnection, spec: SynthSpec, directory: Path,
                  sessions: int = 200) -> Path:
    """Write viewers.csv and truth_viewers.csv (bot viewer ids); returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _synth_viewers AS {viewers_sql(spec, sessions)}")
    out = directory / "viewers.csv"
    con.execute(f"COPY (SELECT * EXCLUDE (is_bot) FROM _synth_viewers) TO '{out}' "
                f"(FORMAT csv, HEADER true)")
    con.execute(f"""COPY (SELECT session_id, viewer_id FROM _synth_viewers WHERE is_bot
                          ORDER BY session_id, viewer_id)
                    TO '{directory / "truth_viewers.csv"}' (FORMAT csv, HEADER true)""")
    con.execute("DROP TABLE _synth_viewers")
    return out


def minutes_sql(spec: SynthSpec, sessions: int) -> str:
    """SQL producing a per-minute viewer export (one row per session and minute) with planted
    bought viewers, plus the truth columns `planted` and `bought`.

    Sessions last 60–180 minutes; ten sessions per shop (so shop peers exist); the organic
    audience ramps up over 10 minutes and down over the last 10, with ±10 % noise; engagement
    per viewer-minute is a per-shop rate (0.05–0.4) times a per-session factor (×0.78–1.28),
    with ±40 % noise per minute (70 % likes, 25 % chats, 5 % orders). Planted, 10 % of sessions
    each: `inflate` — silent bots worth 1.5–4× the organic audience for the whole session;
    `step` — max(200, 1–3× the audience level) silent bots arrive in one minute (after minute
    15) and stay 20–60 minutes.
    """
    s = spec.seed
    shops = max(sessions // 10, 1)
    return f"""
        WITH sess AS (
            SELECT v AS session, 1 + v % {shops} AS shop,
                   60 + CAST(hash(v, {s}, 30) % 121 AS BIGINT) AS dur,
                   50 * pow(40, {_u('v', s, 31)}) AS level,
                   0.05 * pow(8, {_u('1 + v % ' + str(shops), s, 32)})
                       * exp(0.5 * ({_u('v', s, 33)} - 0.5)) AS rate,
                   CASE hash(v, {s}, 34) % 10 WHEN 0 THEN 'inflate' WHEN 1 THEN 'step'
                        ELSE NULL END AS planted,
                   1.5 + 2.5 * {_u('v', s, 36)} AS mult,
                   15 + CAST(hash(v, {s}, 35) % 30 AS BIGINT) AS t0,
                   20 + CAST(hash(v, {s}, 37) % 41 AS BIGINT) AS blen
            FROM range(1, {sessions} + 1) r(v)
        ), m AS (
            SELECT sess.*, m,
                   least(1.0, (m + 1) / 10.0) * least(1.0, (dur - m) / 10.0) AS shape
            FROM sess, LATERAL (SELECT m FROM range(dur) x(m))
        ), counts AS (
            SELECT *, round(level * shape * (0.9 + 0.2 * {_u('session * 1000 + m', s, 38)}))
                       AS organic,
                   CASE WHEN planted = 'inflate' THEN round(level * (mult - 1) * shape)
                        WHEN planted = 'step' AND m >= t0 AND m < t0 + blen
                        THEN round(greatest(200, level * (1 + 2 * {_u('session', s, 39)})))
                        ELSE 0 END AS bots
            FROM m
        ), eng AS (
            SELECT *, round(organic * rate * (0.6 + 0.8 * {_u('session * 1000 + m', s, 40)}))
                       AS e
            FROM counts
        )
        SELECT CAST(session AS VARCHAR) AS session_id, 'S' || CAST(shop AS VARCHAR) AS shop_id,
               strftime(TIMESTAMP '{START}' + to_days(CAST(session // {shops} AS BIGINT))
                        + to_minutes(CAST(600 + m AS BIGINT)), '%Y-%m-%d %H:%M') AS minute,
               CAST(organic + bots AS BIGINT) AS viewers,
               CAST(round(e * 0.25) AS BIGINT) AS chats,
               CAST(e - round(e * 0.25) - round(e * 0.05) AS BIGINT) AS likes,
               CAST(round(e * 0.05) AS BIGINT) AS orders,
               CAST(round(organic * 0.08) + CASE WHEN planted = 'step' AND m = t0 THEN bots
                    WHEN planted = 'inflate' AND m < 10 THEN round(bots / 10.0) ELSE 0 END
                    AS BIGINT) AS enter,
               planted, CASE WHEN planted = 'step' AND m = t0 THEN TRUE ELSE FALSE END AS step_at
        FROM eng
    """


def write_minutes(con: duckdb.DuckDBPyConnection, spec: SynthSpec, directory: Path,
                  sessions: int = 300) -> Path:
    """Write viewer_minutes.csv and truth_minutes.csv (session_id, kind, step minute)."""
    directory.mkdir(parents=True, exist_ok=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _synth_minutes AS {minutes_sql(spec, sessions)}")
    out = directory / "viewer_minutes.csv"
    con.execute(f"COPY (SELECT * EXCLUDE (planted, step_at) FROM _synth_minutes) TO '{out}' "
                f"(FORMAT csv, HEADER true)")
    con.execute(f"""COPY (
        SELECT session_id, any_value(planted) AS kind,
               min(minute) FILTER (WHERE step_at) AS step_minute
        FROM _synth_minutes WHERE planted IS NOT NULL GROUP BY session_id
        ORDER BY CAST(session_id AS BIGINT)
    ) TO '{directory / "truth_minutes.csv"}' (FORMAT csv, HEADER true)""")
    con.execute("DROP TABLE _synth_minutes")
    return out
