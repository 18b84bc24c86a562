"""Audit use cases: load the exports, run the detectors, write the outputs.

The CLI (and later the merchant console) calls these; the detectors themselves take DuckDB
tables of canonical columns and know nothing about files.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from livepledge.audit import brushing, columns, loader
from livepledge.audit.brushing import BrushingParams, BrushingSummary
from livepledge.audit.errors import AuditInputError
from livepledge.audit.progress import Steps

LARGE_INPUT_BYTES = 2 * 1024**3


@dataclass
class RunOptions:
    load: loader.LoadOptions = field(default_factory=loader.LoadOptions)
    memory_limit: str = "3GB"
    threads: int | None = None
    show_progress: bool | None = None


def open_connection(paths: list[str], options: RunOptions) -> duckdb.DuckDBPyConnection:
    """In memory for ordinary files; a temporary on-disk database for very large inputs."""
    total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
    database = ":memory:"
    if total > LARGE_INPUT_BYTES:
        fd, database = tempfile.mkstemp(prefix="livepledge-audit-", suffix=".duckdb")
        os.close(fd)
        os.unlink(database)
    try:
        return loader.connect(memory_limit=options.memory_limit, threads=options.threads,
                              database=database)
    except duckdb.Error as exc:
        raise AuditInputError(f"无法启动 DuckDB / cannot start DuckDB: {exc}") from exc


def load_orders(con: duckdb.DuckDBPyConnection, paths: list[str], options: RunOptions,
                steps: Steps, required: tuple[str, ...] = columns.ORDER_REQUIRED
                ) -> loader.LoadReport:
    return steps.run("读取订单 / loading orders", lambda: loader.load_table(
        con, paths, table="orders", canonical=columns.ORDER_COLUMNS, required=required,
        options=options.load, unique="order_id"))


def load_viewers(con: duckdb.DuckDBPyConnection, paths: list[str], options: RunOptions,
                 steps: Steps) -> loader.LoadReport:
    return steps.run("读取观众 / loading viewers", lambda: loader.load_table(
        con, paths, table="viewers", canonical=columns.VIEWER_COLUMNS,
        required=columns.VIEWER_REQUIRED, options=options.load))


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
        report = load_orders(con, paths, options, steps)
        summary = steps.run("检测刷单 / detecting brushing",
                            lambda: brushing.detect_brushing(con, "orders", params))
        try:
            written = brushing.write_csv(con, "orders", str(out), all_shops=all_shops)
        except duckdb.Error as exc:
            raise AuditInputError(f"无法写入 / cannot write {out}: {exc}") from exc
    return BrushingRun(report, summary, written)
