"""`livepledge compliance …`: check scripts, listings and JSON lines; print the catalogue;
report quality on the labelled corpus. Commands parse, call the service and render."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import orjson
import typer
from rich.console import Console

from livepledge.compliance import service
from livepledge.compliance.catalogue import CatalogueError, get_catalogue
from livepledge.compliance.evaluation import DEFAULT_CORPUS, evaluate, load_corpus
from livepledge.compliance.facts import Facts
from livepledge.compliance.report import catalogue_markdown, print_check, print_evaluation

app = typer.Typer(help="合规检查 / Compliance checks on scripts, listings, speech and chat.",
                  no_args_is_help=True)

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
    errors = 0
    err = Console(stderr=True, highlight=False)
    out = sys.stdout.buffer
    for outcome in service.check_jsonl(stream):
        out.write(orjson.dumps(outcome.output) + b"\n")
        if outcome.error:
            errors += 1
            err.print(f"第 {outcome.line_number} 行 / line {outcome.line_number}: {outcome.error}",
                      markup=False)
    out.flush()
    if errors:
        err.print(f"{errors} 行有错误 / {errors} bad lines", markup=False)
        return EXIT_BAD_INPUT
    return EXIT_CLEAN


@app.command("check")
def check_command(
    file: str = typer.Argument(..., help="文件，或 - 表示标准输入 / file, or - for stdin"),
    jsonl: bool = typer.Option(False, "--jsonl", help="输入为 JSON lines / input is JSON lines"),
    category: str = typer.Option("general", help="商品类目 / product category"),
    context: str = typer.Option("script", help="speech | script | listing | chat"),
    facts: Path | None = typer.Option(None, help="事实 JSON 文件 / facts JSON file (F17)"),
) -> None:
    """检查话术脚本或商品文案；--jsonl 时逐行检查 / Check a script or listing, or JSON lines."""
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
        result = service.check_text(text, category=category, context=context,
                                    facts=_read_facts(facts))
    except UnicodeDecodeError as exc:
        raise _fail(f"{file} 不是合法的 UTF-8 / is not valid UTF-8") from exc
    except service.InputError as exc:
        raise _fail(f"{file}: {exc}") from exc
    print_check(Console(highlight=False), file, text, result.findings)
    raise typer.Exit(EXIT_VIOLATION if result.violation else EXIT_CLEAN)


@app.command("catalogue")
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


@app.command("evaluate")
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
