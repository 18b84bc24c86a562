"""`livepledge audit …` (filled in by the integrity audit work, issue #4).

Commands parse options, call one function of `service.py` and print a short summary. Bad input
ends with a bilingual message on stderr and exit status 2; other failures with status 1; never a
traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import typer

from livepledge.audit import (
    columns,
    database,
    evaluate,
    laundering,
    loader,
    minutes,
    report,
    roi,
    service,
    synth,
    viewers,
)
from livepledge.audit.brushing import SUSPECT_RULES, BrushingParams
from livepledge.audit.errors import AuditInputError

app = typer.Typer(help="数据审计 / Integrity audits: brushing, return laundering, bought viewers.",
                  no_args_is_help=True)

F = TypeVar("F", bound=Callable[..., Any])


@app.callback()
def audit() -> None:
    """数据审计 / Integrity audits of order and viewer exports (DuckDB)."""

MapOption = Annotated[list[str] | None, typer.Option(
    "--map", help="CANONICAL=SOURCE 列映射，可重复 / column mapping, repeatable")]
TimezoneOption = Annotated[str, typer.Option(
    "--timezone", help="无时区时间的时区 / zone of times without one")]
OnErrorOption = Annotated[str, typer.Option(
    "--on-error", help="坏行：stop 停止 | skip 跳过 / bad rows: stop | skip")]
AmountUnitOption = Annotated[str, typer.Option(
    "--amount-unit", help="金额单位 auto|fen|yuan（auto：按列名或小数判断）/ unit of money "
    "columns (auto: from the header or decimals in the values)")]
MemoryOption = Annotated[str, typer.Option(
    "--memory-limit", help="DuckDB 内存上限 / DuckDB memory limit")]
ViewerFormatOption = Annotated[str, typer.Option(
    "--viewer-format", help="观众导出类型 auto|visits|minutes / kind of viewer export "
    "(auto: from the columns)")]


def _fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def guarded(command: F) -> F:
    """Turn expected failures into a message and an exit status instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AuditInputError as exc:
            _fail(f"错误 / error: {exc.message}", 2)
        except duckdb.OutOfMemoryException as exc:
            _fail(f"内存不足，可调大 --memory-limit / out of memory, raise --memory-limit: "
                  f"{str(exc).splitlines()[0]}", 1)
        except duckdb.Error as exc:
            _fail(f"DuckDB 错误 / DuckDB error: {str(exc).splitlines()[0]}", 1)
        except OSError as exc:
            _fail(f"文件错误 / file error: {exc}", 1)
        except KeyboardInterrupt:
            _fail("已中断 / interrupted", 130)
        return None

    return wrapper  # type: ignore[return-value]


def _run_options(mapping: list[str] | None, canonical: dict[str, str], timezone: str,
                 on_error: str, amount_unit: str, memory_limit: str) -> service.RunOptions:
    load = loader.LoadOptions(mapping=columns.parse_mapping(mapping, canonical),
                              timezone=timezone, amount_unit=amount_unit, on_error=on_error)
    return service.RunOptions(load=load, memory_limit=memory_limit)


def _window(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise AuditInputError(f"--window 需要秒数 / --window needs seconds, got {text!r}") from exc
    if value < 0 or value > 10**11:
        raise AuditInputError("--window 需在 0 到 1e11 秒之间 / --window must be 0 … 1e11 seconds")
    return value


def _step(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise AuditInputError(f"--step 需要秒数 / --step needs seconds, got {text!r}") from exc
    if value < 0 or value > 86400:
        raise AuditInputError("--step 需在 0 到 86400 秒之间 / --step must be 0 … 86400 seconds")
    if (value * 1_000_000).denominator != 1:
        raise AuditInputError("--step 最小单位为微秒 / --step must be a whole number of "
                              "microseconds")
    return value


StepOption = Annotated[str, typer.Option(
    "--step", help="窗口起点间隔秒数：1 = 官方规则（整秒起点），0 = 任意起点 / windows start "
    "every STEP seconds: 1 = official rule (whole seconds), 0 = anywhere (continuous)")]


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        typer.echo(f"警告 / warning: {warning}", err=True)


@app.command("brushing")
@guarded
def brushing_command(
    file: Annotated[Path, typer.Argument(help="订单导出 CSV/Parquet / order export")],
    window: Annotated[str, typer.Option("--window", help="窗口秒数 W / window in seconds")],
    threshold: Annotated[str, typer.Option("--threshold", help="订单数÷买家数 阈值 T")],
    out: Annotated[Path, typer.Option("--out", help="输出 CSV / output CSV")],
    mapping: MapOption = None,
    all_shops: Annotated[bool, typer.Option(
        "--all-shops", help="每个店铺一行（未刷单为 0）/ one row per shop")] = False,
    suspect_rule: Annotated[str, typer.Option(
        "--suspect-rule", help="period-share（默认）| buyer-share")] = "period-share",
    step: StepOption = "1",
    timezone: TimezoneOption = "Asia/Shanghai",
    on_error: OnErrorOption = "stop",
    memory_limit: MemoryOption = "2GB",
) -> None:
    """刷单检测 / Order brushing: shops whose orders ÷ buyers ≥ T in some W-second window."""
    if suspect_rule not in SUSPECT_RULES:
        raise AuditInputError(f"--suspect-rule 只能是 / must be one of {', '.join(SUSPECT_RULES)}")
    params = BrushingParams(_window(window), columns.parse_threshold(threshold), suspect_rule,
                            _step(step))
    options = _run_options(mapping, columns.ORDER_COLUMNS, timezone, on_error, "fen",
                           memory_limit)
    run = service.run_brushing([str(file)], params, out, all_shops=all_shops, options=options)
    _warn(run.load.warnings)
    s = run.summary
    typer.echo(
        f"{run.load.rows_kept} 个订单，{s.shops} 个店铺，{s.brushing_shops} 个店铺刷单，"
        f"{s.orders_in_periods} 个订单在刷单时段 → {out} / {run.load.rows_kept} orders, "
        f"{s.shops} shops, {s.brushing_shops} brushing, {s.orders_in_periods} orders in "
        f"brushing periods → {out}",
        err=True,
    )


def _fraction(text: str, option: str) -> Fraction:
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise AuditInputError(f"{option} 需要数字 / {option} needs a number, got {text!r}") from exc


def _fen(text: str, option: str) -> int:
    value = _fraction(text, option) * 100
    if value.denominator != 1:
        raise AuditInputError(f"{option} 最多两位小数（元）/ at most 2 decimals (yuan)")
    return int(value)


@app.command("report")
@guarded
def report_command(
    files: Annotated[list[Path], typer.Argument(help="订单导出 / order exports")],
    out: Annotated[Path, typer.Option("--out", help="HTML 报告 / HTML report")],
    json_output: Annotated[bool, typer.Option(
        "--json", help="另写 OUT.json / also write the data as OUT.json")] = False,
    viewer_files: Annotated[list[Path] | None, typer.Option(
        "--viewers", help="观众导出，可重复 / viewer export, repeatable")] = None,
    mapping: MapOption = None,
    viewer_mapping: Annotated[list[str] | None, typer.Option(
        "--viewer-map", help="观众列映射 / viewer column mapping")] = None,
    viewer_format: ViewerFormatOption = "auto",
    window: Annotated[str, typer.Option("--window")] = "3600",
    threshold: Annotated[str, typer.Option("--threshold")] = "3",
    step: StepOption = "1",
    settlement_days: Annotated[int, typer.Option(
        "--settlement-days", help="结算截止天数 / settlement cut-off in days")] = 7,
    commission_rate: Annotated[str, typer.Option("--commission-rate")] = "0.2",
    slot_fee: Annotated[str | None, typer.Option(
        "--slot-fee", help="坑位费（元）/ slot fee in yuan; enables the ROI section")] = None,
    promised_roi: Annotated[str, typer.Option("--promised-roi")] = "3",
    anchor: Annotated[str | None, typer.Option("--anchor", help="ROI 的主播 / deal anchor")] = None,
    amount_unit: AmountUnitOption = "auto",
    timezone: TimezoneOption = "Asia/Shanghai",
    on_error: OnErrorOption = "stop",
    memory_limit: MemoryOption = "2GB",
) -> None:
    """审计报告 / One self-contained HTML report (charts + findings), optionally JSON."""
    options = _run_options(mapping, columns.ORDER_COLUMNS, timezone, on_error, amount_unit,
                           memory_limit)
    options.viewer_format = viewer_format
    if viewer_mapping:
        options.load.mapping.update(columns.parse_mapping(viewer_mapping,
                                                          columns.ANY_VIEWER_COLUMNS))
    rate = _fraction(commission_rate, "--commission-rate")
    deal = None
    if slot_fee is not None:
        deal = roi.Deal(_fen(slot_fee, "--slot-fee"), rate,
                        _fraction(promised_roi, "--promised-roi"), anchor)
    params = service.ReportParams(
        brushing=BrushingParams(_window(window), columns.parse_threshold(threshold),
                                step_seconds=_step(step)),
        laundering=laundering.LaunderingParams(settlement_days=settlement_days,
                                               commission_rate=rate),
        deal=deal)
    data = service.build_report([str(f) for f in files], [str(f) for f in viewer_files or []],
                                params, options)
    out.write_text(report.render_html(data), encoding="utf-8")
    if json_output:
        out.with_suffix(".json").write_bytes(report.to_json(data))
    _warn(data["orders"]["warnings"])
    typer.echo(f"报告已写入 / report written: {out}"
               + (f" (+ {out.with_suffix('.json')})" if json_output else ""), err=True)


@app.command("laundering")
@guarded
def laundering_command(
    file: Annotated[Path, typer.Argument(help="订单导出 / order export")],
    out: Annotated[Path, typer.Option("--out", help="可疑买家组 CSV / flagged groups CSV")],
    mapping: MapOption = None,
    settlement_days: Annotated[int, typer.Option("--settlement-days")] = 7,
    commission_rate: Annotated[str, typer.Option("--commission-rate")] = "0.2",
    amount_unit: AmountUnitOption = "auto",
    timezone: TimezoneOption = "Asia/Shanghai",
    on_error: OnErrorOption = "stop",
    memory_limit: MemoryOption = "2GB",
) -> None:
    """退款洗单 / Gross vs net GMV, late refunds, buyer groups that buy then refund."""
    options = _run_options(mapping, columns.ORDER_COLUMNS, timezone, on_error, amount_unit,
                           memory_limit)
    params = laundering.LaunderingParams(settlement_days=settlement_days,
                                         commission_rate=_fraction(commission_rate,
                                                                   "--commission-rate"))
    summary = service.run_laundering([str(file)], params, out, options=options)
    _warn(options.warnings)
    typer.echo(report.to_json(asdict(summary)).decode())


@app.command("viewers")
@guarded
def viewers_command(
    file: Annotated[Path, typer.Argument(help="观众导出 / viewer export")],
    out: Annotated[Path, typer.Option(
        "--out", help="可疑观众 CSV（按分钟导出：发现及证据）/ suspect viewers CSV (per-minute "
        "export: findings with evidence)")],
    mapping: MapOption = None,
    viewer_format: ViewerFormatOption = "auto",
    json_output: Annotated[bool, typer.Option(
        "--json", help="另写 OUT.json（全部数据）/ also write all data as OUT.json")] = False,
    burst_size: Annotated[int, typer.Option("--burst-size")] = 20,
    burst_seconds: Annotated[int, typer.Option("--burst-seconds")] = 5,
    z_threshold: Annotated[float, typer.Option(
        "--z-threshold", help="按分钟：稳健 z 阈值 / per-minute: robust z threshold")] = 3.0,
    min_peers: Annotated[int, typer.Option(
        "--min-peers", help="按分钟：同店可比场次下限 / per-minute: sessions a shop needs to be "
        "its own peer group")] = 5,
    min_viewers: Annotated[int, typer.Option("--min-viewers")] = 20,
    min_run: Annotated[int, typer.Option("--min-run")] = 3,
    step_minutes: Annotated[int, typer.Option("--step-minutes")] = 5,
    step_min_viewers: Annotated[int, typer.Option("--step-min-viewers")] = 50,
    step_max_backed: Annotated[float, typer.Option("--step-max-backed")] = 0.25,
    timezone: TimezoneOption = "Asia/Shanghai",
    on_error: OnErrorOption = "stop",
    memory_limit: MemoryOption = "2GB",
) -> None:
    """买量观众 / Bought viewers: per-visit exports (silent synchronized bursts) or per-minute
    exports (viewers out of proportion to engagement, unbacked steps); engaged vs raw."""
    options = _run_options(mapping, columns.ANY_VIEWER_COLUMNS, timezone, on_error, "fen",
                           memory_limit)
    options.viewer_format = viewer_format
    params = viewers.ViewerParams(burst_size=burst_size, burst_seconds=burst_seconds)
    minute_params = minutes.MinuteParams(
        z_threshold=z_threshold, min_peers=min_peers, min_viewers=min_viewers, min_run=min_run,
        step_minutes=step_minutes, step_min_viewers=step_min_viewers,
        step_max_backed=step_max_backed)
    result = service.run_viewers([str(file)], params, out, options=options,
                                 minute_params=minute_params)
    if isinstance(result, service.MinuteRun):
        _warn(result.load.warnings)
        data = result.data
        typer.echo(report.to_json({"kind": "minutes", **data["summary"]}).decode())
    else:
        data = {"kind": "visits", "summary": asdict(result)}
        typer.echo(report.to_json(asdict(result)).decode())
    if json_output:
        out.with_suffix(".json").write_bytes(report.to_json(data))


@app.command("roi")
@guarded
def roi_command(
    file: Annotated[Path, typer.Argument(help="订单导出 / order export")],
    slot_fee: Annotated[str, typer.Option("--slot-fee", help="坑位费（元）/ slot fee, yuan")],
    commission_rate: Annotated[str, typer.Option("--commission-rate")],
    promised_roi: Annotated[str, typer.Option("--promised-roi")],
    anchor: Annotated[str | None, typer.Option("--anchor")] = None,
    session: Annotated[list[str] | None, typer.Option("--session")] = None,
    mapping: MapOption = None,
    settlement_days: Annotated[int, typer.Option("--settlement-days")] = 7,
    amount_unit: AmountUnitOption = "auto",
    timezone: TimezoneOption = "Asia/Shanghai",
    on_error: OnErrorOption = "stop",
) -> None:
    """真实 ROI / ROI of a slot-fee + commission deal on gross and on net sales (JSON)."""
    options = _run_options(mapping, columns.ORDER_COLUMNS, timezone, on_error, amount_unit,
                           "2GB")
    deal = roi.Deal(_fen(slot_fee, "--slot-fee"), _fraction(commission_rate, "--commission-rate"),
                    _fraction(promised_roi, "--promised-roi"), anchor, tuple(session or ()))
    result = service.run_roi([str(file)], deal, settlement_days, options=options)
    _warn(options.warnings)
    typer.echo(report.to_json(result.as_dict()).decode())
    if not result.promise_met:
        raise typer.Exit(3)


@app.command("synth")
@guarded
def synth_command(
    directory: Annotated[Path, typer.Argument(help="输出目录 / output directory")],
    orders: Annotated[int, typer.Option("--orders")] = 100_000,
    shops: Annotated[int, typer.Option("--shops")] = 500,
    days: Annotated[int, typer.Option("--days")] = 30,
    viewer_sessions: Annotated[int, typer.Option("--viewer-sessions")] = 200,
    minute_sessions: Annotated[int, typer.Option(
        "--minute-sessions", help="另生成按分钟观众导出的场次数（含买量）/ also write a per-minute "
        "viewer export with this many sessions (planted bought viewers)")] = 0,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="csv | parquet")] = "csv",
) -> None:
    """合成数据 / Synthetic exports with planted brushing, laundering and bots (+ truth)."""
    if fmt not in ("csv", "parquet"):
        raise AuditInputError("--format 只能是 csv 或 parquet / must be csv or parquet")
    spec = synth.SynthSpec(orders=orders, shops=shops, days=days, seed=seed)
    con = loader.connect()
    path = synth.write_orders(con, spec, directory, fmt=fmt)
    synth.write_viewers(con, spec, directory, sessions=viewer_sessions)
    extra = ""
    if minute_sessions > 0:
        extra = f", {synth.write_minutes(con, spec, directory, sessions=minute_sessions)}"
    typer.echo(f"已生成 / written: {path}, {directory / 'viewers.csv'}{extra}, truth_*.csv",
               err=True)


@app.command("evaluate")
@guarded
def evaluate_command(
    directory: Annotated[Path, typer.Option("--dir", help="数据目录 / data directory")] = Path(
        "/tmp/livepledge-audit-eval"),
    orders: Annotated[int, typer.Option("--orders")] = 200_000,
    shops: Annotated[int, typer.Option("--shops")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    minute_sessions: Annotated[int, typer.Option(
        "--minute-sessions", help="按分钟观众评估的场次数（0 跳过）/ sessions of the per-minute "
        "viewer evaluation (0 skips it)")] = 300,
) -> None:
    """检测率 / Precision and recall of every detector on planted synthetic fraud (JSON)."""
    result = evaluate.run_evaluation(directory, synth.SynthSpec(orders=orders, shops=shops,
                                                                seed=seed),
                                     minute_sessions=minute_sessions)
    typer.echo(report.to_json(result).decode())


@app.command("export-db")
@guarded
def export_db_command(
    directory: Annotated[Path, typer.Argument(help="输出目录 / output directory")],
    database_url: Annotated[str, typer.Option(
        "--database-url", help="Livepledge 数据库 / our database (sqlite:///… or postgresql://…)")],
) -> None:
    """导出本平台数据 / Export our orders and viewers as canonical Parquet for the audits."""
    counts = database.export_database(database_url, directory)
    typer.echo(f"已导出 / exported: {counts['orders']} orders → {directory / 'orders.parquet'}, "
               f"{counts['viewers']} viewers → {directory / 'viewers.parquet'}", err=True)


def main() -> None:  # pragma: no cover - `python -m livepledge.audit`
    app(prog_name="livepledge audit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
