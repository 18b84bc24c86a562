"""`livepledge audit …` (filled in by the integrity audit work, issue #4).

Commands parse options, call one function of `service.py` and print a short summary. Bad input
ends with a bilingual message on stderr and exit status 2; other failures with status 1; never a
traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import typer

from livepledge.audit import columns, loader, service
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
    "--amount-unit", help="金额单位 fen|yuan / unit of money columns")]
MemoryOption = Annotated[str, typer.Option(
    "--memory-limit", help="DuckDB 内存上限 / DuckDB memory limit")]


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
    if value < 0:
        raise AuditInputError("--window 不能为负 / --window must not be negative")
    return value


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
    timezone: TimezoneOption = "Asia/Shanghai",
    on_error: OnErrorOption = "stop",
    memory_limit: MemoryOption = "3GB",
) -> None:
    """刷单检测 / Order brushing: shops whose orders ÷ buyers ≥ T in some W-second window."""
    if suspect_rule not in SUSPECT_RULES:
        raise AuditInputError(f"--suspect-rule 只能是 / must be one of {', '.join(SUSPECT_RULES)}")
    params = BrushingParams(_window(window), columns.parse_threshold(threshold), suspect_rule)
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


def main() -> None:  # pragma: no cover - `python -m livepledge.audit`
    app(prog_name="livepledge audit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
