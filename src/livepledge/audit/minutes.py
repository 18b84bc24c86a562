"""Bought viewers from per-minute exports: viewer counts that engagement does not back up.

Input: the canonical table `viewer_minutes` — one row per session and minute with `viewers`
(online count) and at least one of `chats`, `likes`, `orders`; optionally `enter`, `shop_id`,
`anchor_id` (columns.MINUTE_COLUMNS). Definitions (docs/audit.md, "Per-minute exports"):

- engagement of a minute e = chats + likes + orders; its log engagement per viewer
  y = ln((e + 1) / (viewers + 1)) (add-one smoothing keeps silent minutes finite);
- a session's y uses its sums: ln((Σe + 1) / (Σviewers + 1));
- comparable sessions: the sessions of the same shop when the shop has at least `min_peers`
  sessions in the export, else all sessions;
- robust z = (y − median of the comparable y) / max(1.4826 · MAD, `min_scale`);
- a session is **low-engagement** when its z ≤ −`z_threshold`; a **low-engagement run** is at
  least `min_run` consecutive minutes with ≥ `min_viewers` viewers whose minute z (against the
  minutes of the comparable sessions) is ≤ −`z_threshold`;
- a **step** at minute t: the mean viewers of [t, t + k) exceed those of [t − k, t) by at least
  `step_min_viewers` and `step_min_ratio` × before, the jump happens at t (viewers(t) −
  viewers(t − 1) ≥ half of it and ≥ `step_min_viewers`), and engagement backs at most
  `step_max_backed` of the added viewers at the session's own rate before the step
  (k = `step_minutes`);
- **engaged viewers** (estimate, beside the raw figure): engagement ÷ the comparable sessions'
  median engagement per viewer (exp of the median y), capped at the raw count; per minute on a
  5-minute centred mean of engagement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from livepledge.audit.errors import AuditInputError

MAD_TO_SIGMA = 1.4826
FMT = "'%Y-%m-%d %H:%M'"


@dataclass(frozen=True)
class MinuteParams:
    z_threshold: float = 3.0
    min_scale: float = 0.1
    min_peers: int = 5
    min_viewers: int = 20
    min_run: int = 3
    step_minutes: int = 5
    step_min_viewers: int = 50
    step_min_ratio: float = 0.5
    step_max_backed: float = 0.25

    def check(self) -> None:
        if self.z_threshold <= 0 or self.min_scale <= 0:
            raise AuditInputError("--z-threshold 与 min_scale 须大于 0 / must be > 0")
        if min(self.min_peers, self.min_run, self.step_minutes) < 1:
            raise AuditInputError("--min-peers、--min-run、--step-minutes 须 ≥ 1 / must be ≥ 1")
        if self.step_min_viewers < 1 or self.step_min_ratio < 0:
            raise AuditInputError("--step-min-viewers 须 ≥ 1 / must be ≥ 1")
        if not 0 <= self.step_max_backed < 1:
            raise AuditInputError("--step-max-backed 须在 [0, 1) / must be in [0, 1)")


@dataclass(frozen=True)
class MinuteSummary:
    sessions: int
    minutes: int
    viewer_minutes: int
    engaged_viewer_minutes: int
    sessions_low_engagement: int
    low_engagement_runs: int
    steps: int
    sessions_flagged: int


def detect_minutes(con: duckdb.DuckDBPyConnection, table: str,
                   params: MinuteParams) -> MinuteSummary:
    """Leaves `minute_series`, `minute_sessions`, `minute_runs` and `minute_steps`."""
    params.check()
    cols = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    present = [c for c in ("chats", "likes", "orders")
               if c in cols and con.execute(f"SELECT count({c}) FROM {table}").fetchone()[0]]
    if not present:
        raise AuditInputError(
            "按分钟分析需要 chats、likes 或 orders 中至少一列 / the per-minute analysis needs at "
            "least one of the columns chats, likes, orders (map them with --map)")
    engagement = " + ".join(f"coalesce({c}, 0)" for c in present)
    enter = "enter" if "enter" in cols else "CAST(NULL AS BIGINT)"
    shop = "shop_id" if "shop_id" in cols else "CAST(NULL AS VARCHAR)"
    _series(con, table, engagement, enter, shop)
    _sessions(con, params)
    _minute_z(con, params)
    _runs(con, params)
    _steps(con, params)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE minute_sessions AS
        SELECT s.*, coalesce(r.runs, 0) AS low_runs, coalesce(r.minutes, 0) AS low_minutes,
               coalesce(t.steps, 0) AS steps,
               s.low_engagement OR coalesce(t.steps, 0) > 0 OR coalesce(r.runs, 0) > 0
                   AS flagged
        FROM minute_sessions s
        LEFT JOIN (SELECT session_id, count(*) AS runs, sum(minutes) AS minutes
                   FROM minute_runs GROUP BY session_id) r USING (session_id)
        LEFT JOIN (SELECT session_id, count(*) AS steps FROM minute_steps
                   GROUP BY session_id) t USING (session_id)
    """)
    row = con.execute("""
        SELECT count(*), sum(minutes), sum(viewer_minutes), sum(engaged_viewer_minutes),
               count(*) FILTER (WHERE low_engagement), sum(low_runs), sum(steps),
               count(*) FILTER (WHERE flagged)
        FROM minute_sessions
    """).fetchone()
    return MinuteSummary(*(round(float(v or 0)) for v in row))


def _series(con: duckdb.DuckDBPyConnection, table: str, engagement: str, enter: str,
            shop: str) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE minute_series AS
        SELECT session_id, {shop} AS shop_id, date_trunc('minute', minute) AS minute,
               CAST(epoch(date_trunc('minute', minute)) // 60 AS BIGINT) AS mi,
               viewers AS v, {engagement} AS e, {enter} AS enter,
               ln(({engagement} + 1.0) / (viewers + 1.0)) AS y
        FROM {table}
    """)


def _sessions(con: duckdb.DuckDBPyConnection, p: MinuteParams) -> None:
    """Per session: sums, its comparison group, robust z and the engaged-viewer estimate."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE minute_sessions AS
        WITH s AS (
            SELECT session_id, min(shop_id) AS shop_id, count(*) AS minutes,
                   sum(v) AS viewer_minutes, sum(e) AS engagement, max(v) AS peak_viewers,
                   sum(enter) AS enters, min(minute) AS started, max(minute) AS ended,
                   ln((sum(e) + 1.0) / (sum(v) + 1.0)) AS y
            FROM minute_series GROUP BY session_id
        ), shops AS (
            SELECT shop_id, count(*) AS n FROM s WHERE shop_id IS NOT NULL GROUP BY shop_id
        ), grouped AS (
            SELECT s.*, CASE WHEN shops.n >= {int(p.min_peers)} THEN 'shop:' || s.shop_id
                             ELSE 'all' END AS peer_group
            FROM s LEFT JOIN shops USING (shop_id)
        ), stats AS (
            SELECT 'shop:' || shop_id AS peer_group, count(*) AS peers, median(y) AS med,
                   mad(y) AS mad FROM s WHERE shop_id IS NOT NULL GROUP BY shop_id
            UNION ALL
            SELECT 'all', count(*), median(y), mad(y) FROM s
        )
        SELECT g.*, stats.peers, exp(stats.med) AS peer_rate,
               CAST(g.engagement AS DOUBLE) / nullif(g.viewer_minutes, 0) AS rate,
               (g.y - stats.med) / greatest({MAD_TO_SIGMA} * stats.mad, {float(p.min_scale)})
                   AS z,
               least(g.viewer_minutes, g.engagement / exp(stats.med)) AS engaged_viewer_minutes
        FROM grouped g JOIN stats USING (peer_group)
    """)
    con.execute(f"""
        ALTER TABLE minute_sessions ADD COLUMN low_engagement BOOLEAN;
        UPDATE minute_sessions SET low_engagement = z <= -{float(p.z_threshold)};
    """)


def _minute_z(con: duckdb.DuckDBPyConnection, p: MinuteParams) -> None:
    """Minute z against all minutes (≥ min_viewers) of the comparable sessions; engaged-viewer
    estimate per minute on a centred 5-minute mean of engagement."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE minute_series AS
        WITH m AS (
            SELECT m.*, s.peer_group, s.peer_rate FROM minute_series m
            JOIN minute_sessions s USING (session_id)
        ), shop_stats AS (
            SELECT 'shop:' || shop_id AS peer_group, median(y) AS med, mad(y) AS mad FROM m
            WHERE v >= {int(p.min_viewers)} AND shop_id IS NOT NULL GROUP BY shop_id
        ), stats AS (
            SELECT * FROM shop_stats UNION ALL
            SELECT 'all', median(y), mad(y) FROM m WHERE v >= {int(p.min_viewers)}
        )
        SELECT m.session_id, m.shop_id, m.minute, m.mi, m.v, m.e, m.enter, m.y,
               (m.y - stats.med) / greatest({MAD_TO_SIGMA} * stats.mad, {float(p.min_scale)})
                   AS z,
               least(m.v, avg(m.e) OVER (PARTITION BY m.session_id ORDER BY m.mi
                     RANGE BETWEEN 2 PRECEDING AND 2 FOLLOWING) / m.peer_rate) AS engaged
        FROM m LEFT JOIN stats USING (peer_group)
    """)


def _runs(con: duckdb.DuckDBPyConnection, p: MinuteParams) -> None:
    """Runs of consecutive low-engagement minutes (gaps and islands on the minute index)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE minute_runs AS
        WITH low AS (
            SELECT *, mi - row_number() OVER (PARTITION BY session_id ORDER BY mi) AS island
            FROM minute_series
            WHERE v >= {int(p.min_viewers)} AND z <= -{float(p.z_threshold)}
        )
        SELECT session_id, min(minute) AS first_minute, max(minute) AS last_minute,
               count(*) AS minutes, sum(v) AS viewer_minutes, sum(e) AS engagement,
               min(z) AS min_z, sum(engaged) AS engaged_viewer_minutes
        FROM low GROUP BY session_id, island HAVING count(*) >= {int(p.min_run)}
    """)


def _steps(con: duckdb.DuckDBPyConnection, p: MinuteParams) -> None:
    """Step changes in viewers that engagement does not follow; overlapping candidates (within
    k minutes) keep the one with the largest one-minute jump."""
    k = int(p.step_minutes)
    before = f"PARTITION BY session_id ORDER BY mi RANGE BETWEEN {k} PRECEDING AND 1 PRECEDING"
    after = f"PARTITION BY session_id ORDER BY mi RANGE BETWEEN CURRENT ROW AND {k - 1} FOLLOWING"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE minute_steps AS
        WITH w AS (
            SELECT *, avg(v) OVER ({before}) AS vb, avg(e) OVER ({before}) AS eb,
                   sum(v) OVER ({before}) AS svb, sum(e) OVER ({before}) AS seb,
                   avg(v) OVER ({after}) AS va, avg(e) OVER ({after}) AS ea,
                   v - lag(v) OVER (PARTITION BY session_id ORDER BY mi) AS jump,
                   lag(mi) OVER (PARTITION BY session_id ORDER BY mi) AS prev_mi
            FROM minute_series
        ), c AS (
            SELECT *, va - vb AS added, (seb + 1.0) / (svb + 1.0) AS rate_before,
                   greatest(0.0, least(1.0, (ea - eb) / ((seb + 1.0) / (svb + 1.0)
                                                         * (va - vb)))) AS backed
            FROM w
            WHERE vb IS NOT NULL AND prev_mi = mi - 1 AND va - vb >= {int(p.step_min_viewers)}
              AND va - vb >= {float(p.step_min_ratio)} * vb AND jump >= (va - vb) / 2
              AND jump >= {int(p.step_min_viewers)}
        ), kept AS (
            SELECT * FROM c WHERE backed <= {float(p.step_max_backed)}
        )
        SELECT session_id, minute, mi, vb AS viewers_before, va AS viewers_after, jump,
               eb AS engagement_before, ea AS engagement_after, rate_before, backed,
               added * (1 - backed) AS unbacked_viewers, enter
        FROM kept k1
        WHERE NOT EXISTS (SELECT 1 FROM kept k2 WHERE k2.session_id = k1.session_id
                          AND abs(k2.mi - k1.mi) < {k}
                          AND (k2.jump > k1.jump OR (k2.jump = k1.jump AND k2.mi < k1.mi)))
    """)


def session_rows(con: duckdb.DuckDBPyConnection, limit: int = 1000) -> list[dict[str, Any]]:
    rows = con.execute(f"""
        SELECT session_id, shop_id, peer_group, peers, minutes,
               strftime(started, {FMT}), strftime(ended, {FMT}),
               round(viewer_minutes / minutes, 1), peak_viewers,
               round(engaged_viewer_minutes / minutes, 1), engagement, enters,
               round(rate, 4), round(peer_rate, 4), round(z, 2), low_engagement, low_runs,
               low_minutes, steps, flagged
        FROM minute_sessions ORDER BY flagged DESC, z, session_id LIMIT {int(limit)}
    """).fetchall()
    names = ("session_id", "shop_id", "peer_group", "peers", "minutes", "started", "ended",
             "avg_viewers", "peak_viewers", "engaged_viewers", "engagement", "enters",
             "engagement_per_viewer", "peer_median", "robust_z", "low_engagement",
             "low_engagement_runs", "low_engagement_minutes", "steps", "flagged")
    return [dict(zip(names, row, strict=True)) for row in rows]


FINDINGS_SQL = """
    SELECT session_id, 'low_engagement' AS kind,
           strftime(started, '%Y-%m-%d %H:%M') AS first_minute,
           strftime(ended, '%Y-%m-%d %H:%M') AS last_minute, minutes,
           round(viewer_minutes / minutes, 1) AS viewers,
           round(engagement / minutes, 1) AS engagement, round(rate, 4) AS per_viewer,
           round(peer_rate, 4) AS peer_median, round(z, 2) AS robust_z,
           round(engaged_viewer_minutes / minutes, 1) AS engaged_viewers,
           'peers ' || peer_group || ' (' || peers || ' sessions)' AS detail
    FROM minute_sessions WHERE low_engagement
    UNION ALL
    SELECT r.session_id, 'low_engagement_minutes', strftime(first_minute, '%Y-%m-%d %H:%M'),
           strftime(last_minute, '%Y-%m-%d %H:%M'), r.minutes,
           round(r.viewer_minutes / r.minutes, 1), round(r.engagement / r.minutes, 1),
           round(r.engagement / nullif(r.viewer_minutes, 0), 4), round(s.peer_rate, 4),
           round(min_z, 2), round(r.engaged_viewer_minutes / r.minutes, 1),
           'lowest minute z ' || round(min_z, 2)
    FROM minute_runs r JOIN minute_sessions s USING (session_id)
    UNION ALL
    SELECT t.session_id, 'step', strftime(minute, '%Y-%m-%d %H:%M'),
           strftime(minute, '%Y-%m-%d %H:%M'), 1, round(viewers_after, 1),
           round(engagement_after, 1), round(engagement_after / nullif(viewers_after, 0), 4),
           round(s.peer_rate, 4), NULL, round(viewers_after - unbacked_viewers, 1),
           'viewers ' || round(viewers_before, 1) || ' → ' || round(viewers_after, 1)
           || ' (+' || jump || ' in the minute' || coalesce(', ' || t.enter || ' entered', '')
           || '), engagement/min ' || round(engagement_before, 1) || ' → '
           || round(engagement_after, 1) || ', backs ' || CAST(round(100 * backed) AS BIGINT)
           || '% of the added viewers'
    FROM minute_steps t JOIN minute_sessions s USING (session_id)
    ORDER BY session_id, first_minute, kind
"""


def findings(con: duckdb.DuckDBPyConnection, limit: int = 2000) -> list[dict[str, Any]]:
    """Every finding with its evidence, ordered by session then time (also the CSV written by
    `audit viewers` for a per-minute export)."""
    rows = con.execute(f"SELECT * FROM ({FINDINGS_SQL}) LIMIT {int(limit)}")
    names = [d[0] for d in rows.description]
    return [dict(zip(names, row, strict=True)) for row in rows.fetchall()]


def series(con: duckdb.DuckDBPyConnection, session_id: str) -> list[dict[str, Any]]:
    """Per-minute viewers, engagement and engaged-viewer estimate of one session."""
    rows = con.execute("""
        SELECT strftime(minute, '%H:%M'), v, e, round(engaged, 1), round(z, 2)
        FROM minute_series WHERE session_id = $1 ORDER BY mi
    """, [session_id]).fetchall()
    return [{"minute": m, "viewers": int(v), "engagement": int(e), "engaged_viewers": g,
             "z": z} for m, v, e, g, z in rows]


def report_data(con: duckdb.DuckDBPyConnection, table: str,
                params: MinuteParams) -> dict[str, Any]:
    """Everything the HTML report and `--json` show for a per-minute export."""
    summary = detect_minutes(con, table, params)
    sessions = session_rows(con)
    flagged = [s for s in sessions if s["flagged"]]
    top = (flagged or sessions)[0]["session_id"] if sessions else None
    return {
        "kind": "minutes",
        "params": asdict(params),
        "summary": asdict(summary),
        "sessions": sessions,
        "findings": findings(con),
        "series_session": top,
        "series": series(con, top) if top is not None else [],
    }
