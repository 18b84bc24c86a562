"""Shared fixtures: databases (SQLite file, a fresh PostgreSQL database), Redis, a real server
process, and an in-process app client.

PostgreSQL and Redis tests skip on a laptop without them, but in CI (CI=true or
LIVEPLEDGE_REQUIRE_SERVICES=1) they fail instead: a green CI must have run them."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PG_ADMIN_URL = os.environ.get("LIVEPLEDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("LIVEPLEDGE_TEST_REDIS", "redis://127.0.0.1:6379/9")
# Tests hash passwords with a cheap argon2 cost; production keeps the documented default.
TEST_SETTINGS = {"LIVEPLEDGE_PASSWORD_TIME_COST": "1", "LIVEPLEDGE_PASSWORD_MEMORY_KIB": "8192"}
os.environ.update(TEST_SETTINGS)
REQUIRE_SERVICES = os.environ.get("CI") == "true" or os.environ.get(
    "LIVEPLEDGE_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} unavailable: {exc}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


def _pg_admin():  # type: ignore[no-untyped-def]
    import asyncio

    import asyncpg

    async def connect():  # type: ignore[no-untyped-def]
        return await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    return asyncio, connect


def create_pg_database() -> str:
    """A fresh, empty PostgreSQL database; returns its SQLAlchemy URL."""
    asyncio, connect = _pg_admin()
    name = f"lp_test_{secrets.token_hex(6)}"

    async def run() -> None:
        conn = await connect()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


def drop_pg_database(url: str) -> None:
    asyncio, connect = _pg_admin()
    name = url.rsplit("/", 1)[1]

    async def run() -> None:
        conn = await connect()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    try:
        url = create_pg_database()
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    yield url
    drop_pg_database(url)


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
        client.flushdb()
    except Exception as exc:
        _unavailable("Redis", exc)
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Runs the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"
        return
    try:
        url = create_pg_database()
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    yield url
    drop_pg_database(url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lp_env(database_url: str, redis_url: str = "", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEPLEDGE_")}
    env.update(TEST_SETTINGS)
    env.update({"LIVEPLEDGE_DATABASE_URL": database_url, "LIVEPLEDGE_REDIS_URL": redis_url,
                "LIVEPLEDGE_LOG_LEVEL": "warning", **extra})
    return env


def run_cli(args: list[str], env: dict[str, str], *, input_text: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "livepledge", *args], env=env, text=True,
                            capture_output=True, input=input_text, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"livepledge {args} failed: {result.stderr}")
    return result


def seed_demo(env: dict[str, str], *, buyers: int, stock: int) -> dict[str, object]:
    result = run_cli(["demo", "--seed-only", "--json", "--buyers", str(buyers), "--stock",
                      str(stock)], env)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@dataclass
class LiveServer:
    """A real `livepledge serve` process."""

    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    log_path: Path

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(env: dict[str, str], log_path: Path, *, workers: int = 1,
                 port: int | None = None) -> LiveServer:
    port = port or free_port()
    args = [sys.executable, "-m", "livepledge", "serve", "--host", "127.0.0.1", "--port",
            str(port), "--workers", str(workers), "--no-migrate"]
    log = log_path.open("ab")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(process, f"http://127.0.0.1:{port}", env, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # readiness probe, not a wait for a result
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.05)
    server.stop()
    raise AssertionError(f"server did not become ready: {log_path.read_text()[-3000:]}")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[object]:
    servers: list[LiveServer] = []

    def factory(env: dict[str, str], **kwargs: object) -> LiveServer:
        server = start_server(env, tmp_path / f"server{len(servers)}.log", **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
async def app_client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process on a fresh SQLite file (API tests)."""
    async with make_app_client(sqlite_url) as client:
        yield client


_TEMPLATE: dict[str, Path] = {}


def _migrated(database_url: str) -> None:
    """Migrate; for SQLite files, copy one migrated template instead of migrating each time."""
    import shutil
    import tempfile

    from livepledge.infra.migrate import upgrade

    if not database_url.startswith("sqlite+aiosqlite:///"):
        upgrade(database_url)
        return
    if "template" not in _TEMPLATE:
        path = Path(tempfile.mkdtemp()) / "template.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        _TEMPLATE["template"] = path
    target = Path(database_url.removeprefix("sqlite+aiosqlite:///"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE["template"], target)


class make_app_client:
    def __init__(self, database_url: str, **settings: object) -> None:
        self.database_url = database_url
        self.settings = settings

    async def __aenter__(self) -> httpx.AsyncClient:
        import asyncio

        from livepledge.app import create_app
        from livepledge.config import Settings

        await asyncio.to_thread(_migrated, self.database_url)
        import tempfile

        if "media_dir" not in self.settings:
            self._media = Path(tempfile.mkdtemp(prefix="lp-media-"))
            self.settings["media_dir"] = self._media
        if "record_key_file" not in self.settings:  # generated on start, as in development
            self.settings["record_key_file"] = Path(tempfile.mkdtemp(prefix="lp-key-")) / "k"
        settings = Settings(database_url=self.database_url, redis_url="",
                            password_time_cost=1, password_memory_kib=8192,
                            **self.settings)  # type: ignore[arg-type]
        self.app = create_app(settings)
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                        base_url="http://testserver")
        self.client.app = self.app  # type: ignore[attr-defined]
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        import shutil

        await self.client.aclose()
        await self._lifespan.__aexit__(None, None, None)
        if getattr(self, "_media", None) is not None:
            shutil.rmtree(self._media, ignore_errors=True)
