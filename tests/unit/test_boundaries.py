"""Dependency directions from DESIGN.md, checked on the source (an import-boundary linter)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "livepledge"
DOMAINS = ["accounts", "catalog", "live", "orders", "promises", "aftersales", "record",
           "lottery", "compliance", "audit", "fans", "settlement", "webhooks"]
HTTP = ("fastapi", "starlette")
STORAGE = ("sqlalchemy", "livepledge.infra.db", "redis", "asyncpg", "aiosqlite")


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def offending(path: Path, prefixes: tuple[str, ...]) -> list[str]:
    # whole module names: `livepledge.web` is not `livepledge.webhooks`
    return sorted(n for n in imports(path)
                  if any(n == p or n.startswith(p + ".") for p in prefixes))


def domain_files(name: str) -> list[Path]:
    return sorted(SRC.glob(f"*/{name}"))


@pytest.mark.parametrize("path", domain_files("rules.py"), ids=lambda p: p.parent.name)
def test_rules_are_pure(path: Path) -> None:
    assert offending(path, (*HTTP, *STORAGE, "livepledge.infra.clock")) == []


@pytest.mark.parametrize("path", domain_files("service.py"), ids=lambda p: p.parent.name)
def test_services_know_no_http(path: Path) -> None:
    assert offending(path, (*HTTP, "livepledge.web", "livepledge.deps")) == []
    assert [n for n in imports(path) if n.endswith(".api")] == []


def test_only_entry_points_import_fastapi() -> None:
    # openapi.py: the OpenAPI document and 405 answers; web/console.py serves the console's
    # pages like web/pages.py: HTTP wiring and entry points; live/roomserver.py is the room's
    # own WebSocket listener, an entry point beside uvicorn's (it authenticates a handshake
    # with the same functions, which take a starlette HTTPConnection)
    allowed = {"app.py", "deps.py", "api.py", "pages.py", "console.py", "problems.py",
               "headers.py", "openapi.py", "roomserver.py"}
    bad = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
           if p.name not in allowed and offending(p, HTTP)]
    assert bad == []


@pytest.mark.parametrize("engine", ["compliance", "audit"])
def test_pure_engines_import_no_web_or_storage(engine: str) -> None:
    allowed = {"api.py", "service.py", "cli.py", "schemas.py", "database.py"}  # adapters
    bad = [str(p.relative_to(SRC)) for p in (SRC / engine).rglob("*.py")
           if p.name not in allowed and offending(p, (*HTTP, "livepledge.web", "livepledge.deps",
                                                      "sqlalchemy", "livepledge.infra.db"))]
    assert bad == []


def test_domains_do_not_import_web_or_entry_points() -> None:
    bad = []
    for domain in DOMAINS:
        for path in (SRC / domain).rglob("*.py"):
            if path.name in {"api.py", "cli.py"}:
                continue
            if offending(path, ("livepledge.web", "livepledge.app", "livepledge.cli")):
                bad.append(str(path.relative_to(SRC)))
    assert bad == []
