"""The `livepledge` command: serve, demo, migrate, the compliance and audit tools, and the
verifiers of the session record, the ledger and lotteries."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import typer

from livepledge.audit.cli import app as audit_app
from livepledge.compliance.cli import app as compliance_app
from livepledge.config import Settings, get_settings

app = typer.Typer(help="Livepledge 直播电商平台 / live-commerce platform", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(compliance_app, name="compliance")
app.add_typer(audit_app, name="audit")
ledger_app = typer.Typer(help="账本 / the money ledger (docs/money.md)", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


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
    video: bool = typer.Option(None, "--video/--no-video", show_default=False,
                               help="give the room a looping test video, made here with PyAV "
                                    "(default: when serving, not with --seed-only)"),
) -> None:
    """写入演示数据并启动 / Seed a demo shop with a live flash sale, then serve it."""
    from livepledge.demo import ANCHOR_PASSWORD, BUYER_PASSWORD, MERCHANT_PASSWORD, seed
    from livepledge.infra.db import Database, async_url

    settings = get_settings()
    _migrate(settings)
    playback = None
    if video or (video is None and not seed_only):  # a looping test pattern made here
        from livepledge.demo_video import DEMO_VIDEO, make_demo_video

        if make_demo_video(settings.effective_media_dir) is not None:
            playback = "/" + DEMO_VIDEO
        else:
            typer.echo("演示视频需要 PyAV / the demo video needs PyAV: "
                       "pip install 'livepledge[video]'", err=True)

    async def run() -> object:
        db = Database(async_url(settings.effective_database_url))
        try:
            prefix = None if seed_only else "demo-"
            return await seed(db, buyers=buyers, stock=stock, prefix=prefix,
                              playback_url=playback)
        finally:
            await db.dispose()

    scenario = asyncio.run(run())
    if as_json:
        sys.stdout.write(json.dumps(scenario.as_json(), ensure_ascii=False) + "\n")
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
""")
    _run_server(host, port, 1, settings)


@app.command()
def verify(
    file: Path = typer.Argument(..., help="an evidence bundle (.json), a checkpoint chain "
                                "(.json) or a signed checkpoint (text)"),
    key: str = typer.Option(None, "--key", help="the log key to trust (name+id+key, from "
                            "/.well-known/livepledge/log-key); default: the key in the file"),
) -> None:
    """离线验证场次记录 / Verify a session-record file offline and say what it proves."""
    from livepledge.record.cli import verify_command

    code, text = verify_command(file, key)
    typer.echo(text, err=code == 2)
    raise typer.Exit(code)


@app.command("record-key")
def record_key(
    path: Path = typer.Option(None, help="where to write it (default: "
                              "LIVEPLEDGE_RECORD_KEY_FILE or data_dir/record.key)"),
    name: str = typer.Option(None, help="the key's name (default: LIVEPLEDGE_RECORD_NAME)"),
) -> None:
    """生成场次记录签名密钥 / Create the session record's signing key (never overwrites)."""
    from livepledge.record.note import NoteError
    from livepledge.record.service import load_log_key

    settings = get_settings()
    target = path or settings.effective_record_key_file
    if target.exists():
        _fail(f"{target} 已存在 / already exists; a log key is never replaced silently")
    try:
        key = load_log_key(target, name=name or settings.record_name, create=True)
    except NoteError as error:
        _fail(str(error))
    typer.echo(f"{target}\n{key.vkey}")


@ledger_app.command("verify")
def ledger_verify() -> None:
    """从事件重建账本并逐笔核对 / Rebuild the ledger from the event history and compare it with
    the live ledger, posting by posting and balance by balance. Exit 0 only if they agree."""
    from livepledge.infra.db import Database, async_url
    from livepledge.settlement.verify import verify

    settings = get_settings()

    async def run() -> object:
        db = Database(async_url(settings.effective_database_url))
        try:
            return await verify(db)
        finally:
            await db.dispose()

    report = asyncio.run(run())
    typer.echo(report.summary())  # type: ignore[attr-defined]
    raise typer.Exit(0 if report.agrees else 1)  # type: ignore[attr-defined]


def _ledger_run(work: Any) -> Any:
    from livepledge.infra.db import Database, async_url

    settings = get_settings()

    async def run() -> object:
        db = Database(async_url(settings.effective_database_url))
        try:
            return await work(db, settings)
        finally:
            await db.dispose()

    return asyncio.run(run())


@ledger_app.command("statements")
def ledger_statements(
    period: str = typer.Option(..., "--period", help="a month (2026-11) or quarter (2026Q4), "
                               "Asia/Shanghai"),
    fmt: str = typer.Option("csv", "--format", help="csv (UTF-8 with BOM) or xlsx"),
    out: Path = typer.Option(..., "--out", help="the file to write"),
) -> None:
    """导出收入报表（涉税信息报送）/ Write every merchant's, anchor's and agency's income
    statement for the period (State Council Order 810; docs/money.md)."""
    from livepledge.settlement import statements

    found = statements.parse_period(period)
    if isinstance(found, str):
        _fail(found)
    if fmt not in ("csv", "xlsx"):
        _fail("格式须为 csv 或 xlsx / format must be csv or xlsx")
    assert not isinstance(found, str)

    async def work(db: Any, settings: Settings) -> list[dict[str, Any]]:
        return await statements.all_rows(db, found)

    rows = _ledger_run(work)
    data = statements.to_csv(rows) if fmt == "csv" else statements.to_xlsx(rows, found.label)
    out.write_bytes(data)
    typer.echo(f"{out}: {len(rows)} 个主体 / parties, {found.label}")


@ledger_app.command("reconcile")
def ledger_reconcile(
    period: str | None = typer.Option(None, "--period", help="only this month or quarter"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """对账：账本 ↔ 订单支付 ↔ 支付机构记录 / Tie the ledger to the orders' payments and the
    payment provider's records; list every mismatch. Exit 0 only when everything ties."""
    from livepledge.settlement import reports, statements

    found = statements.parse_period(period) if period is not None else None
    if isinstance(found, str):
        _fail(found)
    assert not isinstance(found, str)

    async def work(db: Any, settings: Settings) -> Any:
        return await reports.reconcile(db, found, journal=settings.sandbox_journal)

    report = _ledger_run(work)
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json
               else report.summary())
    raise typer.Exit(0 if report.ties else 1)


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


operator_app = typer.Typer(help="平台客服（裁决售后升级）/ platform operators (decide escalated "
                                "after-sales cases)", no_args_is_help=True)
app.add_typer(operator_app, name="operator")


def _accounts_db() -> Any:
    from livepledge.infra.db import Database, async_url

    settings = get_settings()
    if settings.is_sqlite:
        _migrate(settings)
    return Database(async_url(settings.effective_database_url))


@operator_app.command("add")
def operator_add(
    login: str = typer.Argument(help="账号 / login (an existing account is made an operator)"),
    display_name: str = typer.Option(None, help="昵称 / display name for a new account"),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="read a new account's password from stdin"),
) -> None:
    """添加平台客服 / Make an account a platform operator (created when it does not exist)."""
    from livepledge.accounts.service import make_operator
    from livepledge.infra.clock import utcnow
    from livepledge.infra.problems import Problem

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = typer.prompt("新账号密码 / password (for a new account)", hide_input=True,
                                default="", show_default=False) or None
    db = _accounts_db()

    async def run() -> tuple[int, bool]:
        try:
            return await make_operator(db, login=login, password=password,
                                       display_name=display_name, now=utcnow())
        finally:
            await db.dispose()

    try:
        user_id, created = asyncio.run(run())
    except Problem as exc:
        _fail(exc.detail)
    typer.echo(f"{'已创建' if created else '已设为'}平台客服 / operator {login} (id {user_id}) "
               f"{'created' if created else 'granted'}")


@operator_app.command("remove")
def operator_remove(login: str) -> None:
    """取消平台客服 / The account is an ordinary buyer again."""
    from livepledge.accounts.service import remove_operator

    db = _accounts_db()

    async def run() -> bool:
        try:
            return await remove_operator(db, login=login)
        finally:
            await db.dispose()

    if not asyncio.run(run()):
        _fail(f"不是平台客服 / not an operator: {login}", code=1)
    typer.echo(f"已取消平台客服 / {login} is no longer an operator")


@operator_app.command("list")
def operator_list() -> None:
    """列出平台客服 / List the platform operators."""
    from livepledge.accounts.service import list_operators

    db = _accounts_db()

    async def run() -> list[dict[str, object]]:
        try:
            return await list_operators(db)
        finally:
            await db.dispose()

    for row in asyncio.run(run()):
        typer.echo(f"{row['id']}\t{row['login']}\t{row['display_name']}")


def main() -> None:
    app()
