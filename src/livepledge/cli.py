"""The `livepledge` command: serve, demo, migrate, the compliance and audit tools, and the
lottery verifier."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer

from livepledge.audit.cli import app as audit_app
from livepledge.compliance.cli import app as compliance_app
from livepledge.config import Settings, get_settings

app = typer.Typer(help="Livepledge 直播电商平台 / live-commerce platform", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(compliance_app, name="compliance")
app.add_typer(audit_app, name="audit")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"错误 / error: {message}", err=True)
    raise typer.Exit(code)


def _migrate(settings: Settings) -> None:
    from livepledge.infra.migrate import upgrade

    try:
        upgrade(settings.effective_database_url)
    except Exception as exc:  # a clear message, not a traceback
        _fail(f"数据库迁移失败 / migration failed: {exc}")


@app.command()
def migrate() -> None:
    """升级数据库结构 / Upgrade the database schema to the latest version."""
    settings = get_settings()
    _migrate(settings)
    typer.echo(f"数据库已是最新 / database is up to date ({_safe_url(settings)})")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="listen address"),
    port: int = typer.Option(8000, help="listen port"),
    workers: int = typer.Option(1, help="worker processes (scale-out needs PostgreSQL + Redis)"),
    run_migrations: bool = typer.Option(None, "--migrate/--no-migrate",
                                        help="migrate first (default: yes on SQLite)"),
) -> None:
    """启动服务 / Serve the web app and API."""
    settings = get_settings()
    settings.check_production()
    if workers > 1 and (settings.is_sqlite or not settings.redis_url):
        _fail("多进程需要 PostgreSQL 与 Redis / several workers need "
              "LIVEPLEDGE_DATABASE_URL (PostgreSQL) and LIVEPLEDGE_REDIS_URL")
    if run_migrations if run_migrations is not None else settings.is_sqlite:
        _migrate(settings)
    _run_server(host, port, workers, settings)


def _run_server(host: str, port: int, workers: int, settings: Settings) -> None:
    import uvicorn

    from livepledge.infra.supervisor import check_port_free, reuse_port_supported, serve_workers

    options = {"log_level": settings.log_level, "access_log": False, "ws_max_size": 65536,
               "timeout_graceful_shutdown": 5,
               # The live room writes one encoded frame to every socket (live/wsserver.py);
               # no per-viewer compression of the same frame (docs/decisions.md).
               "ws": "livepledge.live.wsserver:RoomWebSocketProtocol",
               "ws_per_message_deflate": settings.ws_per_message_deflate,
               # X-Forwarded-For/-Proto are believed only from the load balancers named here,
               # so a client cannot pick its own address (login throttling, docs/security.md).
               "proxy_headers": bool(settings.forwarded_allow_ips),
               "forwarded_allow_ips": settings.forwarded_allow_ips or None}
    if workers > 1 and reuse_port_supported():
        # A listening socket per worker, so a burst of new connections is spread over all of
        # them (infra/supervisor.py says why uvicorn's own workers are not used).
        try:
            check_port_free(host, port)
        except OSError as exc:
            _fail(f"无法监听 {host}:{port}（端口已被占用？）/ cannot listen on {host}:{port} "
                  f"(already in use?): {exc.strerror or exc}", code=1)
        raise typer.Exit(serve_workers(host, port, workers, options))
    uvicorn.run("livepledge.app:create_app", factory=True, host=host, port=port,
                workers=workers, **options)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    seed_only: bool = typer.Option(False, "--seed-only", help="seed and exit, do not serve"),
    as_json: bool = typer.Option(False, "--json", help="print the seeded ids and tokens as JSON"),
    buyers: int = typer.Option(3, help="number of demo buyers", min=0, max=100_000),
    stock: int = typer.Option(100, help="units allocated to the flash sale", min=1,
                              max=1_000_000),
) -> None:
    """写入演示数据并启动 / Seed a demo shop with a live flash sale, then serve it."""
    from livepledge.demo import ANCHOR_PASSWORD, BUYER_PASSWORD, MERCHANT_PASSWORD, seed
    from livepledge.infra.db import Database, async_url

    settings = get_settings()
    _migrate(settings)

    async def run() -> object:
        db = Database(async_url(settings.effective_database_url))
        try:
            prefix = None if seed_only else "demo-"
            return await seed(db, buyers=buyers, stock=stock, prefix=prefix)
        finally:
            await db.dispose()

    scenario = asyncio.run(run())
    if as_json:
        sys.stdout.write(json.dumps(scenario.as_json(), ensure_ascii=False) + "\n")  # type: ignore[attr-defined]
    if seed_only:
        return
    base = f"http://{host}:{port}"
    s = scenario
    typer.echo(f"""
Livepledge 演示已就绪 / demo ready  ({_safe_url(settings)})
  直播间 / live room        {base}/live/{s.session_id}
  商家后台 / merchant console {base}/console/
  API 文档 / API docs        {base}/docs
  商家 / merchant  login {s.merchant_login}  password {MERCHANT_PASSWORD}
  主播 / anchor    login {s.anchor_login}  password {ANCHOR_PASSWORD}
  买家 / buyers    login {', '.join(s.buyer_logins[:3])}  password {BUYER_PASSWORD}
""")  # type: ignore[attr-defined]
    _run_server(host, port, 1, settings)


@app.command("verify-lottery")
def verify_lottery_command(
    file: str = typer.Argument(..., help="a lottery verification document (JSON), or - for stdin"),
    entrant: str | None = typer.Option(None, "--entrant",
                                       help="your entrant hash: also check your entry is in it"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Recompute a lottery draw offline from its verification document
    (GET /api/v1/lotteries/{id}/verification): exit 0 only when verified."""
    from livepledge.lottery.verify import verify_lottery

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        _fail(f"cannot read {file}: {exc}")
    report = verify_lottery(document, entrant_hash=entrant)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for check in report.checks:
            typer.echo(f"{'✓' if check.ok else '✗'} {check.name}: {check.detail}")
        typer.echo(report.summary())
    if not report.verified:
        raise typer.Exit(1)


def main() -> None:
    app()
