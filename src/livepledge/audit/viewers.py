"""Bought viewers (买量/机器人观众): viewer counts that engagement does not back up.

Input: one row per visit (session_id, viewer_id, joined_at, left_at, and optionally chat_count,
like_count, order_count).  Definitions (docs/audit.md):
- an engaged viewer chatted, liked or ordered at least once in the session;
- a suspect viewer never interacted and joined inside a synchronized burst: at least
  `burst_size` silent viewers of the same session joined within `burst_seconds` of it (both
  ends included); `synchronized_leave` says whether the burst also left together;
- a session is out of proportion when its interactions per viewer are below `ratio_floor` of
  the median of all sessions in the export;
- "engaged viewers" is reported beside the raw distinct-viewer count, never instead of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class ViewerParams:
    burst_size: int = 20
    burst_seconds: int = 5
    ratio_floor: float = 0.33


@dataclass(frozen=True)
class ViewerSummary:
    sessions: int
    raw_viewers: int
    engaged_viewers: int
    suspect_viewers: int
    sessions_with_bursts: int
    sessions_out_of_proportion: int


def detect_bots(con: duckdb.DuckDBPyConnection, viewers: str,
                params: ViewerParams) -> ViewerSummary:
    """Leaves `viewer_flags` (one row per session and viewer) and `viewer_sessions`."""
    w = int(params.burst_seconds) * 1_000_000
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE viewer_flags AS
        WITH per_viewer AS (
            SELECT session_id, viewer_id, min(joined_at) AS joined_at, max(left_at) AS left_at,
                   sum(coalesce(chat_count, 0)) AS chats, sum(coalesce(like_count, 0)) AS likes,
                   sum(coalesce(order_count, 0)) AS orders
            FROM {viewers} GROUP BY session_id, viewer_id
        ), silent AS (
            SELECT *, chats + likes + orders = 0 AS is_silent,
                   epoch_us(joined_at) AS j, epoch_us(left_at) AS l FROM per_viewer
        ), bursts AS (
            SELECT *,
                   CASE WHEN is_silent THEN count(*) FILTER (WHERE is_silent) OVER (
                       PARTITION BY session_id ORDER BY j
                       RANGE BETWEEN {w} PRECEDING AND {w} FOLLOWING) END AS join_peers,
                   CASE WHEN is_silent AND l IS NOT NULL THEN count(*) FILTER (WHERE is_silent)
                       OVER (PARTITION BY session_id ORDER BY l
                       RANGE BETWEEN {w} PRECEDING AND {w} FOLLOWING) END AS leave_peers
            FROM silent
        )
        SELECT session_id, viewer_id, joined_at, left_at, chats, likes, orders,
               NOT is_silent AS is_engaged,
               is_silent AND join_peers >= {int(params.burst_size)} AS is_suspect,
               coalesce(leave_peers >= {int(params.burst_size)}, false) AS synchronized_leave
        FROM bursts
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE viewer_sessions AS
        WITH s AS (
            SELECT session_id, count(*) AS raw_viewers,
                   count(*) FILTER (WHERE is_engaged) AS engaged_viewers,
                   count(*) FILTER (WHERE is_suspect) AS suspect_viewers,
                   count(*) FILTER (WHERE is_suspect AND synchronized_leave) AS synchronized,
                   sum(chats) AS chats, sum(likes) AS likes, sum(orders) AS orders,
                   CAST(sum(chats) + sum(likes) + sum(orders) AS DOUBLE) / count(*)
                       AS interactions_per_viewer,
                   min(joined_at) AS started, max(coalesce(left_at, joined_at)) AS ended
            FROM viewer_flags GROUP BY session_id
        )
        SELECT *, interactions_per_viewer
                  < {float(params.ratio_floor)} * (SELECT median(interactions_per_viewer) FROM s)
                  AS out_of_proportion
        FROM s
    """)
    row = con.execute("""
        SELECT count(*), sum(raw_viewers), sum(engaged_viewers), sum(suspect_viewers),
               count(*) FILTER (WHERE suspect_viewers > 0),
               count(*) FILTER (WHERE out_of_proportion) FROM viewer_sessions
    """).fetchone()
    return ViewerSummary(*(int(v or 0) for v in row))


def session_rows(con: duckdb.DuckDBPyConnection, limit: int = 200) -> list[dict]:
    rows = con.execute(f"""
        SELECT session_id, raw_viewers, engaged_viewers, suspect_viewers, synchronized,
               chats, likes, orders, interactions_per_viewer, out_of_proportion
        FROM viewer_sessions
        ORDER BY suspect_viewers DESC, out_of_proportion DESC, session_id LIMIT {int(limit)}
    """).fetchall()
    names = ("session_id", "raw_viewers", "engaged_viewers", "suspect_viewers",
             "synchronized_leave", "chats", "likes", "orders", "interactions_per_viewer",
             "out_of_proportion")
    return [dict(zip(names, row, strict=True)) for row in rows]


def concurrency_series(con: duckdb.DuckDBPyConnection, session_id: str) -> list[dict]:
    """Per-minute concurrent viewers of one session: all, and without suspect viewers."""
    rows = con.execute("""
        WITH events AS (
            SELECT date_trunc('minute', joined_at) AS m, 1 AS d,
                   CASE WHEN is_suspect THEN 0 ELSE 1 END AS dh FROM viewer_flags
            WHERE session_id = $1
            UNION ALL
            SELECT date_trunc('minute', left_at), -1,
                   CASE WHEN is_suspect THEN 0 ELSE -1 END FROM viewer_flags
            WHERE session_id = $1 AND left_at IS NOT NULL
        ), per_minute AS (SELECT m, sum(d) AS d, sum(dh) AS dh FROM events GROUP BY m)
        SELECT strftime(m, '%H:%M'), sum(d) OVER (ORDER BY m), sum(dh) OVER (ORDER BY m)
        FROM per_minute ORDER BY m
    """, [session_id]).fetchall()
    return [{"minute": m, "viewers": int(v), "without_suspects": int(h)} for m, v, h in rows]
