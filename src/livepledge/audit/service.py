"""Audit use cases: load the exports, run the detectors, write the outputs.

The CLI (and later the merchant console) calls these; the detectors themselves take DuckDB
tables of canonical columns and know nothing about files.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from livepledge.audit import brushing, columns, laundering, loader, minutes, roi, viewers
from livepledge.audit.brushing import BrushingParams, BrushingSummary
from livepledge.audit.errors import AuditInputError
from livepledge.audit.progress import Steps

LARGE_INPUT_BYTES = 2 * 1024**3


@dataclass
class RunOptions:
    load: loader.LoadOptions = field(default_factory=loader.LoadOptions)
    memory_limit: str = "2GB"
    threads: int | None = None
    show_progress: bool | None = None
    viewer_format: str = "auto"  # auto | visits | minutes
    # Warnings of every load (bad rows skipped, the amount unit chosen), for commands whose
    # result has no place for them.
    warnings: list[str] = field(default_factory=list)


def open_connection(paths: list[str], options: RunOptions) -> duckdb.DuckDBPyConnection:
    """In memory for ordinary files; a temporary on-disk database for very large inputs."""
    total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
    database = ":memory:"
    if total > LARGE_INPUT_BYTES:
        fd, database = tempfile.mkstemp(prefix="livepledge-audit-", suffix=".duckdb")
        os.close(fd)
        os.unlink(database)
    try:
        con = loader.connect(memory_limit=options.memory_limit, threads=options.threads,
                             database=database)
    except duckdb.Error as exc:
        raise AuditInputError(f"无法启动 DuckDB / cannot start DuckDB: {exc}") from exc
    if database != ":memory:":
        atexit.register(_remove_database, con, database)
    return con


def _remove_database(con: duckdb.DuckDBPyConnection, database: str) -> None:
    with contextlib.suppress(duckdb.Error):
        con.close()
    for suffix in ("", ".wal"):
        with contextlib.suppress(OSError):
            os.unlink(database + suffix)


def load_orders(con: duckdb.DuckDBPyConnection, paths: list[str], options: RunOptions,
                steps: Steps, *, only: tuple[str, ...] | None = None) -> loader.LoadReport:
    report = steps.run("读取订单 / loading orders", lambda: loader.load_table(
        con, paths, table="orders", canonical=columns.ORDER_COLUMNS,
        required=columns.ORDER_REQUIRED, options=options.load, unique="order_id", only=only))
    options.warnings.extend(report.warnings)
    return report


def load_viewers(con: duckdb.DuckDBPyConnection, paths: list[str], options: RunOptions,
                 steps: Steps) -> loader.LoadReport:
    return steps.run("读取观众 / loading viewers", lambda: loader.load_table(
        con, paths, table="viewers", canonical=columns.VIEWER_COLUMNS,
        required=columns.VIEWER_REQUIRED, options=options.load))


def viewer_format(con: duckdb.DuckDBPyConnection, paths: list[str], options: RunOptions) -> str:
    """`visits` or `minutes`, from `--viewer-format` or the columns of every file (which must
    all be of the same kind)."""
    kinds = {path: columns.detect_viewer_format(loader.file_columns(con, path),
                                                options.load.mapping, options.viewer_format)
             for path in paths}
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"{path}: {kind}" for path, kind in kinds.items())
        raise AuditInputError(f"观众导出类型不一致 / viewer exports mix kinds: {listed}")
    return next(iter(kinds.values()))


def load_viewer_minutes(con: duckdb.DuckDBPyConnection, paths: list[str], options: RunOptions,
                        steps: Steps) -> loader.LoadReport:
    """Per-minute export → `viewer_minutes`; a (session, minute) given twice is bad input."""
    key = "session_id || ' @ ' || strftime(date_trunc('minute', minute), '%Y-%m-%d %H:%M')"
    return steps.run("读取每分钟观众 / loading per-minute viewers", lambda: loader.load_table(
        con, paths, table="viewer_minutes", canonical=columns.MINUTE_COLUMNS,
        required=columns.MINUTE_REQUIRED, options=options.load, unique=key,
        unique_label="session_id @ minute"))


@dataclass
class BrushingRun:
    load: loader.LoadReport
    summary: BrushingSummary
    rows_written: int


def run_brushing(paths: list[str], params: BrushingParams, out: Path, *, all_shops: bool,
                 options: RunOptions) -> BrushingRun:
    con = open_connection(paths, options)
    steps = Steps(con, enabled=options.show_progress)
    with steps.session():
        report = load_orders(con, paths, options, steps, only=columns.ORDER_REQUIRED)
        summary = steps.run("检测刷单 / detecting brushing",
                            lambda: brushing.detect_brushing(con, "orders", params))
        try:
            written = brushing.write_csv(con, "orders", str(out), all_shops=all_shops)
        except duckdb.Error as exc:
            raise AuditInputError(f"无法写入 / cannot write {out}: {exc}") from exc
    return BrushingRun(report, summary, written)


@dataclass
class ReportParams:
    brushing: BrushingParams
    laundering: laundering.LaunderingParams = field(default_factory=laundering.LaunderingParams)
    viewers: viewers.ViewerParams = field(default_factory=viewers.ViewerParams)
    minutes: minutes.MinuteParams = field(default_factory=minutes.MinuteParams)
    deal: roi.Deal | None = None
    max_shops: int = 5000


def build_report(order_paths: list[str], viewer_paths: list[str], params: ReportParams,
                 options: RunOptions) -> dict[str, Any]:
    """Run every analysis that the inputs allow and return the report data (JSON-ready)."""
    con = open_connection(order_paths + viewer_paths, options)
    steps = Steps(con, enabled=options.show_progress)
    with steps.session():
        load = load_orders(con, order_paths, options, steps)
        data: dict[str, Any] = {
            "generated_for": ", ".join(order_paths + viewer_paths),
            "timezone": options.load.timezone,
            "orders": {"rows": load.rows_kept, "rows_read": load.rows_read,
                       "bad_rows_skipped": load.bad_rows, "duplicates_skipped":
                       load.duplicate_rows, "columns": load.columns, "warnings": load.warnings},
        }
        names = export_names(con, load.columns)
        if names:
            data["names"] = names
        summary = steps.run("检测刷单 / detecting brushing",
                            lambda: brushing.detect_brushing(con, "orders", params.brushing))
        data["brushing"] = brushing_findings(con, params.brushing, summary, params.max_shops)
        if "amount" in load.columns:
            data["sales"] = steps.run("退款分析 / refunds",
                                      lambda: sales_findings(con, params.laundering))
            if params.deal is not None:
                data["roi"] = roi.deal_roi(con, params.deal).as_dict()
        if viewer_paths:
            data["viewers"] = viewer_section(con, viewer_paths, params, options, steps)
    return data


NAME_COLUMNS = {"shop": ("shop_id", "shop_name"), "anchor": ("anchor_id", "anchor_name"),
                "session": ("session_id", "session_title")}


def export_names(con: duckdb.DuckDBPyConnection, loaded: dict[str, str],
                 limit: int = 20_000) -> dict[str, dict[str, str]]:
    """Display names from the export's optional name columns: {"shop": {id: name}, …}."""
    names: dict[str, dict[str, str]] = {}
    for kind, (key, name) in NAME_COLUMNS.items():
        if name in loaded and key in loaded:
            rows = con.execute(f"""SELECT {key}, min({name}) FROM orders
                                   WHERE {key} IS NOT NULL AND {name} IS NOT NULL
                                   GROUP BY {key} LIMIT {int(limit)}""").fetchall()
            names[kind] = {str(k): str(v) for k, v in rows}
    return names


def brushing_findings(con: duckdb.DuckDBPyConnection, params: BrushingParams,
                      summary: BrushingSummary, max_shops: int) -> dict[str, Any]:
    fmt = "'%Y-%m-%d %H:%M:%S'"
    shops = con.execute(f"""
        SELECT shop_id, buyer_ids, suspects, suspect_orders, orders_in_periods, max_ratio
        FROM brush_shops ORDER BY orders_in_periods DESC, shop_id LIMIT {int(max_shops)}
    """).fetchall()
    periods = con.execute(f"""
        SELECT shop_id, start_us, end_us, strftime(make_timestamptz(start_us), {fmt}),
               strftime(make_timestamptz(end_us), {fmt}), orders, buyers, max_ratio
        FROM brush_periods ORDER BY shop_id, start_us
    """).fetchall()
    order_ids = dict(con.execute("""
        SELECT shop_id, list(order_id ORDER BY t, order_id)[1:100] FROM brush_orders
        GROUP BY shop_id
    """).fetchall())
    by_shop: dict[str, list[dict[str, Any]]] = {}
    for shop, lo, hi, start, end, orders, buyers, ratio in periods:
        by_shop.setdefault(shop, []).append({
            "start_us": lo, "end_us": hi, "start": start, "end": end, "orders": orders,
            "buyers": buyers, "max_ratio": ratio})
    span = con.execute(f"""
        SELECT epoch_us(min(created_at)), epoch_us(max(created_at)),
               strftime(min(created_at), {fmt}), strftime(max(created_at), {fmt}) FROM orders
    """).fetchone()
    return {
        "params": {"window_seconds": str(params.window_seconds),
                   "threshold": str(params.threshold), "suspect_rule": params.suspect_rule,
                   "step_seconds": str(params.step_seconds)},
        "summary": asdict(summary),
        "span": dict(zip(("start_us", "end_us", "start", "end"), span, strict=True)),
        "shops": [{"shop_id": shop, "buyer_ids": ids, "suspects": suspects,
                   "suspect_orders": n, "orders_in_periods": total, "max_ratio": ratio,
                   "periods": by_shop.get(shop, []), "order_ids": order_ids.get(shop, [])}
                  for shop, ids, suspects, n, total, ratio in shops],
        "truncated": summary.brushing_shops > max_shops,
    }


def sales_findings(con: duckdb.DuckDBPyConnection,
                   params: laundering.LaunderingParams) -> dict[str, Any]:
    summary = laundering.detect_laundering(con, "orders", params)
    return {
        "params": {"settlement_days": params.settlement_days,
                   "commission_rate": str(params.commission_rate),
                   "min_orders": params.min_orders,
                   "min_refund_rate": str(params.min_refund_rate),
                   "min_late": params.min_late},
        "summary": asdict(summary),
        "by_day": laundering.gmv_by(con, "day"),
        "by_session": laundering.gmv_by(con, "session_id", limit=500),
        "by_anchor": laundering.gmv_by(con, "anchor_id", limit=500),
        "by_shop": laundering.gmv_by(con, "shop_id", limit=500),
        "groups": laundering.flagged_groups(con, limit=1000),
        "late_by_anchor": laundering.late_refunds_by_anchor(con, params),
    }


def viewer_section(con: duckdb.DuckDBPyConnection, paths: list[str], params: ReportParams,
                   options: RunOptions, steps: Steps) -> dict[str, Any]:
    """The report's viewer data for per-visit or per-minute exports (`kind` says which)."""
    if viewer_format(con, paths, options) == "minutes":
        vload = load_viewer_minutes(con, paths, options, steps)
        section = steps.run("观众分析 / viewers", lambda: minutes.report_data(
            con, "viewer_minutes", params.minutes))
    else:
        vload = load_viewers(con, paths, options, steps)
        section = steps.run("观众分析 / viewers", lambda: viewer_findings(con, params.viewers))
        section["kind"] = "visits"
    section["load"] = {"rows": vload.rows_kept, "warnings": vload.warnings}
    return section


def viewer_findings(con: duckdb.DuckDBPyConnection,
                    params: viewers.ViewerParams) -> dict[str, Any]:
    summary = viewers.detect_bots(con, "viewers", params)
    sessions = viewers.session_rows(con, limit=1000)
    top = sessions[0]["session_id"] if sessions else None
    return {
        "params": asdict(params),
        "summary": asdict(summary),
        "sessions": sessions,
        "series_session": top,
        "series": viewers.concurrency_series(con, top) if top is not None else [],
    }


def run_laundering(paths: list[str], params: laundering.LaunderingParams, out: Path, *,
                   options: RunOptions) -> laundering.LaunderingSummary:
    con = open_connection(paths, options)
    steps = Steps(con, enabled=options.show_progress)
    with steps.session():
        load_orders(con, paths, options, steps)
        summary = steps.run("退款分析 / refunds",
                            lambda: laundering.detect_laundering(con, "orders", params))
    _copy(con, """SELECT group_id, array_to_string(buyers, '&') AS buyer_ids, orders,
                  gross AS gross_fen, refunded AS refunded_fen, refund_rate, late_refunds,
                  array_to_string(shared, ' ') AS shared, array_to_string(order_ids, ' ')
                  AS order_ids FROM laundering_groups ORDER BY refunded DESC, group_id""", out)
    return summary


@dataclass
class MinuteRun:
    load: loader.LoadReport
    data: dict[str, Any]


def run_viewers(paths: list[str], params: viewers.ViewerParams, out: Path, *,
                options: RunOptions,
                minute_params: minutes.MinuteParams | None = None,
                ) -> viewers.ViewerSummary | MinuteRun:
    """Per-visit export: suspect viewers → `out`, returns the summary. Per-minute export:
    findings with their evidence → `out`, returns the report data (`MinuteRun`)."""
    con = open_connection(paths, options)
    steps = Steps(con, enabled=options.show_progress)
    with steps.session():
        if viewer_format(con, paths, options) == "minutes":
            return _run_minutes(con, paths, minute_params or minutes.MinuteParams(), out,
                                options, steps)
        load_viewers(con, paths, options, steps)
        summary = steps.run("观众分析 / viewers",
                            lambda: viewers.detect_bots(con, "viewers", params))
    _copy(con, """SELECT session_id, viewer_id, strftime(joined_at, '%Y-%m-%d %H:%M:%S')
                  AS joined_at, synchronized_leave FROM viewer_flags WHERE is_suspect
                  ORDER BY session_id, joined_at, viewer_id""", out)
    return summary


def _run_minutes(con: duckdb.DuckDBPyConnection, paths: list[str],
                 params: minutes.MinuteParams, out: Path, options: RunOptions,
                 steps: Steps) -> MinuteRun:
    load = load_viewer_minutes(con, paths, options, steps)
    data = steps.run("观众分析 / viewers",
                     lambda: minutes.report_data(con, "viewer_minutes", params))
    data["load"] = {"rows": load.rows_kept, "warnings": load.warnings}
    _copy(con, minutes.FINDINGS_SQL, out)
    return MinuteRun(load, data)


def run_roi(paths: list[str], deal: roi.Deal, settlement_days: int, *,
            options: RunOptions) -> roi.RoiResult:
    con = open_connection(paths, options)
    steps = Steps(con, enabled=options.show_progress)
    with steps.session():
        load = load_orders(con, paths, options, steps)
        if "amount" not in load.columns:
            raise AuditInputError("ROI 需要 amount 列 / ROI needs an amount column (--map "
                                  "amount=…)")
        laundering.prepare_sales(con, "orders", laundering.LaunderingParams(
            settlement_days=settlement_days, commission_rate=deal.commission_rate))
    return roi.deal_roi(con, deal)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, out: Path) -> None:
    target = str(out).replace("'", "''")
    try:
        con.execute(f"COPY ({sql}) TO '{target}' (FORMAT csv, HEADER true)")
    except duckdb.Error as exc:
        raise AuditInputError(f"无法写入 / cannot write {out}: {exc}") from exc


async def shop_report(db: Any, shop_id: int, *, window_seconds: int = 3600,
                      threshold: int = 3, step_seconds: int = 1) -> dict[str, Any]:
    """The audit report on one shop's own sessions (merchant console): the same analyses as on
    an export file, fed from our database."""
    import asyncio
    from fractions import Fraction

    from livepledge.audit.database import export_shop, shop_names

    with tempfile.TemporaryDirectory(prefix="lp-audit-") as tmp:
        directory = Path(tmp)
        async with db.read() as conn:
            counts = await export_shop(conn, shop_id, directory)
            names = await shop_names(conn, shop_id)
        params = ReportParams(BrushingParams(Fraction(window_seconds), Fraction(threshold),
                                             step_seconds=Fraction(step_seconds)))
        # Our own export stores integer fen: no unit to guess.
        options = RunOptions(show_progress=False, load=loader.LoadOptions(amount_unit="fen"))
        orders = [str(directory / "orders.parquet")]
        shop_name = names["shop"].get(str(shop_id), f"#{shop_id}")
        if counts["orders"] == 0:
            return {"generated_for": f"店铺 / shop {shop_name}", "orders": {"rows": 0},
                    "empty": True, "names": names}
        viewers_paths = [str(directory / "viewers.parquet")] if counts["viewers"] else []
        data = await asyncio.to_thread(build_report, orders, viewers_paths, params, options)
    data["generated_for"] = f"店铺 / shop {shop_name} · Livepledge"
    data["names"] = names
    return data


async def brushed_order_ids(conn: Any, shop_id: int, *, window_seconds: int = 3600,
                            threshold: int = 3) -> set[int]:
    """The shop's orders the brushing detector flags (the suspects' orders inside brushing
    periods), with the console report's defaults: what an MCN contract's ROI leaves out."""
    import asyncio
    from fractions import Fraction

    from livepledge.audit.database import export_shop

    with tempfile.TemporaryDirectory(prefix="lp-brushed-") as tmp:
        directory = Path(tmp)
        counts = await export_shop(conn, shop_id, directory)
        if counts["orders"] == 0:
            return set()
        params = BrushingParams(Fraction(window_seconds), Fraction(threshold))
        options = RunOptions(show_progress=False, load=loader.LoadOptions(amount_unit="fen"))
        paths = [str(directory / "orders.parquet")]

        def detect() -> set[int]:
            con = open_connection(paths, options)
            try:
                steps = Steps(con, enabled=False)
                with steps.session():
                    load_orders(con, paths, options, steps, only=columns.ORDER_REQUIRED)
                    brushing.detect_brushing(con, "orders", params)
                rows = con.execute("""
                    SELECT DISTINCT o.order_id FROM brush_orders o
                    JOIN (SELECT shop_id, unnest(suspects) AS buyer_id FROM brush_shops) s
                      ON o.shop_id = s.shop_id AND o.buyer_id = s.buyer_id""").fetchall()
            finally:
                con.close()
            return {int(r[0]) for r in rows}

        return await asyncio.to_thread(detect)
