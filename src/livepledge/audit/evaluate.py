"""Detection rates on synthetic data with planted fraud: precision and recall per detector.

`run_evaluation` generates a data set (synth.py), runs the three detectors through the same code
the CLI uses and compares their findings with the planted truth:
- brushing: shops (detected brushing shop vs planted shop) and (shop, buyer) pairs;
- laundering: buyers in flagged groups vs ring buyers;
- viewers: suspect (session, viewer) pairs vs planted bots;
- per-minute viewers: flagged sessions vs sessions with planted bought viewers, and detected
  step changes vs planted ones (within ±2 minutes).
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb

from livepledge.audit import brushing, columns, laundering, loader, minutes, synth, viewers
from livepledge.audit.brushing import BrushingParams


def rates(truth: set, found: set) -> dict[str, Any]:
    hits = len(truth & found)
    return {
        "planted": len(truth), "detected": len(found), "true_positives": hits,
        "precision": round(hits / len(found), 4) if found else None,
        "recall": round(hits / len(truth), 4) if truth else None,
    }


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def run_evaluation(directory: Path, spec: synth.SynthSpec, *, viewer_sessions: int = 300,
                   window: int = 3600, threshold: Fraction = Fraction(3),
                   minute_sessions: int = 300) -> dict[str, Any]:
    con = loader.connect()
    started = time.perf_counter()
    orders_path = synth.write_orders(con, spec, directory)
    viewers_path = synth.write_viewers(con, spec, directory, sessions=viewer_sessions)
    generated = time.perf_counter() - started
    options = loader.LoadOptions()
    loader.load_table(con, [str(orders_path)], table="orders", canonical=columns.ORDER_COLUMNS,
                      required=columns.ORDER_REQUIRED, options=options, unique="order_id")
    loader.load_table(con, [str(viewers_path)], table="viewers",
                      canonical=columns.VIEWER_COLUMNS, required=columns.VIEWER_REQUIRED,
                      options=options)

    brushing.detect_brushing(con, "orders", BrushingParams(Fraction(window), threshold))
    found_shops = {row[0] for row in con.execute("SELECT shop_id FROM brush_shops").fetchall()}
    found_pairs = set(con.execute(
        "SELECT shop_id, unnest(suspects) FROM brush_shops").fetchall())
    truth_rows = _read(directory / "truth_brushing.csv")
    truth_shops = {shop for shop, _ in truth_rows}
    truth_pairs = {(shop, b) for shop, ids in truth_rows for b in ids.split("&")}

    laundering.detect_laundering(con, "orders", laundering.LaunderingParams())
    found_ring = {row[0] for row in con.execute(
        "SELECT DISTINCT unnest(buyers) FROM laundering_groups").fetchall()}
    truth_ring = {row[0] for row in _read(directory / "truth_laundering.csv")}

    viewers.detect_bots(con, "viewers", viewers.ViewerParams())
    found_bots = set(con.execute(
        "SELECT session_id, viewer_id FROM viewer_flags WHERE is_suspect").fetchall())
    truth_bots = {(s, v) for s, v in _read(directory / "truth_viewers.csv")}
    per_minute = (evaluate_minutes(con, directory, spec, minute_sessions)
                  if minute_sessions else None)

    return {
        "data": {"orders": spec.orders, "shops": spec.shops, "days": spec.days,
                 "seed": spec.seed, "viewer_sessions": viewer_sessions,
                 "directory": str(directory), "generated_seconds": round(generated, 2)},
        "brushing": {"window_seconds": window, "threshold": str(threshold),
                     "shops": rates(truth_shops, found_shops),
                     "buyers": rates(truth_pairs, found_pairs)},
        "laundering": {"buyers": rates(truth_ring, found_ring)},
        "viewers": {"bots": rates(truth_bots, found_bots)},
        "viewer_minutes": per_minute,
        "seconds": round(time.perf_counter() - started, 2),
    }


def evaluate_minutes(con: duckdb.DuckDBPyConnection, directory: Path, spec: synth.SynthSpec,
                     sessions: int = 300, params: minutes.MinuteParams | None = None,
                     ) -> dict[str, Any]:
    """Per-minute export with planted bought viewers: flagged sessions vs planted sessions
    (all, and per kind), and detected step minutes vs planted step minutes (±2 minutes)."""
    path = synth.write_minutes(con, spec, directory, sessions=sessions)
    loader.load_table(con, [str(path)], table="viewer_minutes",
                      canonical=columns.MINUTE_COLUMNS, required=columns.MINUTE_REQUIRED,
                      options=loader.LoadOptions())
    params = params or minutes.MinuteParams()
    minutes.detect_minutes(con, "viewer_minutes", params)
    truth = _read(directory / "truth_minutes.csv")
    planted = {s for s, _, _ in truth}
    flagged = {r[0] for r in con.execute(
        "SELECT session_id FROM minute_sessions WHERE flagged").fetchall()}
    by_kind = {kind: rates({s for s, k, _ in truth if k == kind}, flagged)["recall"]
               for kind in ("inflate", "step")}
    found_steps = con.execute(
        "SELECT session_id, strftime(minute, '%Y-%m-%d %H:%M') FROM minute_steps").fetchall()
    truth_steps = {(s, m) for s, k, m in truth if k == "step"}
    hits = {f for f in found_steps if any(f[0] == s and _minutes_apart(f[1], m) <= 2
                                          for s, m in truth_steps)}
    matched = {t for t in truth_steps if any(t[0] == f[0] and _minutes_apart(f[1], t[1]) <= 2
                                             for f in found_steps)}
    return {
        "sessions": sessions, "params": asdict(params),
        "sessions_flagged": rates(planted, flagged),
        "recall_by_kind": by_kind,
        "steps": {"planted": len(truth_steps), "detected": len(found_steps),
                  "precision": round(len(hits) / len(found_steps), 4) if found_steps else None,
                  "recall": round(len(matched) / len(truth_steps), 4) if truth_steps else None},
    }


def _minutes_apart(a: str, b: str) -> float:
    fmt = "%Y-%m-%d %H:%M"
    return abs((datetime.strptime(a, fmt) - datetime.strptime(b, fmt)).total_seconds()) / 60
