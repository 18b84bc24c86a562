"""`livepledge compliance …`: check scripts, listings and JSON lines; print the catalogue;
report quality on the labelled corpus. Commands parse, call the service and render."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from livepledge.compliance import service
from livepledge.compliance.catalogue import CatalogueError, get_catalogue
from livepledge.compliance.evaluation import DEFAULT_CORPUS, evaluate, load_corpus
from livepledge.compliance.facts import Facts
from livepledge.compliance.report import catalogue_markdown, print_check, print_evaluation


class _FlagsAsFlags:
    """Help that shows an on/off option as a bare flag (`--jsonl`), not as `--jsonl <bool>`."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class _Command(_FlagsAsFlags, TyperCommand):
    pass


class _Group(_FlagsAsFlags, TyperGroup):
    pass


app = typer.Typer(cls=_Group, no_args_is_help=True,
                  help="合规检查 / Compliance checks on scripts, listings, speech and chat.")

EXIT_CLEAN, EXIT_VIOLATION, EXIT_BAD_INPUT = 0, 1, 2


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]错误 / error:[/red] {message}", markup=True,
                               highlight=False)
    return typer.Exit(EXIT_BAD_INPUT)


def _open(file: str) -> BinaryIO:
    if file == "-":
        return sys.stdin.buffer
    try:
        return Path(file).open("rb")
    except OSError as exc:
        raise _fail(f"无法读取 / cannot read {file}: {exc.strerror}") from exc


def _read_facts(path: Path | None) -> Facts | None:
    if path is None:
        return None
    try:
        return Facts.from_dict(orjson.loads(path.read_bytes()))
    except (OSError, orjson.JSONDecodeError, ValueError) as exc:
        raise _fail(f"facts 文件无效 / invalid facts file {path}: {exc}") from exc


def _check_jsonl(stream: BinaryIO) -> int:
    """Check JSON lines; exit 2 on bad lines or no lines at all, else 1 if any line is a
    violation (as a checked file is), else 0."""
    errors = violations = checked = 0
    err = Console(stderr=True, highlight=False)
    out = sys.stdout.buffer
    for outcome in service.check_jsonl(stream):
        checked += 1  # a line that is not blank
        out.write(orjson.dumps(outcome.output) + b"\n")
        if outcome.error:
            errors += 1
            err.print(f"第 {outcome.line_number} 行 / line {outcome.line_number}: {outcome.error}",
                      markup=False)
        elif outcome.output.get("violation"):
            violations += 1
    out.flush()
    if not checked:
        raise _fail("没有输入行（输入为空或只有空行）/ no input lines: the input is empty or "
                    "holds only blank lines")
    if errors:
        err.print(f"{errors} 行有错误 / bad lines: {errors}", markup=False)
        return EXIT_BAD_INPUT
    if violations:
        err.print(f"{violations} 行有违规 / lines with a violation: {violations}", markup=False)
        return EXIT_VIOLATION
    return EXIT_CLEAN


@app.command("check", cls=_Command)
def check_command(
    file: str = typer.Argument(..., help="文件，或 - 表示标准输入 / file, or - for stdin"),
    jsonl: bool = typer.Option(False, "--jsonl", help="输入为 JSON lines / input is JSON lines"),
    category: str = typer.Option("general", help="商品类目 / product category"),
    context: str = typer.Option("script", help="speech | script | listing | chat"),
    facts: Path | None = typer.Option(
        None, help="平台掌握的事实（JSON 文件）/ facts the platform holds (JSON file)"),
) -> None:
    """检查话术脚本或商品文案；--jsonl 时逐行检查 / Check a script or listing, or JSON lines.

    退出码 / exit status: 0 无违规 / no violation; 1 有违规 / a violation (in any line with
    --jsonl); 2 输入有误 / bad input (empty, unreadable, or a bad line)."""
    stream = _open(file)
    try:
        if jsonl:
            raise typer.Exit(_check_jsonl(stream))
        raw = stream.read()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    try:
        text = raw.decode("utf-8")
        if "\x00" in text and not text.replace("\x00", "").strip():
            raise _fail(f"{file} 只有 NUL 字节（二进制文件？），没有可检查的文字 / holds only NUL "
                        "bytes (a binary file?): nothing to check")
        result = service.check_text(text, category=category, context=context,
                                    facts=_read_facts(facts))
    except UnicodeDecodeError as exc:
        raise _fail(f"{file} 不是合法的 UTF-8 / is not valid UTF-8") from exc
    except service.InputError as exc:
        raise _fail(f"{file}: {exc}") from exc
    print_check(Console(highlight=False), file, text, result.findings)
    raise typer.Exit(EXIT_VIOLATION if result.violation else EXIT_CLEAN)


@app.command("catalogue", cls=_Command)
def catalogue_command(
    markdown: bool = typer.Option(False, "--markdown", help="输出 Markdown / print Markdown"),
) -> None:
    """打印规则目录 / Print the rule catalogue (docs/compliance.md is generated with --markdown)."""
    try:
        catalogue = get_catalogue()
    except CatalogueError as exc:
        raise _fail(f"规则文件有误 / bad rule file: {exc}") from exc
    if markdown:
        sys.stdout.write(catalogue_markdown(catalogue))
        return
    console = Console(highlight=False)
    for rule in catalogue.rules:
        console.print(f"[bold]{rule.id}[/bold] {rule.family:16} {rule.severity:9} {rule.title}"
                      f" — {rule.legal_basis}")


@app.command("evaluate", cls=_Command)
def evaluate_command(
    corpus: Path = typer.Argument(DEFAULT_CORPUS, help="语料目录或文件 / corpus dir or file"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON / print JSON"),
    misses: int = typer.Option(20, help="列出多少条误判 / how many misses to list"),
) -> None:
    """在标注语料上报告准确率与召回率 / Precision and recall on the labelled corpus."""
    try:
        result = evaluate(load_corpus(corpus))
    except (OSError, ValueError, KeyError) as exc:
        raise _fail(f"语料无法读取 / cannot read corpus {corpus}: {exc}") from exc
    if as_json:
        sys.stdout.write(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    print_evaluation(Console(highlight=False), result, show_misses=misses)
